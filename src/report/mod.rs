//! Reports: everything the scan produced, rendered for people (HTML, terminal) and for tools
//! (CSV, JSON, Excel). Every renderer reads one [`ReportData`]; none of them computes findings.
//!
//! Directory values are attacker-controlled: each renderer neutralises them for its medium
//! (HTML autoescape + textContent, CSV formula prefix, string-typed Excel cells, terminal
//! control-character stripping).

pub mod accounts;
pub mod causes;
pub mod checks;
pub mod csv;
pub mod diff;
pub mod hosts;
pub mod html;
pub mod json;
pub mod shorten;
pub mod terminal;
pub mod text;
pub mod write;
pub mod xlsx;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::analysis::AccountFacts;
use crate::findings::{Finding, GroupReadiness, Severity, Status};
use crate::model::{Domain, Gap, ScanMeta, Snapshot};

pub use accounts::{delegation_inventory, privileged_accounts};
pub use checks::{Category, CategoryCount, Check, CheckStatus, FixItem};
pub use diff::{DiffSummary, diff_findings};
pub use hosts::{HostRow, InventoryStatus};
pub use write::{Format, stage_all, write_all};

/// Everything a report shows. Built by the CLI from the snapshot, the rule engine's output and
/// the suppression file; serialised as the body of the JSON report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    pub meta: ScanMeta,
    pub domain: Domain,
    /// False when anything could not be read (directory gaps, inventory rows with errors).
    pub complete: bool,
    /// Every gap: the snapshot's plus the inventory's. Non-empty implies `complete == false`.
    pub gaps: Vec<Gap>,
    pub tool_version: String,
    pub ruleset_version: String,
    /// Data sources: LDAP URL or LDIF path, inventory file, config file.
    pub sources: Vec<String>,
    pub findings: Vec<Finding>,
    pub readiness: Vec<GroupReadiness>,
    pub delegations: Vec<DelegationRow>,
    pub privileged: Vec<PrivilegedRow>,
    /// The rules the findings came from, for the finding detail (rationale, references).
    pub rules: Vec<RuleDoc>,
    /// Expired suppressions and suppressions that matched nothing.
    pub suppression_notes: Vec<String>,
    /// Set for `diff` and `scan --previous`.
    pub diff: Option<DiffSummary>,
    /// Every rule of the rule set and what became of it: failed, passed (with what it
    /// checked) or not evaluated (with why), in [`checks::sort_checks`] order. Empty in
    /// reports written before this field existed.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// The hosts view: one row per Hyper-V host, sorted by name ([`hosts::host_rows`]).
    #[serde(default)]
    pub hosts: Vec<HostRow>,
    /// For an LDIF export or a snapshot: how old its data is ([`ExportTimes`]). None for a
    /// live directory, whose data is as of `meta.collected_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportTimes>,
}

/// When the data of a file input (an LDIF export or a snapshot) was exported, as far as can
/// be told, beside when the audit ran: a report of a months-old export must not read as
/// today's state. Built by [`ExportTimes::of`] from times the caller read; no clock or file
/// system is read here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportTimes {
    /// `ldif` or `snapshot`.
    pub input: String,
    /// The file as given on the command line.
    pub file: String,
    /// The file's modification time, UTC; None when the file system does not record it.
    /// A copy may have reset it: read it with `newest_when_changed`.
    pub file_modified: Option<DateTime<Utc>>,
    /// The newest `whenChanged` among the computer objects in the data, UTC: the data is at
    /// least this recent. None when no computer carries it.
    pub newest_when_changed: Option<DateTime<Utc>>,
    /// For a snapshot: when `hvaudit collect` read the directory (its `meta.collected_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<DateTime<Utc>>,
    /// When this audit ran, UTC.
    pub audited_at: DateTime<Utc>,
}

impl ExportTimes {
    /// The times of `snapshot`, read from `input` (`ldif` or `snapshot`) at `file`, whose
    /// modification time is `file_modified`, audited at `audited_at`.
    pub fn of(
        snapshot: &Snapshot,
        input: &str,
        file: &str,
        file_modified: Option<DateTime<Utc>>,
        audited_at: DateTime<Utc>,
    ) -> ExportTimes {
        ExportTimes {
            input: input.to_string(),
            file: file.to_string(),
            file_modified,
            newest_when_changed: snapshot
                .computers
                .iter()
                .filter_map(|c| c.when_changed)
                .max(),
            collected_at: (input == "snapshot").then_some(snapshot.meta.collected_at),
            audited_at,
        }
    }

    /// One line for people: `data exported: file modified ..., newest whenChanged ...;
    /// audited ...` (times `YYYY-MM-DD HH:MM:SS UTC`, `unknown` when not known).
    pub fn describe(&self) -> String {
        let t = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|| "unknown".into())
        };
        let collected = match self.collected_at {
            Some(c) => format!(", snapshot collected {}", t(Some(c))),
            None => String::new(),
        };
        format!(
            "data exported: file modified {}, newest whenChanged {}{collected}; audited {}",
            t(self.file_modified),
            t(self.newest_when_changed),
            t(Some(self.audited_at)),
        )
    }
}

/// Kind of account a delegation row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountClass {
    Computer,
    User,
    Msa,
    Gmsa,
}

impl AccountClass {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountClass::Computer => "computer",
            AccountClass::User => "user",
            AccountClass::Msa => "msa",
            AccountClass::Gmsa => "gmsa",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelegationType {
    /// TRUSTED_FOR_DELEGATION: any service.
    Unconstrained,
    /// msDS-AllowedToDelegateTo, Kerberos only.
    Constrained,
    /// msDS-AllowedToDelegateTo plus TRUSTED_TO_AUTH_FOR_DELEGATION.
    ConstrainedProtocolTransition,
    /// TRUSTED_TO_AUTH_FOR_DELEGATION with no msDS-AllowedToDelegateTo: the bit grants nothing
    /// yet, but one added SPN would make it live.
    ProtocolTransitionOnly,
    /// msDS-AllowedToActOnBehalfOfOtherIdentity on this (resource) account.
    Rbcd,
}

impl DelegationType {
    pub fn as_str(self) -> &'static str {
        match self {
            DelegationType::Unconstrained => "unconstrained",
            DelegationType::Constrained => "constrained",
            DelegationType::ConstrainedProtocolTransition => "constrained+protocol transition",
            DelegationType::ProtocolTransitionOnly => "protocol transition only",
            DelegationType::Rbcd => "rbcd",
        }
    }
}

/// One delegation an account holds. An account with several kinds has several rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DelegationRow {
    pub account: String,
    pub dn: String,
    pub kind: AccountClass,
    /// A domain controller (SERVER_TRUST_ACCOUNT): unconstrained delegation is normal there.
    pub dc: bool,
    pub enabled: bool,
    pub delegation_type: DelegationType,
    /// SPNs for constrained delegation; for RBCD the trustees allowed to delegate *to* this
    /// account (name when resolved in the snapshot, else SID; deny ACEs prefixed `deny `).
    pub targets: Vec<String>,
    pub protocol_transition: bool,
}

/// A privileged account and its delegation protection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivilegedRow {
    pub account: String,
    pub dn: String,
    pub enabled: bool,
    /// How it is privileged, one path per group: `Domain Admins > Tier0 Ops`, or
    /// `Domain Admins (primary group)`, or `RID 500`.
    pub via: Vec<String>,
    pub not_delegated: bool,
    pub protected_users: bool,
    /// NOT_DELEGATED or Protected Users: its credentials cannot be delegated.
    pub protected: bool,
}

/// What the report says about a rule in a finding's detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleDoc {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub rationale: String,
    pub references: Vec<String>,
}

/// Counts every report shows. Suppressed findings are counted apart so the severity totals are
/// what still needs attention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Unsuppressed findings per severity, every severity present (zero included).
    pub by_severity: BTreeMap<Severity, usize>,
    pub suppressed: usize,
    pub total: usize,
    /// Per rule with findings: most severe first, then most findings, then rule id.
    pub by_rule: Vec<RuleCount>,
    /// Per category (delegation hygiene, live-migration readiness, privileged accounts, host
    /// settings, scan completeness): worst severity and count, every category present.
    #[serde(default)]
    pub by_category: Vec<CategoryCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleCount {
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    /// Unsuppressed findings.
    pub count: usize,
    pub suppressed: usize,
}

pub const SEVERITIES_DESC: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

impl ReportData {
    /// A report of `snapshot` with no findings yet: metadata, domain, the snapshot's gaps,
    /// its source, the delegation inventory and the privileged accounts (from the audit's
    /// account facts, parallel to `snapshot.accounts`). The caller adds findings, readiness,
    /// rules, more sources and gaps ([`ReportData::add_gap`]).
    pub fn from_snapshot(
        snapshot: &Snapshot,
        accounts: &[AccountFacts],
        ruleset_version: &str,
    ) -> ReportData {
        ReportData::with_delegations(
            snapshot,
            accounts,
            ruleset_version,
            delegation_inventory(snapshot),
        )
    }

    /// [`ReportData::from_snapshot`] with `delegations`, the snapshot's
    /// [`delegation_inventory`], built by the caller (`scan` builds it beside the audit).
    pub fn with_delegations(
        snapshot: &Snapshot,
        accounts: &[AccountFacts],
        ruleset_version: &str,
        delegations: Vec<DelegationRow>,
    ) -> ReportData {
        ReportData {
            meta: snapshot.meta.clone(),
            domain: snapshot.domain.clone(),
            complete: snapshot.is_complete(),
            gaps: snapshot.meta.gaps.clone(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            ruleset_version: ruleset_version.to_string(),
            sources: vec![snapshot.meta.source.clone()],
            findings: Vec::new(),
            readiness: Vec::new(),
            delegations,
            privileged: privileged_accounts(snapshot, accounts),
            rules: Vec::new(),
            suppression_notes: Vec::new(),
            diff: None,
            checks: Vec::new(),
            hosts: Vec::new(),
            export: None,
        }
    }

    /// Records something that could not be read (e.g. an inventory row with an error): the
    /// report becomes incomplete.
    pub fn add_gap(&mut self, gap: Gap) {
        self.gaps.push(gap);
        self.complete = false;
    }

    pub fn summary(&self) -> Summary {
        let mut by_severity: BTreeMap<Severity, usize> =
            SEVERITIES_DESC.iter().map(|s| (*s, 0)).collect();
        let mut rules: BTreeMap<&str, RuleCount> = BTreeMap::new();
        let mut suppressed = 0;
        for f in &self.findings {
            let is_suppressed = f.status == Status::Suppressed;
            let rc = rules.entry(&f.rule_id).or_insert_with(|| RuleCount {
                rule_id: f.rule_id.clone(),
                title: f.title.clone(),
                severity: f.severity,
                count: 0,
                suppressed: 0,
            });
            if is_suppressed {
                suppressed += 1;
                rc.suppressed += 1;
            } else {
                *by_severity.entry(f.severity).or_default() += 1;
                rc.count += 1;
            }
        }
        let mut by_rule: Vec<RuleCount> = rules.into_values().collect();
        by_rule.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then((b.count + b.suppressed).cmp(&(a.count + a.suppressed)))
                .then_with(|| a.rule_id.cmp(&b.rule_id))
        });
        Summary {
            by_severity,
            suppressed,
            total: self.findings.len(),
            by_rule,
            by_category: checks::by_category(&self.findings),
        }
    }

    /// The findings to fix first ([`checks::fix_first`]), at most [`checks::FIX_FIRST_MAX`].
    pub fn fix_first(&self) -> Vec<FixItem> {
        checks::fix_first(self, checks::FIX_FIRST_MAX)
    }

    pub fn rule(&self, id: &str) -> Option<&RuleDoc> {
        self.rules.iter().find(|r| r.id == id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write CSV: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("cannot serialise or read the JSON report: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "{path}: JSON report schema_version {found} is not supported (this build reads 1 to {supported})"
    )]
    JsonSchema {
        path: String,
        found: u64,
        supported: u32,
    },
    #[error("template {path}: {source}")]
    TemplateFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("HTML template: {0:#}")]
    Template(#[from] minijinja::Error),
    #[error("{}: {source}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<ReportError>,
    },
    /// Renaming the finished files into place failed; says which were not replaced.
    #[error("{0}")]
    Commit(#[from] crate::outfile::CommitError),
}
