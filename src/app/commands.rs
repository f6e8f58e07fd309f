//! The audit commands: scan/audit, diff, remediate, check, rules. Each reads its inputs, calls
//! the library stages in pipeline order and maps the outcome to an exit code.

use std::path::Path;

use chrono::{NaiveDate, Utc};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::output::{self, note, say};
use super::{
    EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, Failure, commit_directory, dir_outputs, load_source,
    lock_directory, not_written_note, refuse_outputs_that_are_inputs, source_inputs,
    warn_incomplete, write_file,
};
use crate::audit::{AuditOutcome, check_pair, run_audit};
use crate::cli::{
    AuditArgs, CheckArgs, DiffArgs, Format, InputArgs, RemediateArgs, RulesAction, RulesArgs,
    ScanArgs,
};
use crate::collect::builder::BuildOptions;
use crate::config::Config;
use crate::findings::ReadinessState;
use crate::findings::{Finding, Severity, Status};
use crate::inventory::{HostInventory, load_inventory};
use crate::model::{Gap, SNAPSHOT_SCHEMA_VERSION, Snapshot};
use crate::report::{self, ReportData, RuleDoc};
use crate::rules::RuleSet;
use crate::{diff, remediate, suppress};

/// Everything an audit reads, loaded and validated before any network traffic where possible.
struct Inputs {
    snapshot: Snapshot,
    inventory: Option<HostInventory>,
    config: Config,
    rules: RuleSet,
    sources: Vec<String>,
}

fn load_rules(dir: Option<&Path>, config: &Config) -> Result<RuleSet, Failure> {
    let mut rules = RuleSet::load(dir).map_err(|e| Failure::usage(e.to_string()))?;
    rules
        .apply_config(&config.rules, &config.source)
        .map_err(|e| Failure::usage(e.to_string()))?;
    Ok(rules)
}

fn load_inputs(input: &InputArgs, audit: &AuditArgs, verbose: u8) -> Result<Inputs, Failure> {
    // Configuration and rules first: a typo there should not cost a directory scan.
    let config = match &audit.config {
        Some(p) => Config::load(p).map_err(|e| Failure::usage(e.to_string()))?,
        None => Config::default(),
    };
    let mut rules = load_rules(audit.rules.as_deref(), &config)?;
    rules.set_memo(!audit.no_memo);
    let inventory = match &audit.hosts {
        Some(p) => Some(load_inventory(p).map_err(|e| Failure::usage(e.to_string()))?),
        None => None,
    };
    let build = BuildOptions {
        extra_group_sids: config.extra_privileged_groups.clone(),
    };
    let snapshot = match &input.snapshot {
        Some(p) => read_snapshot(p)?,
        None => load_source(&input.source, &build, verbose)?,
    };
    // Two inventory rows for one computer (under names the reader could not relate): refused
    // rather than letting one row win.
    if let Some(inv) = &inventory {
        inv.check_against(&snapshot)
            .map_err(|e| Failure::usage(e.to_string()))?;
    }
    let mut sources = vec![format!("directory: {}", snapshot.meta.source)];
    if let Some(p) = &audit.hosts {
        sources.push(format!("inventory: {}", p.display()));
    }
    if let Some(p) = &audit.config {
        sources.push(format!("config: {}", p.display()));
    }
    if let Some(p) = &audit.rules {
        sources.push(format!("rules: built-in + {}", p.display()));
    }
    Ok(Inputs {
        snapshot,
        inventory,
        config,
        rules,
        sources,
    })
}

/// Every file or directory an audit command reads, with its flag, for the output check.
fn audit_inputs<'a>(input: &'a InputArgs, audit: &'a AuditArgs) -> Vec<(&'static str, &'a Path)> {
    let mut v = source_inputs(&input.source);
    let named: [(&'static str, &Option<std::path::PathBuf>); 5] = [
        ("--snapshot", &input.snapshot),
        ("--hosts", &audit.hosts),
        ("--config", &audit.config),
        ("--rules", &audit.rules),
        ("--suppressions", &audit.suppressions),
    ];
    for (flag, p) in named {
        if let Some(p) = p {
            v.push((flag, p.as_path()));
        }
    }
    v
}

/// Stages the reports into `out`, commits them with the manifest under the directory lock;
/// on failure the message names every file not written.
fn write_reports(
    out: &Path,
    command: &str,
    data: &std::sync::Arc<ReportData>,
    formats: &[report::Format],
    extra: impl FnOnce(&mut crate::outfile::Staging) -> Result<(), Failure>,
) -> Result<Vec<std::path::PathBuf>, Failure> {
    let lock = lock_directory(out)?;
    let mut staging = report::stage_all(out, data, formats, None).map_err(|e| {
        let all: Vec<_> = report::Format::ALL
            .iter()
            .filter(|f| formats.contains(f))
            .flat_map(|f| report_names(*f))
            .map(|n| out.join(n))
            .collect();
        Failure::usage(format!("{e}; {}", not_written_note(&all, &[])))
    })?;
    extra(&mut staging)?;
    commit_directory(out, &lock, command, staging)
}

fn report_names(f: report::Format) -> &'static [&'static str] {
    match f {
        report::Format::Html => &["report.html"],
        report::Format::Csv => &["findings.csv", "readiness.csv", "hosts.csv"],
        report::Format::Json => &["findings.json"],
    }
}

fn read_snapshot(path: &Path) -> Result<Snapshot, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    let snap: Snapshot = serde_json::from_str(&text).map_err(|e| {
        Failure::usage(format!(
            "{}:{}:{}: not a hvaudit snapshot: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if snap.schema_version != SNAPSHOT_SCHEMA_VERSION {
        return Err(Failure::usage(format!(
            "{}: snapshot schema version {} is not the supported {}",
            path.display(),
            snap.schema_version,
            SNAPSHOT_SCHEMA_VERSION
        )));
    }
    // One object twice cannot be audited without picking a copy by accident: refuse the file.
    if let Some(dup) = snap.duplicate_objects() {
        return Err(Failure::usage(format!(
            "{}: {dup}: a snapshot holds each directory object once; collect it again",
            path.display()
        )));
    }
    Ok(snap)
}

fn ruleset_version(audit: &AuditArgs) -> String {
    let custom = if audit.rules.is_some() { "+custom" } else { "" };
    format!("builtin-{}{custom}", env!("CARGO_PKG_VERSION"))
}

fn audit(inputs: &Inputs) -> Result<AuditOutcome, Failure> {
    run_audit(
        &inputs.snapshot,
        inputs.inventory.as_ref(),
        &inputs.config,
        &inputs.rules,
        Utc::now(),
    )
    .map_err(|e| Failure::usage(e.to_string()))
    .and_then(|outcome| {
        // A rule over its budget is a faulty rule, not a gap in the directory: no report
        // that looks complete, exit 2 like any other rule error found at load time.
        match outcome.errors.iter().find(|e| e.over_budget) {
            Some(e) => Err(Failure::usage(format!(
                "{} (every rule field is bounded: {} template instructions, {} bytes; see docs/rules.md)",
                report::text::terminal_safe(&e.to_string()),
                crate::rules::FUEL,
                crate::rules::FIELD_LIMIT
            ))),
            None => Ok(outcome),
        }
    })
}

/// Applies `--suppressions`; returns notes about expired and unmatched entries.
fn suppressions(audit: &AuditArgs, findings: &mut [Finding]) -> Result<Vec<String>, Failure> {
    let Some(path) = &audit.suppressions else {
        return Ok(Vec::new());
    };
    let s = suppress::load_suppressions(path).map_err(|e| Failure::usage(e.to_string()))?;
    let today: NaiveDate = audit.today.unwrap_or_else(|| Utc::now().date_naive());
    let rep = suppress::apply(findings, &s, today);
    let mut notes = Vec::new();
    for e in &rep.expired {
        notes.push(format!(
            "{}:{}: suppression of {} on {} expired on {}: the finding counts again",
            path.display(),
            e.line,
            e.rule,
            e.object,
            e.expires
        ));
    }
    for u in &rep.unmatched {
        notes.push(format!(
            "{}:{}: suppression of {} on {} matches no finding: remove it or fix its pattern",
            path.display(),
            u.line,
            u.rule,
            u.object
        ));
    }
    Ok(notes)
}

fn rule_docs(rules: &RuleSet) -> Vec<RuleDoc> {
    rules
        .rules()
        .iter()
        .map(|r| RuleDoc {
            id: r.id.clone(),
            title: r.title.clone(),
            severity: r.severity,
            rationale: r.rationale.clone(),
            references: r.references.clone(),
        })
        .collect()
}

fn report_formats(f: &[Format]) -> Vec<report::Format> {
    f.iter()
        .map(|f| match f {
            Format::Html => report::Format::Html,
            Format::Csv => report::Format::Csv,
            Format::Json => report::Format::Json,
        })
        .collect()
}

pub fn scan(a: &ScanArgs, verbose: u8) -> Result<u8, Failure> {
    let fail_on = Severity::parse(&a.fail_on).ok_or_else(|| {
        Failure::usage(format!(
            "--fail-on '{}': expected critical, high, medium, low or info",
            a.fail_on
        ))
    })?;
    let mut read = audit_inputs(&a.input, &a.audit);
    if let Some(p) = &a.previous {
        read.push(("--previous", p));
    }
    refuse_outputs_that_are_inputs("--out", &a.out, &dir_outputs(&a.out), &read)?;
    let inputs = load_inputs(&a.input, &a.audit, verbose)?;
    let outcome = audit(&inputs)?;
    if verbose > 0 {
        // Facts the analysis noticed that are not findings (hosts in no group, and so on).
        for n in &outcome.notes {
            note!("hvaudit: note: {}", report::text::terminal_safe(n));
        }
    }
    let mut findings = outcome.findings;
    let notes = suppressions(&a.audit, &mut findings)?;

    let mut data = ReportData::from_snapshot(
        &inputs.snapshot,
        &outcome.accounts,
        &ruleset_version(&a.audit),
    );
    data.sources = inputs.sources.clone();
    data.readiness = outcome.readiness;
    data.rules = rule_docs(&inputs.rules);
    data.suppression_notes = notes;
    // A rule that could not be evaluated leaves a hole in the audit: say so like any gap.
    for e in &outcome.errors {
        data.add_gap(Gap {
            what: format!("rule {} on {}", e.rule_id, e.object),
            reason: e.message.clone(),
        });
    }
    // A configured privileged group the snapshot does not hold (a snapshot collected without
    // this --config) has unknown members: PA001 cannot be judged for them.
    for sid in &inputs.config.extra_privileged_groups {
        if !inputs
            .snapshot
            .groups
            .iter()
            .any(|g| g.sid.as_ref() == Some(sid))
        {
            data.add_gap(Gap {
                what: format!("configured privileged group {sid}"),
                reason: "not in the snapshot (absent from the directory, or collected without \
                         this --config): its members were not resolved"
                    .into(),
            });
        }
    }
    // Hosts the inventory collector could not read: their settings are unknown.
    for h in inputs.inventory.iter().flat_map(|i| &i.hosts) {
        if let Some(err) = &h.error {
            data.add_gap(Gap {
                what: format!("inventory host {}", h.computer_name),
                reason: err.clone(),
            });
        }
    }
    if !outcome.complete {
        data.complete = false;
    }
    data.findings = findings;
    data.hosts = report::hosts::host_rows(
        &outcome.hosts,
        &inputs.snapshot,
        inputs.inventory.as_ref(),
        &data.readiness,
        &data.findings,
    );
    data.checks = report::checks::build_checks(
        inputs.rules.rules(),
        &check_context(&inputs, &outcome.hosts, &data, &outcome.errors),
        &data.findings,
    );
    // After suppressions (they match whole values), before the diff: a previous findings.json
    // holds the same shortened keys.
    report::shorten::shorten_long_values(&mut data);
    if let Some(prev) = &a.previous {
        let old = diff::load_findings_json(prev).map_err(|e| Failure::usage(e.to_string()))?;
        data.diff = Some(report::diff_findings(
            &prev.display().to_string(),
            &old,
            &mut data.findings,
        ));
    }

    let data = std::sync::Arc::new(data);
    let command = if a.input.source.server.is_some() || a.input.source.domain.is_some() {
        "scan"
    } else {
        "audit"
    };
    let written = write_reports(&a.out, command, &data, &report_formats(&a.format), |_| {
        Ok(())
    })?;
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
    report::terminal::write_summary_with(&mut output::Stdout, &data, &opts)
        .map_err(output::stdout_failure)?;
    for n in &data.suppression_notes {
        note!("hvaudit: note: {}", report::text::terminal_safe(n));
    }
    for p in &written {
        say!("wrote {}", p.display());
    }
    if !data.complete {
        // The summary above listed each gap once; stderr only says so, for logs that keep
        // stderr alone.
        note!(
            "hvaudit: WARNING: INCOMPLETE SCAN (SC001): {} item(s) could not be read (listed above); nothing here proves compliance",
            data.gaps.len()
        );
    }
    Ok(code)
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

/// 1 when an unsuppressed finding reaches `fail_on`, else 0.
pub fn exit_for(findings: &[Finding], fail_on: Severity) -> u8 {
    let failing = findings
        .iter()
        .any(|f| f.status != Status::Suppressed && f.severity >= fail_on);
    if failing { EXIT_FINDINGS } else { EXIT_OK }
}

pub fn diff(a: &DiffArgs) -> Result<u8, Failure> {
    if let Some(out) = &a.out {
        let read = [("OLD", a.old.as_path()), ("NEW", a.new.as_path())];
        refuse_outputs_that_are_inputs("--out", out, &dir_outputs(out), &read)?;
    }
    let old = diff::load_findings_json(&a.old).map_err(|e| Failure::usage(e.to_string()))?;
    let file = std::fs::File::open(&a.new)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", a.new.display())))?;
    let mut data =
        report::json::read_report(std::io::BufReader::new(file), &a.new.display().to_string())
            .map_err(|e| Failure::usage(e.to_string()))?;
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

pub fn remediate(a: &RemediateArgs, verbose: u8) -> Result<u8, Failure> {
    let read = audit_inputs(&a.input, &a.audit);
    refuse_outputs_that_are_inputs("--out", &a.out, std::slice::from_ref(&a.out), &read)?;
    let inputs = load_inputs(&a.input, &a.audit, verbose)?;
    let outcome = audit(&inputs)?;
    // Inventory rows with errors make the audit incomplete even when the directory was whole.
    let complete = outcome.complete && inputs.snapshot.is_complete();
    let mut findings = outcome.findings;
    for n in suppressions(&a.audit, &mut findings)? {
        note!("hvaudit: note: {}", report::text::terminal_safe(&n));
    }
    let mut meta = remediate::RemediationMeta::new(
        &inputs.snapshot.domain.dns_name,
        inputs.snapshot.meta.collected_at,
        &inputs.rules,
    );
    meta.left_out_candidates = outcome
        .hosts
        .iter()
        .filter_map(|h| h.unconfirmed_note.clone())
        .collect();
    let script = remediate::script(&findings, &meta);
    write_file(&a.out, script.as_bytes())?;
    let fixable = findings
        .iter()
        .filter(|f| f.remediation.is_some() && f.status != Status::Suppressed)
        .count();
    say!(
        "wrote {} ({fixable} fixable finding(s)); review it, then run it with -WhatIf first",
        a.out.display()
    );
    if !complete {
        warn_incomplete(&inputs.snapshot.meta.gaps);
        note!("hvaudit: WARNING: the audit is incomplete (SC001): the script may miss fixes");
        return Ok(EXIT_INCOMPLETE);
    }
    Ok(EXIT_OK)
}

pub fn check(a: &CheckArgs, verbose: u8) -> Result<u8, Failure> {
    let inputs = load_inputs(&a.input, &a.audit, verbose)?;
    let c = check_pair(
        &inputs.snapshot,
        inputs.inventory.as_ref(),
        &inputs.config,
        &inputs.rules,
        Utc::now(),
        &a.from,
        &a.to,
        a.operator.as_deref(),
    )
    .map_err(|e| Failure::usage(e.to_string()))?;
    let clean = report::text::terminal_safe;
    let verdict = match c.state {
        ReadinessState::Ready => "GO",
        ReadinessState::Blocked => "NO-GO",
        ReadinessState::Unknown => "UNKNOWN",
    };
    let form = match c.form.as_str() {
        "fqdn" => "FQDN",
        "cn" => "CN",
        _ => "NetBIOS name",
    };
    say!(
        "{verdict}: live migration from {} to {} (addressed by {form} '{}'){}",
        clean(&c.from),
        clean(&c.to),
        clean(&c.to_addressed_as),
        c.operator
            .as_deref()
            .map(|o| format!(" started by {}", clean(o)))
            .unwrap_or_default()
    );
    if c.same_cluster {
        say!("  same failover cluster: no constrained delegation needed");
    }
    for r in &c.reasons {
        say!(
            "  [{}] {} {}",
            r.severity.as_str(),
            r.rule_id,
            clean(&r.message)
        );
        if let Some(fix) = &r.remediation {
            for line in fix.lines() {
                say!("      {}", clean(line));
            }
        }
    }
    if c.state == ReadinessState::Unknown {
        say!("  known: nothing in the directory blocks it (delegation and account checks passed)");
    }
    if !c.unknown.is_empty() {
        say!(
            "  {}:",
            if c.state == ReadinessState::Blocked {
                "also unknown"
            } else {
                "unknown"
            }
        );
        for u in &c.unknown {
            say!("    - {}", clean(u));
        }
    }
    for e in &c.errors {
        // Rule errors name the object they were evaluated on.
        note!(
            "hvaudit: rule error: {}",
            report::text::terminal_safe(&e.to_string())
        );
    }
    if !c.complete {
        note!(
            "hvaudit: WARNING: the scan is incomplete; gaps touching {} or {} make the verdict \
             UNKNOWN, others are listed in the audit",
            clean(&c.from),
            clean(&c.to)
        );
    }
    Ok(match c.state {
        ReadinessState::Ready => EXIT_OK,
        ReadinessState::Blocked => EXIT_FINDINGS,
        ReadinessState::Unknown => EXIT_INCOMPLETE,
    })
}

pub fn rules(a: &RulesArgs) -> Result<u8, Failure> {
    let rules = load_rules(a.rules.as_deref(), &Config::default())?;
    match &a.action {
        RulesAction::List => {
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED);
            table.set_header(vec!["id", "severity", "scope", "title"]);
            for r in rules.rules() {
                table.add_row(vec![
                    r.id.clone(),
                    r.severity.as_str().to_string(),
                    crate::rules::model::scope_name(r.scope).to_string(),
                    r.title.clone(),
                ]);
            }
            say!("{table}");
            Ok(EXIT_OK)
        }
        RulesAction::Explain {
            id,
            on: Some(on),
            input,
            hosts,
            config,
        } => explain_on(a, id, on, input, hosts, config),
        RulesAction::Explain { input, .. }
            if input.snapshot.is_some()
                || input.source.ldif.is_some()
                || input.source.server.is_some() =>
        {
            Err(Failure::usage(
                "a directory (--ldif, --snapshot, --server) is only read with --on OBJECT",
            ))
        }
        RulesAction::Explain { id, .. } => match rules.explain(&id.to_ascii_uppercase()) {
            Some(text) => {
                say!("{text}");
                Ok(EXIT_OK)
            }
            None => Err(Failure::usage(format!(
                "no rule '{id}'; `hvaudit rules list` shows them"
            ))),
        },
    }
}

/// `hvaudit rules explain ID --on OBJECT`: the rule evaluated on that object, with the values
/// its condition read (see `rules::explain`). Exit 0 whether it fires or not.
fn explain_on(
    a: &RulesArgs,
    id: &str,
    on: &str,
    input: &InputArgs,
    hosts: &Option<std::path::PathBuf>,
    config: &Option<std::path::PathBuf>,
) -> Result<u8, Failure> {
    let audit = AuditArgs {
        hosts: hosts.clone(),
        config: config.clone(),
        rules: a.rules.clone(),
        suppressions: None,
        today: None,
        // The explanation evaluates the condition itself: no memo is involved.
        no_memo: true,
    };
    let inputs = load_inputs(input, &audit, 0)?;
    let out = crate::rules::explain::explain_on(
        &inputs.snapshot,
        inputs.inventory.as_ref(),
        &inputs.config,
        &inputs.rules,
        Utc::now(),
        id,
        on,
    )
    .map_err(|e| Failure::usage(e.to_string()))?;
    let Some(rule) = inputs.rules.get(id) else {
        return Err(Failure::usage(format!("no rule '{id}'")));
    };
    let clean = report::text::terminal_safe;
    for x in &out {
        let verdict = match &x.verdict {
            Ok(true) => "fires".to_string(),
            Ok(false) => "does not fire".to_string(),
            Err(e) => format!("cannot be evaluated: {}", clean(e)),
        };
        say!(
            "{} ({}, {}) on {}: {verdict}{}",
            rule.id,
            rule.severity.as_str(),
            crate::rules::model::scope_name(rule.scope),
            clean(&x.object),
            if rule.enabled {
                ""
            } else {
                " (the rule is disabled by the configuration: an audit does not evaluate it)"
            }
        );
        say!("  condition: {}", clean(rule.condition.trim()));
        say!("  values it read:");
        for (path, value) in &x.reads {
            say!("    {path} = {}", clean(value));
        }
        match &x.message {
            Some(Ok(m)) => say!("  message: {}", clean(m)),
            Some(Err(e)) => say!("  message cannot be rendered: {}", clean(e)),
            None => {}
        }
    }
    Ok(EXIT_OK)
}

/// `hvaudit completions SHELL`: the completion script clap_complete generates from the same
/// definitions the parser uses, so it never lists a flag that does not exist.
pub fn completions(shell: crate::cli::Shell) -> Result<u8, Failure> {
    use clap::CommandFactory;
    use clap_complete::Shell as S;
    let s = match shell {
        crate::cli::Shell::Bash => S::Bash,
        crate::cli::Shell::Zsh => S::Zsh,
        crate::cli::Shell::Fish => S::Fish,
        crate::cli::Shell::Powershell => S::PowerShell,
    };
    let mut cmd = crate::cli::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(s, &mut cmd, "hvaudit", &mut buf);
    std::io::Write::write_all(&mut output::Stdout, &buf).map_err(output::stdout_failure)?;
    Ok(super::EXIT_OK)
}

/// `hvaudit man`: one roff page (section 1) rendered by clap_mangen from the parser's
/// definitions: the command, then a section per subcommand with its description and flags,
/// so `man hvaudit` documents every flag.
pub fn man() -> Result<u8, Failure> {
    use clap::CommandFactory;
    let fail = |e: std::io::Error| Failure::scan(format!("rendering the man page: {e}"));
    let mut cmd = crate::cli::Cli::command();
    cmd.build();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .map_err(fail)?;
    for sub in cmd.get_subcommands() {
        let mut part = Vec::new();
        let page = clap_mangen::Man::new(sub.clone());
        page.render_description_section(&mut part).map_err(fail)?;
        page.render_options_section(&mut part).map_err(fail)?;
        buf.extend_from_slice(
            format!(".SH \"HVAUDIT {}\"\n", sub.get_name().to_ascii_uppercase()).as_bytes(),
        );
        // Each part's own section headers become subsections of this one.
        buf.extend_from_slice(
            String::from_utf8_lossy(&part)
                .replace(".SH ", ".SS ")
                .as_bytes(),
        );
    }
    std::io::Write::write_all(&mut output::Stdout, &buf).map_err(output::stdout_failure)?;
    Ok(super::EXIT_OK)
}
