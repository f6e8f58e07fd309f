//! What the first screen of every report answers: which rules found something, which were
//! evaluated and passed, which could not be evaluated and why ([`Check`]); the worst severity
//! per category ([`CategoryCount`]); and which findings to fix first ([`FixItem`]).
//!
//! Everything here is derived from the audit's output; nothing re-evaluates a rule.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::findings::{Finding, ReadinessState, Scope, Severity, Status};
use crate::rules::Rule;

use super::ReportData;

/// The five areas a reader asks about first. Built-in rules have a fixed category
/// ([`category_of`]); a custom rule is placed by its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    DelegationHygiene,
    MigrationReadiness,
    PrivilegedAccounts,
    HostSettings,
    ScanCompleteness,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::DelegationHygiene,
        Category::MigrationReadiness,
        Category::PrivilegedAccounts,
        Category::HostSettings,
        Category::ScanCompleteness,
    ];

    /// The heading shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Category::DelegationHygiene => "Delegation hygiene",
            Category::MigrationReadiness => "Live-migration readiness",
            Category::PrivilegedAccounts => "Privileged accounts",
            Category::HostSettings => "Host settings",
            Category::ScanCompleteness => "Scan completeness",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::DelegationHygiene => "delegation_hygiene",
            Category::MigrationReadiness => "migration_readiness",
            Category::PrivilegedAccounts => "privileged_accounts",
            Category::HostSettings => "host_settings",
            Category::ScanCompleteness => "scan_completeness",
        }
    }
}

/// The category of rule `rule_id` (evaluated over `scope`). The built-in catalogue is listed
/// (what each rule protects, rules/*.toml); any other rule goes by its scope: pairs to
/// readiness, delegation values to hygiene, accounts to privileged accounts, hosts to host
/// settings, the scan to completeness.
pub fn category_of(rule_id: &str, scope: Scope) -> Category {
    match rule_id {
        // Delegation that is dangerous or dead, whether or not migration needs it.
        "HV001" | "HV006" | "HV007" | "HV008" | "HV009" | "HV010" | "HV018" | "HV019" => {
            Category::DelegationHygiene
        }
        // What makes a migration fail (missing or unusable delegation, a stale ticket, an
        // operator whose tickets cannot be delegated).
        "HV002" | "HV003" | "HV004" | "HV005" | "HV013" | "HV014" | "HV017" => {
            Category::MigrationReadiness
        }
        "PA001" | "PA002" => Category::PrivilegedAccounts,
        "HV011" | "HV012" | "HV016" => Category::HostSettings,
        "SC001" | "HV015" => Category::ScanCompleteness,
        _ => match scope {
            Scope::HostPair => Category::MigrationReadiness,
            Scope::DelegationEntry => Category::DelegationHygiene,
            Scope::Account => Category::PrivilegedAccounts,
            Scope::Host => Category::HostSettings,
            Scope::Scan => Category::ScanCompleteness,
        },
    }
}

/// Per category: its worst unsuppressed finding's severity and how many findings it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryCount {
    pub category: Category,
    /// Heading, e.g. `Delegation hygiene`.
    pub label: String,
    /// Severity of its worst unsuppressed finding; None when it has none.
    pub worst: Option<Severity>,
    /// Unsuppressed findings.
    pub count: usize,
    pub suppressed: usize,
}

/// Every category, in [`Category::ALL`] order, zero counts included.
pub fn by_category(findings: &[Finding]) -> Vec<CategoryCount> {
    let mut m: BTreeMap<Category, CategoryCount> = Category::ALL
        .iter()
        .map(|c| {
            (
                *c,
                CategoryCount {
                    category: *c,
                    label: c.label().to_string(),
                    worst: None,
                    count: 0,
                    suppressed: 0,
                },
            )
        })
        .collect();
    for f in findings {
        let Some(cc) = m.get_mut(&category_of(&f.rule_id, f.scope)) else {
            continue;
        };
        if f.status == Status::Suppressed {
            cc.suppressed += 1;
        } else {
            cc.count += 1;
            cc.worst = cc.worst.max(Some(f.severity));
        }
    }
    m.into_values().collect()
}

/// Outcome of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Evaluated; produced findings (suppressed ones included).
    Failed,
    /// Could not be evaluated: `reason` says why.
    NotEvaluated,
    /// Evaluated over everything in `checked`, nothing found.
    Passed,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Failed => "failed",
            CheckStatus::NotEvaluated => "not_evaluated",
            CheckStatus::Passed => "passed",
        }
    }
    /// As shown to people.
    pub fn label(self) -> &'static str {
        match self {
            CheckStatus::Failed => "failed",
            CheckStatus::NotEvaluated => "not evaluated",
            CheckStatus::Passed => "passed",
        }
    }
}

/// One rule of the rule set and what became of it in this scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub rule_id: String,
    pub title: String,
    /// Effective severity (after configuration overrides).
    pub severity: Severity,
    pub category: Category,
    pub status: CheckStatus,
    /// Unsuppressed findings.
    pub findings: usize,
    pub suppressed: usize,
    /// What it was evaluated over, e.g. `12 Hyper-V hosts`.
    pub checked: String,
    /// Why it was not evaluated (`not_evaluated` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The facts about a scan that decide whether a rule could run and over what.
#[derive(Debug, Clone, Default)]
pub struct CheckContext {
    /// `--hosts` was given.
    pub inventory_supplied: bool,
    /// Hyper-V hosts (the subjects of host rules).
    pub hosts: usize,
    /// Ordered host pairs over all migration groups (the subjects of pair rules).
    pub pairs: usize,
    pub groups: usize,
    /// msDS-AllowedToDelegateTo values on Hyper-V hosts (the subjects of entry rules).
    pub delegation_entries: usize,
    /// User, computer and service accounts (the subjects of account rules).
    pub accounts: usize,
    /// Per rule id: objects its evaluation failed on.
    pub errors: HashMap<String, usize>,
}

/// A rule whose condition reads a host's inventory row (`host.inventory`) or asks whether
/// an inventory was given (`scan.inventory_supplied`) judges the hosts' migration settings:
/// without `--hosts` it finds nothing, and "no finding" would claim a pass nobody checked.
/// (`scan.inventory_errors`, which SC001 reads beside the directory's gaps, does not count.)
/// Erring this way only ever turns a "passed" into a "not evaluated".
pub fn reads_inventory(rule: &Rule) -> bool {
    rule.condition.contains("host.inventory") || rule.condition.contains("inventory_supplied")
}

/// One [`Check`] per rule of the set, disabled ones included, in [`sort_checks`] order.
pub fn build_checks(rules: &[Rule], ctx: &CheckContext, findings: &[Finding]) -> Vec<Check> {
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for f in findings {
        let c = counts.entry(f.rule_id.as_str()).or_default();
        if f.status == Status::Suppressed {
            c.1 += 1;
        } else {
            c.0 += 1;
        }
    }
    let mut out: Vec<Check> = rules
        .iter()
        .map(|r| {
            let (n, sup) = counts.get(r.id.as_str()).copied().unwrap_or((0, 0));
            let (subjects, checked) = subjects(r.scope, ctx);
            let reason = if n + sup > 0 {
                None
            } else if !r.enabled {
                Some("disabled in the configuration ([rules] disable)".to_string())
            } else if reads_inventory(r) && !ctx.inventory_supplied {
                Some(
                    "needs the host inventory (--hosts), which was not given: the hosts' \
                     migration settings are unknown"
                        .to_string(),
                )
            } else if let Some(e) = ctx.errors.get(&r.id) {
                Some(format!(
                    "its evaluation failed on {e} object(s) (listed as gaps)"
                ))
            } else if subjects == 0 {
                Some(match r.scope {
                    Scope::HostPair => {
                        "no migration group has two hosts: no pair to check".to_string()
                    }
                    Scope::Account => "no account was read".to_string(),
                    _ => "no Hyper-V host was found: nothing to check".to_string(),
                })
            } else {
                None
            };
            Check {
                rule_id: r.id.clone(),
                title: r.title.clone(),
                severity: r.severity,
                category: category_of(&r.id, r.scope),
                status: if n + sup > 0 {
                    CheckStatus::Failed
                } else if reason.is_some() {
                    CheckStatus::NotEvaluated
                } else {
                    CheckStatus::Passed
                },
                findings: n,
                suppressed: sup,
                checked,
                reason,
            }
        })
        .collect();
    sort_checks(&mut out);
    out
}

/// Failed first, then not evaluated, then passed; within each, most severe first, then most
/// findings, then rule id. The rule table of every report uses this order.
pub fn sort_checks(checks: &mut [Check]) {
    checks.sort_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then(b.severity.cmp(&a.severity))
            .then((b.findings + b.suppressed).cmp(&(a.findings + a.suppressed)))
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
}

fn subjects(scope: Scope, ctx: &CheckContext) -> (usize, String) {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    match scope {
        Scope::Scan => (1, "the scan's reads and inventory".to_string()),
        Scope::Host => (
            ctx.hosts,
            plural(ctx.hosts, "Hyper-V host", "Hyper-V hosts"),
        ),
        Scope::HostPair => (
            ctx.pairs,
            format!(
                "{} in {}",
                plural(ctx.pairs, "ordered host pair", "ordered host pairs"),
                plural(ctx.groups, "migration group", "migration groups")
            ),
        ),
        Scope::DelegationEntry => (
            ctx.delegation_entries,
            plural(
                ctx.delegation_entries,
                "delegation value on Hyper-V hosts",
                "delegation values on Hyper-V hosts",
            ),
        ),
        Scope::Account => (ctx.accounts, plural(ctx.accounts, "account", "accounts")),
    }
}

/// One entry of the fix-first list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixItem {
    /// Index of the finding in the report's `findings`.
    pub finding: usize,
    pub rule_id: String,
    pub severity: Severity,
    pub object: String,
    pub target: Option<String>,
    /// Blocked or unknown host pairs whose blocking rules name this finding (a pair finding
    /// blocks its own pair; a host finding the pairs from or to its host).
    pub unblocks: usize,
    /// Privileged accounts that can be delegated and are exposed by it: the account itself
    /// for PA001/PA002, every delegable privileged account for delegation any-service or to a
    /// domain controller (HV001, HV008, HV010).
    pub exposes: usize,
    /// The fix in one line: the remediation's leading comment or its first command; for the
    /// findings of one cause, the fix at the group ([`super::causes::group_fix`]).
    pub fix: String,
    /// How many open findings this entry stands for: 1, or the findings of one cause.
    #[serde(default = "one")]
    pub findings: usize,
    /// For the findings of one cause: the nesting path they share (their `privileged_via`);
    /// `object` is then that path too and `finding` the first of them.
    #[serde(default)]
    pub cause: Option<String>,
}

fn one() -> usize {
    1
}

/// How many fix-first entries the reports show (the rest are in the findings table).
pub const FIX_FIRST_MAX: usize = 25;

/// The unsuppressed findings to fix first: most severe first, then those that unblock or
/// expose most, then rule id, object and target. At most `max` entries.
pub fn fix_first(data: &ReportData, max: usize) -> Vec<FixItem> {
    // Per (group, host): the rules blocking pairs from or to it, counted once per pair.
    let mut host_rule_pairs: HashMap<(&str, &str), usize> = HashMap::new();
    let mut pair_rules: HashSet<(&str, &str, &str)> = HashSet::new();
    for g in &data.readiness {
        for c in &g.cells {
            if c.state == ReadinessState::Ready {
                continue;
            }
            let mut seen: HashSet<&str> = HashSet::new();
            for r in &c.blocking_rules {
                if !seen.insert(r.as_str()) {
                    continue;
                }
                pair_rules.insert((r.as_str(), c.from.as_str(), c.to.as_str()));
                *host_rule_pairs
                    .entry((r.as_str(), c.from.as_str()))
                    .or_default() += 1;
                if c.to != c.from {
                    *host_rule_pairs
                        .entry((r.as_str(), c.to.as_str()))
                        .or_default() += 1;
                }
            }
        }
    }
    let delegable_privileged = data
        .privileged
        .iter()
        .filter(|p| p.enabled && !p.protected)
        .count();
    let items: Vec<FixItem> = data
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.status != Status::Suppressed)
        .map(|(i, f)| {
            let unblocks = match f.scope {
                Scope::HostPair => f
                    .target
                    .as_deref()
                    .map(|t| {
                        usize::from(pair_rules.contains(&(
                            f.rule_id.as_str(),
                            f.object.as_str(),
                            t,
                        )))
                    })
                    .unwrap_or(0),
                Scope::Host | Scope::Account => host_rule_pairs
                    .get(&(f.rule_id.as_str(), f.object.as_str()))
                    .copied()
                    .unwrap_or(0),
                _ => 0,
            };
            let exposes = match f.rule_id.as_str() {
                "PA001" | "PA002" => 1,
                "HV001" | "HV008" | "HV010" => delegable_privileged,
                _ => 0,
            };
            FixItem {
                finding: i,
                rule_id: f.rule_id.clone(),
                severity: f.severity,
                object: f.object.clone(),
                target: f.target.clone(),
                unblocks,
                exposes,
                fix: one_line_fix(f),
                findings: 1,
                cause: None,
            }
        })
        .collect();
    let mut items = merge_causes(data, items);
    items.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then((b.unblocks + b.exposes).cmp(&(a.unblocks + a.exposes)))
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.target.cmp(&b.target))
    });
    items.truncate(max);
    items
}

/// The open findings of one cause ([`crate::findings::Finding::cause`], two or more) become
/// one entry at the place of the first: the group fix, the path as its object, their counts
/// summed. The others stay as they are.
fn merge_causes(data: &ReportData, items: Vec<FixItem>) -> Vec<FixItem> {
    let mut count: HashMap<String, usize> = HashMap::new();
    let keys: Vec<Option<String>> = items
        .iter()
        .map(|x| {
            let f = &data.findings[x.finding];
            f.cause_path().map(|_| f.cause())
        })
        .collect();
    for k in keys.iter().flatten() {
        *count.entry(k.clone()).or_default() += 1;
    }
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<FixItem> = Vec::with_capacity(items.len());
    for (x, key) in items.into_iter().zip(keys) {
        let Some(key) = key.filter(|k| count.get(k).is_some_and(|&n| n >= 2)) else {
            out.push(x);
            continue;
        };
        if let Some(&j) = at.get(&key) {
            let m = &mut out[j];
            m.findings += 1;
            m.unblocks += x.unblocks;
            m.exposes += x.exposes;
            m.severity = m.severity.max(x.severity);
            continue;
        }
        let path = data.findings[x.finding]
            .cause_path()
            .unwrap_or_default()
            .to_string();
        at.insert(key, out.len());
        out.push(FixItem {
            object: path.clone(),
            target: None,
            fix: super::causes::group_fix(&path),
            cause: Some(path),
            ..x
        });
    }
    out
}

/// The remediation in one line: its first comment when it starts with one (the rule says what
/// to do in words), else its first command (an `if (...) { cmd }` guard unwrapped), else the
/// first line; without remediation, "see the finding".
pub fn one_line_fix(f: &Finding) -> String {
    let Some(r) = f.remediation.as_deref() else {
        return "No scripted fix: see the finding's rationale".to_string();
    };
    let lines: Vec<&str> = r.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let Some(first) = lines.first() else {
        return "No scripted fix: see the finding's rationale".to_string();
    };
    if let Some(c) = first.strip_prefix('#') {
        let c = c.trim();
        // "Do this first, then:" is finished by the next line, command or commented command.
        if c.ends_with(':')
            && let Some(next) = lines.get(1)
        {
            let next = next.trim_start_matches('#').trim();
            return format!("{c} {}", unwrap_guard(next));
        }
        return c.to_string();
    }
    let command = lines
        .iter()
        .filter(|l| !l.starts_with('#') && !l.starts_with('$'))
        .map(|l| unwrap_guard(l))
        .next()
        .unwrap_or(first);
    command.to_string()
}

/// `if (cond) { body }` -> `body`; anything else unchanged.
fn unwrap_guard(line: &str) -> &str {
    if line.starts_with("if (")
        && let (Some(open), true) = (line.find(") {"), line.ends_with('}'))
    {
        return line[open + 3..line.len() - 1].trim();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_fix_prefers_the_comment_then_the_command() {
        let mut f = Finding {
            rule_id: "HV002".into(),
            severity: Severity::Medium,
            title: String::new(),
            scope: Scope::HostPair,
            object: "A".into(),
            object_dn: None,
            target: None,
            group: None,
            message: String::new(),
            evidence: Default::default(),
            evidence_lists: Default::default(),
            remediation: Some(
                "$have = @(1)\nif ($have.Count -gt 0) { Set-ADObject -Identity 'x' -Add @{} }\n# later"
                    .into(),
            ),
            status: Status::Open,
            suppression: None,
            first_seen: None,
        };
        assert_eq!(one_line_fix(&f), "Set-ADObject -Identity 'x' -Add @{}");
        f.remediation = Some("\n# Replace it.\nSet-X".into());
        assert_eq!(one_line_fix(&f), "Replace it.");
        f.remediation = Some("# Fix HV002 first, then:\nSet-VMHost -X".into());
        assert_eq!(one_line_fix(&f), "Fix HV002 first, then: Set-VMHost -X");
        f.remediation = None;
        assert!(one_line_fix(&f).starts_with("No scripted fix"));
    }
}
