//! The field case `fake-hyperv-host` and its neighbours (`tests/fixtures/field/fake-hyperv-host*`,
//! neighbours written by `gen_candidates.py` there): a computer that only *claims* to be a
//! Hyper-V host (its own SPNs) is a candidate, confirmed only by the configuration or the host
//! inventory, and excluded from every group when a non-privileged account created it through
//! MachineAccountQuota. Each folder holds `input.ldif`, optionally `hosts.csv` and
//! `hvaudit.toml`, and the expected results as data: `expected-findings.tsv` (rule, object,
//! target or `-`, `fix` when the finding carries a remediation), `expected-readiness.tsv`
//! (from, to, state) and `expected-script.txt` (`+ text` the remediation script must contain,
//! `- text` it must not).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/field");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("fake-hyperv-host"))
        })
        .collect();
    v.sort();
    v
}

fn lines(dir: &Path, file: &str) -> Vec<String> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v: Vec<String> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn inputs(dir: &Path) -> Vec<String> {
    let mut args = vec![
        "--ldif".to_string(),
        dir.join("input.ldif").display().to_string(),
    ];
    for (flag, file) in [("--hosts", "hosts.csv"), ("--config", "hvaudit.toml")] {
        if dir.join(file).exists() {
            args.push(flag.into());
            args.push(dir.join(file).display().to_string());
        }
    }
    args
}

fn run(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn candidates_findings_readiness_and_script() {
    let cases = cases();
    assert_eq!(cases.len(), 7, "{cases:?}");
    let tmp = tempfile::tempdir().unwrap();
    for dir in cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let out = tmp.path().join(&name);
        let mut args = vec!["audit".to_string()];
        args.extend(inputs(&dir));
        args.extend(["--out".into(), out.display().to_string()]);
        args.extend(["--format".into(), "json".into()]);
        let o = run(&args);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let report: Value =
            serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
        let mut findings: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}\t{}\t{}\t{}",
                    f["rule_id"].as_str().unwrap(),
                    f["object"].as_str().unwrap(),
                    f["target"].as_str().unwrap_or("-"),
                    if f["remediation"].is_string() {
                        "fix"
                    } else {
                        "-"
                    }
                )
            })
            .collect();
        findings.sort();
        assert_eq!(
            findings,
            lines(&dir, "expected-findings.tsv"),
            "{name}: findings"
        );
        let mut cells: Vec<String> = report["readiness"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["cells"].as_array().unwrap().iter())
            .map(|c| {
                format!(
                    "{}\t{}\t{}",
                    c["from"].as_str().unwrap(),
                    c["to"].as_str().unwrap(),
                    c["state"].as_str().unwrap()
                )
            })
            .collect();
        cells.sort();
        assert_eq!(
            cells,
            lines(&dir, "expected-readiness.tsv"),
            "{name}: readiness"
        );

        let script = tmp.path().join(format!("{name}.ps1"));
        let mut args = vec!["remediate".to_string()];
        args.extend(inputs(&dir));
        args.extend(["--out".into(), script.display().to_string()]);
        let o = run(&args);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = std::fs::read_to_string(&script).unwrap();
        for l in lines(&dir, "expected-script.txt") {
            if let Some(want) = l.strip_prefix("+ ") {
                assert!(text.contains(want), "{name}: script lacks {want:?}\n{text}");
            } else if let Some(not) = l.strip_prefix("- ") {
                assert!(!text.contains(not), "{name}: script has {not:?}\n{text}");
            } else {
                panic!("{name}: expected-script.txt line {l:?} starts with neither + nor -");
            }
        }
    }
}

/// An unconfirmed candidate is marked in every output: its pairs' findings carry the
/// `unconfirmed_candidates` evidence, its readiness cells say how to confirm it, and the
/// audit notes name it.
#[test]
fn unconfirmed_candidates_are_marked_in_reports() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/field/fake-hyperv-host-no-inputs");
    let tmp = tempfile::tempdir().unwrap();
    let mut args = vec!["audit".to_string()];
    args.extend(inputs(&dir));
    args.extend(["--out".into(), tmp.path().display().to_string()]);
    let o = run(&args);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let csv = std::fs::read_to_string(tmp.path().join("findings.csv")).unwrap();
    let hv002 = csv
        .lines()
        .find(|l| l.starts_with("HV002,") && l.contains(",FAKEHV,") && l.contains(",HV01,"))
        .unwrap();
    assert!(
        hv002.contains("unconfirmed_candidates=FAKEHV, HV01"),
        "{hv002}"
    );
    let readiness = std::fs::read_to_string(tmp.path().join("readiness.csv")).unwrap();
    let cell = readiness
        .lines()
        .find(|l| l.starts_with("all,HV01,HV02,"))
        .unwrap();
    assert!(cell.contains(",unknown,"), "{cell}");
    assert!(
        cell.contains("HV01: unconfirmed Hyper-V host candidate")
            && cell.contains("by its row in the host inventory"),
        "{cell}"
    );
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("unconfirmed Hyper-V host candidate"));
    let json = std::fs::read_to_string(tmp.path().join("findings.json")).unwrap();
    assert!(json.contains("unconfirmed Hyper-V host candidate"));
}
