//! Delegation targets: each `msDS-AllowedToDelegateTo` value parsed, resolved to the account
//! that runs the service, and classified.

use serde::Serialize;

use super::Index;
use super::Principal;
use super::spn::{CIFS_CLASS, MIGRATION_CLASS, Spn};
use crate::model::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// `Microsoft Virtual System Migration Service`.
    Migration,
    Cifs,
    /// Any service on a domain controller, and `ldap`, `gc`, `krbtgt` anywhere.
    DcService,
    Other,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Migration => "migration",
            Classification::Cifs => "cifs",
            Classification::DcService => "dc_service",
            Classification::Other => "other",
        }
    }
}

/// Classes that reach a DC's core services wherever they point.
const DC_CLASSES: &[&str] = &["ldap", "gc", "krbtgt"];

/// One `msDS-AllowedToDelegateTo` value of one account, borrowed from the snapshot.
#[derive(Debug, Clone)]
pub struct DelegationEntry<'a> {
    /// The account holding the attribute (a computer or an account).
    pub owner: Principal,
    /// The value as stored.
    pub value: &'a str,
    pub spn: Result<Spn<'a>, String>,
    /// The account the SPN's host resolves to; None = stale.
    pub target: Option<Principal>,
    pub target_disabled: bool,
    pub target_is_dc: bool,
    pub classification: Classification,
}

pub fn classify(spn: Option<&Spn>, target_is_dc: bool) -> Classification {
    let Some(spn) = spn else {
        return Classification::Other;
    };
    // A DC's services come first: cifs or the migration service on a DC is still a DC service.
    if target_is_dc || DC_CLASSES.iter().any(|c| spn.class_is(c)) {
        Classification::DcService
    } else if spn.class_is(MIGRATION_CLASS) {
        Classification::Migration
    } else if spn.class_is(CIFS_CLASS) {
        Classification::Cifs
    } else {
        Classification::Other
    }
}

/// Every delegation entry in the snapshot, computers first, in snapshot order.
pub fn entries<'a>(snapshot: &'a Snapshot, index: &Index) -> Vec<DelegationEntry<'a>> {
    let owners = snapshot
        .computers
        .iter()
        .enumerate()
        .map(|(i, c)| (Principal::Computer(i), &c.allowed_to_delegate_to))
        .chain(
            snapshot
                .accounts
                .iter()
                .enumerate()
                .map(|(i, a)| (Principal::Account(i), &a.allowed_to_delegate_to)),
        );
    // Sized up front: at 100,000 computers this is ~600,000 entries, and growing by doubling
    // would leave up to half the vector unused at the peak.
    let total = snapshot
        .computers
        .iter()
        .map(|c| c.allowed_to_delegate_to.len())
        .chain(
            snapshot
                .accounts
                .iter()
                .map(|a| a.allowed_to_delegate_to.len()),
        )
        .sum();
    let mut out = Vec::with_capacity(total);
    for (owner, values) in owners {
        for value in values {
            let spn = Spn::parse(value.trim()).map_err(|e| e.to_string());
            let target = spn
                .as_ref()
                .ok()
                .and_then(|s| index.resolve_spn_host(s.host));
            let target_disabled = target.is_some_and(|t| index.is_disabled(snapshot, t));
            let target_is_dc = target.is_some_and(|t| index.is_dc(t));
            let classification = classify(spn.as_ref().ok(), target_is_dc);
            out.push(DelegationEntry {
                owner,
                value,
                spn,
                target,
                target_disabled,
                target_is_dc,
                classification,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_puts_dc_first() {
        fn s(v: &str) -> Spn<'_> {
            Spn::parse(v).unwrap()
        }
        assert_eq!(
            classify(Some(&s("cifs/dc01")), true),
            Classification::DcService
        );
        assert_eq!(classify(Some(&s("cifs/hv01")), false), Classification::Cifs);
        assert_eq!(
            classify(Some(&s("LDAP/anything")), false),
            Classification::DcService
        );
        assert_eq!(
            classify(
                Some(&s("microsoft virtual system migration service/hv")),
                false
            ),
            Classification::Migration
        );
        assert_eq!(classify(Some(&s("http/web")), false), Classification::Other);
        assert_eq!(classify(None, false), Classification::Other);
    }
}
