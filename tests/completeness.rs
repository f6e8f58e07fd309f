//! Completeness is decided once (`audit::completeness`): `audit`, `check` and `remediate` agree
//! on whether a run left something unread. Before, `audit` counted a configured privileged group
//! missing from the snapshot as a gap while `remediate` exited 0 and `check` said nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// The example configuration plus a privileged group (by SID) the example directory lacks.
fn config_with_absent_group(dir: &Path) -> PathBuf {
    let mut toml = std::fs::read_to_string(root().join("examples/hvaudit.toml")).unwrap();
    // A top-level key must come before the first table.
    toml.insert_str(
        0,
        "extra_privileged_groups = [\"S-1-5-21-1004336348-1177238915-682003330-99999\"]\n",
    );
    let p = dir.join("hvaudit.toml");
    std::fs::write(&p, toml).unwrap();
    p
}

/// The example directory without its inventory (one of whose rows is an unread host, itself a
/// gap), so only the configuration decides completeness.
fn inputs(config: &Path) -> Vec<String> {
    [
        "--ldif",
        "examples/corp.ldif",
        "--config",
        config.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

fn run(cmd: &str, config: &Path, extra: &[&str]) -> Output {
    let mut args = vec![cmd.to_string()];
    args.extend(inputs(config));
    args.extend(extra.iter().map(|s| s.to_string()));
    hvaudit(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn every_command_calls_the_same_run_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let complete_cfg = root().join("examples/hvaudit.toml");
    let gap_cfg = config_with_absent_group(dir.path());
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let ps1 = dir.path().join("fix.ps1");
    let ps1 = ps1.to_str().unwrap();

    // The example itself is complete: no command says otherwise.
    let o = run("remediate", &complete_cfg, &["--out", ps1]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = run(
        "check",
        &complete_cfg,
        &["--from", "HVP05", "--to", "HVP06"],
    );
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("incomplete"),
        "{o:?}"
    );

    // The absent configured group is a gap for every command.
    let o = run("audit", &gap_cfg, &["--out", out]);
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    let report = std::fs::read_to_string(dir.path().join("out/findings.json")).unwrap();
    assert!(report.contains("configured privileged group"), "{report}");

    let o = run("remediate", &gap_cfg, &["--out", ps1]);
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("configured privileged group S-1-5-21-1004336348-1177238915-682003330-99999"),
        "{err}"
    );

    let o = run("check", &gap_cfg, &["--from", "HVP05", "--to", "HVP06"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the scan is incomplete"), "{err}");
}
