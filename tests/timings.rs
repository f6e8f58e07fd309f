//! `HVAUDIT_TIMINGS=1` (README, "Benchmark"): phase times on stderr, nothing else changes.

mod common;

use std::process::Command;

use common::cli::root;

fn audit(timings: bool, out: &std::path::Path) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hvaudit"));
    c.current_dir(root())
        .args([
            "audit",
            "--ldif",
            "examples/corp.ldif",
            "--config",
            "examples/hvaudit.toml",
        ])
        .args([
            "--hosts",
            "examples/hosts.csv",
            "--format",
            "html,csv,json,xlsx",
            "--out",
        ])
        .arg(out)
        .env("HVAUDIT_TODAY", "2025-06-01")
        .env_remove("HVAUDIT_TIMINGS");
    if timings {
        c.env("HVAUDIT_TIMINGS", "1");
    }
    c.output().expect("run hvaudit")
}

#[test]
fn timings_go_to_stderr_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let plain = audit(false, &dir.path().join("plain"));
    let timed = audit(true, &dir.path().join("timed"));
    assert_eq!(plain.status.code(), timed.status.code());
    let plain_err = String::from_utf8_lossy(&plain.stderr);
    let timed_err = String::from_utf8_lossy(&timed.stderr);
    assert!(!plain_err.contains("hvaudit: timing:"), "{plain_err}");
    for phase in [
        "snapshot",
        "audit: analysis",
        "audit: readiness",
        "Html",
        "Xlsx",
        "reports",
    ] {
        let line = timed_err
            .lines()
            .find(|l| l.starts_with(&format!("hvaudit: timing: {phase} ")))
            .unwrap_or_else(|| panic!("no timing for {phase}:\n{timed_err}"));
        assert!(line.contains(" ms CPU"), "{line}");
    }
    // The terminal summary on stdout is the same but for the output directory's name and
    // the run's clock times.
    let norm = |o: &std::process::Output, name: &str| {
        String::from_utf8_lossy(&o.stdout)
            .replace(name, "OUT")
            .lines()
            .filter(|l| !l.contains(" UTC"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(norm(&plain, "plain"), norm(&timed, "timed"));
    // So are the files.
    for f in ["findings.csv", "readiness.csv", "hosts.csv"] {
        assert_eq!(
            std::fs::read(dir.path().join("plain").join(f)).unwrap(),
            std::fs::read(dir.path().join("timed").join(f)).unwrap(),
            "{f}"
        );
    }
}
