//! Report views of the snapshot's accounts: the delegation inventory and the privileged
//! accounts. These describe; findings (HV*, PA*) are the rule engine's business.

use std::collections::HashMap;

use crate::analysis::AccountFacts;
use crate::model::{AccountKind, Sid, Snapshot, Uac};

use super::{AccountClass, DelegationRow, DelegationType, PrivilegedRow};

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

/// Privileged accounts (users, MSAs, gMSAs) as the analysis found them (the same facts PA001
/// judges: privileged groups by SID, configured extra groups, primaryGroupID, the RID-500
/// account), with their delegation protection. krbtgt is left out: it cannot be delegated
/// anyway. `facts` is parallel to `snapshot.accounts` (`AuditOutcome::accounts`). Sorted by
/// name.
pub fn privileged_accounts(snapshot: &Snapshot, facts: &[AccountFacts]) -> Vec<PrivilegedRow> {
    let mut rows: Vec<PrivilegedRow> = snapshot
        .accounts
        .iter()
        .zip(facts)
        .filter(|(_, f)| !f.privileged_via.is_empty() && !f.is_krbtgt)
        .map(|(a, f)| {
            let not_delegated = a.uac.not_delegated();
            PrivilegedRow {
                account: a.sam_account_name.clone(),
                dn: a.dn.clone(),
                enabled: !a.uac.disabled(),
                via: f.privileged_via.clone(),
                not_delegated,
                protected_users: f.protected_users,
                protected: not_delegated || f.protected_users,
            }
        })
        .collect();
    rows.sort_by_key(|r| r.account.to_lowercase());
    rows
}
