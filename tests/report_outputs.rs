//! Report outputs from a handcrafted report whose directory values are hostile: CSV, JSON,
//! terminal and HTML must each keep them inert for their medium.

mod common {
    pub mod report_fixture;
}

use std::sync::Arc;

use common::report_fixture::*;
use hvaudit::report::{ReportError, csv, html, json, terminal};

fn csv_rows() -> (Vec<String>, Vec<Vec<String>>) {
    let data = fixture_report(40);
    let mut buf = Vec::new();
    csv::write_findings(&mut buf, &data.findings).unwrap();
    assert!(std::str::from_utf8(&buf).is_ok(), "CSV is UTF-8");
    let mut rdr = ::csv::Reader::from_reader(&buf[..]);
    let headers = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

#[test]
fn csv_has_the_documented_columns_and_crlf_records() {
    let (headers, rows) = csv_rows();
    assert_eq!(
        headers,
        [
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
            "suppression"
        ]
    );
    assert_eq!(rows.len(), 50);
    let data = fixture_report(0);
    let mut buf = Vec::new();
    csv::write_findings(&mut buf, &data.findings[7..8]).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert!(text.starts_with("rule_id,severity,title,object,"));
    assert!(text.ends_with(",open,\r\n"), "{text:?}");
    assert!(text.contains("Ünïcødé-主机"));
}

#[test]
fn csv_round_trips_with_quote_only_on_formula_starts() {
    let (_, rows) = csv_rows();
    // columns: 0 rule_id 1 severity 3 object 5 target 7 message 8 evidence 9 remediation
    // 10 status 11 suppression
    assert_eq!(rows[0][3], "<script>alert(1)</script>");
    assert_eq!(rows[0][1], "critical");
    assert_eq!(
        rows[0][8],
        "payload=\"><img src=x onerror=alert(1)>; userAccountControl=0x1001000 \
         (WORKSTATION_TRUST_ACCOUNT, TRUSTED_TO_AUTH_FOR_DELEGATION)"
    );
    assert_eq!(
        rows[0][9],
        "# <script>alert(1)</script>\nSet-ADAccountControl -Identity x"
    );
    assert_eq!(rows[1][3], "\"><img src=x onerror=alert(1)>");
    assert_eq!(rows[2][3], "'=HYPERLINK(\"http://x\",\"y\")");
    assert_eq!(rows[2][7], "'=HYPERLINK(\"http://x\",\"y\")");
    assert_eq!(rows[3][3], "'+cmd");
    assert_eq!(rows[3][5], "'-1+2");
    assert_eq!(rows[3][7], "'@SUM(A1)");
    assert_eq!(rows[4][3], "'@SUM(A1)");
    assert_eq!(rows[4][5], "'\tTAB-host");
    assert_eq!(rows[5][3], "'\rCR-host");
    assert_eq!(rows[5][7], "'\rcarriage");
    assert_eq!(rows[6][3].len(), 65536);
    assert!(rows[6][3].bytes().all(|b| b == b'L'));
    assert_eq!(rows[7][3], "Ünïcødé-主机");
    assert_eq!(rows[7][5], "http/ünï.corp.example");
    // CSV is data, not a terminal: control characters are kept verbatim, only quoted.
    assert_eq!(
        rows[8][3],
        "adm\u{1b}[31mred\u{1b}]0;pwned\u{7}\u{0}\u{85}ctl"
    );
    assert_eq!(rows[13][10], "suppressed");
    assert_eq!(
        rows[13][11],
        "Accepted risk <b>3</b> until 2099-01-01 (owner: ops)"
    );
    assert_eq!(rows[12][10], "open");
    assert_eq!(rows[12][11], "");
    // Nothing anywhere is left for a spreadsheet to evaluate.
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "unneutralised cell {cell:?}"
            );
        }
    }
}

#[test]
fn readiness_csv_lists_every_ordered_pair() {
    let data = fixture_report(0);
    let mut buf = Vec::new();
    csv::write_readiness(&mut buf, &data.readiness[..1]).unwrap();
    let mut rdr = ::csv::Reader::from_reader(&buf[..]);
    let rows: Vec<::csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 20);
    assert_eq!(
        rows[1].iter().collect::<Vec<_>>(),
        [
            "Cluster-A",
            "HV01",
            "HV03",
            "false",
            "blocked",
            // No per-form entries: both forms have the cell's state.
            "blocked",
            "blocked",
            "false",
            "HV002",
            "lacks Microsoft Virtual System Migration Service/HV03",
            "",
            "",
        ]
    );
}

#[test]
fn json_round_trips_and_carries_schema_and_summary() {
    let data = fixture_report(40);
    let mut buf = Vec::new();
    json::write_report(&mut buf, &data).unwrap();
    let back = json::read_report(&buf[..], "findings.json").unwrap();
    assert_eq!(back, data);

    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["schema_version"], 3);
    assert_eq!(v["complete"], false);
    assert_eq!(v["summary"]["by_severity"]["critical"], 10);
    assert_eq!(v["summary"]["by_severity"]["high"], 11);
    assert_eq!(v["summary"]["by_severity"]["medium"], 12);
    assert_eq!(v["summary"]["by_severity"]["low"], 8);
    assert_eq!(v["summary"]["by_severity"]["info"], 7);
    assert_eq!(v["summary"]["suppressed"], 2);
    assert_eq!(v["summary"]["total"], 50);
    assert_eq!(v["findings"][0]["object"], "<script>alert(1)</script>");
    assert_eq!(
        v["delegations"][1]["delegation_type"],
        "constrained_protocol_transition"
    );
    assert_eq!(v["readiness"][0]["cells"][1]["blocking_rules"][0], "HV002");
}

#[test]
fn json_from_another_schema_version_is_refused() {
    let data = fixture_report(0);
    let mut buf = Vec::new();
    json::write_report(&mut buf, &data).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    v["schema_version"] = 99.into();
    let err = json::read_report(v.to_string().as_bytes(), "old/findings.json").unwrap_err();
    assert!(matches!(err, ReportError::JsonSchema { found: 99, .. }));
    assert_eq!(
        err.to_string(),
        "old/findings.json: JSON report schema_version 99 is not supported (this build reads 1 to 3)"
    );
    // Version 1 (evidence all strings) is still read.
    v["schema_version"] = 1.into();
    let back = json::read_report(v.to_string().as_bytes(), "old/findings.json").unwrap();
    assert_eq!(back.findings, data.findings);
}

/// A list evidence value is a JSON array of strings, one item per value even when an item
/// contains ", " (joined it was ambiguous), `[]` when empty; it reads back as written, and a
/// schema 2 report's joined string still reads (as text, without items).
#[test]
fn list_evidence_is_a_json_array_and_round_trips() {
    let mut data = fixture_report(0);
    let f = &mut data.findings[0];
    let items = vec!["cifs/a, b".to_string(), "cifs/c".to_string()];
    f.evidence
        .insert("msDS-AllowedToDelegateTo".into(), items.join(", "));
    f.evidence_lists
        .insert("msDS-AllowedToDelegateTo".into(), items.clone());
    f.evidence.insert("gaps".into(), String::new());
    f.evidence_lists.insert("gaps".into(), Vec::new());
    let mut buf = Vec::new();
    json::write_report(&mut buf, &data).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    let ev = &v["findings"][0]["evidence"];
    assert_eq!(
        ev["msDS-AllowedToDelegateTo"],
        serde_json::json!(["cifs/a, b", "cifs/c"])
    );
    assert_eq!(ev["gaps"], serde_json::json!([]));
    let back = json::read_report(&buf[..], "findings.json").unwrap();
    assert_eq!(back.findings[0], data.findings[0]);
    // Schema 2 wrote the joined text: it reads back as that text.
    v["schema_version"] = 2.into();
    v["findings"][0]["evidence"]["msDS-AllowedToDelegateTo"] = "cifs/a, b, cifs/c".into();
    v["findings"][0]["evidence"]["gaps"] = "".into();
    let old = json::read_report(v.to_string().as_bytes(), "old.json").unwrap();
    let f = &old.findings[0];
    assert_eq!(f.evidence["msDS-AllowedToDelegateTo"], "cifs/a, b, cifs/c");
    assert_eq!(f.evidence["gaps"], "");
    assert!(f.evidence_lists.is_empty());
    assert_eq!(f.id(), data.findings[0].id());
}

fn hostile_terminal_data() -> hvaudit::report::ReportData {
    let mut data = fixture_report(40);
    data.domain.dns_name = ANSI.into();
    data.gaps[0].what = ANSI.into();
    data.readiness[0].group = format!("grp{ANSI}");
    data.suppression_notes.push(format!("note {ANSI}"));
    data.findings[9].title = format!("title {ANSI}");
    data
}

#[test]
fn terminal_summary_has_no_control_characters() {
    let data = hostile_terminal_data();
    let mut out = Vec::new();
    terminal::write_summary(&mut out, &data, false).unwrap();
    let text = String::from_utf8(out).unwrap();
    for c in text.chars() {
        let u = c as u32;
        assert!(
            c == '\n' || !(u < 0x20 || (0x7f..=0x9f).contains(&u)),
            "control character {u:#x} in {text}"
        );
    }
    assert!(!text.contains("pwned"), "OSC payload leaked: {text}");
    assert!(text.contains("domain admredctl"));
    assert!(text.contains("INCOMPLETE SCAN (SC001): 2 gap(s)"));
    assert!(text.contains("  - admredctl: insufficient access rights"));
    assert!(text.contains("note admredctl"));
    assert!(
        text.contains("Findings: 10 critical, 11 high, 12 medium, 8 low, 7 info; 2 suppressed"),
        "{text}"
    );
    assert!(
        text.contains("| grpadmredctl | 5     | 12          | 7             | 1 "),
        "{text}"
    );
    assert!(text.contains("compared with previous/findings.json: 3 new, 47 unchanged, 1 resolved"));
}

#[test]
fn terminal_colour_only_adds_our_own_sgr_sequences() {
    let data = hostile_terminal_data();
    let mut out = Vec::new();
    terminal::write_summary(&mut out, &data, true).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\u{1b}[1;31mINCOMPLETE SCAN"));
    assert!(!text.contains("pwned"));
    assert!(!text.contains("\u{1b}]"), "no OSC sequence may appear");
    assert!(!text.contains('\u{7}'));
}

#[test]
fn html_escapes_every_hostile_value() {
    let data = fixture_report(40);
    let page = html::render_html(&Arc::new(data.clone()), None).unwrap();
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<img src=x"));
    assert!(!page.contains("<b>HV04"));
    assert!(!page.contains("<i>not markup"));
    // Attribute and text positions use entity escapes; the JSON blob uses \u escapes.
    assert!(page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains(r#"\u003cscript\u003ealert(1)\u003c/script\u003e"#));
    assert_eq!(page.matches("<script").count(), 2);
    assert!(!page.contains("<link"));
    assert!(!page.contains("src=\""));
    assert!(!page.contains("<img") && !page.contains("<iframe"));
    assert!(page.contains(
        "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\""
    ));
    assert!(page.contains("SC001: incomplete scan."));
    assert!(page.contains("insufficient access rights &lt;script&gt;alert(3)&lt;&#x2f;script&gt;"));
}

/// Bidirectional controls are made visible by name in the page, in the template's rows and
/// in the JSON the page's script renders, as the terminal drops them; JSON and CSV keep them.
#[test]
fn html_shows_bidi_controls_by_name() {
    let data = fixture_report(0);
    let page = html::render_html(&Arc::new(data.clone()), None).unwrap();
    let raw: Vec<char> = page
        .chars()
        .filter(|c| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .collect();
    assert!(raw.is_empty(), "raw bidi controls in the page: {raw:?}");
    // Once in the findings table, once in the JSON blob.
    assert_eq!(
        page.matches(BIDI_SHOWN).count(),
        2,
        "{BIDI_SHOWN} not shown"
    );
    let mut buf = Vec::new();
    json::write_report(&mut buf, &data).unwrap();
    let back = json::read_report(&buf[..], "x").unwrap();
    assert_eq!(back.findings[1].message, BIDI);
}

#[test]
fn html_complete_scan_has_no_banner() {
    let mut data = fixture_report(0);
    data.complete = true;
    data.gaps.clear();
    let page = html::render_html(&Arc::new(data.clone()), None).unwrap();
    assert!(!page.contains("id=\"banner\""));
    assert!(!page.contains("class=\"strip\""));
    assert!(page.contains("<span class=\"ok\">complete</span>"));
}

#[test]
fn html_large_group_becomes_a_summary() {
    let data = fixture_report(0);
    let page = html::render_html(&Arc::new(data.clone()), None).unwrap();
    // Cluster-A (5 hosts) and Cluster-B (30) are grids; Big (201 hosts) is not. Cluster-B's
    // grid is large enough to travel deflated (the `lazy` filter, html::lazy_template).
    assert_eq!(page.matches("<table class=\"mx\">").count(), 1);
    assert!(page.contains("201 hosts is too many for a grid"));
    assert_eq!(page.matches("<td class=\"val\">BIG-000</td>").count(), 200);
    // Cluster-B is over MATRIX_OPEN_MAX_HOSTS: collapsed, its grid in an inert template
    // rendered when opened; Cluster-A's is in the page.
    const { assert!(html::MATRIX_OPEN_MAX_HOSTS < 30 && html::MATRIX_OPEN_MAX_HOSTS >= 5) };
    let b = page.find("id=\"group-3\"").unwrap();
    let lazy = &page[b..];
    let open = "<details class=\"mx-lazy\"><summary>Show the 30 &times; 30 matrix</summary><template class=\"lazy\" data-z=\"";
    let z = &lazy[lazy.find(open).expect("deflated lazy matrix") + open.len()..];
    let z = &z[..z.find('"').unwrap()];
    let grid = {
        use base64::Engine as _;
        use std::io::Read as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(z).unwrap();
        let mut s = String::new();
        flate2::read::ZlibDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    assert_eq!(grid.matches("<table class=\"mx\">").count(), 1);
    assert_eq!(grid.matches("<th class=\"rowh val\">").count(), 30);
    let a = &page[page.find("id=\"group-1\"").unwrap()..b];
    assert!(!a.contains("<template") && a.contains("<table class=\"mx\">"));
    // The group index: a row per group, all-ready groups marked for the filter.
    let index =
        &page[page.find("id=\"group-index\"").unwrap()..page.find("class=\"legend\"").unwrap()];
    assert_eq!(index.matches("<tr data-problem=\"1\">").count(), 2);
    assert_eq!(index.matches("<tr data-problem=\"0\">").count(), 1);
    assert_eq!(index.matches("<svg class=\"bar\"").count(), 3);
}

#[test]
fn html_template_override_is_used_and_still_escaped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("report.html.j2"),
        "custom {{ r.data.findings[0].object }} {{ css }}",
    )
    .unwrap();
    std::fs::write(dir.path().join("report.css"), "p{}").unwrap();
    let page = html::render_html(&Arc::new(fixture_report(0)), Some(dir.path())).unwrap();
    assert_eq!(
        page,
        "custom &lt;script&gt;alert(1)&lt;&#x2f;script&gt; p{}"
    );
}

#[test]
fn html_broken_override_template_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.html.j2"), "{% if %}").unwrap();
    let err = html::render_html(&Arc::new(fixture_report(0)), Some(dir.path())).unwrap_err();
    assert!(matches!(err, ReportError::Template(_)), "{err}");
}

#[test]
fn format_list_parses_and_rejects_unknown() {
    use hvaudit::report::Format;
    assert_eq!(
        Format::parse_list("JSON, html").unwrap(),
        vec![Format::Json, Format::Html]
    );
    assert_eq!(
        Format::parse_list("html,csv,json,csv").unwrap(),
        vec![Format::Html, Format::Csv, Format::Json]
    );
    assert_eq!(
        Format::parse_list("html,pdf").unwrap_err(),
        "unknown report format 'pdf' (expected html, csv, json, xlsx, ndjson)"
    );
    assert!(Format::parse_list(" , ").is_err());
}

#[test]
fn write_all_writes_the_requested_files() {
    use hvaudit::report::{Format, write_all};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let data = fixture_report(5);
    let written = write_all(&out, &Arc::new(data.clone()), &Format::ALL, None).unwrap();
    let names: Vec<_> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "report.html",
            "findings.csv",
            "readiness.csv",
            "hosts.csv",
            "findings.json",
            "findings.xlsx",
            "findings.ndjson"
        ]
    );
    let json_back =
        json::read_report(std::fs::File::open(out.join("findings.json")).unwrap(), "x").unwrap();
    assert_eq!(json_back.findings.len(), 15);
    let csv_text = std::fs::read_to_string(out.join("findings.csv")).unwrap();
    assert_eq!(
        ::csv::Reader::from_reader(csv_text.as_bytes())
            .records()
            .count(),
        15
    );
    assert!(
        std::fs::read_to_string(out.join("report.html"))
            .unwrap()
            .starts_with("<!doctype html>")
    );

    let only = dir.path().join("only");
    let written = write_all(&only, &Arc::new(data.clone()), &[Format::Json], None).unwrap();
    assert_eq!(written, vec![only.join("findings.json")]);
    assert!(!only.join("report.html").exists());
}

#[test]
fn write_all_error_names_the_file() {
    use hvaudit::report::{Format, write_all};
    let dir = tempfile::tempdir().unwrap();
    // A directory where the JSON file should go makes its creation fail.
    std::fs::create_dir(dir.path().join("findings.json")).unwrap();
    let err = write_all(
        dir.path(),
        &Arc::new(fixture_report(0)),
        &[Format::Json],
        None,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{}: ", dir.path().join("findings.json").display())),
        "{msg}"
    );
}
