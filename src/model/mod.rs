//! The typed snapshot of a directory: what collection produces and every later stage reads.
//! It serialises to JSON (`hvaudit collect --out snapshot.json`) and back.

pub mod dn;
mod duplicates;
pub mod json;
pub mod sid;
pub mod uac;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use sid::Sid;
pub use uac::Uac;

/// Bumped whenever a field changes meaning or is removed.
pub const SNAPSHOT_SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub schema_version: u32,
    pub meta: ScanMeta,
    pub domain: Domain,
    pub computers: Vec<Computer>,
    /// Users, managed service accounts and group-managed service accounts.
    pub accounts: Vec<Account>,
    /// Privileged groups (found by SID), configured groups and groups named as RBCD trustees,
    /// each with its effective membership resolved.
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScanMeta {
    pub tool_version: String,
    /// `ldap` or `ldif`.
    pub source_kind: String,
    /// Server URL or LDIF path.
    pub source: String,
    pub bind_identity: Option<String>,
    pub collected_at: DateTime<Utc>,
    /// One line per search or read performed, with how many entries it returned.
    pub reads: Vec<ReadRecord>,
    /// Everything that could not be read. Non-empty means the scan is incomplete.
    pub gaps: Vec<Gap>,
    /// Recorded so reports can say verification was off.
    #[serde(default)]
    pub tls_verification_disabled: bool,
    /// How the connection to the DC was protected and which DC answered (LDAP sources only;
    /// absent for LDIF and in snapshots written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<Connection>,
}

/// The DC a live scan read and how the connection to it was protected.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Connection {
    /// The DC's URL as connected (`ldaps://dc1.corp.example`, `ldap://dc1.corp.example:389`).
    pub server: String,
    /// `tls` (LDAPS or StartTLS) or `kerberos-sealing` (SASL GSSAPI confidentiality layer on
    /// plain LDAP, RFC 4752).
    pub protection: String,
    /// TLS: the subject of the DC's certificate, then its DNS names (`CN=dc1... (DNS:
    /// dc1.corp.example)`); absent when verification was disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Kerberos binds: the DC's service principal the ticket was for (`ldap/dc1.corp.example`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principal: Option<String>,
    /// How the DC was chosen: `--server`, or the DNS SRV name it was found under
    /// (`_ldap._tcp.dc._msdcs.corp.example`).
    pub located_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReadRecord {
    pub what: String,
    pub base: String,
    pub filter: String,
    pub entries: u64,
    /// Pages requested with the paged-results control (0 for LDIF).
    pub pages: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Gap {
    /// What could not be read (a search, an attribute, an object).
    pub what: String,
    /// Why, as the directory or the parser said it.
    pub reason: String,
    /// The one object the gap is about, so readiness can tell which hosts it touches without
    /// reading `what` back: the DN of a directory object one of whose values could not be read
    /// or decoded, or, for a rule that failed on one object, that object as its findings name
    /// it. Absent (`None`) when the gap concerns no single object (a failed search, an
    /// attribute unreadable on many objects, the domain, an object returned twice): such a gap
    /// may hide anything and touches every host. Snapshots written before this field existed
    /// have none, so their gaps touch every host (never less cautious than they were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
}

impl Gap {
    /// A gap about no single object (see [`Gap::object`]).
    pub fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Gap {
            what: what.into(),
            reason: reason.into(),
            object: None,
        }
    }

    /// A gap about one object: `object` is its DN (or the name a rule's findings give it).
    pub fn on(
        object: impl Into<String>,
        what: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Gap {
            object: Some(object.into()),
            ..Gap::new(what, reason)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Domain {
    pub dn: String,
    pub dns_name: String,
    pub netbios_name: Option<String>,
    pub sid: Option<Sid>,
    /// msDS-Behavior-Version of the domain object.
    pub functional_level: Option<u32>,
    pub domain_controllers: Vec<DomainController>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DomainController {
    pub sam_account_name: String,
    pub dns_host_name: Option<String>,
    pub dn: String,
    /// PARTIAL_SECRETS_ACCOUNT: a read-only DC.
    pub read_only: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Computer {
    pub dn: String,
    pub sam_account_name: String,
    pub dns_host_name: Option<String>,
    pub sid: Option<Sid>,
    pub uac: Uac,
    pub operating_system: Option<String>,
    pub operating_system_version: Option<String>,
    pub spns: Vec<String>,
    /// msDS-AllowedToDelegateTo, as stored.
    pub allowed_to_delegate_to: Vec<String>,
    /// msDS-AllowedToActOnBehalfOfOtherIdentity, parsed; None when the attribute is absent.
    pub rbcd: Option<Rbcd>,
    pub when_changed: Option<DateTime<Utc>>,
    /// Originating change time of msDS-AllowedToDelegateTo from replPropertyMetaData.
    pub delegation_changed: Option<DateTime<Utc>>,
    /// Originating change time of userAccountControl from replPropertyMetaData.
    pub uac_changed: Option<DateTime<Utc>>,
    /// A `CN=Microsoft Hyper-V` serviceConnectionPoint sits under the account.
    pub hyperv_scp: bool,
    /// mS-DS-CreatorSID: the account that created this computer through
    /// ms-DS-MachineAccountQuota (MS-ADTS 3.1.1.5.2.1.1: the DC sets it only for such a
    /// create). None when absent (created by an account with the right to create computers,
    /// or not read). Snapshots older than this field read as None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_sid: Option<Sid>,
    /// Owner SID of the object's security descriptor (nTSecurityDescriptor, read with the
    /// SD-flags control asking for owner and DACL; MS-DTYP 2.4.6). None when not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_sid: Option<Sid>,
}

/// Resource-based constrained delegation: who may delegate to this account.
///
/// The DACL of the stored security descriptor (MS-DTYP 2.4.6), in ACL order, with what the
/// access check (MS-DTYP 2.5.3.2) needs: `no_dacl` (everyone is granted) and the ACEs hvaudit
/// cannot read (`opaque`), which make any decision they could change unknown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rbcd {
    /// The ACEs that name a SID, in ACL order (ACEs in `opaque` left out).
    pub trustees: Vec<RbcdTrustee>,
    /// SE_DACL_PRESENT clear or a NULL DACL: Windows' access check grants every requester.
    /// (An empty DACL, by contrast, grants no one.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_dacl: bool,
    /// ACEs of a type hvaudit does not evaluate (audit, label, unknown types...), each with
    /// where it sits among `trustees`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opaque: Vec<OpaqueAce>,
}

/// One ACE of `msDS-AllowedToActOnBehalfOfOtherIdentity` (MS-DTYP 2.4.4).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RbcdTrustee {
    pub sid: Sid,
    /// ACE type: `allow`, `deny`, `allow_object`, `deny_object`; other types by number
    /// (`type-9` is ACCESS_ALLOWED_CALLBACK, `type-10` its deny, `type-11`/`type-12` the
    /// object forms).
    pub ace_type: String,
    pub access_mask: u32,
    /// `AceFlags` (MS-DTYP 2.4.4.1); 0x08 INHERIT_ONLY_ACE means it does not apply here.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ace_flags: u8,
    /// Object ACEs: the ObjectType GUID when ACE_OBJECT_TYPE_PRESENT is set (lower-case,
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`); None for other ACEs and object ACEs without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
}

/// An ACE hvaudit does not evaluate: it could grant or deny anyone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpaqueAce {
    /// Its index in the ACL (0-based).
    pub index: usize,
    /// How many of `Rbcd::trustees` come before it.
    pub before: usize,
    /// `AceType` byte.
    pub ace_type: u8,
    /// `AceFlags` byte.
    pub ace_flags: u8,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    User,
    ManagedServiceAccount,
    GroupManagedServiceAccount,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Account {
    pub dn: String,
    pub kind: AccountKind,
    pub sam_account_name: String,
    pub sid: Option<Sid>,
    pub uac: Uac,
    pub admin_count: Option<u32>,
    pub primary_group_id: Option<u32>,
    pub spns: Vec<String>,
    pub allowed_to_delegate_to: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Group {
    pub dn: String,
    pub sid: Option<Sid>,
    pub sam_account_name: String,
    /// Why the group is in the snapshot: `privileged`, `protected_users`, `configured`,
    /// `rbcd_trustee`.
    pub reasons: Vec<String>,
    /// Direct `member` values (DNs), all ranges read.
    pub direct_members: Vec<String>,
    /// Every principal that is a member directly, through nesting, or by primaryGroupID.
    pub effective_members: Vec<EffectiveMember>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    Computer,
    ManagedServiceAccount,
    GroupManagedServiceAccount,
    Group,
    /// A foreignSecurityPrincipal: a SID from another domain or forest.
    Foreign,
    /// A DN the directory returned as a member but that was not read.
    Unknown,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EffectiveMember {
    pub dn: String,
    pub sid: Option<Sid>,
    pub kind: PrincipalKind,
    /// DN of the nested group whose `member` (or primaryGroupID) made this principal a member;
    /// `None` for a direct member of this group. That nested group is itself one of the
    /// group's `effective_members`, so following these links upwards gives the whole path
    /// ([`Group::via_paths`]) without storing it per member (a 10,000-deep chain would need
    /// 50 million path entries).
    #[serde(default)]
    pub via_group: Option<String>,
    /// Member through primaryGroupID rather than `member`.
    pub by_primary_group: bool,
}

impl Group {
    /// Resolves the `via_group` links of [`Group::effective_members`] once, so that each
    /// member's nesting path can be read in time proportional to what is shown. O(members).
    pub fn via_paths(&self) -> ViaPaths<'_> {
        ViaPaths::new(self)
    }
}

/// How one effective member was reached: the member it was found through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// A direct (or primary-group) member of the group itself.
    Top,
    /// Found in the nested group at this index of `effective_members`.
    Member(usize),
    /// `via_group` names no member of the group, or its links loop (a snapshot edited by
    /// hand: the collector writes neither). The path is shown as that DN alone.
    Unresolved,
}

/// The nesting paths of one group's effective members, from [`Group::via_paths`]. Built from
/// the parent links in O(members) time and memory, cycle-safe (the snapshot is input too).
#[derive(Debug)]
pub struct ViaPaths<'a> {
    group: &'a Group,
    link: Vec<Link>,
    /// Number of nested groups between the group and the member (0 for direct members).
    depth: Vec<usize>,
    /// For members deeper than [`ViaPaths::KEEP`]: the ancestor at depth `KEEP - 1`, whose
    /// path plus itself is the first `KEEP` groups of the member's path.
    prefix: Vec<Option<usize>>,
}

/// A nesting path, top-level nested group first; the middle of a very deep one left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownPath<'a> {
    /// The first groups of the path (DNs), or all of them when `omitted` is 0.
    pub head: Vec<&'a str>,
    /// How many groups between `head` and `tail` are not listed.
    pub omitted: usize,
    /// The last groups of the path (DNs); empty when `omitted` is 0.
    pub tail: Vec<&'a str>,
}

impl<'a> ViaPaths<'a> {
    /// Groups shown at each end of a path deeper than `2 * KEEP`: real directories nest a
    /// handful of levels, and a path listed in full for each of the members of a 10,000-deep
    /// chain would make reports quadratic in its depth.
    pub const KEEP: usize = 32;

    fn new(group: &'a Group) -> Self {
        let members = &group.effective_members;
        let by_dn: std::collections::HashMap<String, usize> = members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.dn.to_ascii_lowercase(), i))
            .collect();
        let mut link: Vec<Link> = members
            .iter()
            .map(|m| match &m.via_group {
                None => Link::Top,
                Some(dn) => by_dn
                    .get(&dn.to_ascii_lowercase())
                    .map_or(Link::Unresolved, |&p| Link::Member(p)),
            })
            .collect();
        const UNSEEN: usize = usize::MAX;
        const PENDING: usize = usize::MAX - 1;
        let mut depth = vec![UNSEEN; members.len()];
        let mut prefix = vec![None; members.len()];
        let mut chain = Vec::new();
        for start in 0..members.len() {
            // Walk up to a member whose depth is known, then assign depths on the way down.
            let mut j = start;
            while depth[j] == UNSEEN {
                depth[j] = PENDING;
                chain.push(j);
                match link[j] {
                    Link::Member(p) if depth[p] == PENDING => {
                        link[j] = Link::Unresolved;
                        break;
                    }
                    Link::Member(p) => j = p,
                    Link::Top | Link::Unresolved => break,
                }
            }
            while let Some(j) = chain.pop() {
                match link[j] {
                    Link::Top => depth[j] = 0,
                    Link::Unresolved => depth[j] = 1,
                    Link::Member(p) => {
                        depth[j] = depth[p] + 1;
                        prefix[j] = if depth[p] + 1 == Self::KEEP {
                            Some(p)
                        } else {
                            prefix[p]
                        };
                    }
                }
            }
        }
        ViaPaths {
            group,
            link,
            depth,
            prefix,
        }
    }

    /// Number of nested groups between the group and member `i` of `effective_members`
    /// (0 for a direct member; 0 for an index out of range).
    pub fn depth(&self, i: usize) -> usize {
        self.depth.get(i).copied().unwrap_or(0)
    }

    /// The DNs of the path to member `i`, last nested group first, lazily.
    fn upwards(&self, mut i: usize) -> impl Iterator<Item = &'a str> + '_ {
        let members = &self.group.effective_members;
        std::iter::from_fn(move || match *self.link.get(i)? {
            Link::Top => None,
            Link::Member(p) => {
                i = p;
                Some(members[p].dn.as_str())
            }
            Link::Unresolved => {
                let dn = members[i].via_group.as_deref();
                i = usize::MAX;
                dn
            }
        })
    }

    /// The whole nesting path to member `i` (DNs, outermost nested group first), O(depth).
    pub fn path(&self, i: usize) -> Vec<&'a str> {
        let mut v: Vec<&str> = self.upwards(i).collect();
        v.reverse();
        v
    }

    /// The path to member `i` for display: whole up to `2 * KEEP` groups, else the first and
    /// last `KEEP` and the number left out between them. O(KEEP) however deep the member is.
    pub fn shown(&self, i: usize) -> ShownPath<'a> {
        let depth = self.depth(i);
        match self.prefix.get(i).copied().flatten() {
            Some(anchor) if depth > 2 * Self::KEEP => {
                let mut head = self.path(anchor);
                head.push(self.group.effective_members[anchor].dn.as_str());
                let mut tail: Vec<&str> = self.upwards(i).take(Self::KEEP).collect();
                tail.reverse();
                ShownPath {
                    head,
                    omitted: depth - 2 * Self::KEEP,
                    tail,
                }
            }
            _ => ShownPath {
                head: self.path(i),
                omitted: 0,
                tail: Vec::new(),
            },
        }
    }
}

impl Snapshot {
    /// True when something could not be read: nothing derived from it can prove compliance.
    pub fn is_complete(&self) -> bool {
        self.meta.gaps.is_empty()
    }
}

/// Parses `operatingSystemVersion` (`10.0 (20348)`) to its build number.
pub fn os_build(version: &str) -> Option<u32> {
    let open = version.find('(')?;
    let close = version[open..].find(')')? + open;
    version[open + 1..close].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(dn: &str, via: Option<&str>) -> EffectiveMember {
        EffectiveMember {
            dn: dn.into(),
            sid: None,
            kind: PrincipalKind::Group,
            via_group: via.map(str::to_string),
            by_primary_group: false,
        }
    }

    fn group(members: Vec<EffectiveMember>) -> Group {
        Group {
            dn: "CN=G".into(),
            sid: None,
            sam_account_name: "G".into(),
            reasons: vec![],
            direct_members: vec![],
            effective_members: members,
        }
    }

    #[test]
    fn via_paths_follow_parent_links() {
        let g = group(vec![
            member("CN=c", Some("cn=B")),
            member("CN=a", None),
            member("CN=b", Some("CN=a")),
        ]);
        let p = g.via_paths();
        assert_eq!(p.path(0), vec!["CN=a", "CN=b"]);
        assert_eq!((p.depth(0), p.depth(1), p.depth(2)), (2, 0, 1));
        assert!(p.path(1).is_empty());
        assert_eq!(p.depth(9), 0);
    }

    #[test]
    fn via_paths_of_a_hand_edited_snapshot_end() {
        // A loop and a parent that is no member: each shown as the DN it names, no hang.
        let g = group(vec![
            member("CN=a", Some("CN=b")),
            member("CN=b", Some("CN=a")),
            member("CN=c", Some("CN=nowhere")),
            member("CN=d", Some("CN=d")),
        ]);
        let p = g.via_paths();
        for i in 0..4 {
            assert!(p.path(i).len() <= 2, "{i}: {:?}", p.path(i));
        }
        assert_eq!(p.path(2), vec!["CN=nowhere"]);
        assert_eq!(p.path(3), vec!["CN=d"]);
    }

    #[test]
    fn via_paths_elide_the_middle_of_deep_paths() {
        let n = 1000;
        let mut members = vec![member("CN=0", None)];
        for i in 1..n {
            members.push(member(&format!("CN={i}"), Some(&format!("CN={}", i - 1))));
        }
        let g = group(members);
        let p = g.via_paths();
        let shown = p.shown(n - 1);
        assert_eq!(shown.head.len(), ViaPaths::KEEP);
        assert_eq!(shown.tail.len(), ViaPaths::KEEP);
        assert_eq!(shown.head[0], "CN=0");
        assert_eq!(shown.tail[ViaPaths::KEEP - 1], format!("CN={}", n - 2));
        assert_eq!(shown.omitted, n - 1 - 2 * ViaPaths::KEEP);
        // Up to 2 * KEEP groups are shown whole.
        let whole = p.shown(2 * ViaPaths::KEEP);
        assert_eq!((whole.head.len(), whole.omitted), (2 * ViaPaths::KEEP, 0));
    }

    #[test]
    fn os_build_reads_parenthesised_number() {
        assert_eq!(os_build("10.0 (20348)"), Some(20348));
        assert_eq!(os_build("6.3 (9600)"), Some(9600));
        assert_eq!(os_build("10.0"), None);
        assert_eq!(os_build("10.0 (abc)"), None);
    }
}
