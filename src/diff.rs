//! Diff of two scans: which findings are new, resolved, unchanged or no longer evaluated
//! (their rule did not run in the new scan), matched by
//! [`Finding::key`] (rule, object, target; case-insensitive) so that a reworded message or a
//! changed severity does not make a finding look new.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::findings::{Finding, Status};

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FindingsDiff {
    /// In the new scan only.
    pub new: Vec<Finding>,
    /// In the old scan only (as the old scan recorded them).
    pub resolved: Vec<Finding>,
    /// In both (as the new scan records them).
    pub unchanged: Vec<Finding>,
    /// In the old scan only, from a rule the new scan did not evaluate (disabled, removed,
    /// or lacking its input such as the host inventory): nothing says they were fixed, so
    /// they are not "resolved". Filled by [`FindingsDiff::set_aside_not_evaluated`].
    #[serde(default)]
    pub no_longer_evaluated: Vec<Finding>,
}

impl FindingsDiff {
    /// Moves the resolved findings whose rule the new scan did not evaluate to
    /// `no_longer_evaluated`. `evaluated` is [`evaluated_rules`] of the new scan; None (a
    /// report without a checks section) leaves everything resolved, as before checks existed.
    pub fn set_aside_not_evaluated(&mut self, evaluated: Option<&HashSet<String>>) {
        let Some(evaluated) = evaluated else {
            return;
        };
        let (kept, set_aside) = std::mem::take(&mut self.resolved)
            .into_iter()
            .partition(|f| evaluated.contains(&f.rule_id.to_ascii_uppercase()));
        self.resolved = kept;
        self.no_longer_evaluated = set_aside;
    }
}

/// Whether a scan read a host inventory (`--hosts`), from its hosts view: some host has an
/// inventory status other than `not_supplied`. A report without a hosts view says false.
pub fn inventory_read(hosts: &[crate::report::HostRow]) -> bool {
    hosts
        .iter()
        .any(|h| h.inventory != crate::report::InventoryStatus::NotSupplied)
}

impl FindingsDiff {
    /// Moves the resolved SC001 (incomplete scan) findings that named inventory hosts it
    /// could not read (evidence `inventory_errors` not empty) to `no_longer_evaluated` when
    /// the new scan read no inventory (`inventory_read` false, [`inventory_read`]): SC001 ran,
    /// but its inventory part was not evaluated, so those errors were not fixed.
    pub fn set_aside_unread_inventory(&mut self, inventory_read: bool) {
        if inventory_read {
            return;
        }
        let (kept, set_aside): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut self.resolved)
            .into_iter()
            .partition(|f| {
                !(f.rule_id.eq_ignore_ascii_case("SC001")
                    && f.evidence
                        .get("inventory_errors")
                        .is_some_and(|v| !v.is_empty() && v != "[]"))
            });
        self.resolved = kept;
        self.no_longer_evaluated.extend(set_aside);
    }
}

/// The rule ids (upper case) a scan evaluated, from its checks section: every rule listed
/// there but `not_evaluated`. None when the report has no checks (written before they
/// existed): then which rules ran cannot be told.
pub fn evaluated_rules(checks: &[crate::report::Check]) -> Option<HashSet<String>> {
    if checks.is_empty() {
        return None;
    }
    Some(
        checks
            .iter()
            .filter(|c| c.status != crate::report::CheckStatus::NotEvaluated)
            .map(|c| c.rule_id.to_ascii_uppercase())
            .collect(),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{}: cannot read findings: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {at}: {reason}", path.display())]
    Parse {
        path: PathBuf,
        /// Where in the document, like `findings[3]` (`$` for the whole document).
        at: String,
        line: usize,
        column: usize,
        reason: String,
    },
}

/// Splits the findings of two scans. Each list keeps its input order.
pub fn diff(old: &[Finding], new: &[Finding]) -> FindingsDiff {
    let old_keys = keys(old);
    let new_keys = keys(new);
    let (unchanged, added) = new
        .iter()
        .cloned()
        .partition(|f| old_keys.contains(&f.key()));
    FindingsDiff {
        new: added,
        resolved: old
            .iter()
            .filter(|f| !new_keys.contains(&f.key()))
            .cloned()
            .collect(),
        unchanged,
        no_longer_evaluated: Vec::new(),
    }
}

/// Marks findings that the previous scan had as [`Status::Existing`]. Suppression wins: an
/// accepted risk stays marked suppressed whether or not it is old.
pub fn mark_previous(findings: &mut [Finding], previous: &[Finding]) {
    let before = keys(previous);
    for f in findings {
        if f.status != Status::Suppressed && before.contains(&f.key()) {
            f.status = Status::Existing;
        }
    }
}

fn keys(findings: &[Finding]) -> HashSet<String> {
    findings.iter().map(Finding::key).collect()
}

/// The JSON report's document; only the findings matter here, other members are ignored so
/// that a newer report with more sections still diffs.
#[derive(Deserialize)]
struct Document {
    #[allow(dead_code)] // required to tell a report from an arbitrary object; not interpreted
    schema_version: serde_json::Value,
    findings: Vec<Finding>,
    /// Only `collected_at` is read, leniently: a report without it still diffs.
    #[serde(default)]
    meta: serde_json::Value,
}

/// A previous scan's findings and, when its report says, when that scan's data was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Previous {
    pub findings: Vec<Finding>,
    /// The report's `meta.collected_at` (RFC 3339); None for a bare array or a report
    /// without it.
    pub collected_at: Option<DateTime<Utc>>,
}

/// Reads a `findings.json` written by the JSON report (an object with `schema_version` and
/// `findings`) or a bare array of findings.
pub fn load_findings_json(path: &Path) -> Result<Vec<Finding>, DiffError> {
    load_previous(path).map(|p| p.findings)
}

/// [`load_findings_json`], with the previous scan's time (for `first_seen`).
pub fn load_previous(path: &Path) -> Result<Previous, DiffError> {
    let text = std::fs::read_to_string(path).map_err(|source| DiffError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_previous(&text, path)
}

/// Parses findings JSON from `text`; `path` only names the file in errors.
pub fn parse_findings_json(text: &str, path: &Path) -> Result<Vec<Finding>, DiffError> {
    parse_previous(text, path).map(|p| p.findings)
}

/// Parses findings JSON and the scan time from `text`; `path` only names the file in errors.
pub fn parse_previous(text: &str, path: &Path) -> Result<Previous, DiffError> {
    // PowerShell's `Out-File` and friends prepend a BOM, which serde_json refuses.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bare_array = text.trim_start().starts_with('[');
    let parsed = if bare_array {
        serde_json::from_str::<Vec<Finding>>(text).map(|findings| Previous {
            findings,
            collected_at: None,
        })
    } else {
        serde_json::from_str::<Document>(text).map(|d| Previous {
            findings: d.findings,
            collected_at: d
                .meta
                .get("collected_at")
                .and_then(|v| v.as_str())
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
        })
    };
    parsed.map_err(|e| DiffError::Parse {
        path: path.to_owned(),
        at: locate(text, bare_array),
        line: e.line(),
        column: e.column(),
        reason: strip_position(&e.to_string()),
    })
}

/// serde_json reports line and column but not which finding failed; re-read loosely to name
/// the first element that does not deserialise, so the user can find it in a large file.
fn locate(text: &str, bare_array: bool) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return "$".into();
    };
    let (items, prefix) = match (&value, bare_array) {
        (serde_json::Value::Array(a), true) => (a, "$"),
        (serde_json::Value::Object(o), false) => match o.get("findings") {
            Some(serde_json::Value::Array(a)) => (a, "findings"),
            _ => return "$".into(),
        },
        _ => return "$".into(),
    };
    items
        .iter()
        .position(|v| serde_json::from_value::<Finding>(v.clone()).is_err())
        .map(|i| format!("{prefix}[{i}]"))
        .unwrap_or_else(|| "$".into())
}

/// serde_json appends " at line L column C"; the error carries those separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_position_removes_only_the_suffix() {
        assert_eq!(
            strip_position("missing field `rule_id` at line 3 column 5"),
            "missing field `rule_id`"
        );
        assert_eq!(strip_position("EOF"), "EOF");
    }
}
