//! `hvaudit diff`: what changed between two findings.json files.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::output::say;
use super::{
    EXIT_FINDINGS, EXIT_OK, Failure, dir_outputs, not_written_note, refuse_outputs_that_are_inputs,
};
use crate::cli::DiffArgs;
use crate::diff;
use crate::report;

use super::common::*;

pub fn diff(a: &DiffArgs) -> Result<u8, Failure> {
    if let Some(out) = &a.out {
        let read = [("OLD", a.old.as_path()), ("NEW", a.new.as_path())];
        refuse_outputs_that_are_inputs("--out", out, &dir_outputs(out), &read)?;
    }
    let diff::Previous {
        findings: old,
        collected_at: previous_time,
    } = diff::load_previous(&a.old)?;
    let file = std::fs::File::open(&a.new)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", a.new.display())))?;
    let mut data =
        report::json::read_report(std::io::BufReader::new(file), &a.new.display().to_string())?;
    let d = diff::diff(&old, &data.findings);
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header(vec!["change", "rule", "severity", "object", "target"]);
    for (label, list) in [
        ("new", &d.new),
        ("resolved", &d.resolved),
        ("unchanged", &d.unchanged),
    ] {
        for f in list.iter() {
            table.add_row(vec![
                label.to_string(),
                report::text::terminal_safe(&f.rule_id),
                f.severity.as_str().to_string(),
                report::text::terminal_safe(&f.object),
                report::text::terminal_safe(f.target.as_deref().unwrap_or("")),
            ]);
        }
    }
    say!("{table}");
    say!(
        "{} new, {} resolved, {} unchanged",
        d.new.len(),
        d.resolved.len(),
        d.unchanged.len()
    );
    if let Some(out) = &a.out {
        let previous = a.old.display().to_string();
        data.diff = Some(report::diff_findings(&previous, &old, &mut data.findings));
        let now = data.meta.collected_at;
        report::diff::carry_first_seen(&old, previous_time, &mut data.findings, now);
        let data = std::sync::Arc::new(data);
        write_reports(out, "diff", &data, &report::Format::ALL, |staging| {
            let names = [
                "diff.json",
                "diff-new.csv",
                "diff-resolved.csv",
                "diff-unchanged.csv",
            ];
            let fail = |e: String| {
                let all: Vec<_> = names.iter().map(|n| out.join(n)).collect();
                Failure::usage(format!("{e}; {}", not_written_note(&all, &[])))
            };
            let text = serde_json::to_string_pretty(&d)
                .map_err(|e| fail(format!("cannot serialise the diff: {e}")))?;
            staging
                .add_bytes(&out.join("diff.json"), text.as_bytes())
                .map_err(|e| fail(e.to_string()))?;
            for (name, list) in [
                ("new", &d.new),
                ("resolved", &d.resolved),
                ("unchanged", &d.unchanged),
            ] {
                let mut buf = Vec::new();
                report::csv::write_findings(&mut buf, list).map_err(|e| fail(e.to_string()))?;
                staging
                    .add_bytes(&out.join(format!("diff-{name}.csv")), &buf)
                    .map_err(|e| fail(e.to_string()))?;
            }
            Ok(())
        })?;
        say!("wrote diff reports to {}", out.display());
    }
    Ok(if d.new.is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}
