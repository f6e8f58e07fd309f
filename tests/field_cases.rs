//! Field cases as data: every `tests/fixtures/field/<case>/case.toml` is run by this one test.
//! The format and the runner are shared with the rule fixtures (`tests/rule_fixtures.rs`):
//! see `tests/common/cases.rs`. Adding a case needs no Rust. The Rust tests after it check
//! what a case file cannot say: every line of a remediation script, a hand-edited snapshot,
//! the CSV and HTML outputs.

#[path = "common/cases.rs"]
mod cases;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn field_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/field")
}

#[test]
fn every_field_case_gives_what_its_case_toml_says() {
    let all = cases::load_cases(&field_dir(), "case.toml");
    // 16 cases were case.toml from the start; 14 ingestion, 12 RBCD and 7 Hyper-V host
    // candidate cases had runners of their own before.
    assert!(all.len() >= 49, "only {} cases found", all.len());
    let mut errors = Vec::new();
    for (name, dir, case) in &all {
        errors.extend(cases::run_case(name, dir, case));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}

/// hvaudit run in the field directory, so messages name `<case>/<file>`.
fn hvaudit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .current_dir(field_dir())
        .output()
        .expect("run hvaudit")
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

/// An unconfirmed candidate is marked in every output: its pairs' findings carry the
/// `unconfirmed_candidates` evidence, its readiness cells say how to confirm it, and the
/// audit notes name it.
#[test]
fn unconfirmed_candidates_are_marked_in_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let o = hvaudit(&[
        "audit",
        "--ldif",
        "fake-hyperv-host-no-inputs/input.ldif",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
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

/// The `confirmed` column says which hosts an administrator confirmed (HV01 and HV02, by the
/// configuration) and which are candidates (FAKEHV, only an SPN): true / false in hosts.csv,
/// findings.json `hosts[].confirmed`, the Hosts sheet of findings.xlsx and the HTML hosts
/// view; without any input every host is a candidate (false, never empty).
#[test]
fn confirmed_column_tells_confirmed_hosts_from_candidates() {
    use calamine::Reader;
    for (config, expected) in [
        (
            Some("fake-hyperv-host-no-inputs/confirm-hv01-hv02.toml"),
            [("FAKEHV", false), ("HV01", true), ("HV02", true)],
        ),
        (None, [("FAKEHV", false), ("HV01", false), ("HV02", false)]),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let mut args = vec![
            "audit",
            "--ldif",
            "fake-hyperv-host-no-inputs/input.ldif",
            "--out",
            tmp.path().to_str().unwrap(),
            "--format",
            "csv,json,xlsx,html",
        ];
        if let Some(c) = config {
            args.extend(["--config", c]);
        }
        let o = hvaudit(&args);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        // hosts.csv
        let csv = std::fs::read_to_string(tmp.path().join("hosts.csv")).unwrap();
        let mut lines = csv.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let col = head.iter().position(|c| *c == "confirmed").unwrap();
        let csv_rows: Vec<(String, String)> = lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].to_string(), f[col].to_string())
            })
            .collect();
        // findings.json
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join("findings.json")).unwrap(),
        )
        .unwrap();
        let hosts = json["hosts"].as_array().unwrap();
        // findings.xlsx, Hosts sheet
        let mut wb: calamine::Xlsx<_> =
            calamine::open_workbook(tmp.path().join("findings.xlsx")).unwrap();
        let sheet = wb.worksheet_range("Hosts").unwrap();
        let xrows: Vec<Vec<String>> = sheet
            .rows()
            .map(|r| r.iter().map(|d| d.to_string()).collect())
            .collect();
        let xcol = xrows[0].iter().position(|c| c == "confirmed").unwrap();
        let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
        for (name, confirmed) in expected {
            let c = csv_rows.iter().find(|(n, _)| n == name).unwrap();
            assert_eq!(c.1, confirmed.to_string(), "hosts.csv {name} ({config:?})");
            let j = hosts.iter().find(|h| h["name"] == name).unwrap();
            assert_eq!(
                j["confirmed"],
                Value::Bool(confirmed),
                "findings.json {name} ({config:?})"
            );
            let x = xrows.iter().find(|r| r[0] == name).unwrap();
            assert_eq!(x[xcol], confirmed.to_string(), "xlsx {name} ({config:?})");
            let tr = html
                .find(&format!("<tr data-host=\"{name}\""))
                .map(|i| &html[i..i + html[i..].find('>').unwrap()])
                .unwrap();
            assert_eq!(
                tr.contains("class=\"candidate\""),
                !confirmed,
                "report.html {name} ({config:?}): {tr}"
            );
        }
    }
}
