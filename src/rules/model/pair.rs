//! Scope `host_pair`: the `pair.*` variables and the views of peer and storage pairs.

use minijinja::Value;
use serde::Serialize;

use crate::analysis::{Analysis, GroupIdx, HostIdx, RbcdCoverage, Requester};

use super::{VarDoc, to_value, v};

/// The `pair.*` variables; `pair.from` / `pair.to` are host objects (see [`super::host::VARS`]).
pub const VARS: &[VarDoc] = &[
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
];

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

/// Facts of the ordered pair of hosts `from` -> `to`; `host_values` are the host views,
/// parallel to `Analysis::hosts`.
pub fn peer_pair_view(
    a: &Analysis,
    from: HostIdx,
    to: HostIdx,
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
        from: host_values[from.index()].clone(),
        to: host_values[to.index()].clone(),
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
    from: HostIdx,
    g: GroupIdx,
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
        from: host_values[from.index()].clone(),
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
