//! For LDIF and snapshot input the reports say when the data was exported (the file's
//! modification time and the newest whenChanged in it), not only when the audit ran.

mod common {
    pub mod cli;
    pub mod report_fixture;
}

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, TimeZone, Utc};
use common::cli::{hvaudit, root};
use common::report_fixture::fixture_report;
use hvaudit::report::{ExportTimes, html, terminal};
use serde_json::Value;

/// The newest whenChanged of the computer entries of an LDIF (`YYYYMMDDHHMMSS.0Z`).
fn newest_computer_when_changed(ldif: &str) -> DateTime<Utc> {
    ldif.split("\n\n")
        .filter(|e| e.lines().any(|l| l == "objectClass: computer"))
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("whenChanged: ")))
        .map(|t| {
            let t = chrono::NaiveDateTime::parse_from_str(t, "%Y%m%d%H%M%S.0Z").unwrap();
            Utc.from_utc_datetime(&t)
        })
        .max()
        .expect("the example has computers with whenChanged")
}

fn set_mtime(path: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

fn audit(input: &[&str], out: &Path) -> (Value, String, String) {
    let mut args = vec!["audit"];
    args.extend_from_slice(input);
    args.extend_from_slice(&["--out", out.to_str().unwrap(), "--format", "json,html"]);
    let o = hvaudit(&args);
    assert!(
        matches!(o.status.code(), Some(0 | 1 | 3)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json = serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    (json, html, String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn ldif_input_reports_file_time_and_newest_when_changed() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("examples/corp.ldif")).unwrap();
    let ldif = dir.path().join("export.ldif");
    std::fs::write(&ldif, &text).unwrap();
    // 2024-02-03 04:05:06 UTC
    set_mtime(&ldif, 1_706_933_106);
    let newest = newest_computer_when_changed(&text);

    let before = Utc::now();
    let (json, html, stdout) = audit(&["--ldif", ldif.to_str().unwrap()], &dir.path().join("o"));
    let e = &json["export"];
    assert_eq!(e["input"], "ldif");
    assert_eq!(e["file"], ldif.to_str().unwrap());
    assert_eq!(e["file_modified"], "2024-02-03T04:05:06Z");
    let when: DateTime<Utc> = e["newest_when_changed"].as_str().unwrap().parse().unwrap();
    assert_eq!(when, newest);
    let audited: DateTime<Utc> = e["audited_at"].as_str().unwrap().parse().unwrap();
    assert!(audited >= before - chrono::Duration::seconds(1));
    assert!(
        e.get("collected_at").is_none(),
        "an LDIF has no collect time"
    );

    let shown = newest.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    assert!(html.contains("Data exported"), "HTML header");
    assert!(html.contains("2024-02-03 04:05:06 UTC") && html.contains(&shown));
    assert!(
        stdout.contains(&format!(
            "data exported: file modified 2024-02-03 04:05:06 UTC, newest whenChanged {shown}"
        )),
        "{stdout}"
    );
}

#[test]
fn snapshot_input_also_says_when_it_was_collected() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let o = hvaudit(&[
        "collect",
        "--ldif",
        "examples/corp.ldif",
        "--out",
        snap.to_str().unwrap(),
    ]);
    assert!(o.status.success() || o.status.code() == Some(3));
    set_mtime(&snap, 1_706_933_106);
    let collected = serde_json::from_slice::<Value>(&std::fs::read(&snap).unwrap()).unwrap()
        ["meta"]["collected_at"]
        .clone();
    let (json, html, _) = audit(
        &["--snapshot", snap.to_str().unwrap()],
        &dir.path().join("o"),
    );
    let e = &json["export"];
    assert_eq!(e["input"], "snapshot");
    assert_eq!(e["file_modified"], "2024-02-03T04:05:06Z");
    assert_eq!(e["collected_at"], collected);
    assert!(e["newest_when_changed"].is_string());
    assert!(html.contains("snapshot collected"));
}

#[test]
fn live_input_has_no_export_times_and_renderers_show_them_when_set() {
    let mut data = fixture_report(0);
    let mut out = Vec::new();
    terminal::write_summary(&mut out, &data, false).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("data exported"));
    let json = serde_json::to_value(&data).unwrap();
    assert!(json.get("export").is_none(), "no export for a live scan");

    let snapshot: hvaudit::model::Snapshot = serde_json::from_value(serde_json::json!({
        "schema_version": hvaudit::model::SNAPSHOT_SCHEMA_VERSION,
        "meta": serde_json::to_value(&data.meta).unwrap(),
        "domain": serde_json::to_value(&data.domain).unwrap(),
        "computers": [],
        "accounts": [],
        "groups": []
    }))
    .unwrap();
    let audited = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
    data.export = Some(ExportTimes::of(&snapshot, "ldif", "x.ldif", None, audited));
    let e = data.export.as_ref().unwrap();
    assert_eq!(e.newest_when_changed, None, "no computers, no whenChanged");
    assert_eq!(
        e.describe(),
        "data exported: file modified unknown, newest whenChanged unknown; audited 2025-01-02 03:04:05 UTC"
    );
    let mut out = Vec::new();
    terminal::write_summary(&mut out, &data, false).unwrap();
    assert!(String::from_utf8(out).unwrap().contains(&e.describe()));
    let mut page = Vec::new();
    html::write_html(&mut page, &Arc::new(data.clone()), None).unwrap();
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("id=\"export-times\""));
    assert!(page.contains("Audit ran</dt><dd>2025-01-02 03:04:05 UTC"));
}
