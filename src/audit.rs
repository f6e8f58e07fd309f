//! The audit: analysis + rules -> findings, the readiness matrix per migration group, and the
//! go / no-go check of one migration (`hvaudit check --from A --to B [--operator USER]`).

use foldhash::{HashMap, HashMapExt};

use chrono::{DateTime, Utc};
use minijinja::{Value, context};
use serde::Serialize;

use std::borrow::Cow;

use crate::analysis::unknowns::Role;
use crate::analysis::{AccountFacts, Analysis};
use crate::config::Config;
use crate::findings::{
    Finding, FormReadiness, GroupReadiness, ReadinessCell, ReadinessState, Scope, Severity,
};
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
    /// A check that addresses this destination (host index) by its CN: the pair rules then also
    /// judge delegation to that name.
    addressed_cn: Option<(usize, String)>,
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
            addressed_cn: None,
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
        let mut view = peer_pair_view(a, from, to, group, &self.host_values);
        if let Some((t, cn)) = &self.addressed_cn
            && *t == to
        {
            add_cn_form(a, from, cn, &mut view);
        }
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
        form: &str,
    ) -> Vec<usize> {
        let (f, t) = (&self.a.hosts[from].name, &self.a.hosts[to].name);
        let mut out = Vec::new();
        for i in candidates {
            match self.rules.blocks(&self.fired[i], f, t, operator, form) {
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

/// Adds the CN form to a pair view for a check addressed by CN: the migration service and cifs
/// must be delegated as `<class>/<cn>` exactly, unless RBCD covers the pair.
fn add_cn_form(a: &Analysis, from: usize, cn: &str, view: &mut crate::rules::model::PairView) {
    if view.rbcd_covers {
        return;
    }
    let delegated = |class: &str| {
        a.hosts[from].entries.iter().any(|e| {
            let e = &a.entries[*e];
            e.defect.is_none()
                && e.spn
                    .as_ref()
                    .is_ok_and(|s| s.class_is(class) && s.host.eq_ignore_ascii_case(cn))
        })
    };
    let mut missing = false;
    for class in [crate::analysis::spn::MIGRATION_CLASS, "cifs"] {
        if !delegated(class) {
            view.missing_forms.push(format!("{class}/{cn}"));
            missing = true;
        }
    }
    if missing {
        view.missing_form_kinds.push("cn");
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
    let mut unknowns = PairUnknowns::new(&a);
    for group in &a.groups {
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
                cells.push(readiness_cell(&a, &mut ev, &mut unknowns, from, to, &cands));
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

/// The name forms a destination can be addressed by in the matrix, with its name in each.
fn matrix_forms(a: &Analysis, to: usize) -> [(&'static str, Option<String>); 2] {
    let t = &a.hosts[to];
    [("netbios", Some(t.name.clone())), ("fqdn", t.fqdn.clone())]
}

/// Why host `h` is not confirmed, and what would confirm it.
fn unconfirmed_note(h: &crate::analysis::HostFacts) -> String {
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

/// What is unknown about a pair whatever the name form: the host settings that decide it and
/// the scan gaps touching either host, computed once per host and role (a group of 16 hosts has
/// 240 pairs, and a large domain hundreds of groups).
struct PairUnknowns<'x, 'a> {
    a: &'x Analysis<'a>,
    source: Vec<Option<Vec<String>>>,
    destination: Vec<Option<Vec<String>>>,
    gaps: Vec<Option<Vec<String>>>,
}

impl<'x, 'a> PairUnknowns<'x, 'a> {
    fn new(a: &'x Analysis<'a>) -> Self {
        let n = a.hosts.len();
        PairUnknowns {
            a,
            source: vec![None; n],
            destination: vec![None; n],
            gaps: vec![None; n],
        }
    }

    /// Hosts of one failover cluster migrate through the cluster: nothing host-side is needed
    /// from the audit.
    fn pair(&mut self, from: usize, to: usize) -> Vec<String> {
        let a = self.a;
        // A host only the directory calls one may be anyone's machine: never ready, whatever
        // the rest says (this holds inside a configured cluster too, which confirms its
        // members).
        let mut out: Vec<String> = [from, to]
            .iter()
            .filter(|h| !a.hosts[**h].confirmed())
            .map(|h| unconfirmed_note(&a.hosts[*h]))
            .collect();
        if a.same_cluster(from, to) {
            return out;
        }
        out.extend_from_slice(
            self.source[from].get_or_insert_with(|| a.host_setting_unknowns(from, Role::Source)),
        );
        out.extend_from_slice(
            self.destination[to]
                .get_or_insert_with(|| a.host_setting_unknowns(to, Role::Destination)),
        );
        out.extend_from_slice(self.gaps[from].get_or_insert_with(|| a.gaps_touching(from)));
        for g in self.gaps[to]
            .get_or_insert_with(|| a.gaps_touching(to))
            .iter()
        {
            if !out.contains(g) {
                out.push(g.clone());
            }
        }
        out
    }
}

/// The unknown that a destination addressed by its FQDN adds when the directory holds none.
fn form_unknown(a: &Analysis, to: usize, form: &str, name: Option<&str>) -> Option<String> {
    (form == "fqdn" && name.is_none()).then(|| {
        format!(
            "{} has no dNSHostName: a migration addressed by its FQDN cannot be checked",
            a.hosts[to].name
        )
    })
}

/// One readiness cell: each name form decided from the blocking findings among `cands` and the
/// unknowns, then the pair's state (ready when some form is).
fn readiness_cell(
    a: &Analysis,
    ev: &mut Evaluator,
    unknowns: &mut PairUnknowns,
    from: usize,
    to: usize,
    cands: &[usize],
) -> ReadinessCell {
    let same_cluster = a.same_cluster(from, to);
    let common = unknowns.pair(from, to);
    let mut forms = Vec::new();
    let mut blocking_all: Vec<usize> = Vec::new();
    // Most blocks expressions do not read `check.form`: evaluate those once for the pair.
    let (by_form, any_form): (Vec<usize>, Vec<usize>) = cands
        .iter()
        .copied()
        .partition(|i| ev.rules.blocks_depends_on_form(ev.fired[*i].rule));
    let common_blocking = if same_cluster {
        Vec::new()
    } else {
        ev.blockers(any_form.into_iter(), from, to, None, "netbios")
    };
    for (form, name) in matrix_forms(a, to) {
        let blocking = if same_cluster {
            Vec::new()
        } else {
            let mut b = common_blocking.clone();
            b.extend(ev.blockers(by_form.iter().copied(), from, to, None, form));
            b.sort_unstable();
            b.dedup();
            b
        };
        // The pair's unknowns are listed once, on the cell; a form lists only its own.
        let unknown: Vec<String> = if same_cluster {
            Vec::new()
        } else {
            form_unknown(a, to, form, name.as_deref())
                .into_iter()
                .collect()
        };
        let state = ReadinessState::decide(
            !blocking.is_empty(),
            !unknown.is_empty() || !common.is_empty(),
        );
        if state != ReadinessState::Ready {
            for b in &blocking {
                if !blocking_all.contains(b) {
                    blocking_all.push(*b);
                }
            }
        }
        forms.push(FormReadiness {
            form: Cow::Borrowed(form),
            name,
            state,
            blocking_rules: blocking
                .iter()
                .map(|i| ev.fired[*i].finding.rule_id.clone())
                .collect(),
            unknown,
        });
    }
    blocking_all.sort_unstable();
    let ready_forms: Vec<Cow<'static, str>> = forms
        .iter()
        .filter(|f| f.state == ReadinessState::Ready)
        .map(|f| f.form.clone())
        .collect();
    let state = if !ready_forms.is_empty() {
        ReadinessState::Ready
    } else if forms.iter().any(|f| f.state == ReadinessState::Unknown) {
        ReadinessState::Unknown
    } else {
        ReadinessState::Blocked
    };
    let mut unknown = common;
    for f in &forms {
        for u in &f.unknown {
            if !unknown.contains(u) {
                unknown.push(u.clone());
            }
        }
    }
    ReadinessCell {
        from: a.hosts[from].name.clone(),
        to: a.hosts[to].name.clone(),
        ready: state == ReadinessState::Ready,
        state,
        ready_forms,
        same_cluster,
        blocking_rules: blocking_all
            .iter()
            .map(|i| ev.fired[*i].finding.rule_id.clone())
            .collect(),
        reasons: blocking_all
            .iter()
            .map(|i| ev.fired[*i].finding.message.clone())
            .collect(),
        unknown,
        // Uniform forms say nothing the cell does not (see `ReadinessCell::forms`).
        forms: if crate::findings::forms_are_uniform(&forms) {
            Vec::new()
        } else {
            forms
        },
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("'{0}' is not a Hyper-V host (NetBIOS name, FQDN or CN expected)")]
    UnknownHost(String),
    #[error(
        "'{0}' is outside this directory (its DNS suffix is not {1}): classic constrained \
         delegation does not cross domains; audit that domain, and use resource-based \
         delegation (RBCD) on the destination for migrations across domains"
    )]
    OutsideDomain(String, String),
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
    /// The destination's name as given, and its form (`netbios`, `fqdn`, `cn`): Kerberos asks
    /// for the SPNs in exactly that form.
    pub to_addressed_as: String,
    pub form: String,
    pub operator: Option<String>,
    /// GO (ready), NO-GO (blocked) or UNKNOWN.
    pub state: ReadinessState,
    /// True exactly when `state` is ready.
    pub ready: bool,
    /// Same failover cluster: ready without KCD.
    pub same_cluster: bool,
    /// Every blocking finding, highest severity first.
    pub reasons: Vec<CheckReason>,
    /// What could not be known (when nothing blocks, these make the verdict UNKNOWN).
    pub unknown: Vec<String>,
    /// False when the scan or inventory had gaps anywhere (the verdict accounts for those that
    /// touch the two hosts).
    pub complete: bool,
    /// Every finding about the two hosts, the pair and the operator (blocking or not).
    pub findings: Vec<Finding>,
    pub errors: Vec<EvalError>,
}

/// The host `name` designates, and the name form it is written in.
fn resolve_addressed(a: &Analysis, name: &str) -> Option<(usize, &'static str)> {
    let n = name.trim();
    if let Some(h) = a.host(n) {
        let host = &a.hosts[h];
        let key = n.strip_suffix('$').unwrap_or(n);
        let form = if host
            .fqdn
            .as_deref()
            .is_some_and(|f| f.eq_ignore_ascii_case(key))
        {
            "fqdn"
        } else if host.name.eq_ignore_ascii_case(key) {
            "netbios"
        } else if key.contains('.') {
            // Resolved as <name>.<domain> for a host without dNSHostName.
            "fqdn"
        } else {
            "netbios"
        };
        return Some((h, form));
    }
    a.hosts
        .iter()
        .position(|h| {
            h.dn.as_deref()
                .is_some_and(|dn| crate::model::dn::first_rdn_is(dn, "cn", n))
        })
        .map(|h| (h, "cn"))
}

/// The error for a name that designates no Hyper-V host: outside the domain, or unknown.
fn unknown_host_error(a: &Analysis, name: &str) -> CheckError {
    if a.index.external_domain(name.trim()).is_some() {
        return CheckError::OutsideDomain(name.to_string(), a.index.domain_dns().to_string());
    }
    CheckError::UnknownHost(name.to_string())
}

/// Go / no-go / unknown for migrating `from` -> `to` (NetBIOS names, FQDNs or CNs,
/// case-insensitive; `to` in the form the operator will type), started remotely by `operator`
/// if given. Works for any two Hyper-V hosts, grouped or not. Blocked as soon as one known fact
/// blocks it; ready only when every fact that decides it is known.
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
    let resolve = |n: &str| -> Result<(usize, &'static str), CheckError> {
        let (h, form) = resolve_addressed(&a, n).ok_or_else(|| unknown_host_error(&a, n))?;
        if !a.hosts[h].in_directory() {
            return Err(CheckError::NotInDirectory(n.to_string()));
        }
        Ok((h, form))
    };
    let (f, _) = resolve(from)?;
    let (t, form) = resolve(to)?;
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
    if form == "cn" {
        ev.addressed_cn = Some((t, to.trim().to_string()));
    }
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
        ev.blockers(0..ev.fired.len(), f, t, op_name.as_deref(), form)
    };
    let mut unknown = PairUnknowns::new(&a).pair(f, t);
    if !same_cluster {
        let name = match form {
            "fqdn" => a.hosts[t].fqdn.clone().or_else(|| {
                // Addressed as <name>.<domain>: the directory resolved it, the FQDN is known.
                Some(to.trim().to_string())
            }),
            _ => Some(to.trim().to_string()),
        };
        unknown.extend(form_unknown(&a, t, form, name.as_deref()));
        if let Some(i) = op {
            unknown.extend(a.operator_unknowns(i));
        }
    }
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
    let state = ReadinessState::decide(!reasons.is_empty(), !unknown.is_empty());
    let mut findings: Vec<Finding> = ev.fired.into_iter().map(|x| x.finding).collect();
    sort_findings(&mut findings);
    Ok(PairCheck {
        from: a.hosts[f].name.clone(),
        to: a.hosts[t].name.clone(),
        to_addressed_as: to.trim().to_string(),
        form: form.to_string(),
        operator: op_name,
        state,
        ready: state == ReadinessState::Ready,
        same_cluster,
        reasons,
        unknown,
        complete: a.complete(),
        findings,
        errors: ev.errors,
    })
}
