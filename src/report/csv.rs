//! `findings.csv`: one row per finding, columns documented in docs/report-csv.md. RFC 4180
//! quoting comes from the csv crate; formula injection is defused here.

use std::io::Write;

use crate::findings::{Finding, GroupReadiness, ReadinessCell, Status};

use super::{HostRow, ReportError, SEVERITIES_DESC};

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

/// `hosts.csv`: one row per host of the hosts view. Append only.
pub const HOST_COLUMNS: [&str; 28] = [
    "name",
    "fqdn",
    "group",
    "cluster",
    "os",
    "os_build",
    "confirmed",
    "in_directory",
    "enabled",
    "inventory",
    "migration_enabled",
    "authentication_type",
    "credential_guard",
    "protocol_transition",
    "peers_covered",
    "peers",
    "last_boot",
    "delegation_changed",
    "reboot_pending",
    "critical",
    "high",
    "medium",
    "low",
    "info",
    "can_migrate_to",
    "can_migrate_from",
    "blocked_to",
    "unknown_to",
];

/// Characters that make a spreadsheet cell a formula when they start it (`=`, `+`, `-`, `@`),
/// or that it strips before evaluating what follows (tab, CR). OWASP "CSV Injection".
pub(crate) fn is_formula_trigger(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// Where a spreadsheet may start a new cell inside one of our fields: the separators it may be
/// set to split on (`,` `;` tab `|`; Excel and LibreOffice pick `;` in many locales, and ignore
/// our RFC 4180 quoting when the field has no comma to quote) and the line ends of an import
/// that ignores quoting.
pub(crate) fn is_cell_start_separator(c: char) -> bool {
    matches!(c, ',' | ';' | '\t' | '|' | '\r' | '\n')
}

/// Defuses spreadsheet formulas (OWASP "CSV Injection") in one field: a `'` is inserted before
/// a formula trigger (`=`, `+`, `-`, `@`, tab, CR) that starts the field or follows one of the
/// separators `,` `;` tab `|` CR LF, spaces in between allowed. Whichever separator a
/// spreadsheet splits the field on, every piece then starts with `'` (or spaces and `'`), which
/// Excel, LibreOffice and Google Sheets show as text. Nothing else changes, so values stay
/// readable; the rule is documented in docs/report-csv.md.
pub fn neutralise(value: &str) -> std::borrow::Cow<'_, str> {
    // Triggers and separators are ASCII, so bytes decide; a byte of a multi-byte character is
    // never one of them. Most values need no change and are not copied.
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut at_cell_start = true;
    for (i, &b) in value.as_bytes().iter().enumerate() {
        let c = char::from(b);
        if at_cell_start && b != b' ' {
            if b.is_ascii() && is_formula_trigger(c) {
                let o = out.get_or_insert_with(|| String::with_capacity(value.len() + 4));
                o.push_str(&value[copied..i]);
                o.push('\'');
                copied = i;
            }
            at_cell_start = false;
        }
        if b.is_ascii() && is_cell_start_separator(c) {
            at_cell_start = true;
        }
    }
    match out {
        None => value.into(),
        Some(mut o) => {
            o.push_str(&value[copied..]);
            o.into()
        }
    }
}

/// Writes one record of `fields`, each neutralised ([`neutralise`]).
fn write_neutralised<'a, W: Write>(
    out: &mut ::csv::Writer<W>,
    fields: impl IntoIterator<Item = &'a str>,
) -> ::csv::Result<()> {
    for v in fields {
        out.write_field(neutralise(v).as_bytes())?;
    }
    out.write_record(None::<&[u8]>)
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

/// One finding as the text of its [`COLUMNS`], not yet neutralised (the xlsx writer stores
/// the same text as string cells).
pub(crate) fn finding_row(f: &Finding) -> [String; 12] {
    [
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
    ]
}

pub fn write_findings<W: Write>(w: W, findings: &[Finding]) -> Result<(), ReportError> {
    let mut out = writer(w);
    out.write_record(COLUMNS)?;
    for f in findings {
        write_neutralised(&mut out, finding_row(f).iter().map(String::as_str))?;
    }
    out.flush().map_err(|source| ReportError::Io {
        what: "findings CSV".into(),
        source,
    })?;
    Ok(())
}

/// One readiness cell as the text of its [`READINESS_COLUMNS`], not yet neutralised.
pub fn readiness_row(g: &GroupReadiness, c: &ReadinessCell) -> [String; 12] {
    // No per-form entries: every form has the cell's state.
    let form = |name: &str| {
        c.forms
            .iter()
            .find(|f| f.form == name)
            .map_or(c.state.as_str(), |f| f.state.as_str())
            .to_string()
    };
    [
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
        c.ready_forms
            .iter()
            .map(|f| f.as_ref())
            .collect::<Vec<&str>>()
            .join("; "),
    ]
}

/// Optional `readiness.csv`: one row per ordered host pair. Lists are `;`-separated.
pub fn write_readiness<W: Write>(w: W, readiness: &[GroupReadiness]) -> Result<(), ReportError> {
    let mut out = writer(w);
    out.write_record(READINESS_COLUMNS)?;
    for g in readiness {
        for c in &g.cells {
            write_neutralised(&mut out, readiness_row(g, c).iter().map(String::as_str))?;
        }
    }
    out.flush().map_err(|source| ReportError::Io {
        what: "readiness CSV".into(),
        source,
    })?;
    Ok(())
}

/// `true`, `false`, or empty when unknown.
fn opt_bool(b: Option<bool>) -> String {
    b.map(|b| b.to_string()).unwrap_or_default()
}

/// One host as the text of its [`HOST_COLUMNS`] (unknown values empty, times RFC 3339 UTC),
/// not yet neutralised.
pub(crate) fn host_row(h: &HostRow) -> Vec<String> {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    };
    let mut row = vec![
        h.name.clone(),
        h.fqdn.clone().unwrap_or_default(),
        h.group.clone().unwrap_or_default(),
        h.cluster.clone().unwrap_or_default(),
        h.os.clone(),
        h.os_build.map(|b| b.to_string()).unwrap_or_default(),
        opt_bool(h.confirmed),
        h.in_directory.to_string(),
        h.enabled.to_string(),
        h.inventory.as_str().to_string(),
        opt_bool(h.migration_enabled),
        h.authentication_type.clone().unwrap_or_default(),
        opt_bool(h.credential_guard),
        opt_bool(h.protocol_transition),
        h.peers_covered.to_string(),
        h.peers.to_string(),
        time(h.last_boot),
        time(h.delegation_changed),
        opt_bool(h.reboot_pending()),
    ];
    for s in SEVERITIES_DESC {
        row.push(h.findings.get(&s).copied().unwrap_or(0).to_string());
    }
    row.extend([
        h.can_migrate_to.to_string(),
        h.can_migrate_from.to_string(),
        h.blocked_to.to_string(),
        h.unknown_to.to_string(),
    ]);
    row
}

/// `hosts.csv`: one row per host ([`HOST_COLUMNS`]); unknown values are empty, times
/// RFC 3339 UTC.
pub fn write_hosts<W: Write>(w: W, hosts: &[HostRow]) -> Result<(), ReportError> {
    let mut out = writer(w);
    out.write_record(HOST_COLUMNS)?;
    for h in hosts {
        write_neutralised(&mut out, host_row(h).iter().map(String::as_str))?;
    }
    out.flush().map_err(|source| ReportError::Io {
        what: "hosts CSV".into(),
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

    #[test]
    fn defuses_formulas_after_every_separator() {
        // The field case: a `;`-locale spreadsheet splits these and evaluates `=1+1`.
        assert_eq!(neutralise("cifs/sql01;=1+1"), "cifs/sql01;'=1+1");
        assert_eq!(
            neutralise("CN=HV03\\;=2+2,OU=HV,DC=t,DC=example"),
            "CN=HV03\\;'=2+2,OU=HV,DC=t,DC=example"
        );
        assert_eq!(neutralise("a,+1"), "a,'+1");
        assert_eq!(neutralise("a|-1"), "a|'-1");
        assert_eq!(neutralise("a|@SUM(1)"), "a|'@SUM(1)");
        // Tab is both a separator and a trigger: the piece after it starts with `'`.
        assert_eq!(neutralise("a\t=1"), "a\t'=1");
        assert_eq!(neutralise("a;\tb"), "a;'\tb");
        assert_eq!(neutralise("a;\r=1"), "a;'\r'=1");
        assert_eq!(neutralise("line\n-x"), "line\n'-x");
        // Spaces a spreadsheet may trim do not hide the trigger.
        assert_eq!(neutralise("a;  =1"), "a;  '=1");
        assert_eq!(neutralise("  =1"), "  '=1");
        assert_eq!(neutralise(";;=1"), ";;'=1");
        // Multi-byte characters are copied whole and never taken for a trigger.
        assert_eq!(neutralise("主;=1"), "主;'=1");
        assert_eq!(neutralise("é=1"), "é=1");
        assert_eq!(neutralise("=主"), "'=主");
        // Readable otherwise: triggers inside a piece and separators before ordinary text stay.
        assert_eq!(neutralise("a; b=c, d-e|f"), "a; b=c, d-e|f");
        assert_eq!(neutralise("HV002; HV003"), "HV002; HV003");
    }
}
