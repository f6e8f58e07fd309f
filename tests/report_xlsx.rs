//! `findings.xlsx` read back with calamine (an independent reader): its sheets, their header
//! rows, string-typed directory values (a hostile `=HYPERLINK(...)` stays text), the frozen
//! header and autofilter, and the same counts as findings.json.

mod common {
    pub mod cli;
    pub mod report_fixture;
}

use std::io::{Cursor, Read};
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use common::cli::hvaudit;
use common::report_fixture::*;
use hvaudit::report::{Format, write_all};

const SHEETS: [&str; 6] = [
    "Summary",
    "Findings",
    "Hosts",
    "Readiness",
    "Privileged accounts",
    "Checks",
];

fn open(bytes: &[u8]) -> Xlsx<Cursor<Vec<u8>>> {
    open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("a workbook calamine reads")
}

fn rows(wb: &mut Xlsx<Cursor<Vec<u8>>>, sheet: &str) -> Vec<Vec<Data>> {
    let range = wb.worksheet_range(sheet).expect(sheet);
    range.rows().map(<[Data]>::to_vec).collect()
}

fn header(rows: &[Vec<Data>]) -> Vec<String> {
    rows[0].iter().map(|d| d.to_string()).collect()
}

/// The XML of one sheet (sheet N is `xl/worksheets/sheetN.xml`).
fn sheet_xml(bytes: &[u8], n: usize) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    zip.by_name(&format!("xl/worksheets/sheet{n}.xml"))
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[test]
fn hostile_report_reads_back_with_sheets_headers_and_string_cells() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture_report(5);
    let written = write_all(dir.path(), &Arc::new(data.clone()), &[Format::Xlsx], None).unwrap();
    assert_eq!(written, vec![dir.path().join("findings.xlsx")]);
    let bytes = std::fs::read(dir.path().join("findings.xlsx")).unwrap();
    let mut wb = open(&bytes);
    assert_eq!(wb.sheet_names(), SHEETS);

    let findings = rows(&mut wb, "Findings");
    assert_eq!(header(&findings), hvaudit::report::csv::COLUMNS);
    assert_eq!(findings.len() - 1, data.findings.len());
    // Every cell of a finding row is a string (or empty): nothing typed as a number, a
    // boolean or a formula result.
    for row in &findings[1..] {
        for cell in row {
            assert!(
                matches!(cell, Data::String(_) | Data::Empty),
                "non-string cell {cell:?}"
            );
        }
    }
    // The hostile value is a plain string, exactly as read: no `'` prefix needed, no formula.
    let object = findings[0]
        .iter()
        .position(|d| *d == Data::String("object".into()))
        .unwrap();
    assert!(
        findings[1..]
            .iter()
            .any(|r| r[object] == Data::String(HYPERLINK.to_string())),
        "the =HYPERLINK value is a string cell"
    );
    for sheet in SHEETS {
        let formulas = wb.worksheet_formula(sheet).unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "{sheet} has a formula"
        );
    }
    // ANSI and C0 controls survive as text (the XML escapes them), Unicode intact.
    let all: Vec<String> = findings[1..]
        .iter()
        .flatten()
        .map(|d| d.to_string())
        .collect();
    assert!(all.iter().any(|s| s == ANSI), "control characters kept");
    assert!(all.iter().any(|s| s.contains(UNICODE)));
    // The 64 KiB name is cut to Excel's cell limit, saying so, instead of failing the file.
    let long = all
        .iter()
        .find(|s| s.starts_with("LLLL"))
        .expect("the long name");
    assert!(long.encode_utf16().count() <= 32_767, "{}", long.len());
    assert!(long.contains("findings.json has it all"));

    let hosts = rows(&mut wb, "Hosts");
    assert_eq!(header(&hosts), hvaudit::report::csv::HOST_COLUMNS);
    assert_eq!(hosts.len() - 1, data.hosts.len());
    // hvaudit's counts (and the parsed build number) are number cells; directory text and
    // unknown values are not.
    let at = |name: &str| {
        hosts[0]
            .iter()
            .position(|h| *h == Data::String(name.to_string()))
            .unwrap()
    };
    for (row, h) in hosts[1..].iter().zip(&data.hosts) {
        for (name, n) in [
            ("peers", Some(h.peers)),
            ("peers_covered", Some(h.peers_covered)),
            ("can_migrate_to", Some(h.can_migrate_to)),
            ("can_migrate_from", Some(h.can_migrate_from)),
            ("blocked_to", Some(h.blocked_to)),
            ("unknown_to", Some(h.unknown_to)),
            (
                "high",
                Some(
                    h.findings
                        .get(&hvaudit::findings::Severity::High)
                        .copied()
                        .unwrap_or(0),
                ),
            ),
            ("os_build", h.os_build.map(|b| b as usize)),
        ] {
            let cell = &row[at(name)];
            match n {
                Some(n) => assert_eq!(*cell, Data::Float(n as f64), "{name} of {}", h.name),
                None => assert_eq!(*cell, Data::Empty, "{name} of {}", h.name),
            }
        }
        assert!(
            matches!(row[at("name")], Data::String(_)),
            "{:?}",
            row[at("name")]
        );
    }
    let readiness = rows(&mut wb, "Readiness");
    assert_eq!(header(&readiness), hvaudit::report::csv::READINESS_COLUMNS);
    let pairs: usize = data.readiness.iter().map(|g| g.cells.len()).sum();
    assert_eq!(readiness.len() - 1, pairs);
    // Each cell holds the readiness.csv value; an empty one (no blocking rule, no unknown) is
    // a blank cell, never a cell holding "" (Excel's COUNTA would count it).
    let csv_rows: Vec<Vec<String>> = data
        .readiness
        .iter()
        .flat_map(|g| {
            g.cells
                .iter()
                .map(move |c| hvaudit::report::csv::readiness_row(g, c).to_vec())
        })
        .collect();
    let mut blanks = 0;
    for (row, want) in readiness[1..].iter().zip(&csv_rows) {
        for (cell, v) in row.iter().zip(want) {
            if v.is_empty() {
                assert_eq!(*cell, Data::Empty, "{want:?}");
                blanks += 1;
            } else {
                assert_eq!(*cell, Data::String(v.clone()), "{want:?}");
            }
        }
    }
    assert!(
        blanks > 0,
        "the example has ready pairs with no blocking rule"
    );
    let privileged = rows(&mut wb, "Privileged accounts");
    assert_eq!(privileged[0][0].to_string(), "account");
    assert_eq!(privileged.len() - 1, data.privileged.len());
    let checks = rows(&mut wb, "Checks");
    assert_eq!(checks[0][0].to_string(), "rule_id");
    assert_eq!(checks.len() - 1, data.checks.len());
    for (row, c) in checks[1..].iter().zip(&data.checks) {
        assert_eq!(row[5], Data::Float(c.findings as f64), "{}", c.rule_id);
        assert_eq!(row[6], Data::Float(c.suppressed as f64), "{}", c.rule_id);
    }

    // Summary: counts are numbers (ours), the rest text; critical matches the data.
    let summary = rows(&mut wb, "Summary");
    let critical = summary
        .iter()
        .find(|r| r[0] == Data::String("findings: critical".into()))
        .expect("critical row");
    let expected = data.summary().by_severity[&hvaudit::findings::Severity::Critical];
    assert_eq!(critical[1], Data::Float(expected as f64));

    // Frozen header row and an autofilter on every sheet.
    for n in 1..=SHEETS.len() {
        let xml = sheet_xml(&bytes, n);
        assert!(
            xml.contains(r#"ySplit="1""#) && xml.contains(r#"state="frozen""#),
            "sheet {n} header frozen"
        );
        assert!(
            xml.contains("<autoFilter ref=\"A1:"),
            "sheet {n} autofilter"
        );
        assert!(xml.contains("<cols>"), "sheet {n} column widths");
    }
}

/// The example audit writes findings.xlsx by default, with the counts findings.json has.
#[test]
fn example_audit_workbook_counts_equal_the_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = hvaudit(&[
        "audit",
        "--ldif",
        "examples/corp.ldif",
        "--hosts",
        "examples/hosts.csv",
        "--config",
        "examples/hvaudit.toml",
        "--out",
        out,
    ]);
    assert!(
        matches!(o.status.code(), Some(0 | 1 | 3)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("findings.json")).unwrap()).unwrap();
    let bytes = std::fs::read(dir.path().join("findings.xlsx")).unwrap();
    let mut wb = open(&bytes);
    let len = |k: &str| json[k].as_array().unwrap().len();
    assert_eq!(rows(&mut wb, "Findings").len() - 1, len("findings"));
    assert!(len("findings") > 0);
    assert_eq!(rows(&mut wb, "Hosts").len() - 1, len("hosts"));
    assert_eq!(rows(&mut wb, "Checks").len() - 1, len("checks"));
    assert_eq!(
        rows(&mut wb, "Privileged accounts").len() - 1,
        len("privileged")
    );
    let pairs: usize = json["readiness"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["cells"].as_array().unwrap().len())
        .sum();
    assert_eq!(rows(&mut wb, "Readiness").len() - 1, pairs);
    // Selecting formats leaves it out.
    let only = dir.path().join("only");
    let o = hvaudit(&[
        "audit",
        "--ldif",
        "examples/corp.ldif",
        "--format",
        "json",
        "--out",
        only.to_str().unwrap(),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1 | 3)));
    assert!(!only.join("findings.xlsx").exists());
    assert!(only.join("findings.json").exists());
}
