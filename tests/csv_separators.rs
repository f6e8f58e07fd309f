//! Field case `csv-separator-formulas` and its neighbours (tests/fixtures/field/
//! csv-separator-formulas/): a value holding a separator a spreadsheet may split on (`,` `;`
//! tab `|`, line ends) followed by a formula trigger must not start a formula in any cell of
//! any CSV hvaudit writes, whichever separator the spreadsheet uses (docs/report-csv.md).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

const CASE: &str = "tests/fixtures/field/csv-separator-formulas";
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn hvaudit(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run hvaudit")
}

fn audit(ldif: &str, out: &Path) {
    let o = hvaudit(&[
        "audit",
        "--ldif",
        &format!("{CASE}/{ldif}"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn expected() -> Value {
    let text = std::fs::read_to_string(root().join(CASE).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn cells(path: &Path) -> Vec<String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    r.records()
        .flat_map(|rec| rec.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// What a spreadsheet splitting on `sep` makes of a cell: no piece may start (after the
/// spaces it may trim) with a formula trigger.
fn assert_no_formula(path: &Path, cell: &str) {
    for sep in [",", ";", "\t", "|", "\r\n"] {
        for piece in cell.split(|c| sep.contains(c)) {
            let piece = piece.trim_start_matches(' ');
            assert!(
                !piece.starts_with(TRIGGERS),
                "{}: splitting {cell:?} on {sep:?} gives a formula {piece:?}",
                path.display()
            );
        }
    }
    assert!(
        !cell.trim_start_matches(' ').starts_with(TRIGGERS),
        "{}: cell {cell:?} starts a formula",
        path.display()
    );
}

fn csv_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("csv"))
        .collect();
    v.sort();
    v
}

#[test]
fn field_case_and_neighbours_start_no_formula_in_any_split() {
    let expected = expected();
    for ldif in ["input.ldif", "neighbours.ldif"] {
        let dir = tempfile::tempdir().unwrap();
        audit(ldif, dir.path());
        let files = csv_files(dir.path());
        assert_eq!(
            files.len(),
            3,
            "{ldif}: findings.csv, readiness.csv and hosts.csv"
        );
        let mut all = BTreeSet::new();
        for f in &files {
            for c in cells(f) {
                assert_no_formula(f, &c);
                all.insert(c);
            }
        }
        for want in expected[ldif]["csv_cells"].as_array().unwrap() {
            let want = want.as_str().unwrap();
            assert!(all.contains(want), "{ldif}: no CSV cell {want:?}");
        }
        // The JSON report keeps the stored values exactly.
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("findings.json")).unwrap(),
        )
        .unwrap();
        let mut values = BTreeSet::new();
        for f in json["findings"].as_array().unwrap() {
            for k in ["target", "object_dn"] {
                if let Some(v) = f[k].as_str() {
                    values.insert(v.to_string());
                }
            }
        }
        for want in expected[ldif]["json_values"].as_array().unwrap() {
            let want = want.as_str().unwrap();
            assert!(
                values.contains(want),
                "{ldif}: no exact JSON value {want:?}"
            );
        }
    }
}

#[test]
fn diff_csvs_start_no_formula_in_any_split() {
    let old = tempfile::tempdir().unwrap();
    let new = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    audit("input.ldif", old.path());
    audit("neighbours.ldif", new.path());
    let o = hvaudit(&[
        "diff",
        old.path().join("findings.json").to_str().unwrap(),
        new.path().join("findings.json").to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let files = csv_files(out.path());
    let names: Vec<_> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for n in ["diff-new.csv", "diff-resolved.csv", "findings.csv"] {
        assert!(names.iter().any(|x| x == n), "{n} missing in {names:?}");
    }
    let mut seen = BTreeSet::new();
    for f in &files {
        for c in cells(f) {
            assert_no_formula(f, &c);
            seen.insert(c);
        }
    }
    // Both sides' hostile values reached the diff CSVs.
    assert!(seen.contains("cifs/sql01;'=1+1"));
    assert!(seen.contains("cifs/sql02|'@SUM(1)"));
}
