//! Analysis: the facts rules decide on, computed once from a snapshot, an optional host
//! inventory and the configuration. Every lookup goes through hash indexes so the work is
//! linear in the directory size; host pairs are only ever built inside a migration group.

pub mod groups;
pub mod hosts;
pub mod ids;
pub mod os;
pub mod privileged;
pub mod rbcd;
pub mod spn;
pub mod targets;
pub mod unknowns;

use foldhash::{HashMap, HashMapExt, HashSet};

use crate::config::Config;
use crate::inventory::HostInventory;
use crate::model::sid::well_known;
use crate::model::{Sid, Snapshot, uac};

pub use groups::{MigrationGroup, StorageServer};
pub use hosts::{CreatorFacts, DelegationForms, HostFacts};
pub use ids::{AccountIdx, ComputerIdx, DirGroupIdx, EntryIdx, GroupIdx, HostIdx};
pub use os::OsGeneration;
pub use privileged::AccountFacts;
pub use rbcd::{RbcdCoverage, Requester};
pub use spn::{Spn, SpnError};
pub use targets::{Classification, DelegationEntry};

/// A directory object the snapshot holds, by its index in the snapshot's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    Computer(ComputerIdx),
    Account(AccountIdx),
    Group(DirGroupIdx),
}

/// Lookups over the snapshot, all keys lower-cased.
#[derive(Debug, Default)]
pub struct Index {
    domain_dns: String,
    computer_by_sam: HashMap<String, ComputerIdx>,
    computer_by_dns: HashMap<String, ComputerIdx>,
    account_by_sam: HashMap<String, AccountIdx>,
    /// Host part of registered SPNs, for targets named by an alias.
    by_spn_host: HashMap<String, Principal>,
    by_sid: HashMap<Sid, Principal>,
    by_dn: HashMap<String, Principal>,
    dcs: HashSet<ComputerIdx>,
}

fn strip_dollar(s: &str) -> &str {
    s.strip_suffix('$').unwrap_or(s)
}

/// The host part of every registered SPN that parses, to its account: computers first, then
/// other accounts, the first holder of a host part keeping it.
fn spn_hosts(snapshot: &Snapshot) -> HashMap<String, Principal> {
    let mut m = HashMap::with_capacity(snapshot.computers.len() + snapshot.accounts.len());
    let computers = snapshot
        .computers
        .iter()
        .enumerate()
        .map(|(i, c)| (Principal::Computer(ComputerIdx::new(i)), &c.spns));
    let accounts = snapshot
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (Principal::Account(AccountIdx::new(i)), &a.spns));
    for (p, spns) in computers.chain(accounts) {
        for s in spns {
            if let Ok(spn) = Spn::parse(s) {
                m.entry(spn.host_key()).or_insert(p);
            }
        }
    }
    m
}

impl Index {
    pub fn build(snapshot: &Snapshot) -> Index {
        // The SPN host map parses every registered SPN (600,000 in a 100,000-computer domain):
        // it is built on a thread of its own beside the name, SID and DN maps.
        let (mut ix, by_spn_host) = std::thread::scope(|s| {
            let spns = s.spawn(|| spn_hosts(snapshot));
            let ix = Index::build_names(snapshot);
            let spns = spns.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (ix, spns)
        });
        ix.by_spn_host = by_spn_host;
        ix
    }

    /// Every map but `by_spn_host`.
    fn build_names(snapshot: &Snapshot) -> Index {
        let objects = snapshot.computers.len() + snapshot.accounts.len() + snapshot.groups.len();
        let mut ix = Index {
            domain_dns: snapshot.domain.dns_name.to_lowercase(),
            // Sized up front: growing maps of 100,000 keys rehashes them a dozen times.
            computer_by_sam: HashMap::with_capacity(snapshot.computers.len()),
            computer_by_dns: HashMap::with_capacity(snapshot.computers.len()),
            account_by_sam: HashMap::with_capacity(snapshot.accounts.len()),
            by_sid: HashMap::with_capacity(objects),
            by_dn: HashMap::with_capacity(objects),
            ..Index::default()
        };
        let dc_names: HashSet<String> = snapshot
            .domain
            .domain_controllers
            .iter()
            .flat_map(|d| {
                [
                    Some(strip_dollar(&d.sam_account_name).to_lowercase()),
                    d.dns_host_name.as_ref().map(|n| n.to_lowercase()),
                    Some(d.dn.to_lowercase()),
                ]
            })
            .flatten()
            .collect();
        for (i, c) in snapshot.computers.iter().enumerate() {
            let i = ComputerIdx::new(i);
            let p = Principal::Computer(i);
            let sam = strip_dollar(&c.sam_account_name).to_lowercase();
            let dns = c.dns_host_name.as_ref().map(|d| d.to_lowercase());
            if c.uac.is_dc()
                || c.uac.has(uac::PARTIAL_SECRETS_ACCOUNT)
                || dc_names.contains(&sam)
                || dns.as_ref().is_some_and(|d| dc_names.contains(d))
                || dc_names.contains(&c.dn.to_lowercase())
            {
                ix.dcs.insert(i);
            }
            ix.computer_by_sam.entry(sam).or_insert(i);
            if let Some(d) = dns {
                ix.computer_by_dns.entry(d).or_insert(i);
            }
            ix.index_common(p, c.sid.as_ref(), &c.dn);
        }
        for (i, a) in snapshot.accounts.iter().enumerate() {
            let i = AccountIdx::new(i);
            let p = Principal::Account(i);
            ix.account_by_sam
                .entry(strip_dollar(&a.sam_account_name).to_lowercase())
                .or_insert(i);
            ix.index_common(p, a.sid.as_ref(), &a.dn);
        }
        for (i, g) in snapshot.groups.iter().enumerate() {
            ix.index_common(Principal::Group(DirGroupIdx::new(i)), g.sid.as_ref(), &g.dn);
        }
        ix
    }

    fn index_common(&mut self, p: Principal, sid: Option<&Sid>, dn: &str) {
        if let Some(s) = sid {
            self.by_sid.entry(s.clone()).or_insert(p);
        }
        self.by_dn.entry(dn.to_lowercase()).or_insert(p);
    }

    /// A computer by NetBIOS name (with or without `$`) or FQDN, case-insensitively. An FQDN
    /// in the snapshot's domain also matches by its first label, for accounts without
    /// dNSHostName.
    pub fn computer(&self, name: &str) -> Option<ComputerIdx> {
        let key = strip_dollar(name.trim()).to_lowercase();
        if let Some(i) = self.computer_by_dns.get(&key) {
            return Some(*i);
        }
        if let Some(i) = self.computer_by_sam.get(&key) {
            return Some(*i);
        }
        let (first, rest) = key.split_once('.')?;
        (!self.domain_dns.is_empty() && rest == self.domain_dns)
            .then(|| self.computer_by_sam.get(first).copied())
            .flatten()
    }

    /// The account an SPN's host part names: by dNSHostName, then by sAMAccountName without
    /// `$` (computers before other accounts), then by the host part of a registered SPN.
    pub fn resolve_spn_host(&self, host: &str) -> Option<Principal> {
        if let Some(c) = self.computer(host) {
            return Some(Principal::Computer(c));
        }
        let key = host.to_lowercase();
        if let Some(a) = self.account_by_sam.get(&key) {
            return Some(Principal::Account(*a));
        }
        self.by_spn_host.get(&key).copied()
    }

    /// The audited domain's DNS name, lower-cased ("" when the snapshot has none).
    pub fn domain_dns(&self) -> &str {
        &self.domain_dns
    }

    /// For a dotted name outside the audited domain (neither the domain's DNS name nor under
    /// it), its DNS suffix after the first label, lower-cased; None for a NetBIOS name, a name
    /// in the domain, or when the snapshot has no domain name. Classic KCD does not cross
    /// domains, so such a name is reported as outside, not as stale or unknown.
    pub fn external_domain(&self, name: &str) -> Option<String> {
        let lower = name.to_lowercase();
        let (_, suffix) = lower.split_once('.')?;
        let inside = lower == self.domain_dns
            || lower
                .strip_suffix(self.domain_dns.as_str())
                .is_some_and(|head| head.ends_with('.'));
        (!self.domain_dns.is_empty() && !inside).then(|| suffix.to_string())
    }

    pub fn by_sid(&self, sid: &Sid) -> Option<Principal> {
        self.by_sid.get(sid).copied()
    }

    pub fn by_dn(&self, dn: &str) -> Option<Principal> {
        self.by_dn.get(&dn.to_lowercase()).copied()
    }

    pub fn is_dc(&self, p: Principal) -> bool {
        matches!(p, Principal::Computer(i) if self.dcs.contains(&i))
    }

    pub fn computer_is_dc(&self, i: ComputerIdx) -> bool {
        self.dcs.contains(&i)
    }

    pub fn is_disabled(&self, snapshot: &Snapshot, p: Principal) -> bool {
        match p {
            Principal::Computer(i) => snapshot.computers[i].uac.disabled(),
            Principal::Account(i) => snapshot.accounts[i].uac.disabled(),
            Principal::Group(_) => false,
        }
    }
}

/// Display name of a principal: sAMAccountName without `$` for computers.
pub fn principal_name(snapshot: &Snapshot, p: Principal) -> String {
    match p {
        Principal::Computer(i) => strip_dollar(&snapshot.computers[i].sam_account_name).to_string(),
        Principal::Account(i) => snapshot.accounts[i].sam_account_name.clone(),
        Principal::Group(i) => snapshot.groups[i].sam_account_name.clone(),
    }
}

pub fn principal_dn(snapshot: &Snapshot, p: Principal) -> &str {
    match p {
        Principal::Computer(i) => &snapshot.computers[i].dn,
        Principal::Account(i) => &snapshot.accounts[i].dn,
        Principal::Group(i) => &snapshot.groups[i].dn,
    }
}

/// Well-known SIDs that stand for (nearly) every computer: an RBCD naming one of them lets any
/// machine delegate.
pub fn is_broad_sid(sid: &Sid) -> bool {
    let s = sid.to_string();
    if [
        well_known::EVERYONE,
        well_known::AUTHENTICATED_USERS,
        "S-1-5-7",      // Anonymous Logon
        "S-1-5-32-545", // Users
        "S-1-5-32-546", // Guests
        "S-1-5-2",      // Network
        "S-1-5-4",      // Interactive
    ]
    .contains(&s.as_str())
    {
        return true;
    }
    is_domain_sid_with_rid(
        sid,
        &[
            well_known::RID_DOMAIN_USERS,
            514, // Domain Guests
            well_known::RID_DOMAIN_COMPUTERS,
        ],
    )
}

/// `S-1-5-21-a-b-c-RID` with RID in the list: a domain-relative SID of any domain.
pub fn is_domain_sid_with_rid(sid: &Sid, rids: &[u32]) -> bool {
    sid.authority == 5
        && sid.sub_authorities.len() == 5
        && sid.sub_authorities[0] == 21
        && sid.rid().is_some_and(|r| rids.contains(&r))
}

/// The facts of one audit, built once.
#[derive(Debug)]
pub struct Analysis<'a> {
    pub snapshot: &'a Snapshot,
    pub inventory: Option<&'a HostInventory>,
    pub config: &'a Config,
    pub index: Index,
    /// Every delegation entry in the snapshot (computers and accounts; [`EntryIdx`]).
    pub entries: Vec<DelegationEntry<'a>>,
    /// Hyper-V hosts, sorted by name ([`HostIdx`]).
    pub hosts: Vec<HostFacts>,
    /// Lower-cased NetBIOS name and FQDN of each host -> its host.
    pub host_by_name: HashMap<String, HostIdx>,
    /// Computer -> the host it is (only computers that are hosts).
    pub host_by_computer: HashMap<ComputerIdx, HostIdx>,
    /// Migration groups, in configuration order ([`GroupIdx`]).
    pub groups: Vec<MigrationGroup>,
    /// Parallel to `snapshot.accounts` ([`AccountIdx`]).
    pub accounts: Vec<AccountFacts>,
    /// Inventory rows the collector could not read: (ComputerName, error).
    pub inventory_errors: Vec<(String, String)>,
    /// Facts worth telling the reader that are not findings (a host in no group, a configured
    /// name not in the directory...).
    pub notes: Vec<String>,
}

impl<'a> Analysis<'a> {
    pub fn build(
        snapshot: &'a Snapshot,
        inventory: Option<&'a HostInventory>,
        config: &'a Config,
    ) -> Analysis<'a> {
        let index = Index::build(snapshot);
        crate::timing::phase("audit: analysis: index");
        // Resolving every delegation entry (~600,000 in a 100,000-computer domain) runs on a
        // thread of its own while hosts, groups and accounts are worked out.
        let (entries, mut hosts, host_by_name, host_by_computer, groups, accounts, notes) =
            std::thread::scope(|s| {
                let entries = s.spawn(|| {
                    crate::timing::span("analysis: entries", || targets::entries(snapshot, &index))
                });
                let mut notes = Vec::new();
                let mut hosts = hosts::discover(snapshot, inventory, config, &index, &mut notes);
                let mut host_by_name = HashMap::new();
                let mut host_by_computer = HashMap::new();
                for (i, h) in hosts.iter().enumerate() {
                    let i = HostIdx::new(i);
                    host_by_name.entry(h.name.to_lowercase()).or_insert(i);
                    if let Some(f) = &h.fqdn {
                        host_by_name.entry(f.to_lowercase()).or_insert(i);
                    }
                    if let Some(c) = h.computer {
                        host_by_computer.insert(c, i);
                    }
                }
                // Who created each host decides whether it may join a group.
                let accounts = privileged::classify(snapshot, config, &index, &mut notes);
                hosts::creators(&mut hosts, snapshot, &index, &accounts, config);
                let groups = groups::assign(
                    &mut hosts,
                    &host_by_name,
                    inventory,
                    config,
                    &index,
                    &mut notes,
                );
                let entries = entries
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                (
                    entries,
                    hosts,
                    host_by_name,
                    host_by_computer,
                    groups,
                    accounts,
                    notes,
                )
            });
        crate::timing::phase("audit: analysis: entries, hosts, groups");
        hosts::delegation_facts(&mut hosts, snapshot, &index, &entries, &host_by_computer);
        let inventory_errors = inventory
            .map(|inv| {
                inv.hosts
                    .iter()
                    .filter_map(|h| {
                        h.error
                            .as_ref()
                            .map(|e| (h.computer_name.clone(), e.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Analysis {
            snapshot,
            inventory,
            config,
            index,
            entries,
            hosts,
            host_by_name,
            host_by_computer,
            groups,
            accounts,
            inventory_errors,
            notes,
        }
    }

    /// A host by NetBIOS name or FQDN, case-insensitively (a trailing `$` is ignored).
    pub fn host(&self, name: &str) -> Option<HostIdx> {
        let key = strip_dollar(name.trim()).to_lowercase();
        self.host_by_name.get(&key).copied().or_else(|| {
            self.index
                .computer(&key)
                .and_then(|c| self.host_by_computer.get(&c).copied())
        })
    }

    /// True when the scan read everything and every inventory row was read.
    pub fn complete(&self) -> bool {
        self.snapshot.meta.gaps.is_empty() && self.inventory_errors.is_empty()
    }

    /// Same failover cluster (by configuration or inventory ClusterName).
    pub fn same_cluster(&self, a: HostIdx, b: HostIdx) -> bool {
        match (&self.hosts[a].cluster, &self.hosts[b].cluster) {
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
            _ => false,
        }
    }

    /// The account `to` is known to trust `from` through its RBCD
    /// ([`RbcdCoverage::Covers`]; an undecidable RBCD is false here, see
    /// [`Analysis::rbcd_coverage`]).
    pub fn rbcd_covers(&self, from: HostIdx, to: HostIdx) -> bool {
        self.rbcd_coverage(from, to) == RbcdCoverage::Covers
    }

    /// Whether `to`'s RBCD lets `from` delegate to it: covers, does not, or cannot be decided
    /// from the snapshot (an ACE or a group membership hvaudit cannot evaluate).
    pub fn rbcd_coverage(&self, from: HostIdx, to: HostIdx) -> RbcdCoverage {
        let f = &self.hosts[from];
        let Some(sid) = f.sid.as_ref() else {
            return RbcdCoverage::DoesNot;
        };
        self.hosts[to].rbcd.coverage(&Requester {
            sid,
            dn: f.dn.as_deref(),
            is_computer: f.computer.is_some(),
        })
    }
}
