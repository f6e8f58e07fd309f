//! Snapshot tests of the terminal summary at 80 and 200 columns (tests/golden/terminal-*.txt),
//! of the hostile fixture report, plus the properties a snapshot alone would not guard: every
//! line fits the width, every critical and high rule is listed, titles are whole at 200
//! columns. Regenerate after an intended change with
//! `UPDATE_GOLDEN=1 cargo test --test terminal_summary` and review the diff.

mod common {
    pub mod report_fixture;
}

use std::path::PathBuf;
use std::process::Command;

use common::report_fixture::*;
use hvaudit::findings::Severity;
use hvaudit::report::terminal::{TerminalOptions, write_summary_with};
use unicode_width::UnicodeWidthStr;

fn render(width: usize) -> String {
    let data = fixture_report(40);
    let opts = TerminalOptions {
        color: false,
        width: Some(width),
        report_html: Some("out/report.html".into()),
        inputs: Some("--ldif corp.ldif --hosts hosts.csv".into()),
        exit: Some((3, Some(Severity::High))),
    };
    let mut out = Vec::new();
    write_summary_with(&mut out, &data, &opts).unwrap();
    String::from_utf8(out).unwrap()
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert!(
        expected == actual,
        "terminal output differs from tests/golden/{name}; review with UPDATE_GOLDEN=1 and git diff\n{actual}"
    );
}

fn assert_fits(text: &str, width: usize) {
    for l in text.lines() {
        assert!(
            l.width() <= width,
            "line of {} columns > {width}: {l:?}",
            l.width()
        );
    }
}

#[test]
fn at_80_columns() {
    let text = render(80);
    assert_fits(&text, 80);
    golden("terminal-80.txt", &text);
}

#[test]
fn at_200_columns() {
    let text = render(200);
    assert_fits(&text, 200);
    // No title is cut when there is room: the fixture's titles appear whole.
    assert!(
        text.contains("| HV008 | critical | HV008 title |"),
        "{text}"
    );
    golden("terminal-200.txt", &text);
}

#[test]
fn every_critical_and_high_rule_then_and_n_more() {
    let text = render(120);
    // The fixture's rules with findings: HV001/HV008 critical, HV005/PA001/SC001 high,
    // then HV002, HV003, HV007, HV009 medium, HV004/HV006 low, HV015 info: 12 rules, 10
    // listed, "and 2 more".
    for id in ["HV001", "HV008", "HV005", "PA001", "SC001"] {
        assert!(text.contains(&format!("| {id} |")), "{id} listed:\n{text}");
    }
    let rules_at = text.find("Rules with findings").unwrap();
    let table = &text[rules_at..];
    let first = |id: &str| table.find(&format!("| {id} |")).unwrap();
    assert!(first("HV008") < first("PA001") && first("PA001") < first("HV002"));
    assert!(text.contains("... and 2 more rules with "), "{text}");
    // Checks, fix first, each gap once, next steps and the exit code.
    assert!(
        text.contains("Checks: 12 failed, 2 passed, 2 not evaluated"),
        "{text}"
    );
    assert!(text.contains("not evaluated: HV012, HV011 (needs the host inventory (--hosts)"));
    assert!(text.contains("passed: HV018, HV019"));
    assert!(text.contains("  1. critical HV001 "), "{text}");
    assert_eq!(text.matches("WinRM unreachable").count(), 1);
    assert!(text.contains("hvaudit remediate --ldif corp.ldif --hosts hosts.csv --out fix.ps1"));
    assert!(text.contains("Exit code 3: the scan is incomplete"));
}

/// The binary lays its summary out for COLUMNS when stdout is not a terminal.
#[test]
fn the_cli_fits_columns() {
    for cols in ["80", "200"] {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("COLUMNS", cols)
            .args([
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
                dir.path().to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(3));
        let text = String::from_utf8(o.stdout).unwrap();
        assert_fits(&text, cols.parse().unwrap());
        assert!(
            text.contains("Exit code 3: the scan is incomplete"),
            "{text}"
        );
        // Without report.html there is nothing to open.
        assert!(!text.contains("  - open "), "{text}");
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert!(
            !stderr.contains("WinRM cannot complete"),
            "gaps are listed once, on stdout"
        );
    }
}
