//! `hvaudit rules explain ID --on OBJECT`: the values a rule's condition read on one object,
//! its verdict and message; and `--no-memo`, which turns the verdict memo off for the audit
//! commands without changing a finding.

use std::path::Path;
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn hvaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn explain_on_a_host_shows_what_the_condition_read_and_why() {
    let ldif = "tests/rules/HV005/input.ldif";
    let o = hvaudit(&["rules", "explain", "HV005", "--on", "hva01", "--ldif", ldif]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(
        out.starts_with("HV005 (high, host) on HVA01: fires\n"),
        "{out}"
    );
    for line in [
        "    host.os_build = 20348\n",
        "    host.protocol_transition = False\n",
        "    host.kcd_only_migration_targets = ['HVA02', 'HVOLD']\n",
        "  message: HVA01 runs Windows Server 2022 and delegates",
    ] {
        assert!(out.contains(line), "{line:?} not in:\n{out}");
    }
    // The near miss: same delegation, 2012 R2. The read value says why; no message.
    let out = stdout(&hvaudit(&[
        "rules", "explain", "HV005", "--on", "HVOLD", "--ldif", ldif,
    ]));
    assert!(
        out.starts_with("HV005 (high, host) on HVOLD: does not fire\n"),
        "{out}"
    );
    assert!(out.contains("    host.os_build = 9600\n"), "{out}");
    assert!(!out.contains("message:"), "{out}");
}

#[test]
fn explain_on_pairs_entries_accounts_and_the_scan() {
    let rules = "tests/rules";
    let run = |args: &[&str]| {
        let o = hvaudit(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        stdout(&o)
    };
    let out = run(&[
        "rules",
        "explain",
        "HV002",
        "--on",
        "HVA01->HVA02",
        "--ldif",
        &format!("{rules}/HV002/input.ldif"),
        "--config",
        &format!("{rules}/HV002/hvaudit.toml"),
    ]);
    assert!(out.contains("on HVA01->HVA02: fires"), "{out}");
    assert!(out.contains("    pair.missing_migration = True\n"), "{out}");
    // One value held by two accounts: one explanation each.
    let out = run(&[
        "rules",
        "explain",
        "HV009",
        "--on",
        "CIFS/gone01",
        "--ldif",
        &format!("{rules}/HV009/input.ldif"),
    ]);
    assert!(out.contains("on HVA01: cifs/gone01: fires"), "{out}");
    assert!(
        out.contains("on svc-sql: cifs/gone01: does not fire"),
        "{out}"
    );
    assert!(
        out.contains("    entry.owner.is_hyperv_host = False\n"),
        "{out}"
    );
    let out = run(&[
        "rules",
        "explain",
        "PA001",
        "--on",
        "dave",
        "--ldif",
        &format!("{rules}/PA001/input.ldif"),
    ]);
    assert!(out.contains("on dave: does not fire"), "{out}");
    assert!(
        out.contains("    account.protected_users_applies = True\n"),
        "{out}"
    );
    let out = run(&[
        "rules",
        "explain",
        "SC001",
        "--on",
        "corp.example",
        "--ldif",
        &format!("{rules}/SC001/input.ldif"),
        "--hosts",
        &format!("{rules}/SC001/hosts.csv"),
    ]);
    assert!(out.contains("on corp.example: fires"), "{out}");
    assert!(out.contains("could not be read (HVA02)"), "{out}");
}

#[test]
fn explain_on_refuses_what_it_cannot_evaluate() {
    let ldif = "tests/rules/HV002/input.ldif";
    let err = |args: &[&str]| {
        let o = hvaudit(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = err(&["rules", "explain", "HV002", "--on", "HVA01", "--ldif", ldif]);
    assert!(
        e.contains("rule HV002 is evaluated over host_pair objects: give FROM->TO"),
        "{e}"
    );
    let e = err(&["rules", "explain", "HV001", "--on", "NOPE", "--ldif", ldif]);
    assert!(e.contains("'NOPE' is not a Hyper-V host"), "{e}");
    let e = err(&["rules", "explain", "HV001", "--ldif", ldif]);
    assert!(e.contains("only read with --on"), "{e}");
    let e = err(&["rules", "explain", "XX999", "--on", "HVA01", "--ldif", ldif]);
    assert!(e.contains("no rule 'XX999'"), "{e}");
    let e = err(&["rules", "explain", "HV001", "--on", "HVA01"]);
    assert!(e.contains("--ldif"), "{e}");
}

/// The example's findings and readiness, from `audit` with the extra arguments.
fn example_audit(extra: &[&str], env: Option<(&str, &str)>) -> serde_json::Value {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let mut args = vec![
        "audit",
        "--ldif",
        "examples/corp.ldif",
        "--hosts",
        "examples/hosts.csv",
        "--config",
        "examples/hvaudit.toml",
        "--format",
        "json",
        "--out",
        &dir,
    ];
    args.extend(extra);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hvaudit"));
    cmd.args(&args)
        .current_dir(root())
        .env_remove("HVAUDIT_NO_MEMO");
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("findings.json")).unwrap()).unwrap();
    serde_json::json!({ "findings": j["findings"], "readiness": j["readiness"] })
}

#[test]
fn no_memo_gives_the_same_findings_on_the_example() {
    let with = example_audit(&[], None);
    assert!(with["findings"].as_array().unwrap().len() > 20);
    assert_eq!(example_audit(&["--no-memo"], None), with);
    assert_eq!(example_audit(&[], Some(("HVAUDIT_NO_MEMO", "1"))), with);
}

#[test]
fn no_memo_turns_the_memo_off() {
    let mut set = hvaudit::rules::RuleSet::builtin().unwrap();
    assert!(set.compile().unwrap().uses_memo());
    set.set_memo(false);
    assert!(!set.compile().unwrap().uses_memo());
}
