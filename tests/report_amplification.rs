//! Reports do not amplify hostile values without bound (issue 12, bounded work). A multi-MB
//! directory value used to be repeated in every message, evidence, readiness cell and pair
//! that mentions its object (a 10 MB name gave 2.1 GB of reports). Each case here plants one
//! 2 MB value in a copy of the example directory, runs `audit`, and checks that the reports
//! stay within a small multiple of the input, hold the full value at most once per file,
//! and say where it was shortened (and how long it is).

use std::path::{Path, PathBuf};
use std::process::Command;

const SIZE: usize = 2_000_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example directory with one value made `SIZE` bytes longer.
fn planted(case: &str, big: &str) -> String {
    let ldif = std::fs::read_to_string(root().join("examples/corp.ldif")).unwrap();
    let (from, to) = match case {
        // A Hyper-V host's name: in its findings, its peers' pair findings, every readiness
        // cell of its group.
        "host-name" => (
            "sAMAccountName: HVP01$\n".to_string(),
            format!("sAMAccountName: HVP01{big}$\n"),
        ),
        // A delegation value: in entry findings, evidence, remediation, the inventory.
        "delegation-value" => (
            "sAMAccountName: HVP01$\n".to_string(),
            format!("sAMAccountName: HVP01$\nmsDS-AllowedToDelegateTo: cifs/{big}\n"),
        ),
        // Another attribute: the host's DNS name, used in messages and the pair matrix.
        "dns-name" => (
            "dNSHostName: hvp01.corp.example\n".to_string(),
            format!("dNSHostName: hvp01{big}.corp.example\n"),
        ),
        // A privileged account's name.
        "admin-name" => (
            "sAMAccountName: alice.adm\n".to_string(),
            format!("sAMAccountName: alice.adm{big}\n"),
        ),
        _ => unreachable!("{case}"),
    };
    assert!(ldif.contains(&from), "{case}: {from:?} not in the example");
    ldif.replacen(&from, &to, 1)
}

fn audit(dir: &Path, ldif: &Path, with_config: bool) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hvaudit"));
    cmd.current_dir(root()).arg("audit").arg("--ldif").arg(ldif);
    if with_config {
        cmd.args([
            "--hosts",
            "examples/hosts.csv",
            "--config",
            "examples/hvaudit.toml",
        ]);
    }
    cmd.arg("--out").arg(dir.join("report"));
    cmd.output().expect("run hvaudit")
}

fn check(case: &str, with_config: bool) {
    let big = "x".repeat(SIZE);
    let dir = tempfile::tempdir().unwrap();
    let ldif = dir.path().join("input.ldif");
    std::fs::write(&ldif, planted(case, &big)).unwrap();
    let input = std::fs::metadata(&ldif).unwrap().len();
    let out = audit(dir.path(), &ldif, with_config);
    // 1 (findings) or 3 (the example inventory has an unreadable host); never a failure.
    assert!(
        matches!(out.status.code(), Some(1 | 3)),
        "{case}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.len() < 64 * 1024, "{case}: terminal summary");
    let report = dir.path().join("report");
    let mut total = 0;
    let mut shortened = 0;
    let mut whole = 0;
    for name in [
        "findings.csv",
        "findings.json",
        "readiness.csv",
        "hosts.csv",
        "report.html",
    ] {
        let text = std::fs::read_to_string(report.join(name)).unwrap();
        total += text.len() as u64;
        let n = text.matches(&big).count();
        assert!(n <= 1, "{case}: {name} holds the full value {n} times");
        whole += n;
        shortened += text.matches("[shortened: ").count();
    }
    assert!(
        total < 4 * input,
        "{case}: {total} bytes of reports from {input} bytes of input"
    );
    // Kept whole once in its object's own row (delegation inventory, privileged accounts);
    // a DNS name has no such row and is shortened everywhere (the snapshot holds it).
    if case != "dns-name" {
        assert!(whole >= 1, "{case}: the full value is in no report");
    }
    // Whenever the value is repeated, the shortening is stated with the full length.
    if case != "admin-name" {
        assert!(shortened > 0, "{case}: no shortening stated");
        let json = std::fs::read_to_string(report.join("findings.json")).unwrap();
        // `…[shortened: N bytes, #hash]`, N the whole value's length (with "HVP01" etc.), or
        // `…[shortened: field of N bytes, M left out]…` where the value was not recognised
        // as such (a DNS name inside a message): N then counts the whole field.
        let lengths: Vec<usize> = json
            .split("…[shortened: ")
            .skip(1)
            .filter_map(|m| {
                m.trim_start_matches("field of ")
                    .split(' ')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();
        let whole_value = |n: &usize| (SIZE..SIZE + 64).contains(n);
        let whole_field = |n: &usize| *n >= SIZE && case == "dns-name";
        assert!(
            lengths.iter().any(|n| whole_value(n) || whole_field(n)),
            "{case}: the marker states the full length: {lengths:?}"
        );
    }
}

#[test]
fn host_name() {
    check("host-name", true);
}

#[test]
fn host_name_without_config() {
    check("host-name", false);
}

#[test]
fn delegation_value() {
    check("delegation-value", true);
}

#[test]
fn dns_name() {
    check("dns-name", true);
}

#[test]
fn admin_name() {
    check("admin-name", true);
}

#[test]
fn previous_run_matches_shortened_keys() {
    // Findings whose object is shortened match themselves in the next run's --previous diff.
    let dir = tempfile::tempdir().unwrap();
    let ldif = dir.path().join("input.ldif");
    std::fs::write(&ldif, planted("host-name", &"x".repeat(100_000))).unwrap();
    let first = audit(dir.path(), &ldif, true);
    assert!(matches!(first.status.code(), Some(1 | 3)));
    let previous = dir.path().join("previous.json");
    std::fs::rename(dir.path().join("report/findings.json"), &previous).unwrap();
    std::fs::remove_dir_all(dir.path().join("report")).unwrap();
    let second = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .current_dir(root())
        .args(["audit", "--hosts", "examples/hosts.csv"])
        .args(["--config", "examples/hvaudit.toml", "--ldif"])
        .arg(&ldif)
        .arg("--previous")
        .arg(&previous)
        .arg("--out")
        .arg(dir.path().join("report"))
        .output()
        .unwrap();
    assert!(matches!(second.status.code(), Some(1 | 3)));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report/findings.json")).unwrap())
            .unwrap();
    assert_eq!(v["diff"]["new"], 0, "{}", v["diff"]);
    assert_eq!(v["diff"]["resolved"], serde_json::json!([]));
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["object"].as_str().unwrap().contains("…[shortened: "))
    );
}
