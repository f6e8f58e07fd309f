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

/// The diff's CSV files under `--out`, one per kind of change.
const DIFF_CSVS: [(&str, &str); 4] = [
    ("new", "diff-new.csv"),
    ("resolved", "diff-resolved.csv"),
    ("no longer evaluated", "diff-no-longer-evaluated.csv"),
    ("unchanged", "diff-unchanged.csv"),
];

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
    let mut d = diff::diff(&old, &data.findings);
    // A finding whose rule did not run in the new scan was not fixed: "no longer evaluated".
    d.set_aside_not_evaluated(diff::evaluated_rules(&data.checks).as_ref());
    // SC001 runs without an inventory, but its inventory part does not.
    d.set_aside_unread_inventory(diff::inventory_read(&data.hosts));
    let lists = [
        ("new", &d.new),
        ("resolved", &d.resolved),
        ("no longer evaluated", &d.no_longer_evaluated),
        ("unchanged", &d.unchanged),
    ];
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header(vec!["change", "rule", "severity", "object", "target"]);
    for (label, list) in lists {
        // Unchanged findings are the bulk of a weekly diff: listed only when asked for.
        if label == "unchanged" && !a.all {
            continue;
        }
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
    if !table.is_empty() {
        say!("{table}");
    }
    say!(
        "{} new, {} resolved, {} no longer evaluated, {} unchanged{}",
        d.new.len(),
        d.resolved.len(),
        d.no_longer_evaluated.len(),
        d.unchanged.len(),
        if a.all || d.unchanged.is_empty() {
            ""
        } else {
            " (list them with --all)"
        }
    );
    if !d.no_longer_evaluated.is_empty() {
        let mut rules: Vec<&str> = d
            .no_longer_evaluated
            .iter()
            .map(|f| f.rule_id.as_str())
            .collect();
        rules.sort_unstable();
        rules.dedup();
        say!(
            "not resolved: rule(s) {} did not run in the newer scan (disabled, removed, or their input such as --hosts missing{}); see its checks section",
            report::text::terminal_safe(&rules.join(", ")),
            if rules.iter().any(|r| r.eq_ignore_ascii_case("SC001")) {
                "; SC001 ran, but not its inventory part"
            } else {
                ""
            }
        );
    }
    if let Some(out) = &a.out {
        let previous = a.old.display().to_string();
        let checks = data.checks.clone();
        let hosts = data.hosts.clone();
        data.diff = Some(report::diff_findings(
            &previous,
            &old,
            &mut data.findings,
            &checks,
            &hosts,
        ));
        let now = data.meta.collected_at;
        report::diff::carry_first_seen(&old, previous_time, &mut data.findings, now);
        let data = std::sync::Arc::new(data);
        write_reports(out, "diff", &data, &report::Format::ALL, None, |staging| {
            let fail = |e: String| {
                let mut all = vec![out.join("diff.json")];
                all.extend(DIFF_CSVS.iter().map(|(_, n)| out.join(n)));
                Failure::usage(format!("{e}; {}", not_written_note(&all, &[])))
            };
            let text = serde_json::to_string_pretty(&d)
                .map_err(|e| fail(format!("cannot serialise the diff: {e}")))?;
            staging
                .add_bytes(&out.join("diff.json"), text.as_bytes())
                .map_err(|e| fail(e.to_string()))?;
            for ((_, name), (_, list)) in DIFF_CSVS.iter().zip(lists) {
                let mut buf = Vec::new();
                report::csv::write_findings(&mut buf, list).map_err(|e| fail(e.to_string()))?;
                staging
                    .add_bytes(&out.join(name), &buf)
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
