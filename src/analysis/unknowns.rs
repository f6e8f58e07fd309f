//! What the audit cannot know about a migration: the host-side settings the inventory did not
//! deliver, and the gaps of the scan that touch a host. Readiness is ready only when none of
//! these apply (see [`crate::findings::ReadinessState`]).

use super::{AccountIdx, Analysis, HostIdx};
use crate::inventory::MigrationAuth;

/// msDS-Behavior-Version of Windows Server 2012 R2 (MS-ADTS 6.1.4.2).
pub const DFL_2012_R2: u32 = 6;

/// The part a host plays in a migration: the source's authentication type and Credential Guard
/// decide whether it can start one; both ends must have live migration enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Source,
    Destination,
}

impl Analysis<'_> {
    /// Host settings that decide a migration from or to host `h` and are unknown, one sentence
    /// each: no inventory at all, no row for the host, a row the collector could not read
    /// (unreachable host), or an empty column that matters. Empty when all are known.
    pub fn host_setting_unknowns(&self, h: HostIdx, role: Role) -> Vec<String> {
        let host = &self.hosts[h];
        let what = match role {
            Role::Source => format!(
                "whether live migration is enabled on {0}, its migration authentication type and \
                 whether Credential Guard runs on it are unknown",
                host.name
            ),
            Role::Destination => format!(
                "whether live migration is enabled on {} is unknown",
                host.name
            ),
        };
        let Some(inv) = self.inventory else {
            return vec![format!(
                "host settings unknown: no host inventory was given (--hosts), so {what}"
            )];
        };
        let Some(row) = host.inventory.map(|r| &inv.hosts[r]) else {
            return vec![format!(
                "host settings unknown: the host inventory has no row for {}, so {what}",
                host.name
            )];
        };
        if let Some(err) = &row.error {
            return vec![format!(
                "host settings unknown: the inventory collector could not read {}: {err}",
                host.name
            )];
        }
        let mut out = Vec::new();
        if row.migration_enabled.is_none() {
            out.push(format!(
                "the inventory does not say whether live migration is enabled on {}",
                host.name
            ));
        }
        if role == Role::Source {
            match row.authentication_type {
                None => out.push(format!(
                    "the inventory does not give the migration authentication type of {}",
                    host.name
                )),
                Some(MigrationAuth::CredSSP) if row.credential_guard_running.is_none() => {
                    out.push(format!(
                        "{} migrates with CredSSP and the inventory does not say whether \
                         Credential Guard runs on it",
                        host.name
                    ))
                }
                _ => {}
            }
        }
        out
    }

    /// Whether Protected Users membership keeps account `i`'s tickets from being delegated:
    /// only members, and only when the domain functional level is Windows Server 2012 R2
    /// (msDS-Behavior-Version 6) or later, where the DCs enforce it ("Protected Users Security
    /// Group", Microsoft Learn). None when the account is a member and the level is unknown.
    pub fn protected_users_applies(&self, i: AccountIdx) -> Option<bool> {
        if !self.accounts[i].protected_users {
            return Some(false);
        }
        self.snapshot
            .domain
            .functional_level
            .map(|l| l >= DFL_2012_R2)
    }

    /// What is unknown about operator account `i` starting a remote migration.
    pub fn operator_unknowns(&self, i: AccountIdx) -> Vec<String> {
        let acct = &self.snapshot.accounts[i];
        if self.protected_users_applies(i).is_none() && !acct.uac.not_delegated() {
            vec![format!(
                "{} is in Protected Users and the snapshot does not give the domain functional \
                 level: whether its tickets can be delegated is unknown (Protected Users blocks \
                 delegation only at 2012 R2 or later)",
                acct.sam_account_name
            )]
        } else {
            Vec::new()
        }
    }

    /// Gaps of the scan that touch host `h`: those about its own object ([`crate::model::Gap::object`] its DN,
    /// NetBIOS name or FQDN), and every gap that names no single object (a failed search, an
    /// attribute unreadable on many objects), which may hide anything.
    pub fn gaps_touching(&self, h: HostIdx) -> Vec<String> {
        let host = &self.hosts[h];
        self.snapshot
            .meta
            .gaps
            .iter()
            .filter(|g| match g.object.as_deref() {
                Some(o) => {
                    host.dn
                        .as_deref()
                        .is_some_and(|d| d.eq_ignore_ascii_case(o))
                        || host.name.eq_ignore_ascii_case(o)
                        || host
                            .fqdn
                            .as_deref()
                            .is_some_and(|f| f.eq_ignore_ascii_case(o))
                }
                None => true,
            })
            .map(|g| format!("scan gap: {}: {}", g.what, g.reason))
            .collect()
    }
}
