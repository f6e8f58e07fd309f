//! `findings.json`: the whole [`ReportData`] plus a summary, under a `schema_version`
//! (docs/report-json.md). `hvaudit diff` reads these files back with [`read_report`].

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::{FixItem, ReportData, ReportError, Summary};

/// Bumped when a field changes meaning or type, or is removed; adding a field does not bump
/// it. 2: finding evidence typed (booleans and numbers as JSON types, [`TypedEvidence`]).
/// 3: list evidence values are JSON arrays of strings.
///
/// [`TypedEvidence`]: crate::findings::TypedEvidence
pub const REPORT_SCHEMA_VERSION: u32 = 3;

/// The oldest schema [`read_report`] still reads: versions 1 and 2 differ only in evidence
/// being all strings (1) and lists being joined with `, ` (1, 2), which read into the same
/// findings (without their lists' items).
pub const OLDEST_READ_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonReport {
    pub schema_version: u32,
    /// Derived from `findings`; written for consumers, ignored when read back.
    pub summary: Summary,
    /// Derived: the findings to fix first; ignored when read back.
    #[serde(default)]
    pub fix_first: Vec<FixItem>,
    #[serde(flatten)]
    pub report: ReportData,
}

/// The writing twin of [`JsonReport`], borrowing so a large report is not copied.
#[derive(Serialize)]
struct JsonReportRef<'a> {
    schema_version: u32,
    summary: Summary,
    fix_first: Vec<FixItem>,
    #[serde(flatten)]
    report: &'a ReportData,
}

pub fn write_report<W: Write>(mut w: W, data: &ReportData) -> Result<(), ReportError> {
    let doc = JsonReportRef {
        schema_version: REPORT_SCHEMA_VERSION,
        summary: data.summary(),
        fix_first: data.fix_first(),
        report: data,
    };
    serde_json::to_writer_pretty(&mut w, &doc)?;
    w.write_all(b"\n").map_err(|source| ReportError::Io {
        what: "findings JSON".into(),
        source,
    })?;
    Ok(())
}

/// Reads a JSON report; `path` only labels errors. A report from a newer schema is refused
/// rather than misread.
pub fn read_report<R: Read>(r: R, path: &str) -> Result<ReportData, ReportError> {
    let value: serde_json::Value = serde_json::from_reader(r)?;
    let found = value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if !(u64::from(OLDEST_READ_SCHEMA_VERSION)..=u64::from(REPORT_SCHEMA_VERSION)).contains(&found)
    {
        return Err(ReportError::JsonSchema {
            path: path.to_string(),
            found,
            supported: REPORT_SCHEMA_VERSION,
        });
    }
    let doc: JsonReport = serde_json::from_value(value)?;
    Ok(doc.report)
}

/// `findings.ndjson`: one finding per line (NDJSON / JSON Lines), each the object
/// `findings.json` holds (with `id`, typed evidence, `first_seen` when set), for SIEM
/// ingestion. Nothing else: the scan's context is in findings.json.
pub fn write_ndjson<W: Write>(
    mut w: W,
    findings: &[crate::findings::Finding],
) -> Result<(), ReportError> {
    for f in findings {
        serde_json::to_writer(&mut w, f)?;
        w.write_all(b"\n").map_err(|source| ReportError::Io {
            what: "findings NDJSON".into(),
            source,
        })?;
    }
    Ok(())
}
