//! The audit commands end to end on the bundled example directory: the exact findings the
//! example plants (examples/README.md), exit codes, suppressions on both sides of their expiry,
//! diffs, remediation and readiness checks.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn hvaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .current_dir(root())
        .args(args)
        .env_remove("HVAUDIT_TODAY")
        .output()
        .expect("run hvaudit")
}

const EXAMPLE: &[&str] = &[
    "--ldif",
    "examples/corp.ldif",
    "--hosts",
    "examples/hosts.csv",
    "--config",
    "examples/hvaudit.toml",
];

fn audit(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["audit"];
    args.extend_from_slice(EXAMPLE);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    args.extend_from_slice(extra);
    hvaudit(&args)
}

fn findings(out: &Path) -> Vec<Value> {
    let v: Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    v["findings"].as_array().unwrap().clone()
}

fn keys(f: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = f
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f["rule_id"].as_str().unwrap(),
                f["object"].as_str().unwrap(),
                f["target"].as_str().unwrap_or("-")
            )
        })
        .collect();
    k.sort();
    k
}

/// The 32 findings examples/README.md lists, written out here, not computed.
const EXPECTED: &[&str] = &[
    "HV001 HVL01 -",
    "HV002 HVL06 HVL01",
    "HV002 HVL06 HVL02",
    "HV002 HVL06 HVL03",
    "HV002 HVL06 HVL04",
    "HV002 HVL06 HVL05",
    "HV002 HVP02 HVP04",
    "HV003 HVP02 HVP04",
    "HV004 HVP03 HVP01",
    "HV005 HVL02 -",
    "HV006 HVL05 -",
    "HV007 HVP04 MSSQLSvc/sql01.corp.example:1433",
    "HV008 HVL03 ldap/dc01.corp.example",
    "HV009 HVL04 Microsoft Virtual System Migration Service/hvl99.corp.example",
    "HV009 HVL04 cifs/HVL99",
    "HV009 HVL04 cifs/hvold01.corp.example",
    "HV010 HVP01 svc-deploy",
    "HV011 HVL03 -",
    "HV011 HVP02 -",
    "HV012 HVP02 -",
    "HV013 HVL06 -",
    "HV014 HVP06 -",
    "HV015 HVL02 -",
    "HV015 HVL04 -",
    "HV016 HVL05 -",
    "HV017 svc-lm -",
    "PA001 Administrator -",
    "PA001 bob.adm -",
    "PA001 erin.adm -",
    "PA001 frank.ops -",
    "PA002 old.adm -",
    "SC001 corp.example -",
];

#[test]
fn example_summary_ends_with_next_steps_and_exit_meaning_and_lists_the_gap_once() {
    let dir = tempfile::tempdir().unwrap();
    let o = audit(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(3));
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.last().copied(),
        Some("Exit code 3: the scan is incomplete: nothing here proves compliance."),
        "{out}"
    );
    let next = out.find("Next steps").expect("next steps");
    let tail = &out[next..];
    assert!(tail.contains("report.html"), "{tail}");
    assert!(
        tail.contains("hvaudit remediate --ldif examples/corp.ldif"),
        "{tail}"
    );
    assert!(
        tail.contains("hvaudit check --ldif examples/corp.ldif"),
        "{tail}"
    );
    assert!(
        !tail.contains("wrote "),
        "files are listed before the summary: {tail}"
    );
    // The unreachable inventory host is one gap, printed once across stdout and stderr.
    let both = format!("{out}{err}");
    assert_eq!(
        both.matches("inventory host hvl04.corp.example").count(),
        1,
        "{both}"
    );
}

#[test]
fn example_directory_gives_exactly_the_planted_findings() {
    let dir = tempfile::tempdir().unwrap();
    let o = audit(dir.path(), &[]);
    // The example inventory has an unreachable host: the scan is incomplete (SC001), exit 3.
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("INCOMPLETE SCAN"));
    let f = findings(dir.path());
    let mut expected: Vec<String> = EXPECTED.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(keys(&f), expected);
    for name in [
        "report.html",
        "findings.csv",
        "readiness.csv",
        "hosts.csv",
        "findings.json",
    ] {
        assert!(dir.path().join(name).exists(), "{name} written");
    }
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("findings.json")).unwrap()).unwrap();
    assert_eq!(json["complete"], false);
    // Readiness: HVP05 and HVP06 share cluster CLPROD1; HVP02 -> HVP04 is blocked by HV002.
    let prod = json["readiness"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "prod")
        .unwrap();
    let cell = |from: &str, to: &str| {
        prod["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["from"] == from && c["to"] == to)
            .unwrap()
            .clone()
    };
    assert_eq!(cell("HVP05", "HVP06")["same_cluster"], true);
    assert_eq!(cell("HVP05", "HVP06")["ready"], true);
    assert_eq!(cell("HVP02", "HVP04")["ready"], false);
    let blocking = cell("HVP02", "HVP04")["blocking_rules"].clone();
    assert!(
        blocking.as_array().unwrap().iter().any(|r| r == "HV002"),
        "{blocking}"
    );
    assert_eq!(cell("HVP01", "HVP03")["ready"], true);
}

#[test]
fn fail_on_none_never_exits_1_but_incomplete_still_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    // Complete scan (no inventory) with critical findings: 1 by default, 0 with none.
    let complete = |extra: &[&str]| {
        let mut a = vec![
            "audit",
            "--ldif",
            "examples/corp.ldif",
            "--config",
            "examples/hvaudit.toml",
            "--out",
            dir.path().to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        hvaudit(&a)
    };
    assert_eq!(complete(&[]).status.code(), Some(1));
    let o = complete(&["--fail-on", "none"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("Exit code 0: --fail-on none: findings never fail the run."),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // The findings are still reported, only the exit code changes.
    assert!(
        findings(dir.path())
            .iter()
            .any(|f| f["severity"] == "critical")
    );
    // Case-insensitive like the severities.
    assert_eq!(complete(&["--fail-on", "NONE"]).status.code(), Some(0));
    // The example inventory has an unreachable host: incomplete is 3 whatever --fail-on says.
    let o = audit(dir.path(), &["--fail-on", "none"]);
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn complete_scan_exit_codes_follow_fail_on() {
    // Without the inventory nothing is unreadable: the scan is complete.
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "audit",
        "--ldif",
        "examples/corp.ldif",
        "--config",
        "examples/hvaudit.toml",
        "--out",
        dir.path().to_str().unwrap(),
    ];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        hvaudit(&a)
    };
    assert_eq!(
        run(&[]).status.code(),
        Some(1),
        "critical findings, fail-on high"
    );
    assert_eq!(run(&["--fail-on", "critical"]).status.code(), Some(1));
    // Suppressing both critical findings: nothing critical counts any more.
    let sup = [
        "--suppressions",
        "tests/fixtures/cli/suppress-critical.toml",
    ];
    let mut args = vec!["--fail-on", "critical", "--today", "2026-12-31"];
    args.extend_from_slice(&sup);
    let o = run(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("matches no finding"),
        "unmatched suppression reported: {err}"
    );
    let f = findings(dir.path());
    let hv001 = f.iter().find(|f| f["rule_id"] == "HV001").unwrap();
    assert_eq!(hv001["status"], "suppressed");
    assert!(hv001["suppression"].as_str().unwrap().contains("CHG-4711"));
    // The day after expiry the suppressions stop working and are reported as expired.
    let mut args = vec!["--fail-on", "critical", "--today", "2027-01-01"];
    args.extend_from_slice(&sup);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expired on 2026-12-31"));
    assert_eq!(
        findings(dir.path())
            .iter()
            .find(|f| f["rule_id"] == "HV001")
            .unwrap()["status"],
        "open"
    );
}

#[test]
fn audit_of_a_saved_snapshot_matches_the_ldif_audit() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snapshot.json");
    let o = hvaudit(&[
        "collect",
        "--ldif",
        "examples/corp.ldif",
        "--out",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = dir.path().join("out");
    let o = hvaudit(&[
        "audit",
        "--snapshot",
        snap.to_str().unwrap(),
        "--hosts",
        "examples/hosts.csv",
        "--config",
        "examples/hvaudit.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    // Same inputs as the LDIF audit: same incomplete inventory (exit 3), same findings.
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut expected: Vec<String> = EXPECTED.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(keys(&findings(&out)), expected);

    // No directory source at all: a usage error that names the choices.
    let o = hvaudit(&["audit", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--server URL or --ldif FILE"), "{err}");
    assert!(err.contains("--snapshot FILE"), "{err}");
}

#[test]
fn usage_and_input_errors_exit_2_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = hvaudit(&[
        "audit",
        "--ldif",
        "examples/corp.ldif",
        "--config",
        "tests/fixtures/cli/bad-config.toml",
        "--out",
        out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad-config.toml:6"), "{err}");
    let o = hvaudit(&[
        "audit",
        "--ldif",
        "examples/corp.ldif",
        "--fail-on",
        "severe",
        "--out",
        out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let broken = dir.path().join("broken.ldif");
    std::fs::write(&broken, "dn: CN=x,DC=corp,DC=example\nobjectSid:: ***\n").unwrap();
    let o = hvaudit(&["audit", "--ldif", broken.to_str().unwrap(), "--out", out]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("broken.ldif:2:"), "{err}");
    assert!(
        !dir.path().join("report.html").exists(),
        "no report after an input error"
    );
}

#[test]
fn previous_scan_and_diff_mark_new_and_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    // First scan without the inventory, second with it: inventory rules appear as new.
    let o = hvaudit(&[
        "audit",
        "--ldif",
        "examples/corp.ldif",
        "--config",
        "examples/hvaudit.toml",
        "--out",
        first.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let prev = first.join("findings.json");
    let o = audit(&second, &["--previous", prev.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    let f = findings(&second);
    let status = |rule: &str, obj: &str| {
        f.iter()
            .find(|x| x["rule_id"] == rule && x["object"] == obj)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("HV001", "HVL01"), "existing");
    assert_eq!(status("HV012", "HVP02"), "open");
    let o = hvaudit(&[
        "diff",
        prev.to_str().unwrap(),
        second.join("findings.json").to_str().unwrap(),
        "--out",
        dir.path().join("diff").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "new findings -> 1");
    let out = String::from_utf8_lossy(&o.stdout);
    // Inventory-driven: HV011 x2, HV012, HV013, HV014, HV015 x2, HV016, SC001.
    assert!(
        out.contains("9 new, 0 resolved, 0 no longer evaluated, 23 unchanged"),
        "{out}"
    );
    let d: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("diff/diff.json")).unwrap()).unwrap();
    assert_eq!(d["new"].as_array().unwrap().len(), 9);
    assert!(dir.path().join("diff/report.html").exists());
}

#[test]
fn remediation_script_is_one_reviewable_whatif_script() {
    let dir = tempfile::tempdir().unwrap();
    let ps1 = dir.path().join("fix.ps1");
    let mut args = vec!["remediate"];
    args.extend_from_slice(EXAMPLE);
    args.extend_from_slice(&["--out", ps1.to_str().unwrap()]);
    let o = hvaudit(&args);
    assert_eq!(
        o.status.code(),
        Some(3),
        "incomplete example: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s = std::fs::read_to_string(&ps1).unwrap();
    assert!(s.contains("[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]"));
    assert!(s.contains("#Requires -Modules ActiveDirectory"));
    assert!(s.contains("Set-ADAccountControl -Identity 'CN=HVL02,OU=Lab,OU=HyperV,DC=corp,DC=example' -TrustedToAuthForDelegation $true"));
    assert!(s.contains("#region HVP02"));
    assert!(s.contains("Set-VMHost -VirtualMachineMigrationAuthenticationType Kerberos"));
    assert!(s.contains("-notcontains"), "additions are idempotent");
    assert!(s.contains("reboot") || s.contains("restart"));
}

#[test]
fn readiness_check_go_and_no_go() {
    let mut args = vec!["check"];
    args.extend_from_slice(EXAMPLE);
    let run = |from: &str, to: &str| {
        let mut a = args.clone();
        a.extend_from_slice(&["--from", from, "--to", to]);
        hvaudit(&a)
    };
    let o = run("HVP02", "hvp04.corp.example");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("NO-GO"), "{out}");
    assert!(
        out.contains("HV002") && out.contains("HV003") && out.contains("HV012"),
        "{out}"
    );
    let o = run("HVP05", "HVP06");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("GO"), "{out}");
    assert!(out.contains("same failover cluster"), "{out}");
    let o = run("HVP01", "NOPE");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn rules_list_and_explain() {
    let o = hvaudit(&["rules", "list"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    for id in ["HV001", "HV010", "HV017", "PA001", "PA002", "SC001"] {
        assert!(out.contains(id), "{id} listed");
    }
    let o = hvaudit(&["rules", "explain", "hv005"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("0x1000000") && out.contains("Rationale"),
        "{out}"
    );
    assert_eq!(
        hvaudit(&["rules", "explain", "XX999"]).status.code(),
        Some(2)
    );
}

/// Snapshot tests: the example's CSV and JSON reports match the reviewed copies in
/// tests/golden/ (the scan time, the only thing that varies, is blanked). Regenerate after an
/// intended change with `UPDATE_GOLDEN=1 cargo test --test cli_audit golden` and review the diff.
#[test]
fn golden_csv_and_json_of_the_example() {
    let dir = tempfile::tempdir().unwrap();
    audit(dir.path(), &[]);
    let csv = std::fs::read_to_string(dir.path().join("findings.csv")).unwrap();
    let mut json: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("findings.json")).unwrap()).unwrap();
    json["meta"]["collected_at"] = Value::String("(scan time)".into());
    // The LDIF's modification time is the checkout's; the audit's is now.
    json["export"]["file_modified"] = Value::String("(file time)".into());
    json["export"]["audited_at"] = Value::String("(scan time)".into());
    let json = serde_json::to_string_pretty(&json).unwrap() + "\n";
    let golden = root().join("tests/golden");
    for (name, actual) in [
        ("example-findings.csv", &csv),
        ("example-findings.json", &json),
    ] {
        let path = golden.join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
        assert!(
            &expected == actual,
            "{name} differs from tests/golden/{name}; review with UPDATE_GOLDEN=1 and git diff"
        );
    }
}

#[test]
fn configured_privileged_groups_are_collected_or_reported_missing() {
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("with.json");
    let without = dir.path().join("without.json");
    let cfg = "tests/fixtures/cli/extra-group.toml";
    let o = hvaudit(&[
        "collect",
        "--ldif",
        "examples/corp.ldif",
        "--config",
        cfg,
        "--out",
        with.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: Value = serde_json::from_slice(&std::fs::read(&with).unwrap()).unwrap();
    let g = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["sam_account_name"] == "HV-Operators")
        .expect("configured group resolved");
    assert_eq!(g["reasons"], serde_json::json!(["configured"]));
    assert!(
        g["effective_members"][0]["dn"]
            .as_str()
            .unwrap()
            .starts_with("CN=svc-lm,")
    );
    // A snapshot collected without the configuration cannot answer for the group: a gap.
    hvaudit(&[
        "collect",
        "--ldif",
        "examples/corp.ldif",
        "--out",
        without.to_str().unwrap(),
    ]);
    let out = dir.path().join("r");
    let o = hvaudit(&[
        "audit",
        "--snapshot",
        without.to_str().unwrap(),
        "--config",
        cfg,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    // The summary (stdout) lists each gap once; stderr only warns that the scan is incomplete.
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("configured privileged group S-1-5-21-3623811015-3361044348-30300820-1123")
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("INCOMPLETE SCAN"));
    let o = hvaudit(&[
        "audit",
        "--snapshot",
        with.to_str().unwrap(),
        "--config",
        cfg,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The summary's "passed:" list is sorted by rule id, whatever order the rule files give
/// (the example's rules put HV020 before HV018).
#[test]
fn summary_lists_passed_checks_by_rule_id() {
    let dir = tempfile::tempdir().unwrap();
    let o = audit(dir.path(), &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("passed: "))
        .unwrap_or_else(|| panic!("no passed: line\n{out}"));
    let ids: Vec<&str> = line.split(", ").collect();
    assert!(ids.len() >= 2, "{line}");
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "{line}");
}
