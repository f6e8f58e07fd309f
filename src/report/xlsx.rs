//! `findings.xlsx`: the report as an Excel workbook (Office Open XML, ECMA-376), written with
//! rust_xlsxwriter. Sheets: Summary, Findings, Hosts, Readiness, Privileged accounts, Checks
//! (docs/report-csv.md, "Excel workbook").
//!
//! Unlike CSV, a workbook carries its cell types and needs no import step, so it opens the
//! same in every Excel locale (a `;`-locale Excel splits a CSV on `;`). Every value that comes
//! from the directory, the inventory or a rule is written with `write_string`: a string cell
//! is never evaluated, so `=HYPERLINK(...)` stays text and needs no `'` prefix (the CSV's
//! defence). Only hvaudit's own counts are numbers (the Summary, Hosts and Checks counts).

use rust_xlsxwriter::{Format as CellFormat, Workbook, Worksheet, XlsxError};

use super::csv::{COLUMNS, HOST_COLUMNS, READINESS_COLUMNS, finding_row, host_row, readiness_row};
use super::{ReportData, ReportError, SEVERITIES_DESC};

/// Excel's longest cell text, in UTF-16 code units ("Excel specifications and limits").
const MAX_CELL_UTF16: usize = 32_767;
/// Excel's rows per sheet (the header included).
const MAX_ROWS: u32 = 1_048_576;
/// Appended to a cell value cut at [`MAX_CELL_UTF16`].
const CUT_NOTE: &str = " [... cut: Excel holds 32,767 characters a cell; findings.json has it all]";

impl From<XlsxError> for ReportError {
    fn from(e: XlsxError) -> ReportError {
        ReportError::Io {
            what: "Excel workbook".into(),
            source: std::io::Error::other(e.to_string()),
        }
    }
}

/// The workbook's bytes (a ZIP container). Errors: a value rust_xlsxwriter refuses (none is
/// expected: long values are cut, row counts bounded) as [`ReportError::Io`].
pub fn write_xlsx(data: &ReportData) -> Result<Vec<u8>, ReportError> {
    let mut wb = Workbook::new();
    // The fastest deflate level: at 150,000 readiness rows the default level took about a
    // second of CPU for a file a few percent smaller.
    wb.set_zip_compression_level(1);
    let header = CellFormat::new().set_bold();

    summary_sheet(wb.add_worksheet_with_low_memory()?, data, &header)?;

    let findings = data.findings.iter().map(|f| finding_row(f).to_vec());
    table_sheet(
        wb.add_worksheet_with_low_memory()?,
        "Findings",
        &COLUMNS,
        &[8, 9, 36, 20, 40, 28, 14, 60, 50, 50, 10, 30],
        &[],
        findings,
        &header,
        "findings.csv",
    )?;

    let hosts = data.hosts.iter().map(host_row);
    let mut widths = vec![16u16, 28, 14, 14, 9, 9];
    widths.resize(HOST_COLUMNS.len(), 12);
    table_sheet(
        wb.add_worksheet_with_low_memory()?,
        "Hosts",
        &HOST_COLUMNS,
        &widths,
        &HOST_NUMBER_COLUMNS,
        hosts,
        &header,
        "hosts.csv",
    )?;

    let cells = data
        .readiness
        .iter()
        .flat_map(|g| g.cells.iter().map(move |c| readiness_row(g, c).to_vec()));
    table_sheet(
        wb.add_worksheet_with_low_memory()?,
        "Readiness",
        &READINESS_COLUMNS,
        &[14, 16, 16, 8, 9, 9, 9, 12, 18, 50, 40, 14],
        &[],
        cells,
        &header,
        "readiness.csv",
    )?;

    let privileged = data.privileged.iter().map(|p| {
        vec![
            p.account.clone(),
            p.dn.clone(),
            p.enabled.to_string(),
            p.via.join("; "),
            p.not_delegated.to_string(),
            p.protected_users.to_string(),
            p.protected.to_string(),
        ]
    });
    table_sheet(
        wb.add_worksheet_with_low_memory()?,
        "Privileged accounts",
        &[
            "account",
            "dn",
            "enabled",
            "via",
            "not_delegated",
            "protected_users",
            "protected",
        ],
        &[20, 50, 9, 60, 14, 16, 10],
        &[],
        privileged,
        &header,
        "findings.json",
    )?;

    let checks = data.checks.iter().map(|c| {
        vec![
            c.rule_id.clone(),
            c.title.clone(),
            c.severity.as_str().to_string(),
            c.category.label().to_string(),
            c.status.as_str().to_string(),
            c.findings.to_string(),
            c.suppressed.to_string(),
            c.checked.clone(),
            c.reason.clone().unwrap_or_default(),
        ]
    });
    let checks_ws = wb.add_worksheet_with_low_memory()?;
    table_sheet(
        checks_ws,
        "Checks",
        &[
            "rule_id",
            "title",
            "severity",
            "category",
            "status",
            "findings",
            "suppressed",
            "checked",
            "reason",
        ],
        &[8, 40, 9, 24, 14, 9, 11, 30, 50],
        // findings, suppressed: counts.
        &[5, 6],
        checks,
        &header,
        "findings.json",
    )?;

    Ok(wb.save_to_buffer()?)
}

/// The Hosts columns ([`HOST_COLUMNS`]) written as numbers: `os_build` (a number hvaudit
/// parsed, never the directory's text) and hvaudit's counts (`peers_covered`, `peers`, the
/// findings per severity, `can_migrate_to` ... `unknown_to`), so they sum and sort.
const HOST_NUMBER_COLUMNS: [usize; 12] = [5, 14, 15, 19, 20, 21, 22, 23, 24, 25, 26, 27];

/// Cuts `s` to what one cell holds, saying so.
fn fit(s: &str) -> std::borrow::Cow<'_, str> {
    // A UTF-8 string has at least as many bytes as UTF-16 units: most cells need no count.
    if s.len() <= MAX_CELL_UTF16 || s.encode_utf16().count() <= MAX_CELL_UTF16 {
        return s.into();
    }
    let budget = MAX_CELL_UTF16 - CUT_NOTE.encode_utf16().count();
    let mut used = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        if used + c.len_utf16() > budget {
            break;
        }
        used += c.len_utf16();
        end = i + c.len_utf8();
    }
    format!("{}{CUT_NOTE}", &s[..end]).into()
}

/// Writes `s` as a string cell (never a formula), cut to fit.
fn text(ws: &mut Worksheet, row: u32, col: u16, s: &str) -> Result<(), ReportError> {
    ws.write_string(row, col, fit(s))?;
    Ok(())
}

/// One sheet: a bold header row, frozen, with an autofilter over the data; `rows` as string
/// cells, except the `numbers` columns (indexes; only hvaudit's own counts), whose
/// non-empty values are written as numbers (an empty one, unknown, stays empty). Beyond Excel's row limit the last row says how many rows were left out and where
/// they are (`elsewhere`).
#[allow(clippy::too_many_arguments)]
fn table_sheet(
    ws: &mut Worksheet,
    name: &str,
    columns: &[&str],
    widths: &[u16],
    numbers: &[usize],
    rows: impl Iterator<Item = Vec<String>>,
    header: &CellFormat,
    elsewhere: &str,
) -> Result<(), ReportError> {
    ws.set_name(name)?;
    for (c, h) in columns.iter().enumerate() {
        let c = col(c);
        ws.write_string_with_format(0, c, *h, header)?;
        ws.set_column_width(c, widths.get(usize::from(c)).copied().unwrap_or(12))?;
    }
    let mut r: u32 = 0;
    let mut left_out: u64 = 0;
    for row in rows {
        if r + 2 >= MAX_ROWS {
            left_out += 1;
            continue;
        }
        r += 1;
        for (c, v) in row.into_iter().enumerate() {
            match numbers.contains(&c).then(|| v.parse::<u64>()) {
                Some(Ok(n)) => {
                    // u64 -> f64 is exact below 2^53; counts and build numbers are far below.
                    ws.write_number(r, col(c), n as f64)?;
                }
                // The row's own string is handed over: no copy for the cells that fit.
                _ => {
                    let cut = match fit(&v) {
                        std::borrow::Cow::Owned(cut) => Some(cut),
                        std::borrow::Cow::Borrowed(_) => None,
                    };
                    ws.write_string(r, col(c), cut.unwrap_or(v))?;
                }
            }
        }
    }
    if left_out > 0 {
        r += 1;
        text(
            ws,
            r,
            0,
            &format!("{left_out} more rows than an Excel sheet holds: see {elsewhere}"),
        )?;
    }
    ws.set_freeze_panes(1, 0)?;
    let last_col = col(columns.len().saturating_sub(1));
    ws.autofilter(0, 0, r.max(1), last_col)?;
    Ok(())
}

/// Column numbers are below 30 here; saturate rather than wrap.
fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

/// Two columns, item and value: the scan, completeness, counts by severity and category.
fn summary_sheet(
    ws: &mut Worksheet,
    data: &ReportData,
    header: &CellFormat,
) -> Result<(), ReportError> {
    ws.set_name("Summary")?;
    ws.write_string_with_format(0, 0, "item", header)?;
    ws.write_string_with_format(0, 1, "value", header)?;
    ws.set_column_width(0, 34)?;
    ws.set_column_width(1, 70)?;
    let summary = data.summary();
    let mut r = 0u32;
    let mut pair = |ws: &mut Worksheet, k: &str, v: Value| -> Result<(), ReportError> {
        r += 1;
        text(ws, r, 0, k)?;
        match v {
            Value::Text(s) => text(ws, r, 1, &s)?,
            Value::Count(n) => {
                // Counts are ours, not directory data: numbers, so they sum and sort.
                ws.write_number(r, 1, n as f64)?;
            }
        }
        Ok(())
    };
    pair(ws, "domain", Value::Text(data.domain.dns_name.clone()))?;
    pair(
        ws,
        "audit ran (UTC)",
        Value::Text(
            data.meta
                .collected_at
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
        ),
    )?;
    if let Some(e) = &data.export {
        pair(ws, "data exported", Value::Text(e.describe()))?;
    }
    pair(
        ws,
        "complete",
        Value::Text(if data.complete {
            "yes".into()
        } else {
            format!(
                "NO: {} item(s) could not be read; nothing here proves compliance",
                data.gaps.len()
            )
        }),
    )?;
    for s in &data.sources {
        pair(ws, "source", Value::Text(s.clone()))?;
    }
    pair(
        ws,
        "hvaudit version",
        Value::Text(data.tool_version.clone()),
    )?;
    pair(ws, "rule set", Value::Text(data.ruleset_version.clone()))?;
    for s in SEVERITIES_DESC {
        let n = summary.by_severity.get(&s).copied().unwrap_or(0);
        pair(ws, &format!("findings: {}", s.as_str()), Value::Count(n))?;
    }
    pair(ws, "findings: suppressed", Value::Count(summary.suppressed))?;
    pair(ws, "findings: total", Value::Count(summary.total))?;
    for c in &summary.by_category {
        let worst = c.worst.map_or("none", |s| s.as_str());
        pair(
            ws,
            &format!("{} (worst: {worst})", c.label),
            Value::Count(c.count),
        )?;
    }
    for g in &data.gaps {
        pair(ws, "gap", Value::Text(format!("{}: {}", g.what, g.reason)))?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, r.max(1), 1)?;
    Ok(())
}

enum Value {
    Text(String),
    Count(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_at_the_cell_limit_in_utf16_units() {
        assert_eq!(fit("short"), "short");
        let long = "主".repeat(40_000);
        let cut = fit(&long);
        assert!(cut.ends_with(CUT_NOTE));
        assert_eq!(cut.encode_utf16().count(), MAX_CELL_UTF16);
        // A character outside the BMP is two UTF-16 units: never split.
        let astral = "𝄞".repeat(20_000);
        let cut = fit(&astral);
        assert!(cut.encode_utf16().count() <= MAX_CELL_UTF16);
        assert!(cut.ends_with(CUT_NOTE));
    }
}
