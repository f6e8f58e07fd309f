//! Readiness: the state of each (source, destination) cell of a migration group's matrix, from
//! the blocking findings and what is unknown about the pair and each name form.

use std::borrow::Cow;

use crate::analysis::unknowns::Role;
use crate::analysis::{Analysis, HostIdx};
use crate::findings::{FormReadiness, ReadinessCell, ReadinessState};

use super::evaluator::Blockers;
use super::unconfirmed_note;

/// The name forms a destination can be addressed by in the matrix, with its name in each.
pub(super) fn matrix_forms(a: &Analysis, to: HostIdx) -> [(&'static str, Option<String>); 2] {
    let t = &a.hosts[to];
    [("netbios", Some(t.name.clone())), ("fqdn", t.fqdn.clone())]
}
/// The forms of [`matrix_forms`], in its order.
fn matrix_forms_names() -> [Cow<'static, str>; 2] {
    [Cow::Borrowed("netbios"), Cow::Borrowed("fqdn")]
}

/// What is unknown about a pair whatever the name form: the host settings that decide it and
/// the scan gaps touching either host, computed once per host and role (a group of 16 hosts has
/// 240 pairs, and a large domain hundreds of groups). The vectors are parallel to
/// `Analysis::hosts` (by [`HostIdx::index`]).
pub(super) struct PairUnknowns<'x, 'a> {
    a: &'x Analysis<'a>,
    source: Vec<Option<Vec<String>>>,
    destination: Vec<Option<Vec<String>>>,
    gaps: Vec<Option<Vec<String>>>,
}

impl<'x, 'a> PairUnknowns<'x, 'a> {
    pub(super) fn new(a: &'x Analysis<'a>) -> Self {
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
    pub(super) fn pair(&mut self, from: HostIdx, to: HostIdx) -> Vec<String> {
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
        out.extend_from_slice(self.source[from.index()].get_or_insert_with(|| {
            let mut u = a.host_setting_unknowns(from, Role::Source);
            // As `check` says: a CredSSP source does not use the delegation the cell decides,
            // so it is never ready on the directory's word (HV012 still blocks it outright).
            if super::check::uses_credssp(a, from) {
                u.push(super::check::credssp_unknown(&a.hosts[from].name, false));
            }
            u
        }));
        out.extend_from_slice(
            self.destination[to.index()]
                .get_or_insert_with(|| a.host_setting_unknowns(to, Role::Destination)),
        );
        out.extend_from_slice(self.gaps[from.index()].get_or_insert_with(|| a.gaps_touching(from)));
        for g in self.gaps[to.index()]
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
pub(super) fn form_unknown(
    a: &Analysis,
    to: HostIdx,
    form: &str,
    name: Option<&str>,
) -> Option<String> {
    (form == "fqdn" && name.is_none()).then(|| {
        format!(
            "{} has no dNSHostName: a migration addressed by its FQDN cannot be checked",
            a.hosts[to].name
        )
    })
}

/// One readiness cell: each name form decided from the blocking findings among `cands` and the
/// unknowns, then the pair's state (ready when some form is).
pub(super) fn readiness_cell(
    a: &Analysis,
    ev: &mut Blockers,
    unknowns: &mut PairUnknowns,
    from: HostIdx,
    to: HostIdx,
    cands: &[usize],
) -> ReadinessCell {
    let same_cluster = a.same_cluster(from, to);
    let common = unknowns.pair(from, to);
    if cands.is_empty() && common.is_empty() && a.hosts[to].fqdn.is_some() {
        // Nothing can block and nothing is unknown under either form: what the per-form
        // work below decides, without its allocations (most of 150,000 cells at scale).
        return ReadinessCell {
            from: a.hosts[from].name.clone(),
            to: a.hosts[to].name.clone(),
            ready: true,
            state: ReadinessState::Ready,
            ready_forms: matrix_forms_names().into(),
            same_cluster,
            blocking_rules: Vec::new(),
            reasons: Vec::new(),
            unknown: Vec::new(),
            forms: Vec::new(),
        };
    }
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
