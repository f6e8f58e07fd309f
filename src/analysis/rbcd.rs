//! Resource-based constrained delegation: who an account's
//! `msDS-AllowedToActOnBehalfOfOtherIdentity` lets delegate to it, groups expanded.

use foldhash::{HashSet, HashSetExt};

use super::{Index, Principal, is_broad_sid, is_domain_sid_with_rid, principal_name};
use crate::collect::secdesc::{
    AceEffect, AceReading, AceRef, ordered_aces, read_ace, undecided_aces,
};
use crate::model::sid::well_known;
use crate::model::{Computer, PrincipalKind, RbcdTrustee, Sid, Snapshot};

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

/// Whether an account's RBCD lets a requester delegate to it: the outcome of the KDC's access
/// check (MS-DTYP 2.5.3.2) as far as the snapshot can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RbcdCoverage {
    /// Granted whatever the parts hvaudit cannot decide turn out to be.
    Covers,
    /// Refused (also: no RBCD at all), whatever those parts turn out to be.
    #[default]
    DoesNot,
    /// Depends on an ACE or a group membership hvaudit cannot decide.
    Unknown,
}

/// Whether a SID is in the requester's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InToken {
    Yes,
    No,
    Maybe,
}

/// Who an ACE's SID stands for, resolved once per descriptor.
#[derive(Debug, Clone)]
enum Who {
    /// One principal (not a group), or a SID of this domain that names nothing in it (a
    /// deleted account): only a requester with that very SID holds it.
    One(Sid),
    /// A group of the snapshot: its effective members (nested and by primaryGroupID), by SID
    /// and lower-cased DN.
    Group {
        sids: HashSet<Sid>,
        dns: HashSet<String>,
    },
    /// Everyone, Authenticated Users: in every authenticated token.
    Everyone,
    /// Domain Computers or BUILTIN\Users the snapshot does not hold: in every computer's token
    /// (the default primary group; Users holds Authenticated Users).
    AnyComputer,
    /// Anonymous, Guests, Domain Guests, Domain Users the snapshot does not hold: in no
    /// computer's token by default.
    NoComputer,
    /// A SID whose members the snapshot cannot tell (another domain's, logon SIDs such as
    /// Network, OWNER RIGHTS...).
    Unknowable(Sid),
}

impl Who {
    fn resolve(sid: &Sid, snapshot: &Snapshot, index: &Index) -> Who {
        match index.by_sid(sid) {
            Some(Principal::Group(g)) => {
                let group = &snapshot.groups[g];
                let mut sids = HashSet::new();
                let mut dns = HashSet::new();
                for m in &group.effective_members {
                    if let Some(s) = &m.sid {
                        sids.insert(s.clone());
                    }
                    dns.insert(m.dn.to_lowercase());
                }
                return Who::Group { sids, dns };
            }
            Some(_) => return Who::One(sid.clone()),
            None => {}
        }
        let s = sid.to_string();
        if s == well_known::EVERYONE || s == well_known::AUTHENTICATED_USERS {
            Who::Everyone
        } else if s == "S-1-5-32-545"
            || is_domain_sid_with_rid(sid, &[well_known::RID_DOMAIN_COMPUTERS])
        {
            Who::AnyComputer
        } else if s == "S-1-5-7"
            || s == "S-1-5-32-546"
            || is_domain_sid_with_rid(sid, &[well_known::RID_DOMAIN_USERS, 514])
        {
            Who::NoComputer
        } else if snapshot.domain.sid.is_some() && sid.parent() == snapshot.domain.sid {
            Who::One(sid.clone())
        } else {
            Who::Unknowable(sid.clone())
        }
    }

    fn holds(&self, r: &Requester) -> InToken {
        let yes = |b: bool| if b { InToken::Yes } else { InToken::No };
        match self {
            Who::One(s) => yes(s == r.sid),
            Who::Group { sids, dns } => {
                yes(sids.contains(r.sid) || r.dn.is_some_and(|d| dns.contains(&d.to_lowercase())))
            }
            Who::Everyone => InToken::Yes,
            Who::AnyComputer if r.is_computer => InToken::Yes,
            Who::NoComputer if r.is_computer => InToken::No,
            Who::AnyComputer | Who::NoComputer => InToken::Maybe,
            Who::Unknowable(s) if s == r.sid => InToken::Yes,
            Who::Unknowable(_) => InToken::Maybe,
        }
    }
}

/// The principal asking the KDC for a ticket to the account (S4U2Proxy).
#[derive(Debug, Clone, Copy)]
pub struct Requester<'s> {
    pub sid: &'s Sid,
    /// Its DN, to match group members the snapshot lists without a SID.
    pub dn: Option<&'s str>,
    /// A computer account (hosts are): decides the default-group cases.
    pub is_computer: bool,
}

/// What an ACE does for the RBCD right, hvaudit-decidable or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Decides(AceEffect),
    Undecided(AceEffect),
    /// Could allow or deny anyone.
    Opaque,
}

#[derive(Debug, Clone)]
struct EvalAce {
    effect: Effect,
    who: Who,
}

/// msDS-AllowedToActOnBehalfOfOtherIdentity of one account, expanded.
#[derive(Debug, Clone, Default)]
pub struct RbcdFacts {
    pub present: bool,
    /// The descriptor has no DACL: every requester is granted (`allowed` then lists Everyone).
    pub no_dacl: bool,
    /// Allowed principals, groups expanded to their effective members: the ACEs that decide
    /// "allow", less those whose SID an earlier deny ACE refuses.
    pub allowed: Vec<RbcdTrusteeFacts>,
    /// ACEs whose effect hvaudit cannot decide, one line each (index, type, SID, why).
    pub undecided: Vec<String>,
    /// SIDs an allow ACE may cover (groups expanded): the only requesters that can be covered
    /// unless `allow_any_computer`.
    pub(super) allow_sids: HashSet<Sid>,
    /// Any computer may be covered (no DACL, Everyone, Domain Computers...).
    pub(super) allow_any_computer: bool,
    /// The DACL in order, for [`RbcdFacts::coverage`].
    aces: Vec<EvalAce>,
}

impl RbcdFacts {
    /// Whether a computer with this SID may delegate to the account: [`RbcdCoverage::Covers`]
    /// only (unknown counts as no; see [`RbcdFacts::coverage`]).
    pub fn covers(&self, sid: &Sid, is_computer: bool) -> bool {
        self.coverage(&Requester {
            sid,
            dn: None,
            is_computer,
        }) == RbcdCoverage::Covers
    }

    /// The access check of MS-DTYP 2.5.3.2 for the right the KDC asks
    /// ([`crate::collect::secdesc::RBCD_RIGHT`]): no DACL grants everyone, an empty DACL no one;
    /// otherwise the ACEs are walked in order and the first that applies to the requester's
    /// token decides (a deny before an allow refuses, an allow before a deny grants). An ACE or
    /// a membership hvaudit cannot decide, met before the decision, keeps both outcomes open.
    pub fn coverage(&self, r: &Requester) -> RbcdCoverage {
        if !self.present {
            return RbcdCoverage::DoesNot;
        }
        if self.no_dacl {
            return RbcdCoverage::Covers;
        }
        let (mut can_cover, mut can_refuse) = (false, false);
        let mut decided = false;
        for ace in &self.aces {
            let held = match ace.effect {
                Effect::Opaque => InToken::Maybe,
                _ => ace.who.holds(r),
            };
            match (ace.effect, held) {
                (_, InToken::No) => continue,
                (Effect::Decides(e), InToken::Yes) => {
                    match e {
                        AceEffect::Allow => can_cover = true,
                        AceEffect::Deny => can_refuse = true,
                    }
                    decided = true;
                    break;
                }
                (Effect::Decides(AceEffect::Allow) | Effect::Undecided(AceEffect::Allow), _) => {
                    can_cover = true
                }
                (Effect::Decides(AceEffect::Deny) | Effect::Undecided(AceEffect::Deny), _) => {
                    can_refuse = true
                }
                (Effect::Opaque, _) => {
                    can_cover = true;
                    can_refuse = true;
                }
            }
        }
        if !decided {
            // No ACE granted the right: access is denied.
            can_refuse = true;
        }
        match (can_cover, can_refuse) {
            (true, true) => RbcdCoverage::Unknown,
            (true, false) => RbcdCoverage::Covers,
            _ => RbcdCoverage::DoesNot,
        }
    }

    /// Reads `computer`'s RBCD (None in the snapshot: `present` false, covers no one).
    pub fn build(computer: &Computer, snapshot: &Snapshot, index: &Index) -> RbcdFacts {
        let Some(rbcd) = &computer.rbcd else {
            return RbcdFacts::default();
        };
        let mut f = RbcdFacts {
            present: true,
            no_dacl: rbcd.no_dacl,
            undecided: undecided_aces(rbcd),
            ..RbcdFacts::default()
        };
        if rbcd.no_dacl {
            // Windows ignores any ACL the offset points at when SE_DACL_PRESENT is clear.
            f.allow_any_computer = true;
            f.allowed.push(RbcdTrusteeFacts {
                // S-1-1-0
                sid: Sid {
                    revision: 1,
                    authority: 1,
                    sub_authorities: vec![0],
                },
                principal: None,
                name: "Everyone (the descriptor has no DACL)".into(),
                kind: "well_known".into(),
                via: None,
                broad: true,
            });
            return f;
        }
        let mut refused_first: HashSet<Sid> = HashSet::new();
        let mut allowed_aces: Vec<&RbcdTrustee> = Vec::new();
        for (_, ace) in ordered_aces(rbcd) {
            let reading = read_ace(ace);
            let effect = match &reading {
                AceReading::Skipped => continue,
                AceReading::Decides(e) => Effect::Decides(*e),
                AceReading::Undecided(e, _) => Effect::Undecided(*e),
                AceReading::Opaque(_) => Effect::Opaque,
            };
            let AceRef::Trustee(t) = ace else {
                f.aces.push(EvalAce {
                    effect,
                    who: Who::NoComputer,
                });
                f.allow_any_computer = true;
                continue;
            };
            let who = Who::resolve(&t.sid, snapshot, index);
            let may_allow = matches!(
                effect,
                Effect::Decides(AceEffect::Allow) | Effect::Undecided(AceEffect::Allow)
            );
            if may_allow {
                match &who {
                    Who::One(s) | Who::Unknowable(s) => {
                        f.allow_sids.insert(s.clone());
                    }
                    Who::Group { sids, .. } => f.allow_sids.extend(sids.iter().cloned()),
                    Who::Everyone | Who::AnyComputer => f.allow_any_computer = true,
                    Who::NoComputer => {}
                }
            }
            match effect {
                Effect::Decides(AceEffect::Deny) => {
                    refused_first.insert(t.sid.clone());
                }
                Effect::Decides(AceEffect::Allow) if !refused_first.contains(&t.sid) => {
                    allowed_aces.push(t);
                }
                _ => {}
            }
            f.aces.push(EvalAce { effect, who });
        }
        let mut seen: HashSet<(Sid, Option<String>)> = HashSet::new();
        for t in allowed_aces {
            if is_broad_sid(&t.sid) {
                let s = t.sid.to_string();
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
