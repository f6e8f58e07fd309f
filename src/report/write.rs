//! Writing the report files of a scan into `--out DIR`.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

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
    data: &ReportData,
    formats: &[Format],
    templates: Option<&Path>,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        what: dir.display().to_string(),
        source,
    })?;
    let mut written = Vec::new();
    for f in Format::ALL.iter().filter(|f| formats.contains(f)) {
        match f {
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
                written.push(path);
            }
            Format::Csv => {
                let path = dir.join("findings.csv");
                in_file(&path, || {
                    csv::write_findings(create(&path)?, &data.findings)
                })?;
                written.push(path);
                let path = dir.join("readiness.csv");
                in_file(&path, || {
                    csv::write_readiness(create(&path)?, &data.readiness)
                })?;
                written.push(path);
            }
            Format::Json => {
                let path = dir.join("findings.json");
                in_file(&path, || json::write_report(create(&path)?, data))?;
                written.push(path);
            }
        }
    }
    Ok(written)
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
