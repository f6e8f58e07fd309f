//! The audit: analysis + rules -> findings, the readiness matrix per migration group, and the
//! go / no-go check of one migration (`hvaudit check --from A --to B [--operator USER]`).
//!
//! One job per file: `evaluator` runs the rules over every object of their scope, `readiness`
//! decides each cell of the matrix (`PairUnknowns`, the name forms), `check` is the go / no-go
//! of one migration; this file assembles the audit's findings and host summaries.

mod check;
pub mod completeness;
mod evaluator;
mod readiness;

use foldhash::{HashMap, HashMapExt};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::analysis::{AccountFacts, AccountIdx, Analysis, EntryIdx, GroupIdx, HostIdx};
use crate::config::Config;
use crate::findings::{Finding, GroupReadiness};
use crate::inventory::HostInventory;
use crate::model::{Gap, Snapshot};
use crate::rules::{EvalError, RuleError, RuleSet};

pub use check::{CheckError, CheckReason, PairCheck, check_pair};
use evaluator::{Anchor, Blockers, Evaluator};
use readiness::{PairUnknowns, readiness_cell};

/// A Hyper-V host as the audit saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostSummary {
    pub name: String,
    pub fqdn: Option<String>,
    pub dn: Option<String>,
    /// Why it was recognised as a Hyper-V host.
    pub reasons: Vec<String>,
    pub group: Option<String>,
    pub cluster: Option<String>,
    /// `2012`, `2012 R2`, `2016`, `2019`, `2022`, `2025` or `unknown`.
    pub os_generation: String,
    pub os_build: Option<u32>,
    pub in_directory: bool,
    pub in_inventory: bool,
    /// The host's row in the inventory (index in `HostInventory::hosts`), as the analysis
    /// matched it.
    #[serde(skip)]
    pub inventory_row: Option<usize>,
    pub enabled: bool,
    /// Named a host by what an administrator controls (config, inventory) and not created by
    /// a non-privileged account: only such hosts are granted delegation by remediations.
    pub confirmed: bool,
    /// Why it is not confirmed and how to confirm it; None when confirmed.
    pub unconfirmed_note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditOutcome {
    /// Sorted: severity (highest first), rule id, object, target.
    pub findings: Vec<Finding>,
    /// One entry per migration group.
    pub readiness: Vec<GroupReadiness>,
    pub hosts: Vec<HostSummary>,
    /// Nothing left unread: no gap in the snapshot nor in [`AuditOutcome::gaps`]
    /// ([`completeness::is_complete`]).
    pub complete: bool,
    /// The run's gaps beyond the snapshot's own ([`completeness::run_gaps`]): rule errors,
    /// configured privileged groups not in the snapshot, inventory rows not read.
    pub gaps: Vec<Gap>,
    /// Facts that are not findings (hosts in no group, configured names not found...).
    pub notes: Vec<String>,
    /// Rules that failed to evaluate on some object (a bug in a rule, never silent).
    pub errors: Vec<EvalError>,
    /// Privileged membership and protection of each account, parallel to
    /// `snapshot.accounts` (what PA001 judges; the report's privileged-accounts table).
    #[serde(skip)]
    pub accounts: Vec<AccountFacts>,
}

pub(super) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|x, y| {
        y.severity
            .cmp(&x.severity)
            .then_with(|| x.rule_id.cmp(&y.rule_id))
            .then_with(|| x.object.to_lowercase().cmp(&y.object.to_lowercase()))
            .then_with(|| {
                x.target
                    .as_deref()
                    .unwrap_or("")
                    .to_lowercase()
                    .cmp(&y.target.as_deref().unwrap_or("").to_lowercase())
            })
    });
}

fn summaries(a: &Analysis) -> Vec<HostSummary> {
    a.hosts
        .iter()
        .map(|h| HostSummary {
            name: h.name.clone(),
            fqdn: h.fqdn.clone(),
            dn: h.dn.clone(),
            reasons: h.reasons.clone(),
            group: h.group.map(|g| a.groups[g].name.clone()),
            cluster: h.cluster.clone(),
            os_generation: h.os_generation.as_str().to_string(),
            os_build: h.os_build,
            in_directory: h.in_directory(),
            in_inventory: h.inventory.is_some(),
            inventory_row: h.inventory,
            enabled: h.enabled,
            confirmed: h.confirmed(),
            unconfirmed_note: (!h.confirmed()).then(|| unconfirmed_note(h)),
        })
        .collect()
}

/// Audits a snapshot: every rule over every object of its scope, then the readiness matrix of
/// each migration group. Fails only if a rule cannot be compiled.
pub fn run_audit(
    snapshot: &Snapshot,
    inventory: Option<&HostInventory>,
    config: &Config,
    rules: &RuleSet,
    now: DateTime<Utc>,
) -> Result<AuditOutcome, RuleError> {
    let a = Analysis::build(snapshot, inventory, config);
    crate::timing::phase("audit: analysis");
    let compiled = rules.compile()?;
    let mut ev = Evaluator::new(&a, &compiled, now);

    ev.scan();
    crate::timing::phase("audit: compile, scan rules");
    // A large domain has hundreds of thousands of delegation entries and thousands of groups.
    ev.parallel(a.entries.len(), 20_000, now, |ev, e| {
        ev.entry(EntryIdx::new(e))
    });
    crate::timing::phase("audit: entry rules");
    for i in AccountIdx::range(snapshot.accounts.len()) {
        ev.account(i, false);
    }
    for h in HostIdx::range(a.hosts.len()).filter(|h| a.hosts[*h].group.is_none()) {
        ev.host(h);
        ev.release_host(h);
    }
    crate::timing::phase("audit: account, lone host rules");
    ev.parallel(a.groups.len(), 16, now, |ev, g| ev.group(GroupIdx::new(g)));
    crate::timing::phase("audit: group rules");

    // Readiness: only findings whose rule can block, indexed by where they sit.
    // Keyed by hosts; the values are positions in `ev.fired`.
    let mut by_pair: HashMap<(HostIdx, HostIdx), Vec<usize>> = HashMap::new();
    let mut by_host: HashMap<HostIdx, Vec<usize>> = HashMap::new();
    for (i, f) in ev.fired.iter().enumerate() {
        if !compiled.can_block(f.rule) {
            continue;
        }
        match ev.anchors[i] {
            Anchor::Pair(x, y) => by_pair.entry((x, y)).or_default().push(i),
            Anchor::Host(h) | Anchor::Storage(h) | Anchor::Entry(Some(h)) => {
                by_host.entry(h).or_default().push(i)
            }
            // Operator findings only block a check naming that operator.
            Anchor::Scan | Anchor::Account | Anchor::Entry(None) => {}
        }
    }
    // Groups are independent: their cells are decided on every core, each part with its own
    // caches and errors, and joined in group order (the outcome of a sequential run).
    let groups = a.groups.len();
    let (rules, fired) = (ev.rules, &ev.fired[..]);
    let part = |range: std::ops::Range<usize>| {
        let mut judge = Blockers::new(&a, rules, fired);
        let mut unknowns = PairUnknowns::new(&a);
        let groups: Vec<GroupReadiness> = range
            .map(|g| {
                group_readiness(
                    &a,
                    &mut judge,
                    &mut unknowns,
                    GroupIdx::new(g),
                    &by_pair,
                    &by_host,
                )
            })
            .collect();
        (groups, judge.errors)
    };
    let parts = crate::parallel::in_parts(groups, crate::parallel::parts_for(groups, 16), part);
    let mut readiness = Vec::with_capacity(groups);
    for (g, errors) in parts {
        readiness.extend(g);
        ev.errors.extend(errors);
    }

    crate::timing::phase("audit: readiness");
    let mut findings: Vec<Finding> = ev.fired.into_iter().map(|f| f.finding).collect();
    sort_findings(&mut findings);
    crate::timing::phase("audit: sort");
    let gaps = completeness::run_gaps(snapshot, inventory, config, &ev.errors);
    Ok(AuditOutcome {
        findings,
        readiness,
        hosts: summaries(&a),
        complete: completeness::is_complete(snapshot, &gaps),
        gaps,
        notes: a.notes.clone(),
        errors: ev.errors,
        accounts: a.accounts.clone(),
    })
}

/// The readiness matrix of group `g`: every ordered pair of its hosts, from the blocking
/// findings indexed by pair (`by_pair`) and by host (`by_host`), as positions in `fired`.
fn group_readiness(
    a: &Analysis,
    judge: &mut Blockers,
    unknowns: &mut PairUnknowns,
    g: GroupIdx,
    by_pair: &HashMap<(HostIdx, HostIdx), Vec<usize>>,
    by_host: &HashMap<HostIdx, Vec<usize>>,
) -> GroupReadiness {
    let group = &a.groups[g];
    let empty = Vec::new();
    let mut cells = Vec::with_capacity(group.hosts.len() * group.hosts.len().saturating_sub(1));
    for &from in &group.hosts {
        for &to in &group.hosts {
            if from == to {
                continue;
            }
            let cands = by_pair
                .get(&(from, to))
                .unwrap_or(&empty)
                .iter()
                .chain(by_host.get(&from).unwrap_or(&empty))
                .chain(by_host.get(&to).unwrap_or(&empty))
                .copied()
                .collect::<Vec<_>>();
            cells.push(readiness_cell(a, judge, unknowns, from, to, &cands));
        }
    }
    GroupReadiness {
        group: group.name.clone(),
        hosts: group
            .hosts
            .iter()
            .map(|h| a.hosts[*h].name.clone())
            .collect(),
        cells,
    }
}

/// Why host `h` is not confirmed, and what would confirm it.
pub(super) fn unconfirmed_note(h: &crate::analysis::HostFacts) -> String {
    match &h.creator {
        Some(c) if h.created_by_unprivileged() => format!(
            "{}: created through MachineAccountQuota by the non-privileged account {}; it is \
             in no migration group whatever names it a host (HV020)",
            h.name,
            c.display()
        ),
        _ => format!(
            "{}: unconfirmed Hyper-V host candidate ({}); {}",
            h.name,
            h.reasons.join("; "),
            h.how_to_confirm()
        ),
    }
}
