//! Diff of two scans and reading findings.json back.

mod common;

use std::path::Path;

use common::cli::hvaudit;
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

fn check(rule: &str, status: hvaudit::report::CheckStatus) -> hvaudit::report::Check {
    hvaudit::report::Check {
        rule_id: rule.into(),
        title: String::new(),
        severity: Severity::High,
        category: hvaudit::report::Category::HostSettings,
        status,
        findings: 0,
        suppressed: 0,
        checked: String::new(),
        reason: None,
    }
}

#[test]
fn a_rule_not_evaluated_now_does_not_resolve_its_findings() {
    use hvaudit::diff::evaluated_rules;
    use hvaudit::report::CheckStatus::{Failed, NotEvaluated, Passed};
    let old = vec![
        finding("HV002", "HVP02", Some("HVP04")), // rule passed now: resolved
        finding("HV012", "HVP02", None),          // rule not evaluated now
        finding("hv012", "HVL03", None),          // rule id in other case: same rule
        finding("HV099", "HVL01", None),          // rule gone from the rule set
        finding("HV001", "HVL01", None),          // still there: unchanged
    ];
    let new = vec![finding("HV001", "HVL01", None)];
    let checks = [
        check("HV001", Failed),
        check("HV002", Passed),
        check("HV012", NotEvaluated),
    ];
    let mut d = diff(&old, &new);
    d.set_aside_not_evaluated(evaluated_rules(&checks).as_ref());
    assert_eq!(ids(&d.resolved), ["HV002 HVP02 HVP04"]);
    assert_eq!(
        ids(&d.no_longer_evaluated),
        ["HV012 HVP02 -", "hv012 HVL03 -", "HV099 HVL01 -"]
    );
    assert_eq!(ids(&d.unchanged), ["HV001 HVL01 -"]);
    // A report without checks cannot tell: everything missing stays resolved.
    let mut d = diff(&old, &new);
    d.set_aside_not_evaluated(evaluated_rules(&[]).as_ref());
    assert_eq!(d.resolved.len(), 4);
    assert!(d.no_longer_evaluated.is_empty());
}

/// SC001 that named unreadable inventory hosts is not resolved by a scan without an
/// inventory; SC001 about directory gaps only is; with an inventory both are resolved.
#[test]
fn sc001_inventory_part_not_evaluated_without_inventory() {
    let mut inv = finding("SC001", "corp.example", None);
    inv.evidence
        .insert("inventory_errors".into(), "hvl04.corp.example".into());
    inv.evidence.insert("gaps".into(), String::new());
    let mut gaps = finding("SC001", "other.example", None);
    gaps.evidence
        .insert("inventory_errors".into(), String::new());
    gaps.evidence.insert("gaps".into(), "member of CN=X".into());
    let old = vec![inv, gaps];
    let mut d = diff(&old, &[]);
    d.set_aside_unread_inventory(false);
    assert_eq!(ids(&d.resolved), ["SC001 other.example -"]);
    assert_eq!(ids(&d.no_longer_evaluated), ["SC001 corp.example -"]);
    let mut d = diff(&old, &[]);
    d.set_aside_unread_inventory(true);
    assert_eq!(d.resolved.len(), 2);
    assert!(d.no_longer_evaluated.is_empty());
}

/// With the inventory, then without it: the inventory rules' findings are "no longer
/// evaluated", not resolved, in `diff` (stdout, diff.json, its CSV, the HTML) and in
/// `audit --previous` (findings.json); a finding of a rule that ran is resolved.
#[test]
fn dropping_the_inventory_is_not_resolving_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "audit".to_string(),
            "--ldif".into(),
            "examples/corp.ldif".into(),
            "--config".into(),
            "examples/hvaudit.toml".into(),
            "--out".into(),
            s(out),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = hvaudit(&args);
        assert!(
            matches!(o.status.code(), Some(0 | 1 | 3)),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&p("with"), &["--hosts", "examples/hosts.csv"]);
    // One more finding of a rule that runs either way, fixed since: truly resolved.
    let with_json = p("with/findings.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&with_json).unwrap()).unwrap();
    let mut fixed = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "HV001")
        .unwrap()
        .clone();
    fixed["object"] = "HVGONE".into();
    fixed["object_dn"] = "CN=HVGONE,OU=Lab,OU=HyperV,DC=corp,DC=example".into();
    v["findings"].as_array_mut().unwrap().push(fixed);
    std::fs::write(&with_json, serde_json::to_vec(&v).unwrap()).unwrap();

    run(&p("without"), &["--previous", &s(&with_json)]);
    let without: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("without/findings.json")).unwrap()).unwrap();
    let not_evaluated: Vec<&str> = without["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "not_evaluated")
        .map(|c| c["rule_id"].as_str().unwrap())
        .collect();
    let inventory_findings: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            not_evaluated.contains(&f["rule_id"].as_str().unwrap())
                // SC001 runs without an inventory, but not its inventory part: the inventory
                // host it could not read is not "resolved" by leaving the inventory out.
                || (f["rule_id"] == "SC001"
                    && f["evidence"]["inventory_errors"]
                        .as_array()
                        .is_some_and(|e| !e.is_empty()))
        })
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "SC001"
                && inventory_findings.contains(&f["id"].as_str().unwrap().to_string())),
        "the example's SC001 names the inventory host it could not read"
    );
    assert!(
        inventory_findings.len() >= 3,
        "the example's inventory rules find things: {not_evaluated:?}"
    );
    let listed = |d: &serde_json::Value, k: &str| -> Vec<String> {
        d[k].as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    let d = &without["diff"];
    let mut nle = listed(d, "no_longer_evaluated");
    nle.sort();
    let mut expected = inventory_findings.clone();
    expected.sort();
    assert_eq!(nle, expected, "every inventory finding, no other");
    let resolved: Vec<String> = d["resolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["object"].as_str().unwrap().to_string())
        .collect();
    assert!(resolved.contains(&"HVGONE".to_string()), "{resolved:?}");
    for id in &inventory_findings {
        assert!(!listed(d, "resolved").contains(id), "{id} is not resolved");
    }

    // `hvaudit diff` says the same, and writes its own CSV for them.
    let o = hvaudit(&[
        "diff",
        &s(&with_json),
        &s(&p("without/findings.json")),
        "--out",
        &s(&p("diff")),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    let n = inventory_findings.len();
    let r = resolved.len();
    assert!(
        out.contains(&format!("0 new, {r} resolved, {n} no longer evaluated,")),
        "{out}"
    );
    assert!(out.contains("not resolved: rule(s)"), "{out}");
    assert!(
        out.contains("SC001 ran, but not its inventory part"),
        "{out}"
    );
    assert!(out.contains("(list them with --all)"), "{out}");
    assert!(
        !out.contains("│ unchanged"),
        "unchanged rows only with --all: {out}"
    );
    let csv = std::fs::read_to_string(p("diff/diff-no-longer-evaluated.csv")).unwrap();
    let records = ::csv::Reader::from_reader(csv.as_bytes()).records().count();
    assert_eq!(records, n, "{csv}");
    let html = std::fs::read_to_string(p("diff/report.html")).unwrap();
    assert!(html.contains("id=\"no-longer-evaluated\""));
    let o = hvaudit(&[
        "diff",
        &s(&with_json),
        &s(&p("without/findings.json")),
        "--all",
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("│ unchanged"));
}
