//! Scope `host`: the `host.*` variables and the view they are built from. `pair.from` and
//! `pair.to` of a peer pair are host views too.

use serde::Serialize;

use crate::analysis::{Analysis, HostIdx, Principal, principal_name};
use crate::inventory::MigrationAuth;

use super::{VarDoc, fmt_time, v};

/// The `host.*` variables (also the fields of `pair.from` and of a peer pair's `pair.to`).
pub const VARS: &[VarDoc] = &[
    v(
        "host.name",
        "string",
        "sAMAccountName without `$` (the inventory's ComputerName when not in the directory)",
    ),
    v("host.fqdn", "string|none", "dNSHostName"),
    v("host.dn", "string|none", "distinguished name"),
    v("host.sid", "string|none", "objectSid"),
    v(
        "host.in_directory",
        "bool",
        "a computer account exists for the host",
    ),
    v(
        "host.enabled",
        "bool",
        "the computer account is not disabled",
    ),
    v(
        "host.is_dc",
        "bool",
        "the host is a domain controller (SERVER_TRUST_ACCOUNT, PARTIAL_SECRETS_ACCOUNT or listed as a DC)",
    ),
    v(
        "host.reasons",
        "list of string",
        "why it is considered a Hyper-V host",
    ),
    v(
        "host.candidate",
        "bool",
        "the directory claims it is a Hyper-V host (a Hyper-V SPN or a `CN=Microsoft Hyper-V` serviceConnectionPoint); whoever created or owns the account can make that claim",
    ),
    v(
        "host.confirmed",
        "bool",
        "an administrator-controlled source names it a host (a configured `[[group]]` by OU, list or glob, `extra_hyperv_hosts`, a `[[cluster]]`, or a host inventory row) and no non-privileged account created it; only confirmed hosts are granted delegation by remediations",
    ),
    v(
        "host.confirmed_by",
        "list of string",
        "the administrator-controlled sources that name it a host",
    ),
    v(
        "host.how_to_confirm",
        "string",
        "how an administrator confirms it (a config group or an inventory row)",
    ),
    v(
        "host.creator",
        "string|none",
        "the account that created it through ms-DS-MachineAccountQuota (mS-DS-CreatorSID): `name (SID)`",
    ),
    v(
        "host.creator_privileged_via",
        "string|none",
        "how that creator is privileged (a privileged group by SID, RID 500, a domain controller); none when it is not known to be",
    ),
    v(
        "host.created_by_unprivileged",
        "bool",
        "mS-DS-CreatorSID names an account not known to be privileged: the host is in no migration group",
    ),
    v(
        "host.owner",
        "string|none",
        "owner of its security descriptor: `name (SID)`",
    ),
    v(
        "host.owner_is_creator",
        "bool",
        "the owner is the creator itself",
    ),
    v(
        "host.refused_group",
        "string|none",
        "a configured `[[group]]` that matches it but was refused because a non-privileged account created it",
    ),
    v("host.os", "string|none", "operatingSystem"),
    v("host.os_version", "string|none", "operatingSystemVersion"),
    v(
        "host.os_build",
        "int|none",
        "build number from operatingSystemVersion",
    ),
    v(
        "host.os_generation",
        "string",
        "`2012`, `2012 R2`, `2016`, `2019`, `2022`, `2025` or `unknown`",
    ),
    v("host.uac", "int", "userAccountControl"),
    v(
        "host.uac_names",
        "list of string",
        "names of the userAccountControl bits set",
    ),
    v(
        "host.protocol_transition",
        "bool",
        "TRUSTED_TO_AUTH_FOR_DELEGATION (0x1000000)",
    ),
    v(
        "host.unconstrained",
        "bool",
        "TRUSTED_FOR_DELEGATION (0x80000)",
    ),
    v("host.not_delegated", "bool", "NOT_DELEGATED (0x100000)"),
    v("host.group", "string|none", "migration group"),
    v(
        "host.cluster",
        "string|none",
        "failover cluster (configuration, else inventory ClusterName)",
    ),
    v(
        "host.peers",
        "list of string",
        "the other hosts of its migration group",
    ),
    v(
        "host.non_cluster_peers",
        "list of string",
        "the peers not in its failover cluster (those it needs delegation to)",
    ),
    v(
        "host.storage",
        "list of string",
        "storage servers of its migration group",
    ),
    v(
        "host.delegations",
        "list",
        "its msDS-AllowedToDelegateTo values",
    ),
    v("host.delegations[].value", "string", "the value as stored"),
    v(
        "host.delegations[].class",
        "string|none",
        "SPN service class (none when the value is not an SPN)",
    ),
    v(
        "host.delegations[].target_host",
        "string|none",
        "SPN host part",
    ),
    v(
        "host.delegations[].resolved",
        "bool",
        "the host part names an account in the directory",
    ),
    v(
        "host.delegations[].target",
        "string|none",
        "that account's name",
    ),
    v(
        "host.delegations[].target_disabled",
        "bool",
        "that account is disabled",
    ),
    v(
        "host.delegations[].classification",
        "string",
        "`migration`, `cifs`, `dc_service` or `other`",
    ),
    v(
        "host.migration_targets",
        "list of string",
        "hosts it delegates the migration service to",
    ),
    v(
        "host.self_delegations",
        "list of string",
        "msDS-AllowedToDelegateTo values naming the host itself: they delegate to no peer",
    ),
    v(
        "host.kcd_only_migration_targets",
        "list of string",
        "those of `migration_targets` outside its cluster whose RBCD does not also let this host delegate (they need protocol transition on 2016+)",
    ),
    v(
        "host.rbcd_present",
        "bool",
        "msDS-AllowedToActOnBehalfOfOtherIdentity is set",
    ),
    v(
        "host.rbcd_allowed",
        "list",
        "principals its RBCD allows, groups expanded",
    ),
    v("host.rbcd_allowed[].sid", "string", "SID"),
    v(
        "host.rbcd_allowed[].name",
        "string",
        "name (the SID when not in the directory)",
    ),
    v(
        "host.rbcd_allowed[].kind",
        "string",
        "`computer`, `user`, `managed_service_account`, `group_managed_service_account`, `well_known`, `foreign`, `unknown`",
    ),
    v(
        "host.rbcd_allowed[].via",
        "string|none",
        "group it is allowed through",
    ),
    v(
        "host.rbcd_allowed[].broad",
        "bool",
        "a well-known SID standing for many principals (Everyone, Authenticated Users, Domain Users/Computers...)",
    ),
    v("host.rbcd_allowed[].hyperv_host", "bool", "a Hyper-V host"),
    v(
        "host.rbcd_allowed[].same_group_host",
        "bool",
        "a Hyper-V host of this host's migration group",
    ),
    v(
        "host.rbcd_undecided",
        "list of string",
        "ACEs of its RBCD whose effect hvaudit cannot decide (callback, object type, generic mask, unknown type), one line each",
    ),
    v(
        "host.rbcd_group_peers",
        "list of string",
        "confirmed Hyper-V hosts of its migration group that its RBCD lets delegate to it now, whichever trustee allows them (groups and broad SIDs expanded, deny ACEs honoured; MS-DTYP 2.5.3.2 access check as the KDC makes it): what HV010's fix keeps",
    ),
    v(
        "host.rbcd_granted_by",
        "list of string",
        "hosts whose RBCD is known to let this host delegate to them",
    ),
    v(
        "host.delegation_changed",
        "time|none",
        "change time of msDS-AllowedToDelegateTo (replication metadata)",
    ),
    v(
        "host.uac_changed",
        "time|none",
        "change time of userAccountControl (replication metadata)",
    ),
    v(
        "host.in_inventory",
        "bool",
        "the host inventory has a row for it",
    ),
    v("host.inventory", "object|none", "its inventory row"),
    v("host.inventory.computer_name", "string", "ComputerName"),
    v(
        "host.inventory.migration_enabled",
        "bool|none",
        "VirtualMachineMigrationEnabled",
    ),
    v(
        "host.inventory.authentication_type",
        "string|none",
        "`CredSSP` or `Kerberos`",
    ),
    v(
        "host.inventory.performance_option",
        "string|none",
        "VirtualMachineMigrationPerformanceOption",
    ),
    v(
        "host.inventory.use_any_network",
        "bool|none",
        "UseAnyNetworkForMigration",
    ),
    v(
        "host.inventory.maximum_migrations",
        "int|none",
        "MaximumVirtualMachineMigrations",
    ),
    v(
        "host.inventory.credential_guard_running",
        "bool|none",
        "Credential Guard running",
    ),
    v("host.inventory.last_boot", "time|none", "LastBootUpTime"),
    v("host.inventory.cluster_name", "string|none", "ClusterName"),
    v(
        "host.inventory.error",
        "string|none",
        "why the collector could not read the host",
    ),
];

#[derive(Debug, Clone, Serialize)]
pub struct EntryBrief {
    pub value: String,
    pub class: Option<String>,
    pub target_host: Option<String>,
    pub resolved: bool,
    pub target: Option<String>,
    pub target_disabled: bool,
    pub classification: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrusteeView {
    pub sid: String,
    pub name: String,
    pub kind: String,
    pub via: Option<String>,
    pub broad: bool,
    pub hyperv_host: bool,
    pub same_group_host: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct InventoryView {
    pub computer_name: String,
    pub migration_enabled: Option<bool>,
    pub authentication_type: Option<&'static str>,
    pub performance_option: Option<String>,
    pub use_any_network: Option<bool>,
    pub maximum_migrations: Option<u32>,
    pub credential_guard_running: Option<bool>,
    pub last_boot: Option<String>,
    pub cluster_name: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostView {
    pub name: String,
    pub fqdn: Option<String>,
    pub dn: Option<String>,
    pub sid: Option<String>,
    pub in_directory: bool,
    pub enabled: bool,
    pub is_dc: bool,
    pub reasons: Vec<String>,
    pub candidate: bool,
    pub confirmed: bool,
    pub confirmed_by: Vec<String>,
    pub how_to_confirm: String,
    pub creator: Option<String>,
    pub creator_privileged_via: Option<String>,
    pub created_by_unprivileged: bool,
    pub owner: Option<String>,
    pub owner_is_creator: bool,
    pub refused_group: Option<String>,
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub os_build: Option<u32>,
    pub os_generation: &'static str,
    pub uac: u32,
    pub uac_names: Vec<&'static str>,
    pub protocol_transition: bool,
    pub unconstrained: bool,
    pub not_delegated: bool,
    pub group: Option<String>,
    pub cluster: Option<String>,
    pub peers: Vec<String>,
    pub non_cluster_peers: Vec<String>,
    pub storage: Vec<String>,
    pub delegations: Vec<EntryBrief>,
    pub migration_targets: Vec<String>,
    pub self_delegations: Vec<String>,
    pub kcd_only_migration_targets: Vec<String>,
    pub rbcd_present: bool,
    pub rbcd_allowed: Vec<TrusteeView>,
    pub rbcd_undecided: Vec<String>,
    pub rbcd_group_peers: Vec<String>,
    pub rbcd_granted_by: Vec<String>,
    pub delegation_changed: Option<String>,
    pub uac_changed: Option<String>,
    pub in_inventory: bool,
    pub inventory: Option<InventoryView>,
}

pub fn host_view(a: &Analysis, h: HostIdx) -> HostView {
    let host = &a.hosts[h];
    let computer = host.computer.map(|c| &a.snapshot.computers[c]);
    let uac = computer.map(|c| c.uac).unwrap_or_default();
    let group = host.group.map(|g| &a.groups[g]);
    let inventory = match (a.inventory, host.inventory) {
        (Some(inv), Some(row)) => {
            let r = &inv.hosts[row];
            Some(InventoryView {
                computer_name: r.computer_name.clone(),
                migration_enabled: r.migration_enabled,
                authentication_type: r.authentication_type.map(|t| match t {
                    MigrationAuth::CredSSP => "CredSSP",
                    MigrationAuth::Kerberos => "Kerberos",
                }),
                performance_option: r.performance_option.clone(),
                use_any_network: r.use_any_network,
                maximum_migrations: r.maximum_migrations,
                credential_guard_running: r.credential_guard_running,
                last_boot: r.last_boot.as_ref().map(fmt_time),
                cluster_name: r.cluster_name.clone(),
                error: r.error.clone(),
            })
        }
        _ => None,
    };
    let name_of = |i: HostIdx| a.hosts[i].name.clone();
    HostView {
        name: host.name.clone(),
        fqdn: host.fqdn.clone(),
        dn: host.dn.clone(),
        sid: host.sid.as_ref().map(|s| s.to_string()),
        in_directory: host.in_directory(),
        enabled: host.enabled,
        is_dc: host.is_dc,
        reasons: host.reasons.clone(),
        candidate: host.candidate,
        confirmed: host.confirmed(),
        confirmed_by: host.confirmed_by.clone(),
        how_to_confirm: host.how_to_confirm(),
        creator: host.creator.as_ref().map(|c| c.display()),
        creator_privileged_via: host.creator.as_ref().and_then(|c| c.privileged_via.clone()),
        created_by_unprivileged: host.created_by_unprivileged(),
        owner: computer
            .and_then(|c| c.owner_sid.as_ref())
            .map(|o| match a.index.by_sid(o) {
                Some(p) => format!("{} ({o})", principal_name(a.snapshot, p)),
                None => o.to_string(),
            }),
        owner_is_creator: host.creator.as_ref().is_some_and(|c| c.owner_is_creator),
        refused_group: host.refused_group.clone(),
        os: computer.and_then(|c| c.operating_system.clone()),
        os_version: computer.and_then(|c| c.operating_system_version.clone()),
        os_build: host.os_build,
        os_generation: host.os_generation.as_str(),
        uac: uac.0,
        uac_names: uac.names(),
        protocol_transition: uac.protocol_transition(),
        unconstrained: uac.unconstrained(),
        not_delegated: uac.not_delegated(),
        group: group.map(|g| g.name.clone()),
        cluster: host.cluster.clone(),
        peers: group
            .map(|g| {
                g.hosts
                    .iter()
                    .filter(|p| **p != h)
                    .map(|p| name_of(*p))
                    .collect()
            })
            .unwrap_or_default(),
        non_cluster_peers: group
            .map(|g| {
                g.hosts
                    .iter()
                    .filter(|p| **p != h && !a.same_cluster(h, **p))
                    .map(|p| name_of(*p))
                    .collect()
            })
            .unwrap_or_default(),
        storage: group
            .map(|g| g.storage.iter().map(|s| s.name.clone()).collect())
            .unwrap_or_default(),
        delegations: host
            .entries
            .iter()
            .map(|e| {
                let e = &a.entries[*e];
                let spn = e.spn.as_ref().ok();
                EntryBrief {
                    value: e.value.to_string(),
                    class: spn.map(|s| s.class.to_string()),
                    target_host: spn.map(|s| s.host.to_string()),
                    resolved: e.target.is_some(),
                    target: e.target.map(|t| principal_name(a.snapshot, t)),
                    target_disabled: e.target_disabled,
                    classification: e.classification.as_str(),
                }
            })
            .collect(),
        migration_targets: host.migration_targets.iter().map(|t| name_of(*t)).collect(),
        self_delegations: host
            .self_entries
            .iter()
            .map(|e| a.entries[*e].value.to_string())
            .collect(),
        kcd_only_migration_targets: host
            .migration_targets
            .iter()
            .filter(|t| !a.rbcd_covers(h, **t) && !a.same_cluster(h, **t))
            .map(|t| name_of(*t))
            .collect(),
        rbcd_present: host.rbcd.present,
        rbcd_allowed: host
            .rbcd
            .allowed
            .iter()
            .map(|t| {
                let th = match t.principal {
                    Some(Principal::Computer(c)) => a.host_by_computer.get(&c).copied(),
                    _ => None,
                };
                TrusteeView {
                    sid: t.sid.to_string(),
                    name: t.name.clone(),
                    kind: t.kind.clone(),
                    via: t.via.clone(),
                    broad: t.broad,
                    hyperv_host: th.is_some(),
                    same_group_host: th.is_some_and(|th| {
                        host.group.is_some() && a.hosts[th].group == host.group && th != h
                    }),
                }
            })
            .collect(),
        rbcd_undecided: host.rbcd.undecided.clone(),
        // Which peers migrate to this host through its RBCD today, however the descriptor
        // allows them: a fix that narrows the descriptor must keep exactly these (HV010), or
        // their migrations break. Confirmed hosts only: the script grants candidates nothing.
        rbcd_group_peers: match group {
            Some(g) if host.rbcd.present => g
                .hosts
                .iter()
                .filter(|p| **p != h && a.hosts[**p].confirmed() && a.rbcd_covers(**p, h))
                .map(|p| name_of(*p))
                .collect(),
            _ => Vec::new(),
        },
        rbcd_granted_by: host.rbcd_granted_by.iter().map(|t| name_of(*t)).collect(),
        delegation_changed: computer.and_then(|c| c.delegation_changed.as_ref().map(fmt_time)),
        uac_changed: computer.and_then(|c| c.uac_changed.as_ref().map(fmt_time)),
        in_inventory: host.inventory.is_some(),
        inventory,
    }
}
