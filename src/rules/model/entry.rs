//! Scope `delegation_entry`: the `entry.*` variables and the views of an entry and its owner.

use minijinja::Value;
use serde::Serialize;

use crate::analysis::hosts::serde_kind;
use crate::analysis::{Analysis, EntryIdx, HostIdx, Principal, principal_dn, principal_name};

use super::{VarDoc, to_value, v};

/// The `entry.*` variables.
pub const VARS: &[VarDoc] = &[
    v(
        "entry.value",
        "string",
        "the msDS-AllowedToDelegateTo value as stored",
    ),
    v("entry.valid", "bool", "the value parses as an SPN"),
    v("entry.parse_error", "string|none", "why it does not"),
    v("entry.class", "string|none", "service class"),
    v("entry.target_host", "string|none", "host part"),
    v("entry.port", "int|none", "port"),
    v("entry.service_name", "string|none", "service name part"),
    v(
        "entry.resolved",
        "bool",
        "the host part names an account (dNSHostName, sAMAccountName without `$`, or a registered SPN's host)",
    ),
    v("entry.target", "string|none", "that account's name"),
    v("entry.target_dn", "string|none", "its DN"),
    v(
        "entry.target_kind",
        "string|none",
        "`computer`, `user`, `managed_service_account`, `group_managed_service_account`",
    ),
    v("entry.target_disabled", "bool", "that account is disabled"),
    v(
        "entry.target_is_dc",
        "bool",
        "that account is a domain controller",
    ),
    v(
        "entry.target_is_hyperv_host",
        "bool",
        "that account is a Hyper-V host",
    ),
    v(
        "entry.target_group",
        "string|none",
        "its migration group, when a host",
    ),
    v(
        "entry.target_confirmed",
        "bool|none",
        "when the target is a Hyper-V host: whether an administrator confirmed it (`host.confirmed`); none otherwise",
    ),
    v(
        "entry.classification",
        "string",
        "`malformed` (no request can equal the value: see `entry.defect`), else `dc_service` (any service on a DC or of the domain name itself, or ldap/gc/krbtgt/kadmin/kpasswd/DRS anywhere), `migration`, `cifs` or `other`",
    ),
    v(
        "entry.defect",
        "string|none",
        "why no Kerberos request can equal the value (MS-SFU 3.2.5.2.2 compares the requested SPN with the stored value exactly, case aside): white space, control characters, an unparsable SPN, an empty label or trailing dot, or a port or third component on a migration or cifs value",
    ),
    v(
        "entry.intended",
        "string|none",
        "for a defective migration or cifs value: the two-part `class/host` it was meant to be",
    ),
    v(
        "entry.targets_self",
        "bool",
        "the value names the account that holds it (delegation to itself reaches no peer)",
    ),
    v(
        "entry.target_is_domain",
        "bool",
        "the host part is the domain's own DNS or NetBIOS name (answered by its domain controllers)",
    ),
    v(
        "entry.external_domain",
        "string|none",
        "the DNS suffix of an unresolved FQDN outside the audited domain (classic KCD does not cross domains)",
    ),
    v("entry.owner", "object", "the account holding the value"),
    v(
        "entry.owner.name",
        "string",
        "name (sAMAccountName, without `$` for computers)",
    ),
    v("entry.owner.dn", "string", "DN"),
    v(
        "entry.owner.kind",
        "string",
        "`computer`, `user`, `managed_service_account`, `group_managed_service_account`",
    ),
    v(
        "entry.owner.is_hyperv_host",
        "bool",
        "the owner is a Hyper-V host",
    ),
    v(
        "entry.owner.is_dc",
        "bool",
        "the owner is a domain controller",
    ),
    v(
        "entry.owner.group",
        "string|none",
        "the owner's migration group",
    ),
    v(
        "entry.owner.protocol_transition",
        "bool",
        "the owner has TRUSTED_TO_AUTH_FOR_DELEGATION",
    ),
    v("entry.owner.enabled", "bool", "the owner is not disabled"),
    v(
        "entry.owner.confirmed",
        "bool",
        "the owner is a Hyper-V host an administrator confirmed (`host.confirmed`)",
    ),
];

#[derive(Debug, Clone, Serialize)]
pub struct OwnerView {
    pub name: String,
    pub dn: String,
    pub kind: &'static str,
    pub is_hyperv_host: bool,
    pub is_dc: bool,
    pub group: Option<String>,
    pub protocol_transition: bool,
    pub enabled: bool,
    pub confirmed: bool,
}

#[derive(Debug, Clone, Serialize)]
/// Field order: a condition's lookup walks the fields in order (see `engine::lazy`), so the
/// fields the built-in rules read for each of ~600,000 entries come first.
pub struct EntryView {
    pub classification: &'static str,
    pub resolved: bool,
    pub target_disabled: bool,
    pub external_domain: Option<String>,
    /// An [`OwnerView`]; one value shared by all entries of an owner (see
    /// [`entry_view_with_owner`]).
    pub owner: Value,
    pub value: String,
    pub valid: bool,
    pub parse_error: Option<String>,
    pub class: Option<String>,
    pub target_host: Option<String>,
    pub port: Option<u16>,
    pub service_name: Option<String>,
    pub target: Option<String>,
    pub target_dn: Option<String>,
    pub target_kind: Option<&'static str>,
    pub target_is_dc: bool,
    pub target_is_hyperv_host: bool,
    pub target_group: Option<String>,
    pub target_confirmed: Option<bool>,
    pub defect: Option<String>,
    pub intended: Option<String>,
    pub targets_self: bool,
    pub target_is_domain: bool,
}

fn principal_kind(a: &Analysis, p: Principal) -> &'static str {
    match p {
        Principal::Computer(_) => "computer",
        Principal::Account(i) => serde_kind(a.snapshot.accounts[i].kind),
        Principal::Group(_) => "group",
    }
}

fn host_of(a: &Analysis, p: Principal) -> Option<HostIdx> {
    match p {
        Principal::Computer(c) => a.host_by_computer.get(&c).copied(),
        _ => None,
    }
}

/// The migration group name of host `h`, if it is in one.
pub fn group_name(a: &Analysis, h: Option<HostIdx>) -> Option<String> {
    h.and_then(|h| a.hosts[h].group)
        .map(|g| a.groups[g].name.clone())
}

/// The account holding delegation entries.
pub fn owner_view(a: &Analysis, owner: Principal) -> OwnerView {
    let owner_host = host_of(a, owner);
    let owner_uac = match owner {
        Principal::Computer(i) => a.snapshot.computers[i].uac,
        Principal::Account(i) => a.snapshot.accounts[i].uac,
        Principal::Group(_) => Default::default(),
    };
    OwnerView {
        name: principal_name(a.snapshot, owner),
        dn: principal_dn(a.snapshot, owner).to_string(),
        kind: principal_kind(a, owner),
        is_hyperv_host: owner_host.is_some(),
        is_dc: a.index.is_dc(owner),
        group: group_name(a, owner_host),
        protocol_transition: owner_uac.protocol_transition(),
        enabled: !owner_uac.disabled(),
        confirmed: owner_host.is_some_and(|h| a.hosts[h].confirmed()),
    }
}

pub fn entry_view(a: &Analysis, e: EntryIdx) -> EntryView {
    let owner = to_value(owner_view(a, a.entries[e].owner));
    entry_view_with_owner(a, e, owner)
}

/// [`entry_view`] with the owner's value given: an account with many entries (a Hyper-V host
/// has four per peer) builds its owner once.
pub fn entry_view_with_owner(a: &Analysis, e: EntryIdx, owner: Value) -> EntryView {
    let e = &a.entries[e];
    let spn = e.spn.as_ref().ok();
    let target_host = e.target.and_then(|t| host_of(a, t));
    EntryView {
        value: e.value.to_string(),
        valid: spn.is_some(),
        parse_error: e.spn.as_ref().err().cloned(),
        class: spn.map(|s| s.class.to_string()),
        target_host: spn.map(|s| s.host.to_string()),
        port: spn.and_then(|s| s.port),
        service_name: spn.and_then(|s| s.service_name.map(str::to_string)),
        resolved: e.target.is_some(),
        target: e.target.map(|t| principal_name(a.snapshot, t)),
        target_dn: e.target.map(|t| principal_dn(a.snapshot, t).to_string()),
        target_kind: e.target.map(|t| principal_kind(a, t)),
        target_disabled: e.target_disabled,
        target_is_dc: e.target_is_dc,
        target_is_hyperv_host: target_host.is_some(),
        target_group: group_name(a, target_host),
        target_confirmed: target_host.map(|h| a.hosts[h].confirmed()),
        classification: e.classification.as_str(),
        defect: e.defect(),
        intended: e
            .defective
            .then(|| crate::analysis::targets::intended_value(e.value))
            .flatten(),
        targets_self: e.targets_self,
        target_is_domain: e.target_is_domain,
        external_domain: e.external_domain.as_deref().map(str::to_string),
        owner,
    }
}
