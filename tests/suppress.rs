//! Suppressions: file format errors with lines, matching, expiry, reporting.

mod common;

use std::path::Path;

use chrono::NaiveDate;
use common::finding;
use hvaudit::findings::Status;
use hvaudit::suppress::{
    SuppressError, Suppressions, apply, load_suppressions, parse_suppressions,
};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn parse(text: &str) -> Suppressions {
    parse_suppressions(text, Path::new("accepted.toml")).expect("valid suppressions")
}

/// (line, reason) of a parse failure.
fn parse_err(text: &str) -> (Option<usize>, String) {
    match parse_suppressions(text, Path::new("accepted.toml")) {
        Err(SuppressError::Invalid { path, line, reason }) => {
            assert_eq!(path, Path::new("accepted.toml"));
            (line, reason)
        }
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

const ENTRY_HV007: &str = r#"
[[suppression]]
rule = "HV007"
object = "HVP04"
target = "MSSQLSvc/*"
justification = "SQL backup path, CHG-1234"
expires = 2027-03-31
owner = "alice"
"#;

#[test]
fn loads_a_file_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, ENTRY_HV007).unwrap();
    let s = load_suppressions(&path).unwrap();
    assert_eq!(s.path, path);
    assert_eq!(s.entries.len(), 1);
    let e = &s.entries[0];
    assert_eq!(e.rule, "HV007");
    assert_eq!(e.object, "HVP04");
    assert_eq!(e.target.as_deref(), Some("MSSQLSvc/*"));
    assert_eq!(e.justification, "SQL backup path, CHG-1234");
    assert_eq!(e.expires, day(2027, 3, 31));
    assert_eq!(e.owner.as_deref(), Some("alice"));
    assert_eq!(e.line, 2);
}

#[test]
fn missing_file_is_a_read_error_naming_it() {
    let err = load_suppressions(Path::new("/nonexistent/sup.toml")).unwrap_err();
    assert!(matches!(err, SuppressError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/sup.toml: cannot read"),
        "{err}"
    );
}

#[test]
fn expires_accepts_a_quoted_date_and_a_bom() {
    let s = parse(
        "\u{feff}[[suppression]]\nrule = \"HV001\"\nobject = \"HVL01\"\n\
         justification = \"lab\"\nexpires = \"2026-12-01\"\n",
    );
    assert_eq!(s.entries[0].expires, day(2026, 12, 1));
    assert_eq!(s.entries[0].owner, None);
}

#[test]
fn empty_file_has_no_suppressions() {
    assert!(parse("# nothing accepted yet\n").entries.is_empty());
}

#[test]
fn missing_justification_names_field_and_entry_line() {
    let text = format!(
        "{ENTRY_HV007}\n[[suppression]]\nrule = \"HV001\"\nobject = \"HVL01\"\nexpires = 2027-01-01\n"
    );
    let (line, reason) = parse_err(&text);
    assert_eq!(line, Some(10), "the second entry's header");
    assert_eq!(reason, "missing field `justification`");
}

#[test]
fn blank_justification_is_refused_at_its_line() {
    let (line, reason) = parse_err(
        "[[suppression]]\nrule = \"HV001\"\nobject = \"HVL01\"\njustification = \"   \"\nexpires = 2027-01-01\n",
    );
    assert_eq!(line, Some(4));
    assert_eq!(reason, "`justification` must not be empty");
}

#[test]
fn impossible_toml_date_is_refused_at_its_line() {
    let (line, reason) = parse_err(
        "[[suppression]]\nrule = \"HV001\"\nobject = \"HVL01\"\njustification = \"x\"\nexpires = 2027-02-30\n",
    );
    assert_eq!(line, Some(5));
    assert!(reason.contains("day"), "{reason}");
}

#[test]
fn bad_date_string_is_refused_at_its_line() {
    let (line, reason) = parse_err(
        "[[suppression]]\nrule = \"HV001\"\nobject = \"HVL01\"\njustification = \"x\"\n\nexpires = \"31.03.2027\"\n",
    );
    assert_eq!(line, Some(6));
    assert_eq!(
        reason,
        "`expires` must be a date YYYY-MM-DD like 2027-03-31 (no time), not \"31.03.2027\""
    );
}

#[test]
fn datetime_is_refused_as_expiry() {
    let (line, reason) = parse_err(
        "[[suppression]]\nrule = \"HV001\"\nobject = \"HVL01\"\njustification = \"x\"\nexpires = 2027-03-31T12:00:00Z\n",
    );
    assert_eq!(line, Some(5));
    assert!(reason.contains("(no time)"), "{reason}");
}

#[test]
fn unknown_field_is_refused_at_its_line() {
    let (line, reason) = parse_err(
        "[[suppression]]\nrule = \"HV001\"\nobject = \"HVL01\"\njustification = \"x\"\nexpires = 2027-01-01\nexpiry = 2028-01-01\n",
    );
    assert_eq!(line, Some(6));
    assert!(reason.starts_with("unknown field `expiry`"), "{reason}");
}

#[test]
fn unknown_top_level_table_is_refused() {
    let (line, reason) = parse_err("[[suppressions]]\nrule = \"HV001\"\n");
    assert_eq!(line, Some(1));
    assert!(
        reason.starts_with("unknown field `suppressions`"),
        "{reason}"
    );
}

#[test]
fn rule_pattern_and_bad_glob_are_refused() {
    let (line, reason) = parse_err(
        "[[suppression]]\nrule = \"HV*\"\nobject = \"HVL01\"\njustification = \"x\"\nexpires = 2027-01-01\n",
    );
    assert_eq!(line, Some(2));
    assert!(reason.starts_with("rule must be one rule id"), "{reason}");
    let (line, reason) = parse_err(
        "[[suppression]]\nrule = \"HV001\"\nobject = \"HVL[01\"\njustification = \"x\"\nexpires = 2027-01-01\n",
    );
    assert_eq!(line, Some(3));
    assert!(reason.starts_with("invalid glob \"HVL[01\""), "{reason}");
}

#[test]
fn error_display_has_file_line_and_reason() {
    let err = parse_suppressions(
        "[[suppression]]\nrule = \"HV001\"\nobject = \"HVL01\"\nexpires = 2027-01-01\n",
        Path::new("accepted.toml"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "accepted.toml:1: missing field `justification`"
    );
}

fn one(rule: &str, object: &str, target: Option<&str>) -> Suppressions {
    let target = target
        .map(|t| format!("target = \"{t}\"\n"))
        .unwrap_or_default();
    parse(&format!(
        "[[suppression]]\nrule = \"{rule}\"\nobject = \"{object}\"\n{target}\
         justification = \"accepted\"\nexpires = 2027-03-31\n"
    ))
}

const TODAY: (i32, u32, u32) = (2027, 1, 15);

fn today() -> NaiveDate {
    day(TODAY.0, TODAY.1, TODAY.2)
}

#[test]
fn exact_object_matches_case_insensitively_only_that_object() {
    let s = one("hv002", "hvp02", None);
    let mut f = vec![
        finding("HV002", "HVP02", Some("HVP04")),
        finding("HV002", "HVP020", Some("HVP04")),
        finding("HV003", "HVP02", Some("HVP04")),
    ];
    let r = apply(&mut f, &s, today());
    assert_eq!(r.suppressed, 1);
    assert_eq!(f[0].status, Status::Suppressed);
    assert_eq!(
        f[0].suppression.as_deref(),
        Some("accepted (expires 2027-03-31)")
    );
    assert_eq!(f[1].status, Status::Open);
    assert_eq!(f[2].status, Status::Open);
    assert_eq!(f[1].suppression, None);
}

#[test]
fn object_glob_matches_several_objects() {
    let s = one("HV002", "HVL0?", None);
    let mut f = vec![
        finding("HV002", "HVL06", Some("HVL01")),
        finding("HV002", "hvl06", Some("HVL02")),
        finding("HV002", "HVP02", Some("HVP04")),
    ];
    let r = apply(&mut f, &s, today());
    assert_eq!(r.suppressed, 2);
    let st: Vec<_> = f.iter().map(|f| f.status.clone()).collect();
    assert_eq!(st, [Status::Suppressed, Status::Suppressed, Status::Open]);
}

#[test]
fn object_matches_the_dn_too() {
    let s = one("HV002", "*,OU=Lab,OU=HyperV,DC=corp,DC=example", None);
    let mut lab = finding("HV002", "HVL06", Some("HVL01"));
    lab.object_dn = Some("CN=HVL06,OU=Lab,OU=HyperV,DC=corp,DC=example".into());
    let prod = finding("HV002", "HVP02", Some("HVP04")); // DN in OU=Prod
    let mut f = vec![lab, prod];
    apply(&mut f, &s, today());
    assert_eq!(f[0].status, Status::Suppressed);
    assert_eq!(f[1].status, Status::Open);
}

#[test]
fn target_glob_restricts_the_match() {
    let s = one("HV007", "HVP04", Some("mssqlsvc/*"));
    let mut f = vec![
        finding("HV007", "HVP04", Some("MSSQLSvc/sql01.corp.example:1433")),
        finding("HV007", "HVP04", Some("HTTP/web01.corp.example")),
        finding("HV007", "HVP04", None),
    ];
    let r = apply(&mut f, &s, today());
    assert_eq!(r.suppressed, 1);
    assert_eq!(f[0].status, Status::Suppressed);
    assert_eq!(f[1].status, Status::Open);
    assert_eq!(f[2].status, Status::Open, "a target pattern needs a target");
}

#[test]
fn exact_target_is_case_insensitive() {
    let s = one("HV009", "HVL04", Some("CIFS/hvl99"));
    let mut f = vec![
        finding("HV009", "HVL04", Some("cifs/HVL99")),
        finding("HV009", "HVL04", Some("cifs/HVL990")),
    ];
    apply(&mut f, &s, today());
    assert_eq!(f[0].status, Status::Suppressed);
    assert_eq!(f[1].status, Status::Open);
}

#[test]
fn owner_appears_in_the_suppression_text() {
    let s = parse(ENTRY_HV007);
    let mut f = vec![finding(
        "HV007",
        "HVP04",
        Some("MSSQLSvc/sql01.corp.example:1433"),
    )];
    apply(&mut f, &s, today());
    assert_eq!(
        f[0].suppression.as_deref(),
        Some("SQL backup path, CHG-1234 (owner alice, expires 2027-03-31)")
    );
}

#[test]
fn expiry_day_itself_still_suppresses() {
    let s = one("HV001", "HVL01", None);
    let mut f = vec![finding("HV001", "HVL01", None)];
    let r = apply(&mut f, &s, day(2027, 3, 31));
    assert_eq!(f[0].status, Status::Suppressed);
    assert_eq!(r.suppressed, 1);
    assert!(r.expired.is_empty());
    assert!(r.unmatched.is_empty());
}

#[test]
fn day_after_expiry_stops_suppressing_and_reports_it() {
    let s = one("HV001", "HVL01", None);
    let mut f = vec![finding("HV001", "HVL01", None)];
    let r = apply(&mut f, &s, day(2027, 4, 1));
    assert_eq!(f[0].status, Status::Open);
    assert_eq!(f[0].suppression, None);
    assert_eq!(r.suppressed, 0);
    assert_eq!(r.expired.len(), 1);
    let e = &r.expired[0];
    assert_eq!((e.rule.as_str(), e.object.as_str()), ("HV001", "HVL01"));
    assert_eq!(e.expires, day(2027, 3, 31));
    assert_eq!(e.line, 1);
    assert_eq!(e.matches, 1, "the finding it no longer hides");
    assert!(
        r.unmatched.is_empty(),
        "expired is reported once, as expired"
    );
}

#[test]
fn expired_suppression_matching_nothing_is_reported_expired() {
    let s = one("HV001", "HVL01", None);
    let r = apply(&mut [], &s, day(2028, 1, 1));
    assert_eq!(r.expired.len(), 1);
    assert_eq!(r.expired[0].matches, 0);
    assert!(r.unmatched.is_empty());
}

#[test]
fn unmatched_suppression_is_reported() {
    let s = parse(&format!(
        "{ENTRY_HV007}\n[[suppression]]\nrule = \"HV001\"\nobject = \"HVL09\"\n\
         justification = \"gone\"\nexpires = 2027-06-30\n"
    ));
    let mut f = vec![finding(
        "HV007",
        "HVP04",
        Some("MSSQLSvc/sql01.corp.example:1433"),
    )];
    let r = apply(&mut f, &s, today());
    assert_eq!(r.suppressed, 1);
    assert_eq!(r.unmatched.len(), 1);
    let u = &r.unmatched[0];
    assert_eq!((u.rule.as_str(), u.object.as_str()), ("HV001", "HVL09"));
    assert_eq!(u.line, 10);
    assert_eq!(u.expires, day(2027, 6, 30));
    assert_eq!(u.matches, 0);
}

#[test]
fn first_unexpired_match_supplies_the_justification() {
    let s = parse(
        "[[suppression]]\nrule = \"HV001\"\nobject = \"HVL01\"\njustification = \"old\"\nexpires = 2026-01-01\n\
         [[suppression]]\nrule = \"HV001\"\nobject = \"HVL*\"\njustification = \"renewed\"\nexpires = 2027-12-31\n",
    );
    let mut f = vec![finding("HV001", "HVL01", None)];
    let r = apply(&mut f, &s, today());
    assert_eq!(f[0].status, Status::Suppressed);
    assert_eq!(
        f[0].suppression.as_deref(),
        Some("renewed (expires 2027-12-31)")
    );
    assert_eq!(r.expired.len(), 1);
    assert_eq!(r.expired[0].line, 1);
}

#[test]
fn example_file_suppresses_the_planted_findings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/suppressions.toml");
    let s = load_suppressions(&path).unwrap();
    let mut lab = finding("HV002", "HVL06", Some("HVL01"));
    lab.object_dn = Some("CN=HVL06,OU=Lab,OU=HyperV,DC=corp,DC=example".into());
    let mut f = vec![
        finding("HV007", "HVP04", Some("MSSQLSvc/sql01.corp.example:1433")),
        lab,
        finding("HV002", "HVP02", Some("HVP04")), // Prod: not covered
    ];
    let r = apply(&mut f, &s, day(2027, 1, 31));
    assert_eq!(r.suppressed, 2);
    assert_eq!(
        f[1].suppression.as_deref(),
        Some("Lab rebuild, PRJ-77 (expires 2027-01-31)")
    );
    assert_eq!(f[2].status, Status::Open);
    let r = apply(&mut [], &s, day(2027, 2, 1));
    assert_eq!(r.expired.len(), 1, "the lab suppression expired");
    assert_eq!(r.expired[0].line, 15);
    assert_eq!(r.unmatched.len(), 1);
}

/// Every TOML block of docs/suppressions.md is a valid suppressions file, and every error
/// quoted there is the one hvaudit prints.
#[test]
fn docs_examples_parse() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/suppressions.md"))
            .unwrap();
    let blocks: Vec<&str> = doc
        .split("```toml\n")
        .skip(1)
        .map(|b| &b[..b.find("```").unwrap()])
        .collect();
    assert_eq!(blocks.len(), 3);
    for b in blocks {
        parse(b);
    }
    let (_, reason) = parse_err(
        "[[suppression]]\nrule = \"HV001\"\nobject = \"HVL[01\"\njustification = \"x\"\nexpires = 2027-01-01\n",
    );
    assert!(
        doc.contains(&format!("accepted.toml:3: {reason}\n")),
        "{reason}"
    );
}
