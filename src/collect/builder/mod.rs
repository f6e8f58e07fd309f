//! Builds the typed [`Snapshot`] from raw entries. LDAP and LDIF both feed this one builder, so
//! the two sources cannot disagree about what an entry means.
//!
//! One job per file: `classify` sorts each entry into a model object, `decode` turns attribute
//! values into typed values (recording a gap for each one that does not decode), `duplicates`
//! notices two entries that are one object, `groups` resolves effective group membership, and
//! `dn` holds the DN string helpers. This file keeps the builder's state and `finish`.

mod classify;
mod decode;
mod dn;
mod duplicates;
mod groups;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use super::RawEntry;
use crate::model::dn::DnKey;
use crate::model::{
    Account, Computer, Domain, DomainController, Gap, PrincipalKind, SNAPSHOT_SCHEMA_VERSION,
    ScanMeta, Sid, Snapshot, uac,
};

pub use decode::parse_generalized_time;
pub use dn::{dns_name_of, parent_dn, rdn_value};
pub use duplicates::Conflict;
use duplicates::at_line;

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
        self.gaps.push(Gap::new(what, reason));
    }

    /// Records a gap as the caller built it.
    pub fn add_gap(&mut self, gap: Gap) {
        self.gaps.push(gap);
    }

    /// Records something that could not be read on one object, `dn` (see [`Gap::object`]).
    pub fn gap_on(&mut self, dn: &str, what: impl Into<String>, reason: impl Into<String>) {
        self.gaps.push(Gap::on(dn, what, reason));
    }

    pub fn entries_seen(&self) -> u64 {
        self.entries
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
}
