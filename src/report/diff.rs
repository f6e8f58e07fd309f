//! Comparing two scans: which findings are new, which persist, which were resolved.
//! Identity is [`Finding::key`] (rule, object, target; case-insensitive).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::findings::Finding;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffSummary {
    /// What the current scan was compared with (the previous JSON report's path).
    pub previous: String,
    /// Current findings absent from the previous scan.
    pub new: usize,
    /// Current findings present in the previous scan too.
    pub unchanged: usize,
    /// Previous findings absent from the current scan whose rule the current scan evaluated:
    /// fixed, or the object is gone.
    pub resolved: Vec<Finding>,
    /// Previous findings absent from the current scan because their rule was not evaluated
    /// this time (disabled, removed, or its input missing, e.g. no `--hosts`): not resolved.
    #[serde(default)]
    pub no_longer_evaluated: Vec<Finding>,
}

/// Marks each current finding `Existing` when the previous scan had it (suppressed findings
/// keep `Suppressed`: the suppression is the more important fact) and lists the resolved ones,
/// setting apart those whose rule the current scan did not evaluate (`checks`: the current
/// scan's checks section; empty means unknown, and then every missing finding is resolved)
/// and SC001's inventory errors when the current scan read no inventory (`hosts`: its hosts
/// view, [`crate::diff::FindingsDiff::set_aside_unread_inventory`]).
pub fn diff_findings(
    previous: &str,
    old: &[Finding],
    current: &mut [Finding],
    checks: &[super::Check],
    hosts: &[super::HostRow],
) -> DiffSummary {
    let mut d = crate::diff::diff(old, current);
    d.set_aside_not_evaluated(crate::diff::evaluated_rules(checks).as_ref());
    d.set_aside_unread_inventory(crate::diff::inventory_read(hosts));
    crate::diff::mark_previous(current, old);
    DiffSummary {
        previous: previous.to_string(),
        new: d.new.len(),
        unchanged: d.unchanged.len(),
        resolved: d.resolved,
        no_longer_evaluated: d.no_longer_evaluated,
    }
}

/// Sets each current finding's `first_seen`: the previous finding with the same
/// [`Finding::id`] (else the same [`Finding::key`], for an object that moved in the
/// directory) gives its own `first_seen`, or when it has none (a report from before the
/// field) the previous scan's time `previous_scan`; a finding the previous scan did not have
/// was first seen `now`, this scan's time. Times are passed in, never read from the clock.
pub fn carry_first_seen(
    old: &[Finding],
    previous_scan: Option<DateTime<Utc>>,
    current: &mut [Finding],
    now: DateTime<Utc>,
) {
    let seen = |f: &Finding| f.first_seen.or(previous_scan).unwrap_or(now);
    let mut by_id: HashMap<String, DateTime<Utc>> = HashMap::with_capacity(old.len());
    let mut by_key: HashMap<String, DateTime<Utc>> = HashMap::with_capacity(old.len());
    for f in old {
        // Two previous findings with one identity: the earlier time wins.
        let t = seen(f);
        by_id
            .entry(f.id())
            .and_modify(|e| *e = (*e).min(t))
            .or_insert(t);
        by_key
            .entry(f.key())
            .and_modify(|e| *e = (*e).min(t))
            .or_insert(t);
    }
    for f in current {
        f.first_seen = Some(
            by_id
                .get(&f.id())
                .or_else(|| by_key.get(&f.key()))
                .copied()
                .unwrap_or(now),
        );
    }
}
