//! Hyper-V host discovery (with the reasons each host was recognised) and each host's
//! delegation facts: what it delegates to, and who its RBCD trusts.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::ids::{ComputerIdx, EntryIdx, GroupIdx, HostIdx};
use super::os::OsGeneration;
use super::spn::Spn;
use super::targets::{Classification, DelegationEntry};
use super::{Index, Principal};
use crate::config::Config;
use crate::inventory::HostInventory;
use crate::model::{Computer, Sid, Snapshot, os_build};

pub(crate) use super::rbcd::serde_kind;
pub use super::rbcd::{RbcdCoverage, RbcdFacts, RbcdTrusteeFacts, Requester};

/// Which forms (NetBIOS, FQDN) of a peer a host delegates the migration service and cifs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DelegationForms {
    pub migration_fqdn: bool,
    pub migration_netbios: bool,
    pub cifs_fqdn: bool,
    pub cifs_netbios: bool,
}

/// Who created a host's computer account through ms-DS-MachineAccountQuota
/// (`mS-DS-CreatorSID`), and whether that account is privileged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatorFacts {
    /// The creator's SID.
    pub sid: Sid,
    /// Its name when the snapshot holds it (sAMAccountName, without `$` for computers).
    pub name: Option<String>,
    /// How it is privileged (a privileged group by SID, the RID-500 account, a domain
    /// controller); None when it is not known to be privileged (unknown SIDs included).
    pub privileged_via: Option<String>,
    /// The owner of the account's security descriptor is the creator itself.
    pub owner_is_creator: bool,
}

impl CreatorFacts {
    /// `name (SID)`, or the SID alone when the snapshot does not hold the creator.
    pub fn display(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.sid),
            None => format!("{} (not in the directory)", self.sid),
        }
    }
}

/// A Hyper-V host: a computer account recognised as one, or an inventory row naming a host
/// the directory does not hold.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// sAMAccountName without `$`; the inventory's ComputerName when not in the directory.
    pub name: String,
    pub fqdn: Option<String>,
    pub dn: Option<String>,
    pub sid: Option<Sid>,
    /// Its computer account; None when only the inventory names the host.
    pub computer: Option<ComputerIdx>,
    /// Why it is considered a Hyper-V host, one line per reason.
    pub reasons: Vec<String>,
    /// The directory says it is one (a Hyper-V SPN or a `CN=Microsoft Hyper-V` SCP): a claim
    /// the account's creator or owner can make, which proves nothing.
    pub candidate: bool,
    /// What an administrator controls that names it a host, one line each: a configured
    /// `[[group]]` (OU, list or glob), `extra_hyperv_hosts`, a `[[cluster]]`, or a row of the
    /// host inventory (the collector ran on it).
    pub confirmed_by: Vec<String>,
    /// Who created the account through ms-DS-MachineAccountQuota, if anyone.
    pub creator: Option<CreatorFacts>,
    /// A configured `[[group]]` that matched the host but was refused because a
    /// non-privileged account created it.
    pub refused_group: Option<String>,
    pub os_build: Option<u32>,
    pub os_generation: OsGeneration,
    pub enabled: bool,
    pub is_dc: bool,
    /// Index in the inventory's rows.
    pub inventory: Option<usize>,
    /// Its migration group, if any.
    pub group: Option<GroupIdx>,
    pub cluster: Option<String>,
    /// This host's msDS-AllowedToDelegateTo values.
    pub entries: Vec<EntryIdx>,
    /// Per target computer: which forms of the migration service and cifs are delegated.
    pub forms: HashMap<ComputerIdx, DelegationForms>,
    /// Lower-cased host parts of `cifs` entries, for storage servers the directory lacks.
    pub cifs_hosts: HashSet<String>,
    /// Hosts this host delegates the migration service to (exact NetBIOS or FQDN values only;
    /// never itself).
    pub migration_targets: Vec<HostIdx>,
    /// Its values naming the host itself: no peer is reached.
    pub self_entries: Vec<EntryIdx>,
    /// Hosts whose RBCD lets this host delegate to them.
    pub rbcd_granted_by: Vec<HostIdx>,
    pub rbcd: RbcdFacts,
}

impl HostFacts {
    fn from_computer(i: ComputerIdx, c: &Computer, index: &Index) -> HostFacts {
        let build = c.operating_system_version.as_deref().and_then(os_build);
        HostFacts {
            name: c
                .sam_account_name
                .strip_suffix('$')
                .unwrap_or(&c.sam_account_name)
                .to_string(),
            fqdn: c.dns_host_name.clone(),
            dn: Some(c.dn.clone()),
            sid: c.sid.clone(),
            computer: Some(i),
            reasons: Vec::new(),
            candidate: false,
            confirmed_by: Vec::new(),
            creator: None,
            refused_group: None,
            os_build: build,
            os_generation: OsGeneration::from_build(build),
            enabled: !c.uac.disabled(),
            is_dc: index.computer_is_dc(i),
            inventory: None,
            group: None,
            cluster: None,
            entries: Vec::new(),
            forms: HashMap::new(),
            cifs_hosts: HashSet::new(),
            migration_targets: Vec::new(),
            self_entries: Vec::new(),
            rbcd_granted_by: Vec::new(),
            rbcd: RbcdFacts::default(),
        }
    }

    pub fn in_directory(&self) -> bool {
        self.computer.is_some()
    }

    /// Created through ms-DS-MachineAccountQuota by an account not known to be privileged:
    /// whoever did can make it claim anything, so it is in no migration group.
    pub fn created_by_unprivileged(&self) -> bool {
        self.creator
            .as_ref()
            .is_some_and(|c| c.privileged_via.is_none())
    }

    /// An administrator-controlled source names it a host, and no non-privileged account
    /// created it: only such hosts are granted delegation by the remediation script.
    pub fn confirmed(&self) -> bool {
        !self.confirmed_by.is_empty() && !self.created_by_unprivileged()
    }

    /// How an administrator confirms a candidate, for notes, findings and the script.
    pub fn how_to_confirm(&self) -> String {
        format!(
            "confirm {} by naming it in a [[group]] of the configuration (ou, hosts or \
             name glob) or in extra_hyperv_hosts, or by its row in the host inventory (--hosts)",
            self.name
        )
    }
}

/// Fills each directory host's [`CreatorFacts`] from mS-DS-CreatorSID and the owner of its
/// security descriptor. A creator is privileged when its SID is a privileged group's, or it is
/// an account `accounts` finds privileged (group membership by SID, the RID-500 account), or a
/// domain controller; a SID the snapshot does not hold is not known to be privileged.
pub fn creators(
    hosts: &mut [HostFacts],
    snapshot: &Snapshot,
    index: &Index,
    accounts: &[super::AccountFacts],
    config: &Config,
) {
    for h in hosts.iter_mut() {
        let Some(c) = h.computer.map(|c| &snapshot.computers[c]) else {
            continue;
        };
        let Some(sid) = &c.creator_sid else { continue };
        let p = index.by_sid(sid);
        let privileged_via =
            if super::privileged::is_privileged_group(sid, &config.extra_privileged_groups) {
                Some("a privileged group".to_string())
            } else {
                match p {
                    Some(Principal::Account(i)) if !accounts[i].privileged_via.is_empty() => {
                        Some(accounts[i].privileged_via.join("; "))
                    }
                    Some(Principal::Computer(i)) if index.computer_is_dc(i) => {
                        Some("domain controller".to_string())
                    }
                    _ => None,
                }
            };
        h.creator = Some(CreatorFacts {
            sid: sid.clone(),
            name: p.map(|p| super::principal_name(snapshot, p)),
            privileged_via,
            owner_is_creator: c.owner_sid.as_ref() == Some(sid),
        });
    }
}

/// Finds the Hyper-V hosts, sorted by name.
pub fn discover(
    snapshot: &Snapshot,
    inventory: Option<&HostInventory>,
    config: &Config,
    index: &Index,
    notes: &mut Vec<String>,
) -> Vec<HostFacts> {
    let mut hosts: Vec<HostFacts> = Vec::new();
    let mut by_computer: HashMap<ComputerIdx, usize> = HashMap::new();
    let mut host_for = |i: ComputerIdx, hosts: &mut Vec<HostFacts>| -> usize {
        *by_computer.entry(i).or_insert_with(|| {
            hosts.push(HostFacts::from_computer(i, &snapshot.computers[i], index));
            hosts.len() - 1
        })
    };

    for (i, c) in snapshot.computers.iter().enumerate() {
        let i = ComputerIdx::new(i);
        let mut reasons = Vec::new();
        let mut classes_seen: Vec<String> = Vec::new();
        for s in &c.spns {
            if let Ok(spn) = Spn::parse(s)
                && spn.is_hyperv_class()
                && !classes_seen.iter().any(|k| spn.class_is(k))
            {
                classes_seen.push(spn.class.to_string());
                reasons.push(format!("SPN {s}"));
            }
        }
        if c.hyperv_scp {
            reasons.push("serviceConnectionPoint CN=Microsoft Hyper-V".to_string());
        }
        if !reasons.is_empty() {
            let h = host_for(i, &mut hosts);
            hosts[h].reasons.extend(reasons);
            hosts[h].candidate = true;
        }
    }

    for name in &config.extra_hyperv_hosts {
        match index.computer(name) {
            Some(i) => {
                let h = host_for(i, &mut hosts);
                hosts[h]
                    .reasons
                    .push("configuration (extra_hyperv_hosts)".to_string());
                hosts[h]
                    .confirmed_by
                    .push("configuration (extra_hyperv_hosts)".to_string());
            }
            None => notes.push(format!(
                "extra_hyperv_hosts names '{name}', which is not a computer in the directory"
            )),
        }
    }

    if let Some(inv) = inventory {
        for (row, ih) in inv.hosts.iter().enumerate() {
            match index.computer(&ih.computer_name) {
                Some(i) => {
                    let h = host_for(i, &mut hosts);
                    if hosts[h].inventory.is_some() {
                        notes.push(format!(
                            "host inventory lists {} more than once; the first row is used",
                            hosts[h].name
                        ));
                        continue;
                    }
                    hosts[h].inventory = Some(row);
                    hosts[h].reasons.push("host inventory".to_string());
                    hosts[h].confirmed_by.push("host inventory".to_string());
                }
                None => hosts.push(HostFacts {
                    name: ih.computer_name.clone(),
                    fqdn: ih
                        .computer_name
                        .contains('.')
                        .then(|| ih.computer_name.clone()),
                    dn: None,
                    sid: None,
                    computer: None,
                    reasons: vec!["host inventory (not in the directory)".to_string()],
                    candidate: false,
                    confirmed_by: vec!["host inventory".to_string()],
                    creator: None,
                    refused_group: None,
                    os_build: None,
                    os_generation: OsGeneration::Unknown,
                    enabled: false,
                    is_dc: false,
                    inventory: Some(row),
                    group: None,
                    cluster: None,
                    entries: Vec::new(),
                    forms: HashMap::new(),
                    cifs_hosts: HashSet::new(),
                    migration_targets: Vec::new(),
                    self_entries: Vec::new(),
                    rbcd_granted_by: Vec::new(),
                    rbcd: RbcdFacts::default(),
                }),
            }
        }
    }

    hosts.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.computer.cmp(&b.computer))
    });
    hosts
}

/// Fills each host's delegation facts. Linear in entries plus RBCD trustees.
pub fn delegation_facts(
    hosts: &mut [HostFacts],
    snapshot: &Snapshot,
    index: &Index,
    entries: &[DelegationEntry],
    host_by_computer: &HashMap<ComputerIdx, HostIdx>,
) {
    for (e_idx, e) in entries.iter().enumerate() {
        let e_idx = EntryIdx::new(e_idx);
        let Principal::Computer(owner) = e.owner else {
            continue;
        };
        let Some(&h) = host_by_computer.get(&owner) else {
            continue;
        };
        let host = &mut hosts[h];
        host.entries.push(e_idx);
        // A value no request can equal (port, extra component, white space...) and a value
        // naming the host itself delegate to no peer.
        if e.defective || e.targets_self {
            if e.targets_self {
                host.self_entries.push(e_idx);
            }
            continue;
        }
        let Ok(spn) = &e.spn else { continue };
        if e.classification == Classification::Cifs
            || (e.classification == Classification::DcService && spn.class_is("cifs"))
        {
            host.cifs_hosts.insert(spn.host_key());
        }
        let Some(Principal::Computer(t)) = e.target else {
            continue;
        };
        // The KDC matches the SPN the client requests exactly: a value counts for the NetBIOS
        // form only when its host part is the target's sAMAccountName (without `$`), and for
        // the FQDN form only when it is the target's dNSHostName (or, lacking one, a name in
        // this domain that resolves to it). Aliases count for neither.
        let target = &snapshot.computers[t];
        let sam = target
            .sam_account_name
            .strip_suffix('$')
            .unwrap_or(&target.sam_account_name);
        let fqdn = match &target.dns_host_name {
            Some(d) => spn.host.eq_ignore_ascii_case(d),
            None => spn.host_is_fqdn(),
        };
        let netbios = spn.host.eq_ignore_ascii_case(sam);
        if !fqdn && !netbios {
            continue;
        }
        let f = host.forms.entry(t).or_default();
        if spn.class_is(super::spn::MIGRATION_CLASS) {
            f.migration_fqdn |= fqdn;
            f.migration_netbios |= netbios;
            if let Some(&th) = host_by_computer.get(&t)
                && !host.migration_targets.contains(&th)
            {
                host.migration_targets.push(th);
            }
        } else if spn.class_is(super::spn::CIFS_CLASS) {
            f.cifs_fqdn |= fqdn;
            f.cifs_netbios |= netbios;
        }
    }

    let mut granted: Vec<Vec<HostIdx>> = vec![Vec::new(); hosts.len()];
    for h in HostIdx::range(hosts.len()) {
        let Some(c) = hosts[h].computer else { continue };
        let rbcd = RbcdFacts::build(&snapshot.computers[c], snapshot, index);
        if rbcd.present {
            // Only hosts the RBCD is known to cover are listed; undecided ones are not.
            let covered = |other: &HostFacts| {
                other.sid.as_ref().is_some_and(|sid| {
                    rbcd.coverage(&Requester {
                        sid,
                        dn: other.dn.as_deref(),
                        is_computer: other.computer.is_some(),
                    }) == RbcdCoverage::Covers
                })
            };
            if rbcd.allow_any_computer {
                for (g, other) in hosts.iter().enumerate() {
                    if g != h.index() && covered(other) {
                        granted[g].push(h);
                    }
                }
            } else {
                for sid in &rbcd.allow_sids {
                    if let Some(Principal::Computer(oc)) = index.by_sid(sid)
                        && let Some(&g) = host_by_computer.get(&oc)
                        && g != h
                        && covered(&hosts[g])
                    {
                        granted[g.index()].push(h);
                    }
                }
            }
        }
        hosts[h].rbcd = rbcd;
    }
    for (h, mut g) in granted.into_iter().enumerate() {
        g.sort_unstable();
        g.dedup();
        hosts[h].rbcd_granted_by = g;
    }
}
