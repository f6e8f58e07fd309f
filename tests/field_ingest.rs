//! Field cases of inconsistent directory and inventory data (`tests/fixtures/field/`): each is
//! reported (an error naming the places, or an SC001 gap), never resolved by accident. The
//! expected result of each case is data, in its `expected-ingest.json`:
//! `{"exit": N, "stderr": [substring...], "gaps": [{"what": exact, "reason": substring}...]}`;
//! `gaps`, when given, lists every gap of the scan.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const CASES: [&str; 14] = [
    "duplicate-dn",
    "duplicate-dn-case",
    "duplicate-dn-spacing",
    "duplicate-dn-escaped-comma",
    "duplicate-sid",
    "entry-without-objectclass",
    "invalid-utf8",
    "invalid-utf8-spn",
    "invalid-utf8-dn",
    "member-range-tail-only",
    "member-range-hole",
    "inventory-conflicting-rows",
    "inventory-case-only",
    "inventory-dns-name-differs",
];

fn field_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/field")
}

fn hvaudit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .current_dir(field_dir())
        .output()
        .expect("run hvaudit")
}

/// `audit` of the case, run from the field directory so messages name `<case>/input.ldif`.
fn audit(case: &str, out: &Path) -> std::process::Output {
    let ldif = format!("{case}/input.ldif");
    let hosts = format!("{case}/hosts.csv");
    let mut args = vec!["audit", "--ldif", &ldif];
    if field_dir().join(&hosts).exists() {
        args.extend(["--hosts", &hosts]);
    }
    let out = out.to_str().unwrap();
    args.extend(["--out", out, "--format", "json"]);
    hvaudit(&args)
}

#[test]
fn each_field_case_is_reported_as_its_expected_data_says() {
    for case in CASES {
        let expected: Value = serde_json::from_slice(
            &std::fs::read(field_dir().join(case).join("expected-ingest.json")).unwrap(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let o = audit(case, dir.path());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            expected["exit"].as_i64().map(|c| c as i32),
            "{case}: {stderr}"
        );
        for want in expected["stderr"].as_array().into_iter().flatten() {
            assert!(
                stderr.contains(want.as_str().unwrap()),
                "{case}: stderr lacks {want}: {stderr}"
            );
        }
        let report = dir.path().join("findings.json");
        if let Some(gaps) = expected["gaps"].as_array() {
            let j: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
            assert_eq!(j["complete"], false, "{case}");
            let got = j["gaps"].as_array().unwrap();
            assert_eq!(got.len(), gaps.len(), "{case}: {got:?}");
            for want in gaps {
                assert!(
                    got.iter().any(|g| g["what"] == want["what"]
                        && g["reason"]
                            .as_str()
                            .unwrap()
                            .contains(want["reason"].as_str().unwrap())),
                    "{case}: no gap {want} in {got:?}"
                );
            }
        } else {
            // An error: nothing is written.
            assert!(!report.exists(), "{case}: a report was written");
        }
    }
}

/// The remediation script never writes or removes a value that was not valid UTF-8: every
/// change that would need one is commented out with the reason, and no code line holds U+FFFD.
#[test]
fn remediation_never_writes_an_undecodable_value() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("fix.ps1");
    let o = hvaudit(&[
        "remediate",
        "--ldif",
        "invalid-utf8/input.ldif",
        // Confirms the hosts: delegation is only ever granted between confirmed hosts.
        "--config",
        "invalid-utf8/confirm-hosts.toml",
        "--out",
        script.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&script).unwrap();
    let code: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    // U+FFFD may only be displayed (the ShouldProcess prompt, the step labels of the summary,
    // the reboot list), never written.
    for l in code.iter().filter(|l| l.contains('\u{FFFD}')) {
        assert!(
            l.trim_start().starts_with("if ($PSCmdlet.ShouldProcess(")
                || [
                    "$hvauditPurge.Add(",
                    "$hvauditPending.Add(",
                    "$hvauditStep = "
                ]
                .iter()
                .any(|p| l.trim_start().starts_with(p)),
            "U+FFFD in code: {l}"
        );
    }
    // HV01 and HV02 would each get migration and cifs delegation to HV03, whose NetBIOS name
    // (sAMAccountName) is not valid UTF-8, and HV03's delegation value that is not valid UTF-8
    // would be removed (HV007, one finding per stored value): five refused changes, none
    // inside ShouldProcess.
    assert_eq!(text.matches("# NOT WRITTEN:").count(), 5, "{text}");
    assert!(
        code.iter().all(|l| !l.contains("MSSQLSvc")),
        "the undecodable value is removed: {code:?}"
    );
    for host in ["HV01", "HV02"] {
        let prompt = format!("ShouldProcess('{host}'");
        assert!(!text.contains(&prompt), "{host} still changed: {text}");
    }
    // HV03's own missing delegation to HV01/HV02 is written: those values are exact.
    assert_eq!(
        code.iter()
            .filter(|l| {
                l.trim_start()
                    .starts_with("if ($PSCmdlet.ShouldProcess('HV\u{FFFD}03'")
            })
            .count(),
        4
    );
}

/// A snapshot holding one object twice (edited or merged by hand) is refused naming both.
#[test]
fn snapshot_with_one_object_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let o = hvaudit(&[
        "collect",
        "--ldif",
        "invalid-utf8-spn/input.ldif",
        "--out",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut j: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let computers = j["computers"].as_array_mut().unwrap();
    let mut copy = computers[0].clone();
    copy["dn"] = Value::from(copy["dn"].as_str().unwrap().to_lowercase());
    computers.push(copy);
    std::fs::write(&snap, serde_json::to_vec(&j).unwrap()).unwrap();
    let out = dir.path().join("out");
    let o = hvaudit(&[
        "audit",
        "--snapshot",
        snap.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "computers[0] (CN=HV01,OU=HV,DC=t,DC=example) and computers[3] \
             (cn=hv01,ou=hv,dc=t,dc=example) have the same DN"
        ),
        "{stderr}"
    );
    assert!(!out.join("findings.json").exists());
}
