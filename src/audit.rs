//! The audit: analysis + rules -> findings, the readiness matrix per migration group, and the
//! go / no-go check of one migration (`hvaudit check --from A --to B [--operator USER]`).

use foldhash::{HashMap, HashMapExt};

use chrono::{DateTime, Utc};
use minijinja::{Value, context};
use serde::Serialize;

use crate::analysis::{AccountFacts, Analysis};
use crate::config::Config;
use crate::findings::{Finding, GroupReadiness, ReadinessCell, Scope, Severity};
use crate::inventory::HostInventory;
use crate::model::Snapshot;
use crate::rules::memo::Memo;
use crate::rules::model::{
    account_view, entry_view_with_owner, group_name, host_view, owner_view, peer_pair_view,
    scan_view, storage_pair_view, to_value,
};
use crate::rules::{CompiledRules, EvalError, Fired, RuleError, RuleSet, Subject};

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
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditOutcome {
    /// Sorted: severity (highest first), rule id, object, target.
    pub findings: Vec<Finding>,
    /// One entry per migration group.
    pub readiness: Vec<GroupReadiness>,
    pub hosts: Vec<HostSummary>,
    /// No directory gap and no inventory row with an error.
    pub complete: bool,
    /// Facts that are not findings (hosts in no group, configured names not found...).
    pub notes: Vec<String>,
    /// Rules that failed to evaluate on some object (a bug in a rule, never silent).
    pub errors: Vec<EvalError>,
    /// Privileged membership and protection of each account, parallel to
    /// `snapshot.accounts` (what PA001 judges; the report's privileged-accounts table).
    #[serde(skip)]
    pub accounts: Vec<AccountFacts>,
}

/// Where a fired finding sits, for readiness lookups.
#[derive(Debug, Clone, Copy)]
enum Anchor {
    Scan,
    Host(usize),
    Pair(usize, usize),
    Storage(usize),
    Entry(Option<usize>),
    Account,
}

struct Evaluator<'a, 'r> {
    a: &'a Analysis<'a>,
    rules: &'r CompiledRules<'r>,
    scan: Value,
    host_values: Vec<Value>,
    fired: Vec<Fired>,
    anchors: Vec<Anchor>,
    errors: Vec<EvalError>,
    /// The owner value of the last delegation entry evaluated.
    owner: Option<(crate::analysis::Principal, Value)>,
    memo: Memo,
}

impl<'a, 'r> Evaluator<'a, 'r> {
    fn new(a: &'a Analysis<'a>, rules: &'r CompiledRules<'r>, now: DateTime<Utc>) -> Self {
        Evaluator {
            a,
            rules,
            scan: to_value(scan_view(a, now)),
            // Built per migration group and released after it (see `run_audit`).
            host_values: vec![Value::UNDEFINED; a.hosts.len()],
            fired: Vec::new(),
            anchors: Vec::new(),
            errors: Vec::new(),
            owner: None,
            memo: Memo::new(),
        }
    }

    fn run(&mut self, scope: Scope, ctx: Value, anchor: Anchor, subject: impl Fn() -> Subject) {
        let before = self.fired.len();
        self.rules.eval(
            scope,
            &ctx,
            subject,
            &mut self.memo,
            &mut self.fired,
            &mut self.errors,
        );
        self.anchors
            .extend(std::iter::repeat_n(anchor, self.fired.len() - before));
    }

    /// Runs `work` on items `0..n`, split over the available CPUs when there are at least
    /// `min_per_thread` items per thread: each part is evaluated by its own evaluator and the
    /// results are appended in item order, so the outcome is the same as a sequential run.
    fn parallel(
        &mut self,
        n: usize,
        min_per_thread: usize,
        now: DateTime<Utc>,
        work: impl Fn(&mut Evaluator<'a, 'r>, usize) + Sync,
    ) {
        let threads = std::thread::available_parallelism()
            .map_or(1, |p| p.get())
            .min(n / min_per_thread.max(1))
            .max(1);
        if threads == 1 {
            (0..n).for_each(|i| work(self, i));
            return;
        }
        let (a, rules, work) = (self.a, self.rules, &work);
        let chunk = n.div_ceil(threads);
        let parts: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (1..threads)
                .map(|t| {
                    s.spawn(move || {
                        let mut ev = Evaluator::new(a, rules, now);
                        (t * chunk..((t + 1) * chunk).min(n)).for_each(|i| work(&mut ev, i));
                        (ev.fired, ev.anchors, ev.errors)
                    })
                })
                .collect();
            // This thread does the first part itself: the allocator hands it back the memory
            // this thread freed earlier, where a new thread would take fresh pages.
            (0..chunk.min(n)).for_each(|i| work(self, i));
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        for (fired, anchors, errors) in parts {
            self.fired.extend(fired);
            self.anchors.extend(anchors);
            self.errors.extend(errors);
        }
    }

    /// Host and pair rules of migration group `g`. Host views are the largest rule inputs
    /// (each carries its delegation list); only one group's are alive at a time, so memory
    /// follows the largest group, not the domain.
    fn group(&mut self, g: usize) {
        let group = &self.a.groups[g];
        for &h in &group.hosts {
            self.host(h);
        }
        for &from in &group.hosts {
            for &to in &group.hosts {
                if from != to {
                    self.peer_pair(from, to, Some(&group.name));
                }
            }
            for s in 0..group.storage.len() {
                self.storage_pair(from, g, s);
            }
        }
        for &h in &group.hosts {
            self.release_host(h);
        }
    }

    /// Makes host `h`'s view available to host and pair rules.
    fn ensure_host(&mut self, h: usize) {
        if self.host_values[h].is_undefined() {
            self.host_values[h] = to_value(host_view(self.a, h));
        }
    }

    /// Drops host `h`'s view (findings that fired on it keep their own reference).
    fn release_host(&mut self, h: usize) {
        self.host_values[h] = Value::UNDEFINED;
    }

    fn scan(&mut self) {
        if !self.rules.has_scope(Scope::Scan) {
            return;
        }
        let domain = &self.a.snapshot.domain.dns_name;
        let object = if domain.is_empty() {
            "scan".to_string()
        } else {
            domain.clone()
        };
        let ctx = context! { scan => self.scan.clone() };
        self.run(Scope::Scan, ctx, Anchor::Scan, || Subject {
            object: object.clone(),
            ..Subject::default()
        });
    }

    fn host(&mut self, h: usize) {
        if !self.rules.has_scope(Scope::Host) {
            return;
        }
        self.ensure_host(h);
        let ctx = context! { host => self.host_values[h].clone(), scan => self.scan.clone() };
        let host = &self.a.hosts[h];
        let subject = Subject {
            object: host.name.clone(),
            object_dn: host.dn.clone(),
            target: None,
            group: group_name(self.a, Some(h)),
        };
        self.run(Scope::Host, ctx, Anchor::Host(h), || subject.clone());
    }

    fn entry(&mut self, e: usize) {
        if !self.rules.has_scope(Scope::DelegationEntry) {
            return;
        }
        let a = self.a;
        let entry = &a.entries[e];
        // Entries come grouped by owner: one owner value serves the whole run.
        let owner = match &self.owner {
            Some((p, v)) if *p == entry.owner => v.clone(),
            _ => {
                let v = to_value(owner_view(a, entry.owner));
                self.owner = Some((entry.owner, v.clone()));
                v
            }
        };
        let ctx = context! {
            entry => to_value(entry_view_with_owner(a, e, owner)),
            scan => self.scan.clone()
        };
        let owner_host = match entry.owner {
            crate::analysis::Principal::Computer(c) => a.host_by_computer.get(&c).copied(),
            _ => None,
        };
        self.run(
            Scope::DelegationEntry,
            ctx,
            Anchor::Entry(owner_host),
            || Subject {
                object: crate::analysis::principal_name(a.snapshot, entry.owner),
                object_dn: Some(crate::analysis::principal_dn(a.snapshot, entry.owner).to_string()),
                target: Some(entry.value.to_string()),
                // Only built when a rule fires: most entries produce no finding.
                group: group_name(a, owner_host),
            },
        );
    }

    fn account(&mut self, i: usize, as_operator: bool) {
        if !self.rules.has_scope(Scope::Account) {
            return;
        }
        let a = self.a;
        let ctx = context! {
            account => to_value(account_view(a, i, as_operator)),
            scan => self.scan.clone()
        };
        let acct = &a.snapshot.accounts[i];
        self.run(Scope::Account, ctx, Anchor::Account, || Subject {
            object: acct.sam_account_name.clone(),
            object_dn: Some(acct.dn.clone()),
            target: None,
            group: None,
        });
    }

    fn peer_pair(&mut self, from: usize, to: usize, group: Option<&str>) {
        if !self.rules.has_scope(Scope::HostPair) {
            return;
        }
        self.ensure_host(from);
        self.ensure_host(to);
        let a = self.a;
        let view = peer_pair_view(a, from, to, group, &self.host_values);
        let ctx = context! { pair => to_value(view), scan => self.scan.clone() };
        let subject = Subject {
            object: a.hosts[from].name.clone(),
            object_dn: a.hosts[from].dn.clone(),
            target: Some(a.hosts[to].name.clone()),
            group: group.map(str::to_string),
        };
        self.run(Scope::HostPair, ctx, Anchor::Pair(from, to), || {
            subject.clone()
        });
    }

    fn storage_pair(&mut self, from: usize, g: usize, s: usize) {
        if !self.rules.has_scope(Scope::HostPair) {
            return;
        }
        self.ensure_host(from);
        let a = self.a;
        let view = storage_pair_view(a, from, g, s, &self.host_values);
        let ctx = context! { pair => to_value(view), scan => self.scan.clone() };
        let subject = Subject {
            object: a.hosts[from].name.clone(),
            object_dn: a.hosts[from].dn.clone(),
            target: Some(a.groups[g].storage[s].name.clone()),
            group: Some(a.groups[g].name.clone()),
        };
        self.run(Scope::HostPair, ctx, Anchor::Storage(from), || {
            subject.clone()
        });
    }

    /// Fired findings that block `from` -> `to`, by index into `fired`.
    fn blockers(
        &mut self,
        candidates: impl Iterator<Item = usize>,
        from: usize,
        to: usize,
        operator: Option<&str>,
    ) -> Vec<usize> {
        let (f, t) = (&self.a.hosts[from].name, &self.a.hosts[to].name);
        let mut out = Vec::new();
        for i in candidates {
            match self.rules.blocks(&self.fired[i], f, t, operator) {
                Ok(true) => out.push(i),
                Ok(false) => {}
                Err(e) => self.errors.push(e),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

fn sort_findings(findings: &mut [Finding]) {
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
            enabled: h.enabled,
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
    let compiled = rules.compile()?;
    let mut ev = Evaluator::new(&a, &compiled, now);

    ev.scan();
    // A large domain has hundreds of thousands of delegation entries and thousands of groups.
    ev.parallel(a.entries.len(), 20_000, now, |ev, e| ev.entry(e));
    for i in 0..snapshot.accounts.len() {
        ev.account(i, false);
    }
    for h in (0..a.hosts.len()).filter(|h| a.hosts[*h].group.is_none()) {
        ev.host(h);
        ev.release_host(h);
    }
    ev.parallel(a.groups.len(), 16, now, |ev, g| ev.group(g));

    // Readiness: only findings whose rule can block, indexed by where they sit.
    let mut by_pair: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    let mut by_host: HashMap<usize, Vec<usize>> = HashMap::new();
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
    let empty = Vec::new();
    let mut readiness = Vec::new();
    for group in &a.groups {
        let mut cells = Vec::with_capacity(group.hosts.len() * group.hosts.len().saturating_sub(1));
        for &from in &group.hosts {
            for &to in &group.hosts {
                if from == to {
                    continue;
                }
                let same_cluster = a.same_cluster(from, to);
                let blocking = if same_cluster {
                    Vec::new()
                } else {
                    let cands = by_pair
                        .get(&(from, to))
                        .unwrap_or(&empty)
                        .iter()
                        .chain(by_host.get(&from).unwrap_or(&empty))
                        .chain(by_host.get(&to).unwrap_or(&empty))
                        .copied()
                        .collect::<Vec<_>>();
                    ev.blockers(cands.into_iter(), from, to, None)
                };
                cells.push(ReadinessCell {
                    from: a.hosts[from].name.clone(),
                    to: a.hosts[to].name.clone(),
                    ready: blocking.is_empty(),
                    same_cluster,
                    blocking_rules: blocking
                        .iter()
                        .map(|i| ev.fired[*i].finding.rule_id.clone())
                        .collect(),
                    reasons: blocking
                        .iter()
                        .map(|i| ev.fired[*i].finding.message.clone())
                        .collect(),
                });
            }
        }
        readiness.push(GroupReadiness {
            group: group.name.clone(),
            hosts: group
                .hosts
                .iter()
                .map(|h| a.hosts[*h].name.clone())
                .collect(),
            cells,
        });
    }

    let mut findings: Vec<Finding> = ev.fired.into_iter().map(|f| f.finding).collect();
    sort_findings(&mut findings);
    Ok(AuditOutcome {
        findings,
        readiness,
        hosts: summaries(&a),
        complete: a.complete(),
        notes: a.notes.clone(),
        errors: ev.errors,
        accounts: a.accounts.clone(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("'{0}' is not a Hyper-V host (NetBIOS name or FQDN expected)")]
    UnknownHost(String),
    #[error(
        "'{0}' is only in the host inventory, not in the directory: its delegation cannot be checked"
    )]
    NotInDirectory(String),
    #[error("--from and --to name the same host ({0})")]
    SameHost(String),
    #[error("operator '{0}' is not an account in the directory")]
    UnknownOperator(String),
    #[error(transparent)]
    Rules(#[from] RuleError),
}

/// One reason a migration is blocked, with its fix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReason {
    pub rule_id: String,
    pub severity: Severity,
    pub message: String,
    pub remediation: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairCheck {
    /// Host names as the directory has them.
    pub from: String,
    pub to: String,
    pub operator: Option<String>,
    pub ready: bool,
    /// Same failover cluster: ready without KCD.
    pub same_cluster: bool,
    /// Every blocking finding, highest severity first.
    pub reasons: Vec<CheckReason>,
    /// False when the scan or inventory had gaps: a "go" then proves less.
    pub complete: bool,
    /// Every finding about the two hosts, the pair and the operator (blocking or not).
    pub findings: Vec<Finding>,
    pub errors: Vec<EvalError>,
}

/// Go / no-go for migrating `from` -> `to` (NetBIOS names or FQDNs, case-insensitive), started
/// remotely by `operator` if given. Works for any two Hyper-V hosts, grouped or not.
#[allow(clippy::too_many_arguments)]
pub fn check_pair(
    snapshot: &Snapshot,
    inventory: Option<&HostInventory>,
    config: &Config,
    rules: &RuleSet,
    now: DateTime<Utc>,
    from: &str,
    to: &str,
    operator: Option<&str>,
) -> Result<PairCheck, CheckError> {
    let a = Analysis::build(snapshot, inventory, config);
    let resolve = |n: &str| -> Result<usize, CheckError> {
        let h = a
            .host(n)
            .ok_or_else(|| CheckError::UnknownHost(n.to_string()))?;
        if !a.hosts[h].in_directory() {
            return Err(CheckError::NotInDirectory(n.to_string()));
        }
        Ok(h)
    };
    let (f, t) = (resolve(from)?, resolve(to)?);
    if f == t {
        return Err(CheckError::SameHost(a.hosts[f].name.clone()));
    }
    let op = match operator {
        Some(o) => Some(
            snapshot
                .accounts
                .iter()
                .position(|x| x.sam_account_name.eq_ignore_ascii_case(o.trim()))
                .ok_or_else(|| CheckError::UnknownOperator(o.to_string()))?,
        ),
        None => None,
    };
    let compiled = rules.compile()?;
    let mut ev = Evaluator::new(&a, &compiled, now);
    ev.scan();
    ev.host(f);
    ev.host(t);
    for &h in &[f, t] {
        for e in a.hosts[h].entries.clone() {
            ev.entry(e);
        }
    }
    let group = (a.hosts[f].group.is_some() && a.hosts[f].group == a.hosts[t].group)
        .then(|| a.groups[a.hosts[f].group.unwrap_or_default()].name.clone());
    ev.peer_pair(f, t, group.as_deref());
    if let Some(g) = a.hosts[f].group {
        for s in 0..a.groups[g].storage.len() {
            ev.storage_pair(f, g, s);
        }
    }
    if let Some(i) = op {
        ev.account(i, true);
    }
    let same_cluster = a.same_cluster(f, t);
    let op_name = op.map(|i| snapshot.accounts[i].sam_account_name.clone());
    let blocking = if same_cluster {
        Vec::new()
    } else {
        ev.blockers(0..ev.fired.len(), f, t, op_name.as_deref())
    };
    let mut reasons: Vec<CheckReason> = blocking
        .iter()
        .map(|i| {
            let x = &ev.fired[*i].finding;
            CheckReason {
                rule_id: x.rule_id.clone(),
                severity: x.severity,
                message: x.message.clone(),
                remediation: x.remediation.clone(),
            }
        })
        .collect();
    reasons.sort_by(|x, y| y.severity.cmp(&x.severity).then(x.rule_id.cmp(&y.rule_id)));
    let mut findings: Vec<Finding> = ev.fired.into_iter().map(|x| x.finding).collect();
    sort_findings(&mut findings);
    Ok(PairCheck {
        from: a.hosts[f].name.clone(),
        to: a.hosts[t].name.clone(),
        operator: op_name,
        ready: reasons.is_empty(),
        same_cluster,
        reasons,
        complete: a.complete(),
        findings,
        errors: ev.errors,
    })
}
