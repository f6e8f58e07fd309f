//! The evaluation model: the variables each rule scope sees. Every variable is listed in
//! [`VARIABLES`] (the source of `docs/rules.md`'s model section, and what rule loading checks
//! rule expressions against), and built here from the [`Analysis`].

use chrono::{DateTime, Utc};
use minijinja::Value;
use serde::Serialize;

use crate::analysis::hosts::serde_kind;
use crate::analysis::{Analysis, Principal, RbcdCoverage, Requester, principal_dn, principal_name};
use crate::findings::Scope;
use crate::inventory::MigrationAuth;

/// Timestamps are rendered as fixed-width UTC strings so rules can compare them as strings.
pub fn fmt_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A view as a template value; its fields are converted only when an expression reads them
/// (see [`super::lazy`]).
pub fn to_value<T: Serialize + Send + Sync + 'static>(t: T) -> Value {
    super::lazy::View::value(t)
}

/// The name a scope's object has in expressions.
pub fn scope_var(scope: Scope) -> &'static str {
    match scope {
        Scope::Scan => "scan",
        Scope::Host => "host",
        Scope::HostPair => "pair",
        Scope::DelegationEntry => "entry",
        Scope::Account => "account",
    }
}

pub fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Scan => "scan",
        Scope::Host => "host",
        Scope::HostPair => "host_pair",
        Scope::DelegationEntry => "delegation_entry",
        Scope::Account => "account",
    }
}

pub fn parse_scope(s: &str) -> Option<Scope> {
    Some(match s {
        "scan" => Scope::Scan,
        "host" => Scope::Host,
        "host_pair" => Scope::HostPair,
        "delegation_entry" => Scope::DelegationEntry,
        "account" => Scope::Account,
        _ => return None,
    })
}

pub const ALL_SCOPES: [Scope; 5] = [
    Scope::Scan,
    Scope::Host,
    Scope::HostPair,
    Scope::DelegationEntry,
    Scope::Account,
];

/// One documented variable: its dotted path (`[]` marks list items), type and meaning.
pub struct VarDoc {
    pub path: &'static str,
    pub ty: &'static str,
    pub doc: &'static str,
}

const fn v(path: &'static str, ty: &'static str, doc: &'static str) -> VarDoc {
    VarDoc { path, ty, doc }
}

/// Every variable a rule can use. `pair.from` and `pair.to` are host objects (all `host.*`
/// fields), except that `pair.to` of a storage pair has only the fields listed for it.
pub const VARIABLES: &[VarDoc] = &[
    // scan: visible in every scope
    v("scan.domain", "string", "DNS name of the domain"),
    v("scan.source_kind", "string", "`ldap` or `ldif`"),
    v("scan.source", "string", "server URL or LDIF path"),
    v(
        "scan.collected_at",
        "time",
        "when the snapshot was collected",
    ),
    v("scan.now", "time", "the audit's clock"),
    v(
        "scan.complete",
        "bool",
        "no gaps and no inventory row with an error",
    ),
    v(
        "scan.gaps",
        "list",
        "everything the collector could not read",
    ),
    v("scan.gaps[].what", "string", "what could not be read"),
    v("scan.gaps[].reason", "string", "why"),
    v(
        "scan.inventory_supplied",
        "bool",
        "a host inventory was given",
    ),
    v("scan.inventory_source", "string|none", "the inventory file"),
    v(
        "scan.inventory_errors",
        "list",
        "inventory rows the collector could not read",
    ),
    v(
        "scan.inventory_errors[].host",
        "string",
        "ComputerName of the row",
    ),
    v(
        "scan.inventory_errors[].error",
        "string",
        "the row's Error column",
    ),
    v(
        "scan.tls_verification_disabled",
        "bool",
        "the LDAP scan did not verify the certificate",
    ),
    v(
        "scan.notes",
        "list of string",
        "facts that are not findings (host in no group, unknown configured names...)",
    ),
    v(
        "scan.functional_level",
        "int|none",
        "domain functional level (msDS-Behavior-Version of the domain: 6 = 2012 R2, 7 = 2016)",
    ),
    v("scan.host_count", "int", "Hyper-V hosts found"),
    v(
        "scan.confirmed_host_count",
        "int",
        "hosts an administrator confirmed (`host.confirmed`)",
    ),
    v("scan.group_count", "int", "migration groups"),
    // host
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
    // pair
    v(
        "pair.kind",
        "string",
        "`peer` (host to host of its group) or `storage` (host to a storage server of its group)",
    ),
    v("pair.group", "string|none", "migration group"),
    v(
        "pair.from",
        "host",
        "the source host (every `host.*` field)",
    ),
    v(
        "pair.to",
        "host",
        "the destination host (every `host.*` field); for `storage`, only name, fqdn, dn, in_directory",
    ),
    v(
        "pair.to.name",
        "string",
        "destination name (storage: as configured)",
    ),
    v("pair.to.fqdn", "string|none", "destination dNSHostName"),
    v("pair.to.dn", "string|none", "destination DN"),
    v("pair.to.in_directory", "bool", "destination has an account"),
    v(
        "pair.to.confirmed",
        "bool",
        "destination confirmed by an administrator (a storage server is: it is configured)",
    ),
    v(
        "pair.same_cluster",
        "bool",
        "both hosts are in the same failover cluster",
    ),
    v(
        "pair.has_migration",
        "bool",
        "from delegates `Microsoft Virtual System Migration Service` of to (either form)",
    ),
    v("pair.has_migration_fqdn", "bool", "... by FQDN"),
    v("pair.has_migration_netbios", "bool", "... by NetBIOS name"),
    v(
        "pair.has_cifs",
        "bool",
        "from delegates `cifs` of to (either form)",
    ),
    v("pair.has_cifs_fqdn", "bool", "... by FQDN"),
    v("pair.has_cifs_netbios", "bool", "... by NetBIOS name"),
    v(
        "pair.rbcd_covers",
        "bool",
        "to's RBCD is known to let from delegate to every service of to",
    ),
    v(
        "pair.rbcd_unknown",
        "bool",
        "whether to's RBCD lets from delegate cannot be decided (an ACE or a group membership hvaudit cannot evaluate); `rbcd_covers` is then false",
    ),
    v(
        "pair.missing_migration",
        "bool",
        "peer pair with neither the migration service delegated nor RBCD cover (false when RBCD is undecided: `rbcd_unknown`)",
    ),
    v(
        "pair.missing_cifs",
        "bool",
        "neither cifs delegated nor RBCD cover (false when RBCD is undecided)",
    ),
    v(
        "pair.missing_forms",
        "list of string",
        "SPNs of to delegated in one form (NetBIOS or FQDN) but not the other: the missing form",
    ),
    v(
        "pair.missing_form_kinds",
        "list of string",
        "the name forms (`netbios`, `fqdn`, and in a check addressed by CN, `cn`) under which the migration service or cifs of to is not delegated while the other form is (no RBCD cover)",
    ),
    // entry
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
    // account
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
    // check: only in `blocks`
    v(
        "check.from",
        "string",
        "readiness check: source host name (as `host.name`)",
    ),
    v(
        "check.to",
        "string",
        "readiness check: destination host name",
    ),
    v(
        "check.operator",
        "string|none",
        "readiness check: sAMAccountName of the operator, if given",
    ),
    v(
        "check.form",
        "string",
        "readiness check: the name form the destination is addressed by (`netbios`, `fqdn` or `cn`): Kerberos asks for the SPN in that form",
    ),
];

/// Top-level variables an expression of this scope may use (`check` only in `blocks`).
pub fn allowed_roots(scope: Scope, in_blocks: bool) -> Vec<&'static str> {
    let mut v = vec!["scan"];
    if scope != Scope::Scan {
        v.push(scope_var(scope));
    }
    if in_blocks {
        v.push("check");
    }
    v
}

fn strip_items(path: &str) -> String {
    path.replace("[]", "")
}

/// Checks a dotted variable path (as minijinja reports it) against the documentation.
/// `Err` carries the reason.
pub fn check_path(path: &str, roots: &[&str]) -> Result<(), String> {
    let root = path.split('.').next().unwrap_or(path);
    if !roots.contains(&root) {
        return Err(format!(
            "unknown variable '{root}' (this scope sees: {})",
            roots.join(", ")
        ));
    }
    // pair.from.x / pair.to.x are host fields.
    let canonical = if let Some(rest) = path
        .strip_prefix("pair.from.")
        .or_else(|| path.strip_prefix("pair.to."))
    {
        if VARIABLES
            .iter()
            .any(|d| d.path == format!("pair.to.{rest}"))
        {
            path.to_string()
        } else {
            format!("host.{rest}")
        }
    } else {
        path.to_string()
    };
    let ok = VARIABLES.iter().any(|d| {
        let doc = strip_items(d.path);
        // exact, a prefix of a documented path, or a documented leaf with a method call after
        doc == canonical
            || doc.starts_with(&format!("{canonical}."))
            || canonical.starts_with(&format!("{doc}."))
    });
    if ok {
        Ok(())
    } else {
        Err(format!("unknown variable '{path}' (see docs/rules.md)"))
    }
}

/// The model section of `docs/rules.md`, generated from [`VARIABLES`].
pub fn variables_markdown() -> String {
    let mut out = String::new();
    let sections = [
        ("scan", "`scan` (every scope)"),
        ("host", "`host` (scope `host`)"),
        ("pair", "`pair` (scope `host_pair`)"),
        ("entry", "`entry` (scope `delegation_entry`)"),
        ("account", "`account` (scope `account`)"),
        ("check", "`check` (only in `blocks`)"),
    ];
    for (root, title) in sections {
        out.push_str(&format!(
            "### {title}\n\n| variable | type | meaning |\n|---|---|---|\n"
        ));
        for d in VARIABLES
            .iter()
            .filter(|d| d.path.split('.').next() == Some(root))
        {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                d.path,
                d.ty,
                d.doc.replace('|', "\\|")
            ));
        }
        out.push('\n');
    }
    out
}

// ---- views: what the variables are built from ----

#[derive(Debug, Clone, Serialize)]
pub struct GapView {
    pub what: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InventoryErrorView {
    pub host: String,
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanView {
    pub domain: String,
    pub source_kind: String,
    pub source: String,
    pub collected_at: String,
    pub now: String,
    pub complete: bool,
    pub gaps: Vec<GapView>,
    pub inventory_supplied: bool,
    pub inventory_source: Option<String>,
    pub inventory_errors: Vec<InventoryErrorView>,
    pub tls_verification_disabled: bool,
    pub notes: Vec<String>,
    pub functional_level: Option<u32>,
    pub host_count: usize,
    pub confirmed_host_count: usize,
    pub group_count: usize,
}

pub fn scan_view(a: &Analysis, now: DateTime<Utc>) -> ScanView {
    let s = a.snapshot;
    ScanView {
        domain: s.domain.dns_name.clone(),
        source_kind: s.meta.source_kind.clone(),
        source: s.meta.source.clone(),
        collected_at: fmt_time(&s.meta.collected_at),
        now: fmt_time(&now),
        complete: a.complete(),
        gaps: s
            .meta
            .gaps
            .iter()
            .map(|g| GapView {
                what: g.what.clone(),
                reason: g.reason.clone(),
            })
            .collect(),
        inventory_supplied: a.inventory.is_some(),
        inventory_source: a.inventory.map(|i| i.source.clone()),
        inventory_errors: a
            .inventory_errors
            .iter()
            .map(|(h, e)| InventoryErrorView {
                host: h.clone(),
                error: e.clone(),
            })
            .collect(),
        tls_verification_disabled: s.meta.tls_verification_disabled,
        notes: a.notes.clone(),
        functional_level: s.domain.functional_level,
        host_count: a.hosts.len(),
        confirmed_host_count: a.hosts.iter().filter(|h| h.confirmed()).count(),
        group_count: a.groups.len(),
    }
}

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
    pub rbcd_granted_by: Vec<String>,
    pub delegation_changed: Option<String>,
    pub uac_changed: Option<String>,
    pub in_inventory: bool,
    pub inventory: Option<InventoryView>,
}

pub fn host_view(a: &Analysis, h: usize) -> HostView {
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
    let name_of = |i: usize| a.hosts[i].name.clone();
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
        rbcd_granted_by: host.rbcd_granted_by.iter().map(|t| name_of(*t)).collect(),
        delegation_changed: computer.and_then(|c| c.delegation_changed.as_ref().map(fmt_time)),
        uac_changed: computer.and_then(|c| c.uac_changed.as_ref().map(fmt_time)),
        in_inventory: host.inventory.is_some(),
        inventory,
    }
}

/// The destination of a storage pair.
#[derive(Debug, Clone, Serialize)]
pub struct StorageView {
    pub name: String,
    pub fqdn: Option<String>,
    pub dn: Option<String>,
    pub in_directory: bool,
    /// Always true: the storage server is named by the configuration.
    pub confirmed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairView {
    pub kind: &'static str,
    pub group: Option<String>,
    pub from: Value,
    pub to: Value,
    pub same_cluster: bool,
    pub has_migration: bool,
    pub has_migration_fqdn: bool,
    pub has_migration_netbios: bool,
    pub has_cifs: bool,
    pub has_cifs_fqdn: bool,
    pub has_cifs_netbios: bool,
    pub rbcd_covers: bool,
    pub rbcd_unknown: bool,
    pub missing_migration: bool,
    pub missing_cifs: bool,
    pub missing_forms: Vec<String>,
    pub missing_form_kinds: Vec<&'static str>,
}

/// The name forms (`netbios`, `fqdn`) missing from a one-form delegation, for `blocks`.
fn missing_form_kinds(pairs: &[(bool, bool)], rbcd: bool) -> Vec<&'static str> {
    let mut out = Vec::new();
    if rbcd {
        return out;
    }
    for &(fqdn_set, netbios_set) in pairs {
        if fqdn_set && !netbios_set && !out.contains(&"netbios") {
            out.push("netbios");
        }
        if netbios_set && !fqdn_set && !out.contains(&"fqdn") {
            out.push("fqdn");
        }
    }
    out
}

fn missing_forms(
    class: &str,
    fqdn_set: bool,
    netbios_set: bool,
    name: &str,
    fqdn: Option<&str>,
    out: &mut Vec<String>,
) {
    match (fqdn_set, netbios_set) {
        (true, false) => out.push(format!("{class}/{name}")),
        (false, true) => {
            if let Some(f) = fqdn {
                out.push(format!("{class}/{f}"));
            }
        }
        _ => {}
    }
}

/// Facts of the ordered pair `from` -> `to` (host indexes); `host_values` are the host views.
pub fn peer_pair_view(
    a: &Analysis,
    from: usize,
    to: usize,
    group: Option<&str>,
    host_values: &[Value],
) -> PairView {
    let f = a.hosts[to]
        .computer
        .and_then(|c| a.hosts[from].forms.get(&c).copied())
        .unwrap_or_default();
    let coverage = a.rbcd_coverage(from, to);
    let rbcd = coverage == RbcdCoverage::Covers;
    let t = &a.hosts[to];
    let mut forms = Vec::new();
    missing_forms(
        crate::analysis::spn::MIGRATION_CLASS,
        f.migration_fqdn,
        f.migration_netbios,
        &t.name,
        t.fqdn.as_deref(),
        &mut forms,
    );
    missing_forms(
        "cifs",
        f.cifs_fqdn,
        f.cifs_netbios,
        &t.name,
        t.fqdn.as_deref(),
        &mut forms,
    );
    let has_migration = f.migration_fqdn || f.migration_netbios;
    let has_cifs = f.cifs_fqdn || f.cifs_netbios;
    PairView {
        kind: "peer",
        group: group.map(str::to_string),
        from: host_values[from].clone(),
        to: host_values[to].clone(),
        same_cluster: a.same_cluster(from, to),
        has_migration,
        has_migration_fqdn: f.migration_fqdn,
        has_migration_netbios: f.migration_netbios,
        has_cifs,
        has_cifs_fqdn: f.cifs_fqdn,
        has_cifs_netbios: f.cifs_netbios,
        rbcd_covers: rbcd,
        rbcd_unknown: coverage == RbcdCoverage::Unknown,
        // Undecided RBCD may cover the pair: not known to be missing (readiness says unknown).
        missing_migration: !has_migration && !rbcd && coverage != RbcdCoverage::Unknown,
        missing_cifs: !has_cifs && !rbcd && coverage != RbcdCoverage::Unknown,
        missing_forms: forms,
        missing_form_kinds: missing_form_kinds(
            &[
                (f.migration_fqdn, f.migration_netbios),
                (f.cifs_fqdn, f.cifs_netbios),
            ],
            coverage != RbcdCoverage::DoesNot,
        ),
    }
}

/// Facts of host `from` -> storage server `s` of group `g`.
pub fn storage_pair_view(
    a: &Analysis,
    from: usize,
    g: usize,
    s: usize,
    host_values: &[Value],
) -> PairView {
    let group = &a.groups[g];
    let storage = &group.storage[s];
    let host = &a.hosts[from];
    let computer = storage.computer.map(|c| &a.snapshot.computers[c]);
    let fqdn = computer.and_then(|c| c.dns_host_name.clone());
    let (cifs_fqdn, cifs_netbios) = match storage.computer.and_then(|c| host.forms.get(&c)) {
        Some(f) => (f.cifs_fqdn, f.cifs_netbios),
        None => {
            // Not resolvable: match the configured name against the cifs host parts.
            let key = storage.name.to_lowercase();
            let hit = host.cifs_hosts.contains(&key);
            (hit && key.contains('.'), hit && !key.contains('.'))
        }
    };
    let coverage = match (computer, host.sid.as_ref()) {
        (Some(c), Some(sid)) => crate::analysis::hosts::RbcdFacts::build(c, a.snapshot, &a.index)
            .coverage(&Requester {
                sid,
                dn: host.dn.as_deref(),
                is_computer: host.computer.is_some(),
            }),
        _ => RbcdCoverage::DoesNot,
    };
    let rbcd = coverage == RbcdCoverage::Covers;
    let name = computer
        .map(|c| {
            c.sam_account_name
                .strip_suffix('$')
                .unwrap_or(&c.sam_account_name)
                .to_string()
        })
        .unwrap_or_else(|| storage.name.clone());
    let mut forms = Vec::new();
    if computer.is_some() {
        missing_forms(
            "cifs",
            cifs_fqdn,
            cifs_netbios,
            &name,
            fqdn.as_deref(),
            &mut forms,
        );
    }
    let has_cifs = cifs_fqdn || cifs_netbios;
    PairView {
        kind: "storage",
        group: Some(group.name.clone()),
        from: host_values[from].clone(),
        to: to_value(StorageView {
            name,
            fqdn,
            dn: computer.map(|c| c.dn.clone()),
            in_directory: computer.is_some(),
            confirmed: true,
        }),
        same_cluster: false,
        has_migration: false,
        has_migration_fqdn: false,
        has_migration_netbios: false,
        has_cifs,
        has_cifs_fqdn: cifs_fqdn,
        has_cifs_netbios: cifs_netbios,
        rbcd_covers: rbcd,
        rbcd_unknown: coverage == RbcdCoverage::Unknown,
        missing_migration: false,
        missing_cifs: !has_cifs && !rbcd && coverage != RbcdCoverage::Unknown,
        missing_forms: forms,
        missing_form_kinds: if computer.is_some() {
            missing_form_kinds(
                &[(cifs_fqdn, cifs_netbios)],
                coverage != RbcdCoverage::DoesNot,
            )
        } else {
            Vec::new()
        },
    }
}

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
pub struct EntryView {
    pub value: String,
    pub valid: bool,
    pub parse_error: Option<String>,
    pub class: Option<String>,
    pub target_host: Option<String>,
    pub port: Option<u16>,
    pub service_name: Option<String>,
    pub resolved: bool,
    pub target: Option<String>,
    pub target_dn: Option<String>,
    pub target_kind: Option<&'static str>,
    pub target_disabled: bool,
    pub target_is_dc: bool,
    pub target_is_hyperv_host: bool,
    pub target_group: Option<String>,
    pub target_confirmed: Option<bool>,
    pub classification: &'static str,
    pub defect: Option<String>,
    pub intended: Option<String>,
    pub targets_self: bool,
    pub target_is_domain: bool,
    pub external_domain: Option<String>,
    /// An [`OwnerView`]; one value shared by all entries of an owner (see
    /// [`entry_view_with_owner`]).
    pub owner: Value,
}

fn principal_kind(a: &Analysis, p: Principal) -> &'static str {
    match p {
        Principal::Computer(_) => "computer",
        Principal::Account(i) => serde_kind(a.snapshot.accounts[i].kind),
        Principal::Group(_) => "group",
    }
}

fn host_of(a: &Analysis, p: Principal) -> Option<usize> {
    match p {
        Principal::Computer(c) => a.host_by_computer.get(&c).copied(),
        _ => None,
    }
}

/// The migration group name of host `h`, if it is in one.
pub fn group_name(a: &Analysis, h: Option<usize>) -> Option<String> {
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

pub fn entry_view(a: &Analysis, e: usize) -> EntryView {
    let owner = to_value(owner_view(a, a.entries[e].owner));
    entry_view_with_owner(a, e, owner)
}

/// [`entry_view`] with the owner's value given: an account with many entries (a Hyper-V host
/// has four per peer) builds its owner once.
pub fn entry_view_with_owner(a: &Analysis, e: usize, owner: Value) -> EntryView {
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
        defect: e.defect.clone(),
        intended: e
            .defect
            .as_ref()
            .and_then(|_| crate::analysis::targets::intended_value(e.value)),
        targets_self: e.targets_self,
        target_is_domain: e.target_is_domain,
        external_domain: e.external_domain.clone(),
        owner,
    }
}

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
pub fn account_view(a: &Analysis, i: usize, as_operator: bool) -> AccountView {
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
