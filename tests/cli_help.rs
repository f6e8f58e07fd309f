//! `--help` groups the flags under headings (Input, Directory connection, Output, Policy),
//! shows the connection flags only where they apply, lists --fail-on's values and ends with
//! examples.

use std::collections::BTreeMap;
use std::process::Command;

fn help(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .arg("--help")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?} --help");
    String::from_utf8(o.stdout).unwrap()
}

/// Heading -> the long flags declared under it, in order.
fn sections(help: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            current = line.trim_end_matches(':').to_string();
            continue;
        }
        let l = line.trim_start();
        let l = l
            .strip_prefix("-v, ")
            .or(l.strip_prefix("-h, "))
            .unwrap_or(l);
        if let Some(flag) = l.strip_prefix("--") {
            let name = flag
                .split([' ', '='])
                .next()
                .unwrap_or("")
                .trim_end_matches('.');
            out.entry(current.clone())
                .or_default()
                .push(format!("--{name}"));
        }
    }
    out
}

fn has(s: &BTreeMap<String, Vec<String>>, heading: &str, flags: &[&str]) {
    let got = s
        .get(heading)
        .unwrap_or_else(|| panic!("no heading {heading}: {s:?}"));
    for f in flags {
        assert!(got.iter().any(|g| g == f), "{f} under {heading}: {s:?}");
    }
}

#[test]
fn scan_groups_its_flags_under_headings() {
    let text = help(&["scan"]);
    let s = sections(&text);
    has(
        &s,
        "Input",
        &["--snapshot", "--ldif", "--hosts", "--config"],
    );
    has(
        &s,
        "Directory connection",
        &[
            "--server",
            "--domain",
            "--user",
            "--kerberos",
            "--ca-file",
            "--timeout",
        ],
    );
    has(&s, "Output", &["--out", "--format", "--previous"]);
    has(&s, "Policy", &["--fail-on", "--rules", "--suppressions"]);
    assert_eq!(
        s["Options"],
        ["--verbose", "--help"],
        "nothing left ungrouped"
    );
    assert!(text.contains("[possible values: none, info, low, medium, high, critical]"));
    assert!(text.contains("Examples:\n  hvaudit scan --server"));
    assert!(text.contains("Exit codes: 0"));
}

#[test]
fn audit_shows_no_connection_flags_but_still_parses_them() {
    let s = sections(&help(&["audit"]));
    assert!(!s.contains_key("Directory connection"), "{s:?}");
    assert!(
        !s.values()
            .flatten()
            .any(|f| f == "--server" || f == "--user")
    );
    has(&s, "Input", &["--snapshot", "--ldif", "--hosts"]);
    // Hidden, not removed: an unknown flag would be a usage error naming it.
    let o = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args([
            "audit",
            "--server",
            "ldaps://dc.invalid",
            "--ldif",
            "x.ldif",
            "--out",
            "o",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("unexpected argument '--server'"), "{err}");
}

#[test]
fn other_commands_use_the_same_headings() {
    let s = sections(&help(&["collect"]));
    has(&s, "Input", &["--ldif", "--config"]);
    has(&s, "Output", &["--out"]);
    has(&s, "Directory connection", &["--server"]);
    let s = sections(&help(&["diff"]));
    has(&s, "Output", &["--out", "--all"]);
    let s = sections(&help(&["remediate"]));
    has(&s, "Output", &["--out"]);
    has(&s, "Input", &["--hosts"]);
    let s = sections(&help(&["check"]));
    has(&s, "Input", &["--hosts", "--config"]);
}

#[test]
fn fail_on_refuses_other_values() {
    let o = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args([
            "audit",
            "--ldif",
            "examples/corp.ldif",
            "--out",
            "o",
            "--fail-on",
            "severe",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--fail-on") && err.contains("critical"),
        "{err}"
    );
}
