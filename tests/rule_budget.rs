//! Custom rules run with bounded evaluation (issue 12, bounded work): the field case
//! `custom-rule-runaway` (r21 loops for ~35 minutes, r22 writes until an allocation of 2 GiB
//! aborts), copied to `tests/fixtures/field/`, and neighbours in other fields and through
//! macros. Each must end with exit 2, an error naming the rule and the field, and no report.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn runaway_rules_end_with_exit_2_naming_rule_and_field() {
    let cases = root().join("tests/fixtures/field/custom-rule-runaway");
    let expected: toml::Table =
        toml::from_str(&std::fs::read_to_string(cases.join("expected.toml")).unwrap()).unwrap();
    assert!(expected.len() >= 7, "{expected:?}");
    for (case, want) in &expected {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("report");
        let out = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
            .current_dir(root())
            .args(["audit", "--ldif", "examples/corp.ldif", "--rules"])
            .arg(cases.join(case))
            .arg("--out")
            .arg(&out_dir)
            .output()
            .expect("run hvaudit");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{case}: {stderr}");
        for key in ["stderr", "field"] {
            let text = want[key].as_str().unwrap();
            assert!(stderr.contains(text), "{case}: want {text:?} in {stderr}");
        }
        assert!(!out_dir.exists(), "{case}: a report was written");
    }
}

#[test]
fn builtin_rules_stay_within_the_budget_on_the_example() {
    // The same audit without custom rules writes its reports (exit 3: the example inventory
    // has a host it could not read; 2 would be a rule over its budget).
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .current_dir(root())
        .args([
            "audit",
            "--ldif",
            "examples/corp.ldif",
            "--hosts",
            "examples/hosts.csv",
            "--config",
            "examples/hvaudit.toml",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("run hvaudit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("budget"), "{stderr}");
    assert!(dir.path().join("findings.json").exists());
}
