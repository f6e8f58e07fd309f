//! Writing the report files of a scan into `--out DIR`.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ReportData, ReportError, csv, html, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Csv,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Html, Format::Csv, Format::Json];

    /// Parses `--format html,csv,json` (any order, case-insensitive, spaces allowed).
    pub fn parse_list(s: &str) -> Result<Vec<Format>, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let f = match part.to_ascii_lowercase().as_str() {
                "html" => Format::Html,
                "csv" => Format::Csv,
                "json" => Format::Json,
                other => {
                    return Err(format!(
                        "unknown report format '{other}' (expected html, csv, json)"
                    ));
                }
            };
            if !out.contains(&f) {
                out.push(f);
            }
        }
        if out.is_empty() {
            return Err("no report format given (expected html, csv, json)".into());
        }
        Ok(out)
    }
}

/// Writes `report.html`, `findings.csv` + `readiness.csv`, `findings.json` (those asked for)
/// into `dir`, creating it if needed. Returns the paths written, in that order. An error
/// names the file it happened in.
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
    // The formats are independent and a large domain's pages are tens of megabytes each:
    // each is written on its own thread (a 100,000-computer audit spent half its time here).
    let wanted: Vec<Format> = Format::ALL
        .into_iter()
        .filter(|f| formats.contains(f))
        .collect();
    let results: Vec<Result<Vec<PathBuf>, ReportError>> = std::thread::scope(|s| {
        let handles: Vec<_> = wanted
            .iter()
            .skip(1)
            .map(|&f| s.spawn(move || write_one(dir, data, f, templates)))
            .collect();
        // The first format (the HTML page, the largest) is written on this thread, which
        // reuses the memory the audit freed instead of touching fresh pages.
        let first = wanted.first().map(|&f| write_one(dir, data, f, templates));
        first
            .into_iter()
            .chain(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("report writer thread panicked")),
            )
            .collect()
    });
    let mut written = Vec::new();
    for r in results {
        written.extend(r?);
    }
    Ok(written)
}

/// Writes one format's files; returns their paths.
fn write_one(
    dir: &Path,
    data: &Arc<ReportData>,
    format: Format,
    templates: Option<&Path>,
) -> Result<Vec<PathBuf>, ReportError> {
    match format {
        Format::Html => {
            let path = dir.join("report.html");
            in_file(&path, || {
                let mut w = create(&path)?;
                let res = html::write_html(&mut w, data, templates).and_then(|()| {
                    std::io::Write::flush(&mut w).map_err(|source| ReportError::Io {
                        what: "HTML report".into(),
                        source,
                    })
                });
                // No half-rendered page left behind when a template fails midway.
                if res.is_err() {
                    drop(w);
                    let _ = std::fs::remove_file(&path);
                }
                res
            })?;
            Ok(vec![path])
        }
        Format::Csv => {
            let findings = dir.join("findings.csv");
            in_file(&findings, || {
                csv::write_findings(create(&findings)?, &data.findings)
            })?;
            let readiness = dir.join("readiness.csv");
            in_file(&readiness, || {
                csv::write_readiness(create(&readiness)?, &data.readiness)
            })?;
            Ok(vec![findings, readiness])
        }
        Format::Json => {
            let path = dir.join("findings.json");
            in_file(&path, || json::write_report(create(&path)?, data))?;
            Ok(vec![path])
        }
    }
}

fn in_file(path: &Path, f: impl FnOnce() -> Result<(), ReportError>) -> Result<(), ReportError> {
    f().map_err(|source| ReportError::InFile {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

fn create(path: &Path) -> Result<BufWriter<File>, ReportError> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|source| ReportError::Io {
            what: "file (create)".into(),
            source,
        })
}
