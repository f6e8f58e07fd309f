//! The typed snapshot of a directory: what collection produces and every later stage reads.
//! It serialises to JSON (`hvaudit collect --out snapshot.json`) and back.

pub mod dn;
pub mod sid;
pub mod uac;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use sid::Sid;
pub use uac::Uac;

/// Bumped whenever a field changes meaning or is removed.
pub const SNAPSHOT_SCHEMA_VERSION: u32 = 1;

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
    /// Groups traversed from this group down to the member (DNs), empty for direct members.
    pub via: Vec<String>,
    /// Member through primaryGroupID rather than `member`.
    pub by_primary_group: bool,
}

impl Snapshot {
    /// True when something could not be read: nothing derived from it can prove compliance.
    pub fn is_complete(&self) -> bool {
        self.meta.gaps.is_empty()
    }

    /// Two objects of the snapshot (computers, accounts, groups) that are one directory object:
    /// the same DN as LDAP compares DNs ([`dn::DnKey`]) or the same objectSid. The collector
    /// never writes such a snapshot, so one that holds them was edited or merged by hand, and
    /// which copy is true cannot be told. Returns a sentence naming both, e.g.
    /// `computers[0] (CN=HV01,...) and computers[2] (cn=hv01,...) have the same DN`.
    pub fn duplicate_objects(&self) -> Option<String> {
        let objects = self
            .computers
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("computers[{i}]"), &c.dn, c.sid.as_ref()))
            .chain(
                self.accounts
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (format!("accounts[{i}]"), &a.dn, a.sid.as_ref())),
            )
            .chain(
                self.groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (format!("groups[{i}]"), &g.dn, g.sid.as_ref())),
            );
        let mut dns = std::collections::HashMap::new();
        let mut sids = std::collections::HashMap::new();
        for (at, dn, sid) in objects {
            if let Some((first, first_dn)) = dns.insert(dn::DnKey::of(dn), (at.clone(), dn)) {
                return Some(format!(
                    "{first} ({first_dn}) and {at} ({dn}) have the same DN"
                ));
            }
            if let Some(sid) = sid
                && let Some((first, first_dn)) = sids.insert(sid, (at.clone(), dn))
            {
                return Some(format!(
                    "{first} ({first_dn}) and {at} ({dn}) have the same objectSid {sid}"
                ));
            }
        }
        None
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

    #[test]
    fn os_build_reads_parenthesised_number() {
        assert_eq!(os_build("10.0 (20348)"), Some(20348));
        assert_eq!(os_build("6.3 (9600)"), Some(9600));
        assert_eq!(os_build("10.0"), None);
        assert_eq!(os_build("10.0 (abc)"), None);
    }
}
