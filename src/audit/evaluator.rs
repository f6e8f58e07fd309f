//! Rule evaluation: every compiled rule over every object of its scope, remembering where each
//! fired finding sits (its [`Anchor`]) for the readiness lookups.

use chrono::{DateTime, Utc};
use minijinja::{Value, context};

use crate::analysis::{AccountIdx, Analysis, EntryIdx, GroupIdx, HostIdx};
use crate::findings::Scope;
use crate::rules::memo::Memo;
use crate::rules::model::{
    account_view, entry_view_with_owner, group_name, host_view, owner_view, peer_pair_view,
    scan_view, storage_pair_view, to_value,
};
use crate::rules::{CompiledRules, EvalError, Fired, Subject};

/// Where a fired finding sits, for readiness lookups.
#[derive(Debug, Clone, Copy)]
pub(super) enum Anchor {
    Scan,
    /// A host rule on this host.
    Host(HostIdx),
    /// A peer pair rule on (source, destination).
    Pair(HostIdx, HostIdx),
    /// A storage pair rule on this source host.
    Storage(HostIdx),
    /// A delegation entry rule; the host owning the entry, if a host owns it.
    Entry(Option<HostIdx>),
    Account,
}

pub(super) struct Evaluator<'a, 'r> {
    a: &'a Analysis<'a>,
    pub(super) rules: &'r CompiledRules<'r>,
    scan: Value,
    host_values: Vec<Value>,
    pub(super) fired: Vec<Fired>,
    pub(super) anchors: Vec<Anchor>,
    pub(super) errors: Vec<EvalError>,
    /// The owner value of the last delegation entry evaluated.
    owner: Option<(crate::analysis::Principal, Value)>,
    memo: Memo,
    /// A check that addresses this destination host by its CN: the pair rules then also judge
    /// delegation to that name.
    pub(super) addressed_cn: Option<(HostIdx, String)>,
}

impl<'a, 'r> Evaluator<'a, 'r> {
    pub(super) fn new(
        a: &'a Analysis<'a>,
        rules: &'r CompiledRules<'r>,
        now: DateTime<Utc>,
    ) -> Self {
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
    pub(super) fn parallel(
        &mut self,
        n: usize,
        min_per_thread: usize,
        now: DateTime<Utc>,
        work: impl Fn(&mut Evaluator<'a, 'r>, usize) + Sync,
    ) {
        let (a, rules, work) = (self.a, self.rules, &work);
        let parts = crate::parallel::in_parts_first(
            n,
            crate::parallel::parts_for(n, min_per_thread),
            // This thread does the first part itself, on this evaluator.
            |range| {
                range.for_each(|i| work(self, i));
                None
            },
            |range| {
                let mut ev = Evaluator::new(a, rules, now);
                range.for_each(|i| work(&mut ev, i));
                Some((ev.fired, ev.anchors, ev.errors))
            },
        );
        for (fired, anchors, errors) in parts.into_iter().flatten() {
            self.fired.extend(fired);
            self.anchors.extend(anchors);
            self.errors.extend(errors);
        }
    }

    /// Host and pair rules of migration group `g`. Host views are the largest rule inputs
    /// (each carries its delegation list); only one group's are alive at a time, so memory
    /// follows the largest group, not the domain.
    pub(super) fn group(&mut self, g: GroupIdx) {
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
    fn ensure_host(&mut self, h: HostIdx) {
        if self.host_values[h.index()].is_undefined() {
            self.host_values[h.index()] = to_value(host_view(self.a, h));
        }
    }

    /// Drops host `h`'s view (findings that fired on it keep their own reference).
    pub(super) fn release_host(&mut self, h: HostIdx) {
        self.host_values[h.index()] = Value::UNDEFINED;
    }

    pub(super) fn scan(&mut self) {
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

    pub(super) fn host(&mut self, h: HostIdx) {
        if !self.rules.has_scope(Scope::Host) {
            return;
        }
        self.ensure_host(h);
        let ctx =
            context! { host => self.host_values[h.index()].clone(), scan => self.scan.clone() };
        let host = &self.a.hosts[h];
        let subject = Subject {
            object: host.name.clone(),
            object_dn: host.dn.clone(),
            target: None,
            group: group_name(self.a, Some(h)),
        };
        self.run(Scope::Host, ctx, Anchor::Host(h), || subject.clone());
    }

    pub(super) fn entry(&mut self, e: EntryIdx) {
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

    pub(super) fn account(&mut self, i: AccountIdx, as_operator: bool) {
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

    pub(super) fn peer_pair(&mut self, from: HostIdx, to: HostIdx, group: Option<&str>) {
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

    pub(super) fn storage_pair(&mut self, from: HostIdx, g: GroupIdx, s: usize) {
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
    pub(super) fn blockers(
        &mut self,
        candidates: impl Iterator<Item = usize>,
        from: HostIdx,
        to: HostIdx,
        operator: Option<&str>,
        form: &str,
    ) -> Vec<usize> {
        let mut judge = Blockers::new(self.a, self.rules, &self.fired);
        let out = judge.blockers(candidates, from, to, operator, form);
        self.errors.append(&mut judge.errors);
        out
    }
}

/// Decides which fired findings block a pair, over findings that no longer change (the
/// readiness matrix shares one set between threads, each with its own `errors`).
pub(super) struct Blockers<'x, 'a, 'r> {
    a: &'x Analysis<'a>,
    pub(super) rules: &'r CompiledRules<'r>,
    pub(super) fired: &'x [Fired],
    /// Errors of `blocks` expressions, in the order met.
    pub(super) errors: Vec<EvalError>,
}

impl<'x, 'a, 'r> Blockers<'x, 'a, 'r> {
    pub(super) fn new(
        a: &'x Analysis<'a>,
        rules: &'r CompiledRules<'r>,
        fired: &'x [Fired],
    ) -> Self {
        Blockers {
            a,
            rules,
            fired,
            errors: Vec::new(),
        }
    }

    /// Fired findings among `candidates` that block `from` -> `to` addressed in `form`, by
    /// index into `fired`, sorted.
    pub(super) fn blockers(
        &mut self,
        candidates: impl Iterator<Item = usize>,
        from: HostIdx,
        to: HostIdx,
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
fn add_cn_form(a: &Analysis, from: HostIdx, cn: &str, view: &mut crate::rules::model::PairView) {
    if view.rbcd_covers {
        return;
    }
    let delegated = |class: &str| {
        a.hosts[from].entries.iter().any(|e| {
            let e = &a.entries[*e];
            !e.defective
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
