//! Writing the report files of a scan into `--out DIR`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ReportData, ReportError, csv, html, json, xlsx};
use crate::outfile::{OutputError, StagedFile, Staging};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Csv,
    Json,
    /// `findings.xlsx` ([`xlsx::write_xlsx`]).
    Xlsx,
    /// `findings.ndjson` ([`json::write_ndjson`]): one finding per line.
    Ndjson,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Html,
        Format::Csv,
        Format::Json,
        Format::Xlsx,
        Format::Ndjson,
    ];

    /// Parses `--format html,csv,json,xlsx,ndjson` (any order, case-insensitive, spaces
    /// allowed).
    pub fn parse_list(s: &str) -> Result<Vec<Format>, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let f = match part.to_ascii_lowercase().as_str() {
                "html" => Format::Html,
                "csv" => Format::Csv,
                "json" => Format::Json,
                "xlsx" => Format::Xlsx,
                "ndjson" => Format::Ndjson,
                other => {
                    return Err(format!(
                        "unknown report format '{other}' (expected html, csv, json, xlsx, ndjson)"
                    ));
                }
            };
            if !out.contains(&f) {
                out.push(f);
            }
        }
        if out.is_empty() {
            return Err("no report format given (expected html, csv, json, xlsx, ndjson)".into());
        }
        Ok(out)
    }
}

/// Writes `report.html`, `findings.csv` + `readiness.csv` + `hosts.csv`, `findings.json`,
/// `findings.xlsx`, `findings.ndjson` (those asked for) into `dir`, creating it if needed. Returns the paths written, in that order. An error
/// names the file it happened in. All-or-nothing ([`stage_all`], then
/// [`Staging::commit`]): when any file fails, no earlier file in `dir` is replaced.
pub fn write_all(
    dir: &Path,
    data: &Arc<ReportData>,
    formats: &[Format],
    templates: Option<&Path>,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        what: dir.display().to_string(),
        source,
    })?;
    Ok(stage_all(dir, data, formats, templates)?.commit()?)
}

/// Renders the reports asked for into temporary files in `dir` (which must exist), without
/// touching any file there; [`Staging::commit`] renames them into place. Dropping the
/// result deletes them.
pub fn stage_all(
    dir: &Path,
    data: &Arc<ReportData>,
    formats: &[Format],
    templates: Option<&Path>,
) -> Result<Staging, ReportError> {
    // The formats are independent and a large domain's pages are tens of megabytes each:
    // each is written on its own thread (a 100,000-computer audit spent half its time here).
    let wanted: Vec<Format> = Format::ALL
        .into_iter()
        .filter(|f| formats.contains(f))
        .collect();
    let results: Vec<Result<Vec<StagedFile>, ReportError>> = std::thread::scope(|s| {
        let handles: Vec<_> = wanted
            .iter()
            .skip(1)
            .map(|&f| {
                (
                    f,
                    s.spawn(move || {
                        crate::timing::span(&format!("{f:?}"), || {
                            write_one(dir, data, f, templates)
                        })
                    }),
                )
            })
            .collect();
        // The first format (the HTML page, the largest) is written on this thread, which
        // reuses the memory the audit freed instead of touching fresh pages.
        let first = wanted.first().map(|&f| {
            crate::timing::span(&format!("{f:?}"), || write_one(dir, data, f, templates))
        });
        first
            .into_iter()
            .chain(handles.into_iter().map(|(f, h)| {
                // A writer thread that panicked is a bug; it becomes an error naming the
                // format rather than a second panic here.
                h.join().unwrap_or_else(|_| {
                    Err(ReportError::Io {
                        what: format!("{f:?} report"),
                        source: std::io::Error::other("the writer thread panicked"),
                    })
                })
            }))
            .collect()
    });
    let mut staging = Staging::new();
    for r in results {
        for f in r? {
            staging.push(f);
        }
    }
    Ok(staging)
}

/// Writes one format's files into temporary files; returns them.
fn write_one(
    dir: &Path,
    data: &Arc<ReportData>,
    format: Format,
    templates: Option<&Path>,
) -> Result<Vec<StagedFile>, ReportError> {
    match format {
        Format::Html => {
            let path = dir.join("report.html");
            let f = create(&path)?;
            in_file(&path, || {
                let mut w = f.writer();
                html::write_html(&mut w, data, templates)?;
                flush(w, "HTML report")
            })?;
            Ok(vec![f])
        }
        Format::Csv => {
            let findings = dir.join("findings.csv");
            let f1 = create(&findings)?;
            in_file(&findings, || {
                let mut w = f1.writer();
                csv::write_findings(&mut w, &data.findings)?;
                flush(w, "findings CSV")
            })?;
            let readiness = dir.join("readiness.csv");
            let f2 = create(&readiness)?;
            in_file(&readiness, || {
                let mut w = f2.writer();
                csv::write_readiness(&mut w, &data.readiness)?;
                flush(w, "readiness CSV")
            })?;
            let hosts = dir.join("hosts.csv");
            let f3 = create(&hosts)?;
            in_file(&hosts, || {
                let mut w = f3.writer();
                csv::write_hosts(&mut w, &data.hosts)?;
                flush(w, "hosts CSV")
            })?;
            Ok(vec![f1, f2, f3])
        }
        Format::Json => {
            let path = dir.join("findings.json");
            let f = create(&path)?;
            in_file(&path, || {
                let mut w = f.writer();
                json::write_report(&mut w, data)?;
                flush(w, "JSON report")
            })?;
            Ok(vec![f])
        }
        Format::Xlsx => {
            let path = dir.join("findings.xlsx");
            let f = create(&path)?;
            in_file(&path, || {
                let bytes = xlsx::write_xlsx(data)?;
                let mut w = f.writer();
                w.write_all(&bytes).map_err(|source| ReportError::Io {
                    what: "Excel workbook".into(),
                    source,
                })?;
                flush(w, "Excel workbook")
            })?;
            Ok(vec![f])
        }
        Format::Ndjson => {
            let path = dir.join("findings.ndjson");
            let f = create(&path)?;
            in_file(&path, || {
                let mut w = f.writer();
                json::write_ndjson(&mut w, &data.findings)?;
                flush(w, "findings NDJSON")
            })?;
            Ok(vec![f])
        }
    }
}

fn flush<W: Write>(mut w: W, what: &str) -> Result<(), ReportError> {
    w.flush().map_err(|source| ReportError::Io {
        what: what.into(),
        source,
    })
}

fn in_file(path: &Path, f: impl FnOnce() -> Result<(), ReportError>) -> Result<(), ReportError> {
    f().map_err(|source| ReportError::InFile {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

fn create(path: &Path) -> Result<StagedFile, ReportError> {
    StagedFile::create(path).map_err(|e| match e {
        OutputError::Io { path, source } => ReportError::InFile {
            path,
            source: Box::new(ReportError::Io {
                what: "file (create)".into(),
                source,
            }),
        },
        other => ReportError::Io {
            what: path.display().to_string(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}
