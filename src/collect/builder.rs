//! Builds the typed [`Snapshot`] from raw entries. LDAP and LDIF both feed this one builder, so
//! the two sources cannot disagree about what an entry means.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};

use super::RawEntry;
use super::replmeta::{
    ATTID_MS_DS_ALLOWED_TO_DELEGATE_TO, ATTID_USER_ACCOUNT_CONTROL, change_time, parse_repl_meta,
};
use super::secdesc::{parse_rbcd_descriptor, undecided_aces};
use crate::model::dn::DnKey;
use crate::model::sid::well_known as wk;
use crate::model::{
    Account, AccountKind, Computer, Domain, DomainController, EffectiveMember, Gap, Group,
    PrincipalKind, SNAPSHOT_SCHEMA_VERSION, ScanMeta, Sid, Snapshot, Uac, uac,
};

/// Which groups, beyond the privileged ones, get their membership resolved.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Extra groups named in configuration, by SID.
    pub extra_group_sids: Vec<Sid>,
}

#[derive(Debug)]
struct RawGroup {
    dn: String,
    sid: Option<Sid>,
    sam: String,
    members: Vec<String>,
}

#[derive(Debug, Clone)]
struct Principal {
    dn: String,
    sid: Option<Sid>,
    kind: PrincipalKind,
}

/// Two entries that are one directory object: the same DN (compared as LDAP compares DNs, see
/// [`crate::model::dn`]) or the same objectSid. Lines are 1-based LDIF lines, 0 when the entry
/// did not come from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub first_dn: String,
    pub first_line: usize,
    pub dn: String,
    pub line: usize,
    /// What the two share: `the same DN` or `objectSid S-1-...`.
    pub same: String,
}

impl Conflict {
    /// One sentence naming both entries, for an error at the second one's line.
    pub fn describe(&self) -> String {
        format!(
            "entry {} is the same object as {}{} ({}); an export holds each object once, so \
             which copy is true cannot be told: remove one copy or export again",
            self.dn,
            self.first_dn,
            at_line(self.first_line),
            self.same
        )
    }
}

fn at_line(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" at line {line}")
    }
}

/// Accumulates entries in any order; [`SnapshotBuilder::finish`] resolves what needs the whole
/// directory (group nesting, primary groups, serviceConnectionPoints, domain controllers).
#[derive(Debug, Default)]
pub struct SnapshotBuilder {
    opts: BuildOptions,
    domain_dn: Option<String>,
    domain_sid: Option<Sid>,
    functional_level: Option<u32>,
    netbios: Option<String>,
    computers: Vec<Computer>,
    accounts: Vec<Account>,
    groups: Vec<RawGroup>,
    /// Lower-cased DN -> principal, for resolving `member` values.
    principals: HashMap<String, Principal>,
    /// Primary group RID -> lower-cased DNs of principals holding it.
    primary_members: HashMap<u32, Vec<String>>,
    /// Lower-cased DNs of objects with a `CN=Microsoft Hyper-V` serviceConnectionPoint child.
    hyperv_scp_parents: HashSet<String>,
    gaps: Vec<Gap>,
    /// Attributes every account must have that came back absent: attribute -> (count, example
    /// DN). Absence means the bind account may not read them; one gap per attribute at the end.
    missing: std::collections::BTreeMap<&'static str, (u64, String)>,
    entries: u64,
    /// DN and line of every entry added, for naming the first copy of a duplicate.
    places: Vec<(Box<str>, usize)>,
    /// Comparison key of every DN added -> index in `places`.
    seen_dns: HashMap<DnKey, u32>,
    /// objectSid of every entry that has one -> index in `places`.
    seen_sids: HashMap<Sid, u32>,
    /// Duplicates not yet taken by the caller; those left at `finish` become gaps.
    conflicts: Vec<Conflict>,
}

impl SnapshotBuilder {
    pub fn new(opts: BuildOptions) -> Self {
        SnapshotBuilder {
            opts,
            ..Default::default()
        }
    }

    /// Tells the builder the domain's DN up front (LDAP knows it from the RootDSE).
    pub fn set_domain_dn(&mut self, dn: &str) {
        self.domain_dn = Some(dn.to_string());
    }

    /// Records something that could not be read.
    pub fn gap(&mut self, what: impl Into<String>, reason: impl Into<String>) {
        self.gaps.push(Gap {
            what: what.into(),
            reason: reason.into(),
        });
    }

    pub fn entries_seen(&self) -> u64 {
        self.entries
    }

    /// The oldest duplicate found and not yet taken. A file source (LDIF) turns it into an
    /// error naming both places; whatever is left at [`SnapshotBuilder::finish`] (a live DC
    /// returning one object twice) becomes an SC001 gap, so the scan is incomplete either way.
    pub fn take_conflict(&mut self) -> Option<Conflict> {
        (!self.conflicts.is_empty()).then(|| self.conflicts.remove(0))
    }

    /// Records `e` as seen and notes a conflict when its DN or objectSid was seen before.
    fn check_duplicate(&mut self, e: &RawEntry) {
        let place = u32::try_from(self.places.len()).unwrap_or(u32::MAX);
        self.places.push((e.dn.as_str().into(), e.line));
        let mut first = None;
        match self.seen_dns.entry(DnKey::of(&e.dn)) {
            std::collections::hash_map::Entry::Occupied(o) => {
                first = Some((
                    *o.get(),
                    "the same DN, compared as LDAP compares DNs".to_string(),
                ));
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(place);
            }
        }
        if first.is_none()
            && let Some(sid) = e.first("objectsid").and_then(|r| Sid::from_bytes(r).ok())
        {
            let text = format!("the same objectSid {sid}");
            match self.seen_sids.entry(sid) {
                std::collections::hash_map::Entry::Occupied(o) => first = Some((*o.get(), text)),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(place);
                }
            }
        }
        if let Some((i, same)) = first {
            let (first_dn, first_line) = self
                .places
                .get(i as usize)
                .map_or((String::new(), 0), |(d, l)| (d.to_string(), *l));
            self.conflicts.push(Conflict {
                first_dn,
                first_line,
                dn: e.dn.clone(),
                line: e.line,
                same,
            });
        }
    }

    pub fn add(&mut self, e: RawEntry) {
        self.entries += 1;
        self.check_duplicate(&e);
        if e.values("objectclass").is_empty() {
            // Without objectClass nothing says whether this is a computer, a user or a group,
            // so its delegation and memberships cannot be audited: say so instead of dropping
            // it (a host whose unconstrained delegation went unseen would otherwise pass).
            self.gap(
                format!("entry {}{}", e.dn, at_line(e.line)),
                "has no objectClass: what kind of object it is cannot be told, so nothing on it \
                 (delegation, group membership) was audited; export objectClass for every entry",
            );
            return;
        }
        if e.has_object_class("domainDNS") {
            self.add_domain(&e);
        } else if e.has_object_class("crossRef") {
            // Only the crossRef of a domain naming context carries the NetBIOS name we want.
            if let Some(nb) = self.text(&e, "netbiosname") {
                let nc = self.text(&e, "ncname").unwrap_or_default();
                if self
                    .domain_dn
                    .as_deref()
                    .is_none_or(|d| d.eq_ignore_ascii_case(&nc))
                {
                    self.netbios = Some(nb);
                }
            }
        } else if e.has_object_class("serviceConnectionPoint") {
            if rdn_value(&e.dn).is_some_and(|cn| cn.eq_ignore_ascii_case("Microsoft Hyper-V"))
                && let Some(parent) = parent_dn(&e.dn)
            {
                self.hyperv_scp_parents.insert(parent.to_ascii_lowercase());
            }
        } else if e.has_object_class("group") {
            self.add_group(e);
        } else if e.has_object_class("foreignSecurityPrincipal") {
            let sid = self
                .sid_of(&e)
                .or_else(|| rdn_value(&e.dn).and_then(|cn| Sid::parse(&cn).ok()));
            self.add_principal(&e.dn, sid, PrincipalKind::Foreign, None);
        } else if e.has_object_class("msDS-GroupManagedServiceAccount") {
            self.add_account(&e, AccountKind::GroupManagedServiceAccount);
        } else if e.has_object_class("msDS-ManagedServiceAccount") {
            self.add_account(&e, AccountKind::ManagedServiceAccount);
        } else if e.has_object_class("computer") {
            self.add_computer(&e);
        } else if e.has_object_class("user") {
            self.add_account(&e, AccountKind::User);
        }
    }

    fn add_domain(&mut self, e: &RawEntry) {
        // The domain object at the naming context root; other domainDNS objects (DNS zones
        // partitions) are not ours once the DN is known.
        if let Some(d) = &self.domain_dn
            && !d.eq_ignore_ascii_case(&e.dn)
        {
            return;
        }
        self.domain_dn = Some(e.dn.clone());
        self.domain_sid = self.sid_of(e);
        self.functional_level = self.number(e, "msds-behavior-version");
    }

    fn sid_of(&mut self, e: &RawEntry) -> Option<Sid> {
        let raw = e.first("objectsid")?;
        match Sid::from_bytes(raw) {
            Ok(s) => Some(s),
            Err(err) => {
                self.gap(format!("objectSid of {}", e.dn), err.to_string());
                None
            }
        }
    }

    /// mS-DS-CreatorSID (binary SID); a value that does not parse is a gap, never a guess.
    fn creator_sid(&mut self, e: &RawEntry) -> Option<Sid> {
        let raw = e.first("ms-ds-creatorsid")?;
        match Sid::from_bytes(raw) {
            Ok(s) => Some(s),
            Err(err) => {
                self.gap(format!("mS-DS-CreatorSID of {}", e.dn), err.to_string());
                None
            }
        }
    }

    /// The owner of nTSecurityDescriptor, when the collector kept it (LDAP scans ask for owner
    /// and DACL with the SD-flags control) or an LDIF export carries it.
    fn owner_sid(&mut self, e: &RawEntry) -> Option<Sid> {
        let raw = e.first("ntsecuritydescriptor")?;
        match crate::collect::access::parse_owner(raw) {
            Ok(o) => o,
            Err(err) => {
                self.gap(format!("nTSecurityDescriptor of {}", e.dn), err.to_string());
                None
            }
        }
    }

    fn require(&mut self, e: &RawEntry, attr: &'static str) {
        if e.first(&attr.to_ascii_lowercase()).is_none() {
            let slot = self.missing.entry(attr).or_insert((0, e.dn.clone()));
            slot.0 += 1;
        }
    }

    fn number(&mut self, e: &RawEntry, attr: &str) -> Option<u32> {
        let text = self.text(e, attr)?;
        // userAccountControl and friends are signed 32-bit in the schema; accept both forms.
        match text.trim().parse::<i64>() {
            Ok(n) if (i32::MIN as i64..=u32::MAX as i64).contains(&n) => Some(n as u32),
            _ => {
                self.gap(
                    format!("{attr} of {}", e.dn),
                    format!("'{text}' is not a 32-bit integer"),
                );
                None
            }
        }
    }

    fn time(&mut self, e: &RawEntry, attr: &str) -> Option<DateTime<Utc>> {
        let text = self.text(e, attr)?;
        match parse_generalized_time(&text) {
            Some(t) => Some(t),
            None => {
                self.gap(
                    format!("{attr} of {}", e.dn),
                    format!("'{text}' is not a generalized time"),
                );
                None
            }
        }
    }

    fn add_principal(
        &mut self,
        dn: &str,
        sid: Option<Sid>,
        kind: PrincipalKind,
        pgid: Option<u32>,
    ) {
        let key = dn.to_ascii_lowercase();
        if let Some(rid) = pgid {
            self.primary_members
                .entry(rid)
                .or_default()
                .push(key.clone());
        }
        self.principals.insert(
            key,
            Principal {
                dn: dn.to_string(),
                sid,
                kind,
            },
        );
    }

    fn add_computer(&mut self, e: &RawEntry) {
        for attr in ["objectSid", "userAccountControl", "sAMAccountName"] {
            self.require(e, attr);
        }
        let sid = self.sid_of(e);
        let uac = Uac(self.number(e, "useraccountcontrol").unwrap_or(0));
        let pgid = self.number(e, "primarygroupid");
        let rbcd = match e.first("msds-allowedtoactonbehalfofotheridentity") {
            None => None,
            Some(raw) => match parse_rbcd_descriptor(raw) {
                Ok(rbcd) => {
                    // An ACE whose effect is not decided (callback, object type, generic mask,
                    // unknown type) leaves who may delegate unknown, not empty.
                    for why in undecided_aces(&rbcd) {
                        self.gap(
                            format!("msDS-AllowedToActOnBehalfOfOtherIdentity of {}", e.dn),
                            format!("{why}: who this descriptor lets delegate is unknown"),
                        );
                    }
                    Some(rbcd)
                }
                Err(err) => {
                    self.gap(
                        format!("msDS-AllowedToActOnBehalfOfOtherIdentity of {}", e.dn),
                        err.to_string(),
                    );
                    None
                }
            },
        };
        let (delegation_changed, uac_changed) = match e.first("replpropertymetadata") {
            None => (None, None),
            Some(raw) => match parse_repl_meta(raw) {
                Ok(m) => (
                    change_time(&m, ATTID_MS_DS_ALLOWED_TO_DELEGATE_TO),
                    change_time(&m, ATTID_USER_ACCOUNT_CONTROL),
                ),
                Err(err) => {
                    self.gap(format!("replPropertyMetaData of {}", e.dn), err.to_string());
                    (None, None)
                }
            },
        };
        let when_changed = self.time(e, "whenchanged");
        self.add_principal(&e.dn, sid.clone(), PrincipalKind::Computer, pgid);
        let computer = Computer {
            dn: e.dn.clone(),
            sam_account_name: self.text(e, "samaccountname").unwrap_or_default(),
            dns_host_name: self.text(e, "dnshostname"),
            sid,
            uac,
            operating_system: self.text(e, "operatingsystem"),
            operating_system_version: self.text(e, "operatingsystemversion"),
            spns: sorted(self.texts(e, "serviceprincipalname")),
            allowed_to_delegate_to: sorted(self.texts(e, "msds-allowedtodelegateto")),
            rbcd,
            when_changed,
            delegation_changed,
            uac_changed,
            hyperv_scp: false,
            creator_sid: self.creator_sid(e),
            owner_sid: self.owner_sid(e),
        };
        self.computers.push(computer);
    }

    fn add_account(&mut self, e: &RawEntry, kind: AccountKind) {
        for attr in ["objectSid", "userAccountControl", "sAMAccountName"] {
            self.require(e, attr);
        }
        let sid = self.sid_of(e);
        let uac = Uac(self.number(e, "useraccountcontrol").unwrap_or(0));
        let pgid = self.number(e, "primarygroupid");
        let pkind = match kind {
            AccountKind::User => PrincipalKind::User,
            AccountKind::ManagedServiceAccount => PrincipalKind::ManagedServiceAccount,
            AccountKind::GroupManagedServiceAccount => PrincipalKind::GroupManagedServiceAccount,
        };
        self.add_principal(&e.dn, sid.clone(), pkind, pgid);
        let admin_count = self.number(e, "admincount");
        let account = Account {
            dn: e.dn.clone(),
            kind,
            sam_account_name: self.text(e, "samaccountname").unwrap_or_default(),
            sid,
            uac,
            admin_count,
            primary_group_id: pgid,
            spns: sorted(self.texts(e, "serviceprincipalname")),
            allowed_to_delegate_to: sorted(self.texts(e, "msds-allowedtodelegateto")),
        };
        self.accounts.push(account);
    }

    fn add_group(&mut self, e: RawEntry) {
        let sid = self.sid_of(&e);
        let mut members = Vec::new();
        // (start, end or None for `*`, as written) of each `member;range=` attribute.
        let mut ranges: Vec<(u64, Option<u64>, &str)> = Vec::new();
        let mut undecodable = None;
        for (name, values) in &e.attrs {
            let range = name.strip_prefix("member;range=");
            if name != "member" && range.is_none() {
                continue;
            }
            if let Some(range) = range {
                match parse_range(range) {
                    Some((start, end)) => ranges.push((start, end, range)),
                    None => self.gaps.push(Gap {
                        what: format!("member of {}", e.dn),
                        reason: format!(
                            "membership incomplete: attribute option range={range} is not a \
                             range of the form START-END or START-*"
                        ),
                    }),
                }
            }
            for v in values {
                match std::str::from_utf8(v) {
                    Ok(t) => members.push(t.to_string()),
                    Err(_) => {
                        // A DN that is not UTF-8 names no entry hvaudit can resolve.
                        undecodable.get_or_insert(v.as_slice());
                        members.push(String::from_utf8_lossy(v).into_owned());
                    }
                }
            }
        }
        if let Some(reason) = range_problem(&mut ranges) {
            self.gap(
                format!("member of {}", e.dn),
                format!("membership incomplete: {reason}"),
            );
        }
        if let Some(v) = undecodable {
            self.gap(format!("member of {}", e.dn), not_utf8_reason(v));
        }
        let sam = self.text(&e, "samaccountname").unwrap_or_default();
        self.add_principal(&e.dn, sid.clone(), PrincipalKind::Group, None);
        self.groups.push(RawGroup {
            dn: e.dn.clone(),
            sid,
            sam,
            members,
        });
    }

    /// The first value of `attr` as text. A value that is not valid UTF-8 is recorded as a gap
    /// naming the object and attribute and is returned with U+FFFD in place of the bad bytes,
    /// so it still shows in reports; the remediation script refuses any value holding U+FFFD
    /// ([`crate::remediate::ps_quote`]), so such a value is never written back.
    fn text(&mut self, e: &RawEntry, attr: &str) -> Option<String> {
        let v = e.first(attr)?;
        Some(self.decode(e, attr, v))
    }

    /// Every value of `attr` as text, with the same treatment as [`Self::text`].
    fn texts(&mut self, e: &RawEntry, attr: &str) -> Vec<String> {
        e.values(attr)
            .iter()
            .map(|v| self.decode(e, attr, v))
            .collect()
    }

    fn decode(&mut self, e: &RawEntry, attr: &str, v: &[u8]) -> String {
        match std::str::from_utf8(v) {
            Ok(t) => t.to_string(),
            Err(_) => {
                self.gap(
                    format!("{} of {}", display_attr(attr), e.dn),
                    not_utf8_reason(v),
                );
                String::from_utf8_lossy(v).into_owned()
            }
        }
    }

    /// Resolves everything that needs the whole directory and returns the snapshot.
    pub fn finish(mut self, mut meta: ScanMeta) -> Snapshot {
        let domain_dn = self
            .domain_dn
            .clone()
            .or_else(|| self.infer_domain_dn())
            .unwrap_or_default();
        if domain_dn.is_empty() {
            self.gap("domain", "no domain object and no DC= components in any DN");
        }
        let domain_sid = self.domain_sid.clone().or_else(|| self.infer_domain_sid());
        if domain_sid.is_none() {
            self.gap(
                "domain SID",
                "the domain object was not read and no account SID shows it: privileged groups \
                 cannot be found by SID",
            );
        }

        for c in &mut self.computers {
            c.hyperv_scp = self.hyperv_scp_parents.contains(&c.dn.to_ascii_lowercase());
        }
        let mut dcs: Vec<DomainController> = self
            .computers
            .iter()
            .filter(|c| c.uac.is_dc() || c.uac.has(uac::PARTIAL_SECRETS_ACCOUNT))
            .map(|c| DomainController {
                sam_account_name: c.sam_account_name.clone(),
                dns_host_name: c.dns_host_name.clone(),
                dn: c.dn.clone(),
                read_only: c.uac.has(uac::PARTIAL_SECRETS_ACCOUNT),
            })
            .collect();
        dcs.sort_by_key(|d| d.dn.to_ascii_lowercase());

        let groups = self.resolve_groups(domain_sid.as_ref());

        self.computers.sort_by_key(|c| c.dn.to_ascii_lowercase());
        self.accounts.sort_by_key(|a| a.dn.to_ascii_lowercase());
        for (attr, (count, example)) in std::mem::take(&mut self.missing) {
            self.gap(
                format!("{attr} on {count} account(s), e.g. {example}"),
                "attribute not returned: the bind account may lack the right to read it",
            );
        }
        for c in std::mem::take(&mut self.conflicts) {
            self.gap(
                format!("entry {}", c.dn),
                format!(
                    "returned twice: it is the same object as {}{} ({}); which copy is true \
                     cannot be told",
                    c.first_dn,
                    at_line(c.first_line),
                    c.same
                ),
            );
        }
        meta.gaps.append(&mut self.gaps);
        Snapshot {
            schema_version: SNAPSHOT_SCHEMA_VERSION,
            meta,
            domain: Domain {
                dns_name: dns_name_of(&domain_dn),
                dn: domain_dn,
                netbios_name: self.netbios,
                sid: domain_sid,
                functional_level: self.functional_level,
                domain_controllers: dcs,
            },
            computers: self.computers,
            accounts: self.accounts,
            groups,
        }
    }

    fn infer_domain_dn(&self) -> Option<String> {
        // The DC= suffix shared by the entries, e.g. from an export that left out the domain
        // object itself.
        let dn = self
            .computers
            .first()
            .map(|c| c.dn.as_str())
            .or_else(|| self.accounts.first().map(|a| a.dn.as_str()))?;
        let lower = dn.to_ascii_lowercase();
        let at = lower.find("dc=")?;
        Some(dn[at..].to_string())
    }

    fn infer_domain_sid(&self) -> Option<Sid> {
        // Any domain account's SID minus its RID: all agree within one domain.
        self.computers
            .iter()
            .filter_map(|c| c.sid.as_ref())
            .chain(self.accounts.iter().filter_map(|a| a.sid.as_ref()))
            .find(|s| s.sub_authorities.first() == Some(&21))
            .and_then(Sid::parent)
    }

    /// Picks the groups worth keeping and computes their effective membership.
    fn resolve_groups(&mut self, domain_sid: Option<&Sid>) -> Vec<Group> {
        let mut wanted: HashMap<String, BTreeSet<&'static str>> = HashMap::new();
        let mut want = |sid: String, why: &'static str| {
            wanted.entry(sid).or_default().insert(why);
        };
        for s in wk::PRIVILEGED_BUILTIN {
            want(s.to_string(), "privileged");
        }
        if let Some(d) = domain_sid {
            for rid in wk::PRIVILEGED_DOMAIN_RIDS {
                want(d.with_rid(*rid).to_string(), "privileged");
            }
            want(
                d.with_rid(wk::RID_PROTECTED_USERS).to_string(),
                "protected_users",
            );
        }
        for s in &self.opts.extra_group_sids {
            want(s.to_string(), "configured");
        }
        for c in &self.computers {
            for t in c.rbcd.iter().flat_map(|r| &r.trustees) {
                want(t.sid.to_string(), "rbcd_trustee");
            }
        }

        let by_dn: HashMap<String, usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.dn.to_ascii_lowercase(), i))
            .collect();
        let mut out = Vec::new();
        for (gi, g) in self.groups.iter().enumerate() {
            let Some(reasons) = g.sid.as_ref().and_then(|s| wanted.get(&s.to_string())) else {
                continue;
            };
            let mut effective = self.expand(gi, &by_dn);
            // Each principal is listed once (`expand` dedupes by lower-cased DN), so the DN
            // alone orders them.
            effective.sort_by_cached_key(|m| m.dn.to_ascii_lowercase());
            out.push(Group {
                dn: g.dn.clone(),
                sid: g.sid.clone(),
                sam_account_name: g.sam.clone(),
                reasons: reasons.iter().map(|s| s.to_string()).collect(),
                direct_members: g.members.clone(),
                effective_members: effective,
            });
        }
        out.sort_by_key(|g| g.dn.to_ascii_lowercase());
        out
    }

    /// The `i`-th link out of group `g`: its `member` values first, then the principals whose
    /// primaryGroupID is its RID. Returns (lower-cased DN, DN as written, by primary group).
    fn link<'a>(&'a self, g: &'a RawGroup, i: usize) -> Option<(String, &'a str, bool)> {
        if let Some(m) = g.members.get(i) {
            return Some((m.to_ascii_lowercase(), m, false));
        }
        let primary = g
            .sid
            .as_ref()
            .and_then(Sid::rid)
            .and_then(|rid| self.primary_members.get(&rid))?;
        let dn = primary.get(i - g.members.len())?;
        Some((dn.clone(), dn, true))
    }

    /// Depth-first walk of `member` and primaryGroupID links from group `top`, in link order.
    /// `visited` guards against cycles (AD permits circular nesting) and lists each principal
    /// once, under the first path the walk finds to it. The walk keeps its own stack (a
    /// 100,000-deep chain must not overflow the thread's), and each member records only the
    /// group it was found in (`via_group`), so time and memory are linear in the links walked.
    fn expand(&self, top: usize, by_dn: &HashMap<String, usize>) -> Vec<EffectiveMember> {
        let mut out = Vec::new();
        let mut visited = HashSet::new();
        visited.insert(self.groups[top].dn.to_ascii_lowercase());
        // (group index, next link to follow).
        let mut stack: Vec<(usize, usize)> = vec![(top, 0)];
        while let Some(frame) = stack.last_mut() {
            let (gi, i) = *frame;
            frame.1 += 1;
            let g = &self.groups[gi];
            let Some((key, written, by_primary_group)) = self.link(g, i) else {
                stack.pop();
                continue;
            };
            if visited.contains(&key) {
                continue;
            }
            let p = self.principals.get(&key);
            let kind = p.map_or(PrincipalKind::Unknown, |p| p.kind);
            out.push(EffectiveMember {
                dn: p.map_or_else(|| written.to_string(), |p| p.dn.clone()),
                sid: p.and_then(|p| p.sid.clone()),
                kind,
                via_group: (gi != top).then(|| g.dn.clone()),
                by_primary_group,
            });
            let child = if kind == PrincipalKind::Group {
                by_dn.get(&key).copied()
            } else {
                None
            };
            visited.insert(key);
            if let Some(c) = child {
                stack.push((c, 0));
            }
        }
        out
    }
}

/// Why a value that is not UTF-8 is a gap, with the value shown byte-exact (`\xNN` for each
/// byte that is not part of valid UTF-8, control characters escaped).
fn not_utf8_reason(v: &[u8]) -> String {
    let mut shown = String::new();
    for chunk in v.utf8_chunks() {
        for c in chunk.valid().chars().take(200) {
            if c.is_control() {
                shown.extend(c.escape_default());
            } else {
                shown.push(c);
            }
        }
        for b in chunk.invalid() {
            shown.push_str(&format!("\\x{b:02X}"));
        }
    }
    format!(
        "a value is not valid UTF-8 ('{shown}'): its text is unknown, it is shown with U+FFFD \
         in its place, and the remediation script never writes it back; correct it in the \
         directory (e.g. with ADSI Edit) and scan again"
    )
}

/// The schema spelling of the lower-cased attribute names the builder reads as text.
fn display_attr(attr: &str) -> &str {
    match attr {
        "samaccountname" => "sAMAccountName",
        "dnshostname" => "dNSHostName",
        "operatingsystem" => "operatingSystem",
        "operatingsystemversion" => "operatingSystemVersion",
        "serviceprincipalname" => "servicePrincipalName",
        "msds-allowedtodelegateto" => "msDS-AllowedToDelegateTo",
        "netbiosname" => "nETBIOSName",
        "ncname" => "nCName",
        "useraccountcontrol" => "userAccountControl",
        "primarygroupid" => "primaryGroupID",
        "admincount" => "adminCount",
        "whenchanged" => "whenChanged",
        "msds-behavior-version" => "msDS-Behavior-Version",
        other => other,
    }
}

/// `START-END` or `START-*` of a `member;range=` option.
fn parse_range(range: &str) -> Option<(u64, Option<u64>)> {
    let (a, b) = range.split_once('-')?;
    let start = a.parse().ok()?;
    let end = if b == "*" {
        None
    } else {
        Some(b.parse().ok()?)
    };
    Some((start, end))
}

/// Whether the ranges read cover the attribute from value 0 to the range ending in `*`
/// (MS-ADTS 3.1.1.3.1.3.3, range retrieval). `None` when they do or there are none.
fn range_problem(ranges: &mut [(u64, Option<u64>, &str)]) -> Option<String> {
    if ranges.is_empty() {
        return None;
    }
    ranges.sort_unstable();
    let mut next = 0u64;
    for (i, &(start, end, text)) in ranges.iter().enumerate() {
        if start > next {
            return Some(if next == 0 {
                format!(
                    "the first range read is member;range={text}: values 0-{} were never read",
                    start - 1
                )
            } else {
                format!(
                    "values {next}-{} were never read (hole before member;range={text})",
                    start - 1
                )
            });
        }
        match end {
            Some(end) if end < start => {
                return Some(format!("member;range={text} ends before it starts"));
            }
            Some(end) => next = next.max(end.saturating_add(1)),
            None if i + 1 < ranges.len() => {
                return Some(format!(
                    "member;range={text} claims to be the last range but further ranges follow"
                ));
            }
            None => return None,
        }
    }
    let last = ranges.last().map_or("", |r| r.2);
    Some(format!(
        "only up to member;range={last} was read: the values after it were never read"
    ))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Index of the first comma that separates RDNs (not one escaped with `\`).
fn rdn_end(dn: &str) -> Option<usize> {
    let bytes = dn.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b',' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The DN of the entry's parent.
pub fn parent_dn(dn: &str) -> Option<&str> {
    rdn_end(dn).map(|i| dn[i + 1..].trim_start())
}

/// The value of the entry's own RDN (`CN=Microsoft Hyper-V,...` -> `Microsoft Hyper-V`).
pub fn rdn_value(dn: &str) -> Option<String> {
    let first = &dn[..rdn_end(dn).unwrap_or(dn.len())];
    let (_, v) = first.split_once('=')?;
    Some(v.trim().replace('\\', ""))
}

/// `DC=corp,DC=example` -> `corp.example`.
pub fn dns_name_of(dn: &str) -> String {
    dn.split(',')
        .filter_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            k.eq_ignore_ascii_case("dc").then(|| v.to_string())
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// LDAP GeneralizedTime as AD writes it: `20261120101500.0Z`.
pub fn parse_generalized_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let body = s.strip_suffix('Z').unwrap_or(s);
    let main = body.split(['.', ',']).next()?;
    NaiveDateTime::parse_from_str(main, "%Y%m%d%H%M%S")
        .ok()
        .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_helpers_respect_escaped_commas() {
        assert_eq!(
            parent_dn("CN=Smith\\, John,OU=Users,DC=corp,DC=example"),
            Some("OU=Users,DC=corp,DC=example")
        );
        assert_eq!(
            rdn_value("CN=Microsoft Hyper-V,CN=HV1,DC=x").as_deref(),
            Some("Microsoft Hyper-V")
        );
        assert_eq!(dns_name_of("DC=corp,DC=example"), "corp.example");
    }

    #[test]
    fn generalized_time() {
        let t = parse_generalized_time("20261120101500.0Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-20T10:15:00+00:00");
        assert!(parse_generalized_time("yesterday").is_none());
    }
}

#[cfg(test)]
mod closure_tests {
    use super::*;

    const DOM: &str = "S-1-5-21-1-2-3";

    fn principal(dn: &str, classes: &[&str], rid: u32, extra: &[(&str, &str)]) -> RawEntry {
        let mut e = RawEntry::new(dn);
        for c in classes {
            e.push("objectClass", c.as_bytes().to_vec());
        }
        let sid = Sid::parse(&format!("{DOM}-{rid}")).unwrap();
        e.push("objectSid", sid.to_bytes());
        e.push(
            "sAMAccountName",
            dn.as_bytes()[3..dn.find(',').unwrap()].to_vec(),
        );
        e.push("userAccountControl", b"512".to_vec());
        for (k, v) in extra {
            e.push(k, v.as_bytes().to_vec());
        }
        e
    }

    fn meta() -> ScanMeta {
        ScanMeta {
            tool_version: "t".into(),
            source_kind: "test".into(),
            source: "test".into(),
            bind_identity: None,
            collected_at: Utc::now(),
            reads: vec![],
            gaps: vec![],
            tls_verification_disabled: false,
            connection: None,
        }
    }

    #[test]
    fn resolves_nesting_primary_group_foreign_and_cycles() {
        let mut b = SnapshotBuilder::new(BuildOptions::default());
        let user = ["top", "person", "user"];
        let group = ["top", "group"];
        b.add(principal(
            "CN=Renamed Admins,CN=Users,DC=x",
            &group,
            512,
            &[
                ("member", "CN=L1,CN=Users,DC=x"),
                (
                    "member",
                    "CN=S-1-5-21-9-9-9-1104,CN=ForeignSecurityPrincipals,DC=x",
                ),
            ],
        ));
        b.add(principal(
            "CN=L1,CN=Users,DC=x",
            &group,
            1101,
            &[("member", "CN=L2,CN=Users,DC=x")],
        ));
        // L2 nests L1 again: a cycle AD allows.
        b.add(principal(
            "CN=L2,CN=Users,DC=x",
            &group,
            1102,
            &[
                ("member", "CN=deep,CN=Users,DC=x"),
                ("member", "CN=L1,CN=Users,DC=x"),
            ],
        ));
        b.add(principal(
            "CN=deep,CN=Users,DC=x",
            &user,
            1103,
            &[("primaryGroupID", "513")],
        ));
        b.add(principal(
            "CN=pg,CN=Users,DC=x",
            &user,
            1104,
            &[("primaryGroupID", "512")],
        ));
        let mut fsp = RawEntry::new("CN=S-1-5-21-9-9-9-1104,CN=ForeignSecurityPrincipals,DC=x");
        fsp.push("objectClass", b"foreignSecurityPrincipal".to_vec());
        b.add(fsp);
        let s = b.finish(meta());
        assert_eq!(s.domain.sid.as_ref().unwrap().to_string(), DOM);
        let da = s
            .groups
            .iter()
            .find(|g| g.sam_account_name == "Renamed Admins")
            .unwrap();
        assert_eq!(da.reasons, vec!["privileged"]);
        let paths = da.via_paths();
        let got: Vec<(String, PrincipalKind, usize, bool)> = da
            .effective_members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.dn.clone(), m.kind, paths.depth(i), m.by_primary_group))
            .collect();
        assert_eq!(
            paths.path(0),
            vec!["CN=L1,CN=Users,DC=x", "CN=L2,CN=Users,DC=x"]
        );
        assert_eq!(
            da.effective_members[0].via_group.as_deref(),
            Some("CN=L2,CN=Users,DC=x")
        );
        assert_eq!(
            got,
            vec![
                (
                    "CN=deep,CN=Users,DC=x".to_string(),
                    PrincipalKind::User,
                    2,
                    false
                ),
                (
                    "CN=L1,CN=Users,DC=x".to_string(),
                    PrincipalKind::Group,
                    0,
                    false
                ),
                (
                    "CN=L2,CN=Users,DC=x".to_string(),
                    PrincipalKind::Group,
                    1,
                    false
                ),
                (
                    "CN=pg,CN=Users,DC=x".to_string(),
                    PrincipalKind::User,
                    0,
                    true
                ),
                (
                    "CN=S-1-5-21-9-9-9-1104,CN=ForeignSecurityPrincipals,DC=x".to_string(),
                    PrincipalKind::Foreign,
                    0,
                    false
                ),
            ]
        );
        let fsp = da
            .effective_members
            .iter()
            .find(|m| m.kind == PrincipalKind::Foreign)
            .unwrap();
        assert_eq!(fsp.sid.as_ref().unwrap().to_string(), "S-1-5-21-9-9-9-1104");
        // Groups that are not privileged, configured or RBCD trustees are not kept.
        assert!(s.groups.iter().all(|g| g.sam_account_name != "L1"));
    }

    #[test]
    fn truncated_range_in_export_is_a_gap() {
        let mut b = SnapshotBuilder::new(BuildOptions::default());
        b.add(principal(
            "CN=G,CN=Users,DC=x",
            &["group"],
            512,
            &[("member;range=0-1499", "CN=a,DC=x")],
        ));
        let s = b.finish(meta());
        assert!(!s.is_complete());
        assert!(
            s.meta.gaps[0].reason.contains("0-1499"),
            "{:?}",
            s.meta.gaps
        );
    }

    #[test]
    fn missing_required_attributes_are_aggregated_gaps() {
        let mut b = SnapshotBuilder::new(BuildOptions::default());
        for i in 0..3 {
            let mut e = RawEntry::new(format!("CN=PC{i},DC=x"));
            e.push("objectClass", b"computer".to_vec());
            e.push("sAMAccountName", format!("PC{i}$").into_bytes());
            e.push("userAccountControl", b"4096".to_vec());
            b.add(e);
        }
        let s = b.finish(meta());
        let g: Vec<&str> = s.meta.gaps.iter().map(|g| g.what.as_str()).collect();
        assert!(
            g.iter().any(|w| w.starts_with("objectSid on 3 account(s)")),
            "{g:?}"
        );
    }
}
