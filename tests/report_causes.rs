//! Findings with one cause (docs/report-html.md, "Findings with one cause"): PA001 findings
//! whose `privileged_via` evidence is the same nested path are one row in the HTML table and
//! one fix-first entry with the fix at the group, count once in the terminal, and share a
//! `cause` in findings.json, which still lists every finding.

mod common {
    pub mod report_fixture;
}

use std::sync::Arc;

use common::report_fixture::*;
use hvaudit::findings::{Finding, Scope, Severity, Status};
use hvaudit::report::terminal::{TerminalOptions, write_summary_with};
use hvaudit::report::{ReportData, html};
use serde_json::Value;

const HELPDESK: &str = "Account Operators via Helpdesk";

fn pa001(name: &str, via: &str) -> Finding {
    Finding {
        rule_id: "PA001".into(),
        severity: Severity::High,
        title: "Privileged account can be delegated".into(),
        scope: Scope::Account,
        object: name.into(),
        object_dn: Some(format!("CN={name},OU=Users,DC=corp,DC=example")),
        target: None,
        group: None,
        message: format!("{name} is privileged ({via}) but can be delegated"),
        evidence: [
            ("privileged_via".to_string(), via.to_string()),
            (
                "userAccountControl".to_string(),
                "512 (NORMAL_ACCOUNT)".to_string(),
            ),
        ]
        .into(),
        evidence_lists: [(
            "privileged_via".to_string(),
            via.split(", ").map(str::to_string).collect(),
        )]
        .into(),
        remediation: Some(format!(
            "Set-ADAccountControl -Identity 'CN={name},OU=Users,DC=corp,DC=example' -AccountNotDelegated $true"
        )),
        status: Status::Open,
        suppression: None,
        first_seen: None,
    }
}

/// The fixture plus 30 helpdesk accounts (one cause), two direct Domain Admins members and
/// one account that is privileged both directly and through a nested group (no shared cause:
/// removing the nesting would not fix them), and one nested account alone on its path.
fn data() -> ReportData {
    let mut d = fixture_report(0);
    for i in 0..30 {
        d.findings.push(pa001(&format!("hd{i:02}"), HELPDESK));
    }
    d.findings.push(pa001("da1", "Domain Admins"));
    d.findings.push(pa001("da2", "Domain Admins"));
    d.findings.push(pa001(
        "mixed",
        "Administrators via HV-Admins, Domain Admins",
    ));
    d.findings
        .push(pa001("deep", "Domain Admins via T0-Admins > T0-L2"));
    d
}

fn indices(d: &ReportData, pred: impl Fn(&Finding) -> bool) -> Vec<usize> {
    d.findings
        .iter()
        .enumerate()
        .filter(|(_, f)| pred(f))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn json_keeps_every_finding_and_gives_one_cause_to_the_group() {
    let d = data();
    let v: Value = serde_json::to_value(&d.findings).unwrap();
    let f = v.as_array().unwrap();
    assert_eq!(f.len(), d.findings.len(), "every finding is still listed");
    let cause = |name: &str| {
        f.iter().find(|x| x["object"] == name).unwrap()["cause"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let id = |name: &str| {
        f.iter().find(|x| x["object"] == name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let hd = cause("hd00");
    assert_eq!(hd.len(), 32);
    assert!(
        hd.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    for i in 0..30 {
        assert_eq!(cause(&format!("hd{i:02}")), hd);
    }
    // A finding without a shared path is its own cause: its id.
    for name in ["da1", "da2", "mixed", "deep"] {
        assert_ne!(cause(name), hd, "{name}");
    }
    assert_eq!(cause("da1"), id("da1"));
    assert_eq!(cause("mixed"), id("mixed"));
    assert_ne!(
        cause("deep"),
        id("deep"),
        "a nested path is a cause even alone"
    );
    // Every other finding of the fixture too.
    assert!(
        f.iter()
            .all(|x| x["cause"].as_str().is_some_and(|c| c.len() == 32))
    );
}

#[test]
fn fix_first_has_one_entry_for_the_cause_with_the_fix_at_the_group() {
    let d = data();
    let fix = d.fix_first();
    let grouped: Vec<_> = fix.iter().filter(|x| x.cause.is_some()).collect();
    assert_eq!(grouped.len(), 1, "{fix:#?}");
    let g = grouped[0];
    assert_eq!(g.findings, 30);
    assert_eq!(g.exposes, 30);
    assert_eq!(g.object, HELPDESK);
    assert_eq!(g.cause.as_deref(), Some(HELPDESK));
    assert!(
        g.fix.starts_with("Fix at the group Helpdesk: if its members need not be privileged, remove Helpdesk from Account Operators;"),
        "{}",
        g.fix
    );
    assert_eq!(d.findings[g.finding].object, "hd00");
    // No helpdesk account is listed on its own; the direct members are.
    assert!(
        !fix.iter()
            .any(|x| x.cause.is_none() && x.object.starts_with("hd"))
    );
    assert!(fix.iter().any(|x| x.object == "da1" && x.findings == 1));
    // The 30 accounts expose the most among the high entries: the group comes first of them.
    let first_high = fix.iter().find(|x| x.severity == Severity::High).unwrap();
    assert_eq!(first_high.cause.as_deref(), Some(HELPDESK));
}

#[test]
fn html_shows_one_row_for_the_cause_and_the_members_only_in_the_blob() {
    let d = data();
    let hd = indices(&d, |f| f.object.starts_with("hd"));
    let page = html::render_html(&Arc::new(d), None).unwrap();
    assert_eq!(page.matches("<tr class=\"gr\"").count(), 1);
    let row_start = page.find("<tr class=\"gr\"").unwrap();
    let row = &page[row_start..row_start + page[row_start..].find("</tr>").unwrap()];
    assert!(row.contains("30 findings</strong>, one cause"), "{row}");
    assert!(row.contains(HELPDESK), "{row}");
    assert!(row.contains("Fix at the group Helpdesk"), "{row}");
    // No server-rendered row for any member: the page builds them when the row is expanded.
    for i in &hd {
        assert!(
            !page.contains(&format!("class=\"fr\" data-i=\"{i}\"")),
            "row {i}"
        );
    }
    // The blob lists the cause's findings for the page.
    let list = hd
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    assert!(
        page.contains(&format!("\"causes\":[[{list}]]")),
        "causes in the blob"
    );
    // The fix-first entry names the count.
    assert!(page.contains("<strong>30 findings</strong>, one cause: <span class=\"val\">Account Operators via Helpdesk</span>"));
}

#[test]
fn terminal_counts_the_cause_once() {
    let d = data();
    let mut out = Vec::new();
    let opts = TerminalOptions {
        width: Some(200),
        ..TerminalOptions::default()
    };
    write_summary_with(&mut out, &d, &opts).unwrap();
    let text = String::from_utf8(out).unwrap();
    // 35 PA001 findings (the fixture's one plus 34): 30 of one cause, 5 on their own.
    let row = text.lines().find(|l| l.contains("| PA001 ")).unwrap();
    assert!(row.contains("| 35 (6 causes) "), "{row}");
}
