//! `hvaudit scan` / `hvaudit audit`: reads the directory (or a snapshot), audits it and writes
//! the reports.

use std::path::Path;

use super::output::{self, note, say};
use super::{EXIT_INCOMPLETE, Failure, dir_outputs, refuse_outputs_that_are_inputs};
use crate::cli::{AuditArgs, InputArgs, ScanArgs};
use crate::diff;
use crate::report::{self, ReportData};

use super::common::*;

pub fn scan(a: &ScanArgs, verbose: u8) -> Result<u8, Failure> {
    let fail_on = a.fail_on.threshold();
    let mut read = audit_inputs(&a.input, &a.audit);
    if let Some(p) = &a.previous {
        read.push(("--previous", p));
    }
    refuse_outputs_that_are_inputs("--out", &a.out, &dir_outputs(&a.out), &read)?;
    if let Some(dir) = &a.templates {
        super::templates::check_templates(dir)?;
    }
    crate::timing::phase("start");
    let inputs = load_inputs(&a.input, &a.audit, verbose)?;
    crate::timing::phase("load");
    // The delegation inventory reads only the snapshot: it is built beside the audit, whose
    // single-threaded phases leave a core idle (100,000 computers: 600,000 rows).
    let (outcome, delegations) = std::thread::scope(|s| {
        let side = s.spawn(|| report::delegation_inventory(&inputs.snapshot));
        let outcome = audit(&inputs);
        let side = side.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (outcome, side)
    });
    let outcome = outcome?;
    crate::timing::phase("audit");
    if verbose > 0 {
        // Facts the analysis noticed that are not findings (hosts in no group, and so on).
        for n in &outcome.notes {
            note!("hvaudit: note: {}", report::text::terminal_safe(n));
        }
    }
    let mut findings = outcome.findings;
    let notes = suppressions(&a.audit, &mut findings)?;

    let mut data = ReportData::with_delegations(
        &inputs.snapshot,
        &outcome.accounts,
        &ruleset_version(&a.audit),
        delegations,
    );
    data.sources = inputs.sources.clone();
    data.export = export_times(&a.input, &inputs.snapshot, chrono::Utc::now());
    data.readiness = outcome.readiness;
    data.rules = rule_docs(&inputs.rules);
    data.suppression_notes = notes;
    // What else the run could not read (rule errors, configured groups, inventory rows), as
    // the audit decided it (`audit::completeness`); each becomes a gap of the report.
    for g in outcome.gaps {
        data.add_gap(g);
    }
    data.complete = outcome.complete;
    data.findings = findings;
    crate::timing::phase("report data: base");
    data.hosts = report::hosts::host_rows(
        &outcome.hosts,
        &inputs.snapshot,
        inputs.inventory.as_ref(),
        &data.readiness,
        &data.findings,
    );
    crate::timing::phase("report data: hosts");
    data.checks = report::checks::build_checks(
        inputs.rules.rules(),
        &check_context(&inputs, &outcome.hosts, &data, &outcome.errors),
        &data.findings,
    );
    // After suppressions (they match whole values), before the diff: a previous findings.json
    // holds the same shortened keys.
    crate::timing::phase("report data: checks");
    report::shorten::shorten_long_values(&mut data);
    if let Some(prev) = &a.previous {
        let old = diff::load_previous(prev)?;
        data.diff = Some(report::diff_findings(
            &prev.display().to_string(),
            &old.findings,
            &mut data.findings,
            &data.checks,
            &data.hosts,
        ));
        // First seen: carried by finding id; new ones were first seen when this scan's data
        // was read.
        report::diff::carry_first_seen(
            &old.findings,
            old.collected_at,
            &mut data.findings,
            data.meta.collected_at,
        );
    }

    let data = std::sync::Arc::new(data);
    crate::timing::phase("report data");
    let command = if a.input.source.server.is_some() || a.input.source.domain.is_some() {
        "scan"
    } else {
        "audit"
    };
    let written = write_reports(
        &a.out,
        command,
        &data,
        &report_formats(&a.format),
        a.templates.as_deref(),
        |_| Ok(()),
    )?;
    crate::timing::phase("reports");
    let code = if data.complete {
        exit_for(&data.findings, fail_on)
    } else {
        EXIT_INCOMPLETE
    };
    let opts = report::terminal::TerminalOptions {
        color: report::terminal::color_wanted(&std::io::stdout()),
        width: Some(report::terminal::terminal_width()),
        report_html: written
            .iter()
            .find(|p| p.file_name().is_some_and(|n| n == "report.html"))
            .map(|p| p.display().to_string()),
        inputs: Some(inputs_as_typed(&a.input, &a.audit)),
        exit: Some((code, fail_on)),
    };
    // The files first: the summary ends with the next steps and the exit code's meaning, the
    // last thing a reader (or a log's tail) sees.
    for p in &written {
        say!("wrote {}", p.display());
    }
    report::terminal::write_summary_with(&mut output::Stdout, &data, &opts)
        .map_err(output::stdout_failure)?;
    for n in &data.suppression_notes {
        note!("hvaudit: note: {}", report::text::terminal_safe(n));
    }
    if !data.complete {
        // The summary above listed each gap once; stderr only says so, for logs that keep
        // stderr alone.
        note!(
            "hvaudit: WARNING: INCOMPLETE SCAN (SC001): {} item(s) could not be read (listed above); nothing here proves compliance",
            data.gaps.len()
        );
    }
    crate::timing::phase("terminal summary");
    // The run ends here and the process with it: the snapshot and the report data (millions of
    // strings at 100,000 computers) are left to the OS instead of freed one by one (~50 ms).
    std::mem::forget(inputs);
    std::mem::forget(data);
    Ok(code)
}

/// For an LDIF or snapshot input, when its data was exported: the file's modification time
/// (read here, at the edge) and the newest whenChanged in it; None for a live directory.
fn export_times(
    input: &InputArgs,
    snapshot: &crate::model::Snapshot,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<report::ExportTimes> {
    let (kind, path) = match (&input.snapshot, &input.source.ldif) {
        (Some(p), _) => ("snapshot", p),
        (None, Some(p)) => ("ldif", p),
        (None, None) => return None,
    };
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .map(chrono::DateTime::<chrono::Utc>::from);
    Some(report::ExportTimes::of(
        snapshot,
        kind,
        &path.display().to_string(),
        modified,
        now,
    ))
}

/// The input flags of an audit as the user gave them, for the next steps' commands.
fn inputs_as_typed(input: &InputArgs, audit: &AuditArgs) -> String {
    let q = |p: &Path| {
        let s = p.display().to_string();
        if s.chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '"')
        {
            format!("'{}'", s.replace('\'', "''"))
        } else {
            s
        }
    };
    let mut v = Vec::new();
    if let Some(p) = &input.snapshot {
        v.push(format!("--snapshot {}", q(p)));
    } else if let Some(p) = &input.source.ldif {
        v.push(format!("--ldif {}", q(p)));
    } else if let Some(u) = &input.source.server {
        v.push(format!("--server {u} ..."));
    }
    for (flag, p) in [("--hosts", &audit.hosts), ("--config", &audit.config)] {
        if let Some(p) = p {
            v.push(format!("{flag} {}", q(p)));
        }
    }
    v.join(" ")
}

/// What decides whether each rule could run and over what (see `report::checks`).
fn check_context(
    inputs: &Inputs,
    hosts: &[crate::audit::HostSummary],
    data: &ReportData,
    errors: &[crate::rules::EvalError],
) -> report::checks::CheckContext {
    let host_accounts: std::collections::HashSet<String> = hosts
        .iter()
        .map(|h| format!("{}$", h.name).to_ascii_lowercase())
        .collect();
    let delegation_entries = data
        .delegations
        .iter()
        .filter(|d| host_accounts.contains(&d.account.to_ascii_lowercase()))
        .filter(|d| {
            matches!(
                d.delegation_type,
                report::DelegationType::Constrained
                    | report::DelegationType::ConstrainedProtocolTransition
            )
        })
        .map(|d| d.targets.len())
        .sum();
    let mut errs = std::collections::HashMap::new();
    for e in errors {
        *errs.entry(e.rule_id.clone()).or_default() += 1;
    }
    report::checks::CheckContext {
        inventory_supplied: inputs.inventory.is_some(),
        hosts: hosts.len(),
        pairs: data.readiness.iter().map(|g| g.cells.len()).sum(),
        groups: data.readiness.len(),
        delegation_entries,
        accounts: inputs.snapshot.accounts.len(),
        errors: errs,
    }
}
