//! `findings.csv`: one row per finding, columns documented in docs/report-csv.md. RFC 4180
//! quoting comes from the csv crate; formula injection is defused here.

use std::io::Write;

use crate::findings::{Finding, GroupReadiness, Status};

use super::ReportError;

/// The stable column order. Append only: tools index these by name or position.
pub const COLUMNS: [&str; 12] = [
    "rule_id",
    "severity",
    "title",
    "object",
    "object_dn",
    "target",
    "group",
    "message",
    "evidence",
    "remediation",
    "status",
    "suppression",
];

pub const READINESS_COLUMNS: [&str; 12] = [
    "group",
    "from",
    "to",
    "ready",
    "state",
    "netbios",
    "fqdn",
    "same_cluster",
    "blocking_rules",
    "reasons",
    "unknown",
    "ready_forms",
];

/// Spreadsheets evaluate a cell starting with one of these as a formula (or, for tab and CR,
/// strip them and then evaluate what follows). A leading `'` makes them show it as text.
pub fn neutralise(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    }
}

/// `name=value; name=value`, keys in the finding's (sorted) order.
pub fn evidence_text(f: &Finding) -> String {
    f.evidence
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn status_str(s: &Status) -> &'static str {
    match s {
        Status::Open => "open",
        Status::Existing => "existing",
        Status::Suppressed => "suppressed",
    }
}

/// RFC 4180 wants CRLF record ends; the csv crate defaults to LF.
fn writer<W: Write>(w: W) -> ::csv::Writer<W> {
    ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(w)
}

pub fn write_findings<W: Write>(w: W, findings: &[Finding]) -> Result<(), ReportError> {
    let mut out = writer(w);
    out.write_record(COLUMNS)?;
    for f in findings {
        let row = [
            f.rule_id.clone(),
            f.severity.as_str().to_string(),
            f.title.clone(),
            f.object.clone(),
            f.object_dn.clone().unwrap_or_default(),
            f.target.clone().unwrap_or_default(),
            f.group.clone().unwrap_or_default(),
            f.message.clone(),
            evidence_text(f),
            f.remediation.clone().unwrap_or_default(),
            status_str(&f.status).to_string(),
            f.suppression.clone().unwrap_or_default(),
        ];
        out.write_record(row.iter().map(|v| neutralise(v)))?;
    }
    out.flush().map_err(|source| ReportError::Io {
        what: "findings CSV".into(),
        source,
    })?;
    Ok(())
}

/// Optional `readiness.csv`: one row per ordered host pair. Lists are `;`-separated.
pub fn write_readiness<W: Write>(w: W, readiness: &[GroupReadiness]) -> Result<(), ReportError> {
    let mut out = writer(w);
    out.write_record(READINESS_COLUMNS)?;
    for g in readiness {
        for c in &g.cells {
            let form = |name: &str| {
                c.forms
                    .iter()
                    .find(|f| f.form == name)
                    .map(|f| f.state.as_str().to_string())
                    .unwrap_or_default()
            };
            let row = [
                g.group.clone(),
                c.from.clone(),
                c.to.clone(),
                c.ready.to_string(),
                c.state.as_str().to_string(),
                form("netbios"),
                form("fqdn"),
                c.same_cluster.to_string(),
                c.blocking_rules.join("; "),
                c.reasons.join("; "),
                c.unknown.join("; "),
                c.ready_forms.join("; "),
            ];
            out.write_record(row.iter().map(|v| neutralise(v)))?;
        }
    }
    out.flush().map_err(|source| ReportError::Io {
        what: "readiness CSV".into(),
        source,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn prefixes_only_formula_starts() {
        assert_eq!(neutralise("=1+1"), "'=1+1");
        assert_eq!(neutralise("\tx"), "'\tx");
        assert_eq!(neutralise("a=1"), "a=1");
        assert_eq!(neutralise(""), "");
        assert_eq!(neutralise("'quoted"), "'quoted");
    }
}
