//! Hyper-V host discovery (with the reasons each host was recognised) and each host's
//! delegation facts: what it delegates to, and who its RBCD trusts.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::os::OsGeneration;
use super::spn::Spn;
use super::targets::{Classification, DelegationEntry};
use super::{Index, Principal, is_broad_sid, is_domain_sid_with_rid, principal_name};
use crate::config::Config;
use crate::inventory::HostInventory;
use crate::model::sid::well_known;
use crate::model::{Computer, PrincipalKind, Sid, Snapshot, os_build};

/// Which forms (NetBIOS, FQDN) of a peer a host delegates the migration service and cifs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DelegationForms {
    pub migration_fqdn: bool,
    pub migration_netbios: bool,
    pub cifs_fqdn: bool,
    pub cifs_netbios: bool,
}

/// One principal an RBCD descriptor allows (or denies), groups expanded.
#[derive(Debug, Clone)]
pub struct RbcdTrusteeFacts {
    pub sid: Sid,
    pub principal: Option<Principal>,
    /// Display name (the SID when it resolves to nothing in the snapshot).
    pub name: String,
    /// `computer`, `user`, `managed_service_account`, `group_managed_service_account`,
    /// `group` (not expanded: not in the snapshot), `well_known`, `foreign`, `unknown`.
    pub kind: String,
    /// The group it is allowed through, when it came from expanding a group.
    pub via: Option<String>,
    pub broad: bool,
}

/// msDS-AllowedToActOnBehalfOfOtherIdentity of one account, expanded.
#[derive(Debug, Clone, Default)]
pub struct RbcdFacts {
    pub present: bool,
    /// Allowed principals, groups expanded to their effective members.
    pub allowed: Vec<RbcdTrusteeFacts>,
    allow_sids: HashSet<Sid>,
    deny_sids: HashSet<Sid>,
    /// An allowed well-known SID covers every computer (Everyone, Authenticated Users, ...).
    allow_any_computer: bool,
}

impl RbcdFacts {
    /// Whether a principal with this SID may delegate to the account.
    pub fn covers(&self, sid: &Sid, is_computer: bool) -> bool {
        self.present
            && !self.deny_sids.contains(sid)
            && (self.allow_sids.contains(sid) || (is_computer && self.allow_any_computer))
    }

    pub fn build(computer: &Computer, snapshot: &Snapshot, index: &Index) -> RbcdFacts {
        let Some(rbcd) = &computer.rbcd else {
            return RbcdFacts::default();
        };
        let mut f = RbcdFacts {
            present: true,
            ..RbcdFacts::default()
        };
        let mut seen: HashSet<(Sid, Option<String>)> = HashSet::new();
        for t in &rbcd.trustees {
            let allow = t.ace_type.eq_ignore_ascii_case("allow");
            if !allow {
                // Only explicit deny ACEs take access away; other ACE types grant nothing.
                if t.ace_type.eq_ignore_ascii_case("deny") {
                    f.deny_sids.insert(t.sid.clone());
                }
                continue;
            }
            f.allow_sids.insert(t.sid.clone());
            if is_broad_sid(&t.sid) {
                let s = t.sid.to_string();
                if s == well_known::EVERYONE
                    || s == well_known::AUTHENTICATED_USERS
                    || s == "S-1-5-32-545"
                    || is_domain_sid_with_rid(&t.sid, &[well_known::RID_DOMAIN_COMPUTERS])
                {
                    f.allow_any_computer = true;
                }
                let name = index
                    .by_sid(&t.sid)
                    .map(|p| principal_name(snapshot, p))
                    .unwrap_or_else(|| s.clone());
                if seen.insert((t.sid.clone(), None)) {
                    f.allowed.push(RbcdTrusteeFacts {
                        sid: t.sid.clone(),
                        principal: index.by_sid(&t.sid),
                        name,
                        kind: "well_known".into(),
                        via: None,
                        broad: true,
                    });
                }
                continue;
            }
            match index.by_sid(&t.sid) {
                Some(Principal::Group(g)) => {
                    let group = &snapshot.groups[g];
                    for m in &group.effective_members {
                        if m.kind == PrincipalKind::Group {
                            // Nested groups' members are listed themselves.
                            continue;
                        }
                        let p = m
                            .sid
                            .as_ref()
                            .and_then(|s| index.by_sid(s))
                            .or_else(|| index.by_dn(&m.dn));
                        let sid = m
                            .sid
                            .clone()
                            .or_else(|| p.and_then(|p| principal_sid(snapshot, p)));
                        let Some(sid) = sid else {
                            // A member we cannot identify still is someone RBCD trusts.
                            f.allowed.push(RbcdTrusteeFacts {
                                sid: t.sid.clone(),
                                principal: None,
                                name: m.dn.clone(),
                                kind: "unknown".into(),
                                via: Some(group.sam_account_name.clone()),
                                broad: false,
                            });
                            continue;
                        };
                        f.allow_sids.insert(sid.clone());
                        if seen.insert((sid.clone(), Some(group.sam_account_name.clone()))) {
                            f.allowed.push(RbcdTrusteeFacts {
                                name: p
                                    .map(|p| principal_name(snapshot, p))
                                    .unwrap_or_else(|| sid.to_string()),
                                sid,
                                principal: p,
                                kind: kind_name(m.kind).into(),
                                via: Some(group.sam_account_name.clone()),
                                broad: false,
                            });
                        }
                    }
                }
                p => {
                    if seen.insert((t.sid.clone(), None)) {
                        let kind = match p {
                            Some(Principal::Computer(_)) => "computer".to_string(),
                            Some(Principal::Account(a)) => {
                                serde_kind(snapshot.accounts[a].kind).to_string()
                            }
                            Some(Principal::Group(_)) => unreachable!("handled above"),
                            // Not in the snapshot: possibly a group whose members are unknown.
                            None => "unknown".to_string(),
                        };
                        f.allowed.push(RbcdTrusteeFacts {
                            sid: t.sid.clone(),
                            principal: p,
                            name: p
                                .map(|p| principal_name(snapshot, p))
                                .unwrap_or_else(|| t.sid.to_string()),
                            kind,
                            via: None,
                            broad: false,
                        });
                    }
                }
            }
        }
        f
    }
}

fn principal_sid(snapshot: &Snapshot, p: Principal) -> Option<Sid> {
    match p {
        Principal::Computer(i) => snapshot.computers[i].sid.clone(),
        Principal::Account(i) => snapshot.accounts[i].sid.clone(),
        Principal::Group(i) => snapshot.groups[i].sid.clone(),
    }
}

fn kind_name(k: PrincipalKind) -> &'static str {
    match k {
        PrincipalKind::User => "user",
        PrincipalKind::Computer => "computer",
        PrincipalKind::ManagedServiceAccount => "managed_service_account",
        PrincipalKind::GroupManagedServiceAccount => "group_managed_service_account",
        PrincipalKind::Group => "group",
        PrincipalKind::Foreign => "foreign",
        PrincipalKind::Unknown => "unknown",
    }
}

pub(crate) fn serde_kind(k: crate::model::AccountKind) -> &'static str {
    match k {
        crate::model::AccountKind::User => "user",
        crate::model::AccountKind::ManagedServiceAccount => "managed_service_account",
        crate::model::AccountKind::GroupManagedServiceAccount => "group_managed_service_account",
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
    /// Index in `snapshot.computers`; None when only the inventory names the host.
    pub computer: Option<usize>,
    /// Why it is considered a Hyper-V host, one line per reason.
    pub reasons: Vec<String>,
    pub os_build: Option<u32>,
    pub os_generation: OsGeneration,
    pub enabled: bool,
    pub is_dc: bool,
    /// Index in the inventory's rows.
    pub inventory: Option<usize>,
    /// Index in `Analysis::groups`.
    pub group: Option<usize>,
    pub cluster: Option<String>,
    /// Indexes in `Analysis::entries` of this host's msDS-AllowedToDelegateTo values.
    pub entries: Vec<usize>,
    /// Per target computer: which forms of the migration service and cifs are delegated.
    pub forms: HashMap<usize, DelegationForms>,
    /// Lower-cased host parts of `cifs` entries, for storage servers the directory lacks.
    pub cifs_hosts: HashSet<String>,
    /// Hosts (indexes) this host delegates the migration service to (exact NetBIOS or FQDN
    /// values only; never itself).
    pub migration_targets: Vec<usize>,
    /// Indexes in `Analysis::entries` of values naming the host itself: no peer is reached.
    pub self_entries: Vec<usize>,
    /// Hosts whose RBCD lets this host delegate to them.
    pub rbcd_granted_by: Vec<usize>,
    pub rbcd: RbcdFacts,
}

impl HostFacts {
    fn from_computer(i: usize, c: &Computer, index: &Index) -> HostFacts {
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
    let mut by_computer: HashMap<usize, usize> = HashMap::new();
    let mut host_for = |i: usize, hosts: &mut Vec<HostFacts>| -> usize {
        *by_computer.entry(i).or_insert_with(|| {
            hosts.push(HostFacts::from_computer(i, &snapshot.computers[i], index));
            hosts.len() - 1
        })
    };

    for (i, c) in snapshot.computers.iter().enumerate() {
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
        }
    }

    for name in &config.extra_hyperv_hosts {
        match index.computer(name) {
            Some(i) => {
                let h = host_for(i, &mut hosts);
                hosts[h]
                    .reasons
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
    host_by_computer: &HashMap<usize, usize>,
) {
    for (e_idx, e) in entries.iter().enumerate() {
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
        if e.defect.is_some() || e.targets_self {
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

    let mut granted: Vec<Vec<usize>> = vec![Vec::new(); hosts.len()];
    for h in 0..hosts.len() {
        let Some(c) = hosts[h].computer else { continue };
        let rbcd = RbcdFacts::build(&snapshot.computers[c], snapshot, index);
        if rbcd.present {
            if rbcd.allow_any_computer {
                for (g, other) in hosts.iter().enumerate() {
                    if g != h
                        && let Some(sid) = &other.sid
                        && rbcd.covers(sid, true)
                    {
                        granted[g].push(h);
                    }
                }
            } else {
                for sid in &rbcd.allow_sids {
                    if let Some(Principal::Computer(oc)) = index.by_sid(sid)
                        && let Some(&g) = host_by_computer.get(&oc)
                        && g != h
                        && rbcd.covers(sid, true)
                    {
                        granted[g].push(h);
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
