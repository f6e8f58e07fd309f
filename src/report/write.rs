//! Writing the report files of a scan into `--out DIR`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ReportData, ReportError, csv, html, json, xlsx};
use crate::outfile::{OutputError, StagedFile, Staging};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
    let wanted: Vec<Format> = Format::ALL
        .into_iter()
        .filter(|f| formats.contains(f))
        .collect();
    let lanes = lanes(&wanted, crate::parallel::cores());
    // The formats are independent and a large domain's files are tens of megabytes each: each
    // lane (a thread) writes its formats one after the other, and the lanes run side by side
    // (a 100,000-computer audit spent half its time here).
    let mut results: Vec<(Format, Result<Vec<StagedFile>, ReportError>)> =
        std::thread::scope(|s| {
            let run = move |lane: Vec<Format>| {
                lane.into_iter()
                    .map(|f| {
                        // A writer that panics is a bug; it becomes an error naming its
                        // format (not a crash of the run, not a blamed neighbour in its lane).
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            crate::timing::span(&format!("{f:?}"), || {
                                write_one(dir, data, f, templates)
                            })
                        }))
                        .unwrap_or_else(|_| Err(panicked(f)));
                        (f, r)
                    })
                    .collect::<Vec<_>>()
            };
            let mut lanes = lanes.into_iter();
            let first = lanes.next().unwrap_or_default();
            let handles: Vec<_> = lanes
                .map(|lane| {
                    let names = lane.clone();
                    (names, s.spawn(move || run(lane)))
                })
                .collect();
            // The first lane (the HTML page's, the largest) runs on this thread, which reuses
            // the memory the audit freed instead of touching fresh pages.
            let mut all = run(first);
            for (names, h) in handles {
                // Panics are caught per format above; a lane that still fails to join
                // reports each of its formats as failed.
                all.extend(h.join().unwrap_or_else(|_| {
                    names.into_iter().map(|f| (f, Err(panicked(f)))).collect()
                }));
            }
            all
        });
    // Files in the documented order, whatever lane wrote them.
    results.sort_by_key(|(f, _)| Format::ALL.iter().position(|x| x == f));
    let results = results.into_iter().map(|(_, r)| r);
    let mut staging = Staging::new();
    for r in results {
        for f in r? {
            staging.push(f);
        }
    }
    Ok(staging)
}

/// The error for a format whose writer panicked.
fn panicked(f: Format) -> ReportError {
    ReportError::Io {
        what: format!("{f:?} report"),
        source: std::io::Error::other("the writer thread panicked"),
    }
}

/// Relative CPU cost of writing each format, as measured on the benchmark's 100,000-computer
/// audit (`HVAUDIT_TIMINGS=1`): the workbook ~0.55 s, the page ~0.45 s, the JSON ~0.2 s, the
/// CSVs ~0.1 s. Only the order and rough ratios matter: they decide which formats share a lane.
fn weight(f: Format) -> u32 {
    match f {
        Format::Xlsx => 55,
        Format::Html => 45,
        Format::Json | Format::Ndjson => 20,
        Format::Csv => 10,
    }
}

/// `formats` dealt into at most `cores` lanes, heaviest first, each to the lightest lane so
/// far (longest-processing-time scheduling). With at least as many cores as formats every
/// format has its own lane; on two cores the workbook and the page no longer compete with two
/// more writers for them. The first lane holds the HTML page when it is asked for.
fn lanes(formats: &[Format], cores: usize) -> Vec<Vec<Format>> {
    let n = cores.clamp(1, formats.len().max(1));
    let mut sorted = formats.to_vec();
    sorted.sort_by_key(|f| std::cmp::Reverse(weight(*f)));
    let mut lanes: Vec<(u32, Vec<Format>)> = vec![(0, Vec::new()); n];
    for f in sorted {
        if let Some(lane) = lanes.iter_mut().min_by_key(|(w, _)| *w) {
            lane.0 += weight(f);
            lane.1.push(f);
        }
    }
    let mut lanes: Vec<Vec<Format>> = lanes.into_iter().map(|(_, l)| l).collect();
    if let Some(i) = lanes.iter().position(|l| l.contains(&Format::Html)) {
        lanes.swap(0, i);
    }
    lanes
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

#[cfg(test)]
mod tests {
    use super::{Format, lanes};

    #[test]
    fn formats_are_dealt_into_balanced_lanes_with_the_page_first() {
        use Format::*;
        let all = [Html, Csv, Json, Xlsx];
        // Two cores: the workbook and the page each lead a lane, the light formats fill up.
        assert_eq!(lanes(&all, 2), vec![vec![Html, Json], vec![Xlsx, Csv]]);
        // As many cores as formats: one lane each.
        let mut four = lanes(&all, 8);
        assert_eq!(four.len(), 4);
        assert_eq!(four[0], vec![Html]);
        four.sort();
        assert_eq!(four, vec![vec![Html], vec![Csv], vec![Json], vec![Xlsx]]);
        // One core: one lane with every format; no format is lost or doubled.
        let one = lanes(&all, 1);
        assert_eq!(one.len(), 1);
        let mut got = one[0].clone();
        got.sort();
        assert_eq!(got, vec![Html, Csv, Json, Xlsx]);
        assert_eq!(lanes(&[Csv], 4), vec![vec![Csv]]);
        assert!(lanes(&[], 4).iter().all(Vec::is_empty));
    }
}
