//! Group resolution: which groups are kept and their effective (nested and primary-group)
//! membership.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::{RawGroup, SnapshotBuilder};
use crate::model::sid::well_known as wk;
use crate::model::{EffectiveMember, Group, PrincipalKind, Sid};

impl SnapshotBuilder {
    /// Picks the groups worth keeping and computes their effective membership.
    pub(super) fn resolve_groups(&mut self, domain_sid: Option<&Sid>) -> Vec<Group> {
        let mut wanted: HashMap<String, BTreeSet<&'static str>> = HashMap::new();
        let mut want = |sid: String, why: &'static str| {
            wanted.entry(sid).or_default().insert(why);
        };
        for s in wk::PRIVILEGED_BUILTIN {
            want(s.to_string(), "privileged");
        }
        if let Some(d) = domain_sid {
            for rid in wk::PRIVILEGED_DOMAIN_RIDS {
                want(d.with_rid(*rid).to_string(), "privileged");
            }
            want(
                d.with_rid(wk::RID_PROTECTED_USERS).to_string(),
                "protected_users",
            );
        }
        for s in &self.opts.extra_group_sids {
            want(s.to_string(), "configured");
        }
        for c in &self.computers {
            for t in c.rbcd.iter().flat_map(|r| &r.trustees) {
                want(t.sid.to_string(), "rbcd_trustee");
            }
        }

        let by_dn: HashMap<String, usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.dn.to_ascii_lowercase(), i))
            .collect();
        let mut out = Vec::new();
        for (gi, g) in self.groups.iter().enumerate() {
            let Some(reasons) = g.sid.as_ref().and_then(|s| wanted.get(&s.to_string())) else {
                continue;
            };
            let mut effective = self.expand(gi, &by_dn);
            // Each principal is listed once (`expand` dedupes by lower-cased DN), so the DN
            // alone orders them.
            effective.sort_by_cached_key(|m| m.dn.to_ascii_lowercase());
            out.push(Group {
                dn: g.dn.clone(),
                sid: g.sid.clone(),
                sam_account_name: g.sam.clone(),
                reasons: reasons.iter().map(|s| s.to_string()).collect(),
                direct_members: g.members.clone(),
                effective_members: effective,
            });
        }
        out.sort_by_key(|g| g.dn.to_ascii_lowercase());
        out
    }

    /// The `i`-th link out of group `g`: its `member` values first, then the principals whose
    /// primaryGroupID is its RID. Returns (lower-cased DN, DN as written, by primary group).
    fn link<'a>(&'a self, g: &'a RawGroup, i: usize) -> Option<(String, &'a str, bool)> {
        if let Some(m) = g.members.get(i) {
            return Some((m.to_ascii_lowercase(), m, false));
        }
        let primary = g
            .sid
            .as_ref()
            .and_then(Sid::rid)
            .and_then(|rid| self.primary_members.get(&rid))?;
        let dn = primary.get(i - g.members.len())?;
        Some((dn.clone(), dn, true))
    }

    /// Depth-first walk of `member` and primaryGroupID links from group `top`, in link order.
    /// `visited` guards against cycles (AD permits circular nesting) and lists each principal
    /// once, under the first path the walk finds to it. The walk keeps its own stack (a
    /// 100,000-deep chain must not overflow the thread's), and each member records only the
    /// group it was found in (`via_group`), so time and memory are linear in the links walked.
    fn expand(&self, top: usize, by_dn: &HashMap<String, usize>) -> Vec<EffectiveMember> {
        let mut out = Vec::new();
        let mut visited = HashSet::new();
        visited.insert(self.groups[top].dn.to_ascii_lowercase());
        // (group index, next link to follow).
        let mut stack: Vec<(usize, usize)> = vec![(top, 0)];
        while let Some(frame) = stack.last_mut() {
            let (gi, i) = *frame;
            frame.1 += 1;
            let g = &self.groups[gi];
            let Some((key, written, by_primary_group)) = self.link(g, i) else {
                stack.pop();
                continue;
            };
            if visited.contains(&key) {
                continue;
            }
            let p = self.principals.get(&key);
            let kind = p.map_or(PrincipalKind::Unknown, |p| p.kind);
            out.push(EffectiveMember {
                dn: p.map_or_else(|| written.to_string(), |p| p.dn.clone()),
                sid: p.and_then(|p| p.sid.clone()),
                kind,
                via_group: (gi != top).then(|| g.dn.clone()),
                by_primary_group,
            });
            let child = if kind == PrincipalKind::Group {
                by_dn.get(&key).copied()
            } else {
                None
            };
            visited.insert(key);
            if let Some(c) = child {
                stack.push((c, 0));
            }
        }
        out
    }
}
