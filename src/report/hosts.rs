//! The hosts view: one row per Hyper-V host (and per host the inventory names that the
//! directory lacks) with its settings, its delegation coverage, its findings and how many
//! peers it can migrate to and from. Shown in report.html, written as `hosts.csv` and in
//! findings.json (`hosts`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::HostSummary;
use crate::findings::{Finding, GroupReadiness, ReadinessState, Severity, Status};
use crate::inventory::{HostInventory, MigrationAuth};
use crate::model::Snapshot;

use super::SEVERITIES_DESC;

/// What the host inventory says about a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InventoryStatus {
    /// Its row was read.
    Read,
    /// Its row records that the collector could not read the host: its settings are unknown.
    Error,
    /// An inventory was given but has no row for it.
    Missing,
    /// No inventory (`--hosts`) was given.
    NotSupplied,
}

impl InventoryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InventoryStatus::Read => "read",
            InventoryStatus::Error => "error",
            InventoryStatus::Missing => "missing",
            InventoryStatus::NotSupplied => "not_supplied",
        }
    }
}

/// One host of the hosts view. `None` means "not known" (no inventory row, attribute not
/// read), never "no".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostRow {
    /// sAMAccountName without `$` (the inventory's name when the directory lacks the host).
    pub name: String,
    pub fqdn: Option<String>,
    pub group: Option<String>,
    pub cluster: Option<String>,
    /// `2012`, `2012 R2`, `2016`, `2019`, `2022`, `2025` or `unknown`.
    pub os: String,
    pub os_build: Option<u32>,
    /// Whether hvaudit trusts this computer as a Hyper-V host (true: named by the
    /// configuration or the inventory, not created by a non-privileged account; see
    /// [`HostSummary::confirmed`]) or it is only a candidate that claims to be one (false).
    /// None only in reports written by builds that did not tell them apart.
    #[serde(default)]
    pub confirmed: Option<bool>,
    pub in_directory: bool,
    pub enabled: bool,
    pub inventory: InventoryStatus,
    /// VirtualMachineMigrationEnabled.
    pub migration_enabled: Option<bool>,
    /// `Kerberos` or `CredSSP`.
    pub authentication_type: Option<String>,
    pub credential_guard: Option<bool>,
    /// TRUSTED_TO_AUTH_FOR_DELEGATION on its computer account; None when not in the directory.
    pub protocol_transition: Option<bool>,
    /// Peers of its migration group outside its cluster (pairs from this host that need
    /// delegation).
    pub peers: usize,
    /// Of those, the peers it has delegation to (no HV002/HV003 blocking the pair).
    pub peers_covered: usize,
    /// Last boot (inventory), UTC.
    pub last_boot: Option<DateTime<Utc>>,
    /// When msDS-AllowedToDelegateTo last changed (replPropertyMetaData), UTC.
    pub delegation_changed: Option<DateTime<Utc>>,
    /// Unsuppressed findings about this host (as the finding's object), every severity
    /// present.
    pub findings: BTreeMap<Severity, usize>,
    /// Peers it can migrate to / from (ready pairs).
    pub can_migrate_to: usize,
    pub can_migrate_from: usize,
    /// Pairs from it that are blocked / unknown.
    pub blocked_to: usize,
    pub unknown_to: usize,
}

impl HostRow {
    /// The delegation changed after the last boot: the host still uses its old tickets
    /// (HV014). None when either time is unknown.
    pub fn reboot_pending(&self) -> Option<bool> {
        Some(self.delegation_changed? > self.last_boot?)
    }

    /// Unsuppressed findings of every severity.
    pub fn finding_total(&self) -> usize {
        self.findings.values().sum()
    }

    /// Its worst unsuppressed finding's severity.
    pub fn worst(&self) -> Option<Severity> {
        SEVERITIES_DESC
            .iter()
            .copied()
            .find(|s| self.findings.get(s).copied().unwrap_or(0) > 0)
    }
}

/// The hosts view of an audit: `hosts` as the audit found them (sorted by name), enriched
/// from the snapshot, the inventory, the readiness matrix and the findings.
pub fn host_rows(
    hosts: &[HostSummary],
    snapshot: &Snapshot,
    inventory: Option<&HostInventory>,
    readiness: &[GroupReadiness],
    findings: &[Finding],
) -> Vec<HostRow> {
    let by_dn: HashMap<&str, usize> = snapshot
        .computers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.dn.as_str(), i))
        .collect();
    // Per host name (lower case): [to ready, from ready, to blocked, to unknown, peers,
    // peers covered].
    let mut pairs: HashMap<String, [usize; 6]> = HashMap::new();
    for g in readiness {
        for c in &g.cells {
            let from = pairs.entry(c.from.to_lowercase()).or_default();
            match c.state {
                ReadinessState::Ready => from[0] += 1,
                ReadinessState::Blocked => from[2] += 1,
                ReadinessState::Unknown => from[3] += 1,
            }
            if !c.same_cluster {
                from[4] += 1;
                if !c
                    .blocking_rules
                    .iter()
                    .any(|r| r == "HV002" || r == "HV003")
                {
                    from[5] += 1;
                }
            }
            if c.state == ReadinessState::Ready {
                pairs.entry(c.to.to_lowercase()).or_default()[1] += 1;
            }
        }
    }
    let mut by_host: HashMap<String, BTreeMap<Severity, usize>> = HashMap::new();
    for f in findings.iter().filter(|f| f.status != Status::Suppressed) {
        *by_host
            .entry(f.object.to_lowercase())
            .or_default()
            .entry(f.severity)
            .or_default() += 1;
    }
    hosts
        .iter()
        .map(|h| {
            let computer =
                h.dn.as_deref()
                    .and_then(|dn| by_dn.get(dn))
                    .map(|&i| &snapshot.computers[i]);
            // The row the analysis matched: a lookup by name here would scan every row for
            // every host (quadratic at thousands of hosts) and could match differently.
            let inv = inventory.and_then(|inv| h.inventory_row.and_then(|r| inv.hosts.get(r)));
            let status = match (inventory, inv) {
                (None, _) => InventoryStatus::NotSupplied,
                (Some(_), None) => InventoryStatus::Missing,
                (Some(_), Some(r)) if r.error.is_some() => InventoryStatus::Error,
                (Some(_), Some(_)) => InventoryStatus::Read,
            };
            let row_ok = inv.filter(|r| r.error.is_none());
            let p = pairs
                .get(&h.name.to_lowercase())
                .copied()
                .unwrap_or_default();
            let mut by_sev: BTreeMap<Severity, usize> =
                SEVERITIES_DESC.iter().map(|s| (*s, 0)).collect();
            if let Some(m) = by_host.get(&h.name.to_lowercase()) {
                for (s, n) in m {
                    *by_sev.entry(*s).or_default() += n;
                }
            }
            HostRow {
                name: h.name.clone(),
                fqdn: h.fqdn.clone(),
                group: h.group.clone(),
                cluster: h.cluster.clone(),
                os: h.os_generation.clone(),
                os_build: h.os_build,
                confirmed: Some(h.confirmed),
                in_directory: h.in_directory,
                enabled: h.enabled,
                inventory: status,
                migration_enabled: row_ok.and_then(|r| r.migration_enabled),
                authentication_type: row_ok.and_then(|r| r.authentication_type).map(|a| {
                    match a {
                        MigrationAuth::Kerberos => "Kerberos",
                        MigrationAuth::CredSSP => "CredSSP",
                    }
                    .to_string()
                }),
                credential_guard: row_ok.and_then(|r| r.credential_guard_running),
                protocol_transition: computer.map(|c| c.uac.protocol_transition()),
                peers: p[4],
                peers_covered: p[5],
                last_boot: row_ok.and_then(|r| r.last_boot),
                delegation_changed: computer.and_then(|c| c.delegation_changed),
                findings: by_sev,
                can_migrate_to: p[0],
                can_migrate_from: p[1],
                blocked_to: p[2],
                unknown_to: p[3],
            }
        })
        .collect()
}
