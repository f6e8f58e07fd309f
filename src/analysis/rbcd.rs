//! Resource-based constrained delegation: who an account's
//! `msDS-AllowedToActOnBehalfOfOtherIdentity` lets delegate to it, groups expanded.

use foldhash::{HashSet, HashSetExt};

use super::{Index, Principal, is_broad_sid, is_domain_sid_with_rid, principal_name};
use crate::model::sid::well_known;
use crate::model::{Computer, PrincipalKind, Sid, Snapshot};

/// One principal an RBCD descriptor allows (or denies), groups expanded.
#[derive(Debug, Clone)]
pub struct RbcdTrusteeFacts {
    pub sid: Sid,
    pub principal: Option<Principal>,
    /// Display name (the SID when it resolves to nothing in the snapshot).
    pub name: String,
    /// `computer`, `user`, `managed_service_account`, `group_managed_service_account`,
    /// `group` (not expanded: not in the snapshot), `well_known`, `foreign`, `unknown`.
    pub kind: String,
    /// The group it is allowed through, when it came from expanding a group.
    pub via: Option<String>,
    pub broad: bool,
}

/// msDS-AllowedToActOnBehalfOfOtherIdentity of one account, expanded.
#[derive(Debug, Clone, Default)]
pub struct RbcdFacts {
    pub present: bool,
    /// Allowed principals, groups expanded to their effective members.
    pub allowed: Vec<RbcdTrusteeFacts>,
    pub(super) allow_sids: HashSet<Sid>,
    deny_sids: HashSet<Sid>,
    /// An allowed well-known SID covers every computer (Everyone, Authenticated Users, ...).
    pub(super) allow_any_computer: bool,
}

impl RbcdFacts {
    /// Whether a principal with this SID may delegate to the account.
    pub fn covers(&self, sid: &Sid, is_computer: bool) -> bool {
        self.present
            && !self.deny_sids.contains(sid)
            && (self.allow_sids.contains(sid) || (is_computer && self.allow_any_computer))
    }

    pub fn build(computer: &Computer, snapshot: &Snapshot, index: &Index) -> RbcdFacts {
        let Some(rbcd) = &computer.rbcd else {
            return RbcdFacts::default();
        };
        let mut f = RbcdFacts {
            present: true,
            ..RbcdFacts::default()
        };
        let mut seen: HashSet<(Sid, Option<String>)> = HashSet::new();
        for t in &rbcd.trustees {
            let allow = t.ace_type.eq_ignore_ascii_case("allow");
            if !allow {
                // Only explicit deny ACEs take access away; other ACE types grant nothing.
                if t.ace_type.eq_ignore_ascii_case("deny") {
                    f.deny_sids.insert(t.sid.clone());
                }
                continue;
            }
            f.allow_sids.insert(t.sid.clone());
            if is_broad_sid(&t.sid) {
                let s = t.sid.to_string();
                if s == well_known::EVERYONE
                    || s == well_known::AUTHENTICATED_USERS
                    || s == "S-1-5-32-545"
                    || is_domain_sid_with_rid(&t.sid, &[well_known::RID_DOMAIN_COMPUTERS])
                {
                    f.allow_any_computer = true;
                }
                let name = index
                    .by_sid(&t.sid)
                    .map(|p| principal_name(snapshot, p))
                    .unwrap_or_else(|| s.clone());
                if seen.insert((t.sid.clone(), None)) {
                    f.allowed.push(RbcdTrusteeFacts {
                        sid: t.sid.clone(),
                        principal: index.by_sid(&t.sid),
                        name,
                        kind: "well_known".into(),
                        via: None,
                        broad: true,
                    });
                }
                continue;
            }
            match index.by_sid(&t.sid) {
                Some(Principal::Group(g)) => {
                    let group = &snapshot.groups[g];
                    for m in &group.effective_members {
                        if m.kind == PrincipalKind::Group {
                            // Nested groups' members are listed themselves.
                            continue;
                        }
                        let p = m
                            .sid
                            .as_ref()
                            .and_then(|s| index.by_sid(s))
                            .or_else(|| index.by_dn(&m.dn));
                        let sid = m
                            .sid
                            .clone()
                            .or_else(|| p.and_then(|p| principal_sid(snapshot, p)));
                        let Some(sid) = sid else {
                            // A member we cannot identify still is someone RBCD trusts.
                            f.allowed.push(RbcdTrusteeFacts {
                                sid: t.sid.clone(),
                                principal: None,
                                name: m.dn.clone(),
                                kind: "unknown".into(),
                                via: Some(group.sam_account_name.clone()),
                                broad: false,
                            });
                            continue;
                        };
                        f.allow_sids.insert(sid.clone());
                        if seen.insert((sid.clone(), Some(group.sam_account_name.clone()))) {
                            f.allowed.push(RbcdTrusteeFacts {
                                name: p
                                    .map(|p| principal_name(snapshot, p))
                                    .unwrap_or_else(|| sid.to_string()),
                                sid,
                                principal: p,
                                kind: kind_name(m.kind).into(),
                                via: Some(group.sam_account_name.clone()),
                                broad: false,
                            });
                        }
                    }
                }
                p => {
                    if seen.insert((t.sid.clone(), None)) {
                        let kind = match p {
                            Some(Principal::Computer(_)) => "computer".to_string(),
                            Some(Principal::Account(a)) => {
                                serde_kind(snapshot.accounts[a].kind).to_string()
                            }
                            Some(Principal::Group(_)) => unreachable!("handled above"),
                            // Not in the snapshot: possibly a group whose members are unknown.
                            None => "unknown".to_string(),
                        };
                        f.allowed.push(RbcdTrusteeFacts {
                            sid: t.sid.clone(),
                            principal: p,
                            name: p
                                .map(|p| principal_name(snapshot, p))
                                .unwrap_or_else(|| t.sid.to_string()),
                            kind,
                            via: None,
                            broad: false,
                        });
                    }
                }
            }
        }
        f
    }
}

fn principal_sid(snapshot: &Snapshot, p: Principal) -> Option<Sid> {
    match p {
        Principal::Computer(i) => snapshot.computers[i].sid.clone(),
        Principal::Account(i) => snapshot.accounts[i].sid.clone(),
        Principal::Group(i) => snapshot.groups[i].sid.clone(),
    }
}

fn kind_name(k: PrincipalKind) -> &'static str {
    match k {
        PrincipalKind::User => "user",
        PrincipalKind::Computer => "computer",
        PrincipalKind::ManagedServiceAccount => "managed_service_account",
        PrincipalKind::GroupManagedServiceAccount => "group_managed_service_account",
        PrincipalKind::Group => "group",
        PrincipalKind::Foreign => "foreign",
        PrincipalKind::Unknown => "unknown",
    }
}

pub(crate) fn serde_kind(k: crate::model::AccountKind) -> &'static str {
    match k {
        crate::model::AccountKind::User => "user",
        crate::model::AccountKind::ManagedServiceAccount => "managed_service_account",
        crate::model::AccountKind::GroupManagedServiceAccount => "group_managed_service_account",
    }
}
