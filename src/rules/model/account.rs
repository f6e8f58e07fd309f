//! Scope `account`: the `account.*` variables and the account view.

use serde::Serialize;

use crate::analysis::hosts::serde_kind;
use crate::analysis::{AccountIdx, Analysis};

use super::{VarDoc, v};

/// The `account.*` variables.
pub const VARS: &[VarDoc] = &[
    v("account.name", "string", "sAMAccountName"),
    v("account.dn", "string", "DN"),
    v(
        "account.kind",
        "string",
        "`user`, `managed_service_account`, `group_managed_service_account`",
    ),
    v("account.sid", "string|none", "objectSid"),
    v("account.rid", "int|none", "last sub-authority of the SID"),
    v("account.enabled", "bool", "not ACCOUNTDISABLE"),
    v("account.uac", "int", "userAccountControl"),
    v(
        "account.uac_names",
        "list of string",
        "names of the bits set",
    ),
    v("account.not_delegated", "bool", "NOT_DELEGATED (0x100000)"),
    v(
        "account.protected_users",
        "bool",
        "effective member of Protected Users (RID 525)",
    ),
    v(
        "account.protected_users_applies",
        "bool|none",
        "Protected Users keeps its tickets from being delegated: a member, at domain functional level 2012 R2 or later; none when a member and the level is unknown",
    ),
    v(
        "account.privileged",
        "bool",
        "effective member of a privileged group (by SID), or the RID-500 account",
    ),
    v("account.via", "list of string", "how it is privileged"),
    v("account.admin_count", "int|none", "adminCount"),
    v("account.primary_group_id", "int|none", "primaryGroupID"),
    v("account.is_krbtgt", "bool", "RID 502"),
    v("account.is_builtin_admin", "bool", "RID 500"),
    v(
        "account.is_lm_operator",
        "bool",
        "named in lm_operators (or the `--operator` of a check)",
    ),
    v(
        "account.protocol_transition",
        "bool",
        "TRUSTED_TO_AUTH_FOR_DELEGATION",
    ),
    v("account.unconstrained", "bool", "TRUSTED_FOR_DELEGATION"),
    v(
        "account.delegations",
        "list of string",
        "its msDS-AllowedToDelegateTo values",
    ),
];

#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub name: String,
    pub dn: String,
    pub kind: &'static str,
    pub sid: Option<String>,
    pub rid: Option<u32>,
    pub enabled: bool,
    pub uac: u32,
    pub uac_names: Vec<&'static str>,
    pub not_delegated: bool,
    pub protected_users: bool,
    pub protected_users_applies: Option<bool>,
    pub privileged: bool,
    pub via: Vec<String>,
    pub admin_count: Option<u32>,
    pub primary_group_id: Option<u32>,
    pub is_krbtgt: bool,
    pub is_builtin_admin: bool,
    pub is_lm_operator: bool,
    pub protocol_transition: bool,
    pub unconstrained: bool,
    pub delegations: Vec<String>,
}

/// `as_operator` marks the account as an LM operator (the `--operator` of a check).
pub fn account_view(a: &Analysis, i: AccountIdx, as_operator: bool) -> AccountView {
    let acct = &a.snapshot.accounts[i];
    let f = &a.accounts[i];
    AccountView {
        name: acct.sam_account_name.clone(),
        dn: acct.dn.clone(),
        kind: serde_kind(acct.kind),
        sid: acct.sid.as_ref().map(|s| s.to_string()),
        rid: acct.sid.as_ref().and_then(|s| s.rid()),
        enabled: !acct.uac.disabled(),
        uac: acct.uac.0,
        uac_names: acct.uac.names(),
        not_delegated: acct.uac.not_delegated(),
        protected_users: f.protected_users,
        protected_users_applies: a.protected_users_applies(i),
        privileged: !f.privileged_via.is_empty(),
        via: f.privileged_via.clone(),
        admin_count: acct.admin_count,
        primary_group_id: acct.primary_group_id,
        is_krbtgt: f.is_krbtgt,
        is_builtin_admin: f.is_builtin_admin,
        is_lm_operator: f.is_lm_operator || as_operator,
        protocol_transition: acct.uac.protocol_transition(),
        unconstrained: acct.uac.unconstrained(),
        delegations: acct.allowed_to_delegate_to.clone(),
    }
}
