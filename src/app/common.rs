//! What the audit commands share: loading and checking their inputs, running the audit,
//! suppressions, writing reports, the exit code for findings.

use std::path::Path;

use chrono::{NaiveDate, Utc};

use super::{
    EXIT_FINDINGS, EXIT_OK, Failure, commit_directory, lock_directory, not_written_note,
    source_inputs,
};
use crate::audit::{AuditOutcome, run_audit};
use crate::cli::{AuditArgs, Format, InputArgs};
use crate::collect::builder::BuildOptions;
use crate::config::Config;
use crate::findings::{Finding, Severity, Status};
use crate::inventory::{HostInventory, load_inventory};
use crate::model::{SNAPSHOT_SCHEMA_VERSION, Snapshot};
use crate::report::{self, ReportData, RuleDoc};
use crate::rules::RuleSet;
use crate::suppress;

use super::collect::load_source;

/// Everything an audit reads, loaded and validated before any network traffic where possible.
pub(super) struct Inputs {
    pub(super) snapshot: Snapshot,
    pub(super) inventory: Option<HostInventory>,
    pub(super) config: Config,
    pub(super) rules: RuleSet,
    pub(super) sources: Vec<String>,
}

pub(super) fn load_rules(dir: Option<&Path>, config: &Config) -> Result<RuleSet, Failure> {
    let mut rules = RuleSet::load(dir)?;
    rules.apply_config(&config.rules, &config.source)?;
    Ok(rules)
}

pub(super) fn load_inputs(
    input: &InputArgs,
    audit: &AuditArgs,
    verbose: u8,
) -> Result<Inputs, Failure> {
    // Configuration and rules first: a typo there should not cost a directory scan.
    let config = match &audit.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let mut rules = load_rules(audit.rules.as_deref(), &config)?;
    rules.set_memo(!audit.no_memo);
    let inventory = match &audit.hosts {
        Some(p) => Some(load_inventory(p)?),
        None => None,
    };
    let build = BuildOptions {
        extra_group_sids: config.extra_privileged_groups.clone(),
    };
    crate::timing::phase("config, rules, inventory");
    let snapshot = match &input.snapshot {
        Some(p) => read_snapshot(p)?,
        None => load_source(&input.source, &build, verbose)?,
    };
    crate::timing::phase("snapshot");
    // Two inventory rows for one computer (under names the reader could not relate): refused
    // rather than letting one row win.
    if let Some(inv) = &inventory {
        inv.check_against(&snapshot)?;
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
pub(super) fn audit_inputs<'a>(
    input: &'a InputArgs,
    audit: &'a AuditArgs,
) -> Vec<(&'static str, &'a Path)> {
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
pub(super) fn write_reports(
    out: &Path,
    command: &str,
    data: &std::sync::Arc<ReportData>,
    formats: &[report::Format],
    templates: Option<&Path>,
    extra: impl FnOnce(&mut crate::outfile::Staging) -> Result<(), Failure>,
) -> Result<Vec<std::path::PathBuf>, Failure> {
    let lock = lock_directory(out)?;
    let mut staging = report::stage_all(out, data, formats, templates).map_err(|e| {
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

pub(super) fn report_names(f: report::Format) -> &'static [&'static str] {
    match f {
        report::Format::Html => &["report.html"],
        report::Format::Csv => &["findings.csv", "readiness.csv", "hosts.csv"],
        report::Format::Json => &["findings.json"],
        report::Format::Xlsx => &["findings.xlsx"],
        report::Format::Ndjson => &["findings.ndjson"],
    }
}

pub(super) fn read_snapshot(path: &Path) -> Result<Snapshot, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    crate::timing::phase("snapshot: read");
    let snap = crate::model::json::parse(&text, crate::parallel::cores()).map_err(|e| {
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
    crate::timing::phase("snapshot: parse");
    // One object twice cannot be audited without picking a copy by accident: refuse the file.
    if let Some(dup) = snap.duplicate_objects() {
        return Err(Failure::usage(format!(
            "{}: {dup}: a snapshot holds each directory object once; collect it again",
            path.display()
        )));
    }
    Ok(snap)
}

pub(super) fn ruleset_version(audit: &AuditArgs) -> String {
    let custom = if audit.rules.is_some() { "+custom" } else { "" };
    format!("builtin-{}{custom}", env!("CARGO_PKG_VERSION"))
}

pub(super) fn audit(inputs: &Inputs) -> Result<AuditOutcome, Failure> {
    run_audit(
        &inputs.snapshot,
        inputs.inventory.as_ref(),
        &inputs.config,
        &inputs.rules,
        Utc::now(),
    )
    .map_err(Failure::from)
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
pub(super) fn suppressions(
    audit: &AuditArgs,
    findings: &mut [Finding],
) -> Result<Vec<String>, Failure> {
    let Some(path) = &audit.suppressions else {
        return Ok(Vec::new());
    };
    let s = suppress::load_suppressions(path)?;
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

pub(super) fn rule_docs(rules: &RuleSet) -> Vec<RuleDoc> {
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

pub(super) fn report_formats(f: &[Format]) -> Vec<report::Format> {
    f.iter()
        .map(|f| match f {
            Format::Html => report::Format::Html,
            Format::Csv => report::Format::Csv,
            Format::Json => report::Format::Json,
            Format::Xlsx => report::Format::Xlsx,
            Format::Ndjson => report::Format::Ndjson,
        })
        .collect()
}

/// 1 when an unsuppressed finding reaches `fail_on`, else 0; always 0 when `fail_on` is None
/// (`--fail-on none`).
pub fn exit_for(findings: &[Finding], fail_on: Option<Severity>) -> u8 {
    let failing = fail_on.is_some_and(|t| {
        findings
            .iter()
            .any(|f| f.status != Status::Suppressed && f.severity >= t)
    });
    if failing { EXIT_FINDINGS } else { EXIT_OK }
}
