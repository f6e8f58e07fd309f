//! Diff of two scans and reading findings.json back.

mod common;

use std::path::Path;

use common::finding;
use hvaudit::diff::{DiffError, diff, load_findings_json, mark_previous, parse_findings_json};
use hvaudit::findings::{Finding, Severity, Status};

fn ids(fs: &[Finding]) -> Vec<String> {
    fs.iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f.rule_id,
                f.object,
                f.target.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

#[test]
fn diff_splits_new_resolved_unchanged() {
    let old = vec![
        finding("HV002", "HVP02", Some("HVP04")),
        finding("HV001", "HVL01", None),
        finding("HV009", "HVL04", Some("cifs/HVL99")),
    ];
    // Rule ids are canonical (upper case); object and target compare case-insensitively.
    let mut reworded = finding("HV002", "hvp02", Some("hvp04"));
    reworded.message = "reworded".into();
    reworded.severity = Severity::Critical;
    let new = vec![
        reworded,
        finding("HV009", "HVL04", Some("cifs/HVL98")), // other target: new
        finding("HV013", "HVL06", None),
    ];
    let d = diff(&old, &new);
    assert_eq!(ids(&d.new), ["HV009 HVL04 cifs/HVL98", "HV013 HVL06 -"]);
    assert_eq!(
        ids(&d.resolved),
        ["HV001 HVL01 -", "HV009 HVL04 cifs/HVL99"]
    );
    assert_eq!(ids(&d.unchanged), ["HV002 hvp02 hvp04"]);
    // Unchanged findings are reported as the new scan sees them.
    assert_eq!(d.unchanged[0].message, "reworded");
    assert_eq!(d.unchanged[0].severity, Severity::Critical);
}

#[test]
fn diff_of_identical_and_empty_scans() {
    let a = vec![finding("HV001", "HVL01", None)];
    let d = diff(&a, &a);
    assert!(d.new.is_empty() && d.resolved.is_empty());
    assert_eq!(ids(&d.unchanged), ["HV001 HVL01 -"]);
    let d = diff(&[], &a);
    assert_eq!(ids(&d.new), ["HV001 HVL01 -"]);
    let d = diff(&a, &[]);
    assert_eq!(ids(&d.resolved), ["HV001 HVL01 -"]);
}

#[test]
fn missing_target_differs_from_a_target() {
    let d = diff(
        &[finding("HV013", "HVL06", None)],
        &[finding("HV013", "HVL06", Some("HVL01"))],
    );
    assert_eq!(d.new.len(), 1);
    assert_eq!(d.resolved.len(), 1);
    assert!(d.unchanged.is_empty());
}

#[test]
fn mark_previous_sets_existing_but_never_over_suppressed() {
    let previous = vec![
        finding("HV001", "HVL01", None),
        finding("HV007", "HVP04", Some("MSSQLSvc/sql01.corp.example:1433")),
    ];
    let mut suppressed = finding("HV007", "HVP04", Some("mssqlsvc/SQL01.corp.example:1433"));
    suppressed.status = Status::Suppressed;
    let mut now = vec![
        finding("HV001", "hvl01", None),
        suppressed,
        finding("HV005", "HVL02", None),
    ];
    mark_previous(&mut now, &previous);
    let st: Vec<_> = now.iter().map(|f| f.status.clone()).collect();
    assert_eq!(st, [Status::Existing, Status::Suppressed, Status::Open]);
}

const DOC: &str = r#"{
  "schema_version": 1,
  "scan": {"domain": "corp.example"},
  "findings": [
    {
      "rule_id": "HV001",
      "severity": "high",
      "title": "Unconstrained delegation on a Hyper-V host",
      "scope": "host",
      "object": "HVL01",
      "object_dn": "CN=HVL01,OU=Lab,OU=HyperV,DC=corp,DC=example",
      "target": null,
      "group": "lab",
      "message": "TRUSTED_FOR_DELEGATION is set",
      "evidence": {"userAccountControl": "17305600"},
      "remediation": null,
      "status": "suppressed",
      "suppression": "lab (expires 2027-03-31)"
    },
    {
      "rule_id": "HV007",
      "severity": "medium",
      "title": "Delegation to a foreign service",
      "scope": "delegation_entry",
      "object": "HVP04",
      "object_dn": null,
      "target": "MSSQLSvc/sql01.corp.example:1433",
      "group": "prod",
      "message": "m",
      "evidence": {},
      "remediation": "Set-ADObject"
    }
  ]
}"#;

#[test]
fn loads_the_report_document_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("findings.json");
    std::fs::write(&path, format!("\u{feff}{DOC}")).unwrap();
    let fs = load_findings_json(&path).unwrap();
    assert_eq!(
        ids(&fs),
        [
            "HV001 HVL01 -",
            "HV007 HVP04 MSSQLSvc/sql01.corp.example:1433"
        ]
    );
    assert_eq!(fs[0].status, Status::Suppressed);
    assert_eq!(fs[0].evidence["userAccountControl"], "17305600");
    assert_eq!(fs[1].status, Status::Open, "status defaults to open");
    assert_eq!(fs[1].suppression, None);
}

#[test]
fn loads_a_bare_array() {
    let json = serde_json::to_string(&vec![finding("HV001", "HVL01", None)]).unwrap();
    let fs = parse_findings_json(&json, Path::new("a.json")).unwrap();
    assert_eq!(fs, vec![finding("HV001", "HVL01", None)]);
}

fn parse_err(text: &str) -> (String, usize, usize, String) {
    match parse_findings_json(text, Path::new("old.json")) {
        Err(DiffError::Parse {
            path,
            at,
            line,
            column,
            reason,
        }) => {
            assert_eq!(path, Path::new("old.json"));
            (at, line, column, reason)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn bad_finding_is_located_by_index_and_line() {
    let text = DOC.replace(r#""severity": "medium""#, r#""severity": "severe""#);
    let (at, line, _col, reason) = parse_err(&text);
    assert_eq!(at, "findings[1]");
    assert_eq!(line, 22);
    assert!(reason.starts_with("unknown variant `severe`"), "{reason}");
}

#[test]
fn missing_field_is_named() {
    let text = DOC.replace(r#""rule_id": "HV007","#, "");
    let (at, line, _col, reason) = parse_err(&text);
    assert_eq!(at, "findings[1]");
    assert_eq!(line, 32, "serde_json reports the end of the object");
    assert_eq!(reason, "missing field `rule_id`");
}

#[test]
fn document_without_findings_or_version_is_refused() {
    let (at, line, _, reason) = parse_err("{\n  \"schema_version\": 1\n}");
    assert_eq!((at.as_str(), line), ("$", 3));
    assert_eq!(reason, "missing field `findings`");
    let (_, _, _, reason) = parse_err("{\"findings\": []}");
    assert_eq!(reason, "missing field `schema_version`");
}

#[test]
fn truncated_json_names_line_and_column() {
    let (at, line, column, reason) = parse_err("[\n  {\"rule_id\": \"HV001\",\n");
    assert_eq!(at, "$");
    assert_eq!((line, column), (3, 0));
    assert!(reason.starts_with("EOF while parsing"), "{reason}");
}

#[test]
fn error_display_has_file_position_and_place() {
    let err = parse_findings_json("{\"findings\": []}", Path::new("old.json")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "old.json:1:16: $: missing field `schema_version`"
    );
}

#[test]
fn missing_file_is_a_read_error() {
    let err = load_findings_json(Path::new("/nonexistent/old.json")).unwrap_err();
    assert!(matches!(err, DiffError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/old.json: cannot read")
    );
}
