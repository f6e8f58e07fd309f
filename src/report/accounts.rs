//! Report views of the snapshot's accounts: the delegation inventory and the privileged
//! accounts. These describe; findings (HV*, PA*) are the rule engine's business.

use std::collections::{BTreeMap, HashMap};

use crate::model::{AccountKind, PrincipalKind, Sid, Snapshot, Uac};

use super::{AccountClass, DelegationRow, DelegationType, PrivilegedRow};

/// Protected Users, domain-relative (MS-DTYP 2.4.2.4).
const RID_PROTECTED_USERS: u32 = 525;
const RID_ADMINISTRATOR: u32 = 500;
const RID_KRBTGT: u32 = 502;

/// Every account in the snapshot that holds any delegation, computers first, then other
/// accounts, each in snapshot order. DCs are included and marked `dc`.
pub fn delegation_inventory(snapshot: &Snapshot) -> Vec<DelegationRow> {
    let names = sid_names(snapshot);
    let mut rows = Vec::new();
    for c in &snapshot.computers {
        let trustees = c.rbcd.as_ref().map(|r| {
            r.trustees
                .iter()
                .map(|t| {
                    let name = names
                        .get(&t.sid)
                        .cloned()
                        .unwrap_or_else(|| t.sid.to_string());
                    if t.ace_type == "allow" {
                        name
                    } else {
                        format!("{} {name}", t.ace_type)
                    }
                })
                .collect::<Vec<_>>()
        });
        push_rows(
            &mut rows,
            Holder {
                account: &c.sam_account_name,
                dn: &c.dn,
                kind: AccountClass::Computer,
                uac: c.uac,
                allowed: &c.allowed_to_delegate_to,
                rbcd: trustees,
            },
        );
    }
    for a in &snapshot.accounts {
        let kind = match a.kind {
            AccountKind::User => AccountClass::User,
            AccountKind::ManagedServiceAccount => AccountClass::Msa,
            AccountKind::GroupManagedServiceAccount => AccountClass::Gmsa,
        };
        push_rows(
            &mut rows,
            Holder {
                account: &a.sam_account_name,
                dn: &a.dn,
                kind,
                uac: a.uac,
                allowed: &a.allowed_to_delegate_to,
                // The model reads RBCD on computers only (where Hyper-V needs it).
                rbcd: None,
            },
        );
    }
    rows
}

struct Holder<'a> {
    account: &'a str,
    dn: &'a str,
    kind: AccountClass,
    uac: Uac,
    allowed: &'a [String],
    rbcd: Option<Vec<String>>,
}

fn push_rows(rows: &mut Vec<DelegationRow>, h: Holder<'_>) {
    let pt = h.uac.protocol_transition();
    let row = |delegation_type, targets: Vec<String>| DelegationRow {
        account: h.account.to_string(),
        dn: h.dn.to_string(),
        kind: h.kind,
        dc: h.uac.is_dc(),
        enabled: !h.uac.disabled(),
        delegation_type,
        targets,
        protocol_transition: pt,
    };
    if h.uac.unconstrained() {
        rows.push(row(DelegationType::Unconstrained, Vec::new()));
    }
    if !h.allowed.is_empty() {
        let t = if pt {
            DelegationType::ConstrainedProtocolTransition
        } else {
            DelegationType::Constrained
        };
        rows.push(row(t, h.allowed.to_vec()));
    } else if pt {
        rows.push(row(DelegationType::ProtocolTransitionOnly, Vec::new()));
    }
    if let Some(trustees) = h.rbcd {
        rows.push(row(DelegationType::Rbcd, trustees));
    }
}

/// SID -> sAMAccountName for every principal the snapshot holds.
fn sid_names(s: &Snapshot) -> HashMap<Sid, String> {
    let mut m = HashMap::new();
    let pairs = s
        .computers
        .iter()
        .map(|c| (&c.sid, &c.sam_account_name))
        .chain(s.accounts.iter().map(|a| (&a.sid, &a.sam_account_name)))
        .chain(s.groups.iter().map(|g| (&g.sid, &g.sam_account_name)));
    for (sid, name) in pairs {
        if let Some(sid) = sid {
            m.entry(sid.clone()).or_insert_with(|| name.clone());
        }
    }
    m
}

/// Accounts (users, MSAs, gMSAs) that are effective members of a group the collector marked
/// `privileged` (it finds them by SID), plus the domain's RID-500 account. krbtgt, computers
/// and DCs are left out: their delegation protection is not set this way. Sorted by name.
pub fn privileged_accounts(snapshot: &Snapshot) -> Vec<PrivilegedRow> {
    let domain_sid = snapshot.domain.sid.as_ref();
    let protected_users: Vec<&str> = snapshot
        .groups
        .iter()
        .filter(|g| {
            g.reasons.iter().any(|r| r == "protected_users")
                || matches!((&g.sid, domain_sid), (Some(s), Some(d))
                    if *s == d.with_rid(RID_PROTECTED_USERS))
        })
        .flat_map(|g| g.effective_members.iter().map(|m| m.dn.as_str()))
        .collect();

    let mut via: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for g in snapshot
        .groups
        .iter()
        .filter(|g| g.reasons.iter().any(|r| r == "privileged"))
    {
        for m in &g.effective_members {
            if !matches!(
                m.kind,
                PrincipalKind::User
                    | PrincipalKind::ManagedServiceAccount
                    | PrincipalKind::GroupManagedServiceAccount
            ) {
                continue;
            }
            let path = if m.by_primary_group {
                format!("{} (primary group)", g.sam_account_name)
            } else {
                std::iter::once(g.sam_account_name.clone())
                    .chain(m.via.iter().map(|dn| rdn_value(dn).to_string()))
                    .collect::<Vec<_>>()
                    .join(" > ")
            };
            via.entry(m.dn.as_str()).or_default().push(path);
        }
    }
    if let Some(d) = domain_sid {
        let admin = d.with_rid(RID_ADMINISTRATOR);
        if let Some(a) = snapshot
            .accounts
            .iter()
            .find(|a| a.sid.as_ref() == Some(&admin))
        {
            via.entry(a.dn.as_str())
                .or_default()
                .push("RID 500".to_string());
        }
    }

    let mut rows: Vec<PrivilegedRow> = snapshot
        .accounts
        .iter()
        .filter(|a| via.contains_key(a.dn.as_str()))
        .filter(|a| !(domain_sid.is_some() && a.sid == domain_sid.map(|d| d.with_rid(RID_KRBTGT))))
        .map(|a| {
            let not_delegated = a.uac.not_delegated();
            let protected_users = protected_users
                .iter()
                .any(|dn| dn.eq_ignore_ascii_case(&a.dn));
            PrivilegedRow {
                account: a.sam_account_name.clone(),
                dn: a.dn.clone(),
                enabled: !a.uac.disabled(),
                via: via[a.dn.as_str()].clone(),
                not_delegated,
                protected_users,
                protected: not_delegated || protected_users,
            }
        })
        .collect();
    rows.sort_by_key(|r| r.account.to_lowercase());
    rows
}

/// `CN=Tier0 Ops,OU=x,DC=y` -> `Tier0 Ops`, for readable group paths; stops at the first
/// comma not escaped by a backslash (RFC 4514). A DN that does not parse is shown whole.
fn rdn_value(dn: &str) -> &str {
    let mut escaped = false;
    let mut end = dn.len();
    for (i, ch) in dn.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    match dn[..end].split_once('=') {
        Some((_, v)) if !v.is_empty() => v,
        _ => dn,
    }
}
