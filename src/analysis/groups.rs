//! Migration groups (who must be able to migrate to whom), clusters (who needs no KCD among
//! themselves) and the storage servers of each group.

use foldhash::HashMap;

use super::Index;
use super::hosts::HostFacts;
use super::ids::{ComputerIdx, GroupIdx, HostIdx};
use crate::config::{Config, GroupConfig};
use crate::inventory::HostInventory;

/// Name of the single group formed when the configuration defines none.
pub const DEFAULT_GROUP: &str = "all";

#[derive(Debug, Clone)]
pub struct MigrationGroup {
    pub name: String,
    /// Its hosts, in host order.
    pub hosts: Vec<HostIdx>,
    pub storage: Vec<StorageServer>,
}

/// A storage server (SOFS name) whose `cifs` every member of its group needs.
#[derive(Debug, Clone)]
pub struct StorageServer {
    /// As configured.
    pub name: String,
    /// The computer account it resolves to, if any.
    pub computer: Option<ComputerIdx>,
}

/// A configured group with its OU lower-cased once: every host is tested against every group,
/// so nothing may allocate per test.
struct Selector<'c> {
    g: &'c GroupConfig,
    ou: Option<String>,
}

/// `dn` is the host's DN, lower-cased.
fn matches(s: &Selector, dn: Option<&str>, h: &HostFacts) -> bool {
    let g = s.g;
    if let (Some(ou), Some(dn)) = (&s.ou, dn) {
        let child = dn.len() > ou.len()
            && dn.ends_with(ou.as_str())
            && dn.as_bytes()[dn.len() - ou.len() - 1] == b',';
        if dn == ou || child {
            return true;
        }
    }
    if let Some(m) = &g.name_matcher
        && m.is_match(&h.name)
    {
        return true;
    }
    g.hosts.iter().any(|n| {
        n.eq_ignore_ascii_case(&h.name)
            || h.fqdn.as_ref().is_some_and(|f| n.eq_ignore_ascii_case(f))
    })
}

/// Assigns each host its group and cluster; returns the groups.
pub fn assign(
    hosts: &mut [HostFacts],
    host_by_name: &HashMap<String, HostIdx>,
    inventory: Option<&HostInventory>,
    config: &Config,
    index: &Index,
    notes: &mut Vec<String>,
) -> Vec<MigrationGroup> {
    // Clusters first: configuration, then the inventory's ClusterName for the rest.
    for c in &config.clusters {
        for m in &c.members {
            match host_by_name.get(&m.to_lowercase()) {
                Some(&h) => match &hosts[h].cluster {
                    Some(other) => notes.push(format!(
                        "{} is a member of clusters {other} and {}; {other} is used",
                        hosts[h].name, c.name
                    )),
                    None => {
                        hosts[h].cluster = Some(c.name.clone());
                        hosts[h]
                            .confirmed_by
                            .push(format!("configuration ([[cluster]] {})", c.name));
                    }
                },
                None => notes.push(format!(
                    "[[cluster]] {} names '{m}', which is not a Hyper-V host",
                    c.name
                )),
            }
        }
    }
    if let Some(inv) = inventory {
        for h in hosts.iter_mut() {
            let Some(row) = h.inventory else { continue };
            let Some(cn) = inv.hosts[row]
                .cluster_name
                .as_ref()
                .filter(|c| !c.trim().is_empty())
            else {
                continue;
            };
            match &h.cluster {
                None => h.cluster = Some(cn.trim().to_string()),
                Some(c) if !c.eq_ignore_ascii_case(cn.trim()) => notes.push(format!(
                    "{}: configuration says cluster {c}, the inventory says {}; the configuration is used",
                    h.name,
                    cn.trim()
                )),
                Some(_) => {}
            }
        }
    }

    let eligible = |h: &HostFacts, notes: &mut Vec<String>| -> bool {
        if !h.in_directory() {
            notes.push(format!(
                "{} is in the host inventory but not in the directory: it is in no migration group",
                h.name
            ));
            false
        } else if !h.enabled {
            notes.push(format!(
                "{} is disabled in the directory: it is in no migration group",
                h.name
            ));
            false
        } else {
            true
        }
    };

    let mut groups: Vec<MigrationGroup> = if config.groups.is_empty() {
        vec![MigrationGroup {
            name: DEFAULT_GROUP.to_string(),
            hosts: Vec::new(),
            storage: Vec::new(),
        }]
    } else {
        config
            .groups
            .iter()
            .map(|g| MigrationGroup {
                name: g.name.clone(),
                hosts: Vec::new(),
                storage: g
                    .storage
                    .iter()
                    .map(|s| StorageServer {
                        name: s.clone(),
                        computer: index.computer(s),
                    })
                    .collect(),
            })
            .collect()
    };
    for g in &groups {
        for s in &g.storage {
            if s.computer.is_none() {
                notes.push(format!(
                    "storage server '{}' of group {} is not a computer in the directory",
                    s.name, g.name
                ));
            }
        }
    }

    let selectors: Vec<Selector> = config
        .groups
        .iter()
        .map(|g| Selector {
            g,
            ou: g.ou.as_ref().map(|o| o.to_lowercase()),
        })
        .collect();
    // Without configured groups, the default group holds the hosts an administrator confirmed
    // (inventory, extra_hyperv_hosts, clusters); only when nothing confirms any host do the
    // directory's candidates form it, each marked unconfirmed.
    let default_confirmed_only = config.groups.is_empty() && hosts.iter().any(|h| h.confirmed());
    for (i, h) in hosts.iter_mut().enumerate() {
        let i = HostIdx::new(i);
        if !eligible(h, notes) {
            continue;
        }
        if default_confirmed_only && !h.confirmed() && !h.created_by_unprivileged() {
            notes.push(format!(
                "{} is an unconfirmed Hyper-V host candidate ({}): it is in no migration group; {}",
                h.name,
                h.reasons.join("; "),
                h.how_to_confirm()
            ));
            continue;
        }
        let gi = if config.groups.is_empty() {
            Some(0)
        } else {
            let dn = h.dn.as_ref().map(|d| d.to_lowercase());
            let mut found = selectors
                .iter()
                .enumerate()
                .filter(|(_, s)| matches(s, dn.as_deref(), h))
                .map(|(gi, s)| (gi, s.g));
            let first = found.next().map(|(gi, _)| gi);
            let others: Vec<&str> = found.map(|(_, g)| g.name.as_str()).collect();
            match first {
                Some(f) if !others.is_empty() => notes.push(format!(
                    "{} matches groups {} and {}; {} is used",
                    h.name,
                    config.groups[f].name,
                    others.join(", "),
                    config.groups[f].name
                )),
                None => notes.push(format!("{} matches no configured [[group]]", h.name)),
                _ => {}
            }
            first
        };
        // A non-privileged account created it through MachineAccountQuota: whatever names it
        // a host (its own SPNs, a name glob it was named to match), it joins no group.
        if h.created_by_unprivileged() {
            let creator = h.creator.as_ref().map(|c| c.display()).unwrap_or_default();
            match gi {
                Some(gi) if !config.groups.is_empty() => {
                    h.refused_group = Some(config.groups[gi].name.clone());
                    notes.push(format!(
                        "{} matches [[group]] {} but was created by the non-privileged account \
                         {creator} (mS-DS-CreatorSID): it is in no migration group",
                        h.name, config.groups[gi].name
                    ));
                }
                _ => notes.push(format!(
                    "{} was created by the non-privileged account {creator} \
                     (mS-DS-CreatorSID): it is in no migration group",
                    h.name
                )),
            }
            continue;
        }
        if let Some(gi) = gi {
            h.group = Some(GroupIdx::new(gi));
            groups[gi].hosts.push(i);
            if !config.groups.is_empty() {
                h.confirmed_by.push(format!(
                    "configuration ([[group]] {})",
                    config.groups[gi].name
                ));
            } else if !h.confirmed() {
                notes.push(format!(
                    "{} is an unconfirmed Hyper-V host candidate ({}): {}",
                    h.name,
                    h.reasons.join("; "),
                    h.how_to_confirm()
                ));
            }
        }
    }
    // A listed name that selects no host is said, like storage names: outside the domain, not
    // a Hyper-V host, or not in the directory at all.
    let domain = index.domain_dns();
    for g in &config.groups {
        for n in &g.hosts {
            if host_by_name.contains_key(&n.to_lowercase()) {
                continue;
            }
            notes.push(unmatched_name_note(&g.name, n, domain, index));
        }
    }
    groups
}

/// Why a name listed in `[[group]] hosts` selects no host.
fn unmatched_name_note(group: &str, name: &str, domain: &str, index: &Index) -> String {
    if index.external_domain(name.trim()).is_some() {
        return format!(
            "[[group]] {group} names '{name}', a host outside the audited domain {domain}: \
             classic constrained delegation does not cross domains; audit its own domain, and \
             use resource-based delegation (RBCD) on the destination for migrations across domains"
        );
    }
    match index.computer(name) {
        Some(_) => format!(
            "[[group]] {group} names '{name}', a computer that is not a Hyper-V host (no Hyper-V \
             SPN, service connection point or inventory row)"
        ),
        None => {
            format!("[[group]] {group} names '{name}', which is not a computer in the directory")
        }
    }
}
