//! What the audit cannot know about a migration: the host-side settings the inventory did not
//! deliver, and the gaps of the scan that touch a host. Readiness is ready only when none of
//! these apply (see [`crate::findings::ReadinessState`]).

use super::Analysis;
use crate::inventory::MigrationAuth;
use crate::model::Gap;

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
    pub fn host_setting_unknowns(&self, h: usize, role: Role) -> Vec<String> {
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
    pub fn protected_users_applies(&self, i: usize) -> Option<bool> {
        if !self.accounts[i].protected_users {
            return Some(false);
        }
        self.snapshot
            .domain
            .functional_level
            .map(|l| l >= DFL_2012_R2)
    }

    /// What is unknown about operator account `i` starting a remote migration.
    pub fn operator_unknowns(&self, i: usize) -> Vec<String> {
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

    /// Gaps of the scan that touch host `h`: those about its own object (`<attribute> of <DN>`,
    /// `rule <id> on <name>`), and every gap that names no single object (a failed search, an
    /// attribute unreadable on many objects), which may hide anything.
    pub fn gaps_touching(&self, h: usize) -> Vec<String> {
        let host = &self.hosts[h];
        self.snapshot
            .meta
            .gaps
            .iter()
            .filter(|g| match gap_subject(g) {
                GapSubject::Object(o) => {
                    host.dn
                        .as_deref()
                        .is_some_and(|d| d.eq_ignore_ascii_case(o))
                        || host.name.eq_ignore_ascii_case(o)
                        || host
                            .fqdn
                            .as_deref()
                            .is_some_and(|f| f.eq_ignore_ascii_case(o))
                }
                // Inventory rows are judged by `host_setting_unknowns`.
                GapSubject::InventoryHost => false,
                GapSubject::Unscoped => true,
            })
            .map(|g| format!("scan gap: {}: {}", g.what, g.reason))
            .collect()
    }
}

enum GapSubject<'g> {
    /// A DN or a host name.
    Object(&'g str),
    InventoryHost,
    Unscoped,
}

/// What a gap is about, from the shapes the collector and the audit write: `<attribute> of
/// <DN>` (one object's attribute), `rule <id> on <object>` (a rule that failed on one object),
/// `inventory host <name>`; anything else concerns no single object.
fn gap_subject(g: &Gap) -> GapSubject<'_> {
    if g.what.starts_with("inventory host ") {
        return GapSubject::InventoryHost;
    }
    if let Some(rest) = g.what.strip_prefix("rule ")
        && let Some((_, object)) = rest.split_once(" on ")
    {
        return GapSubject::Object(object);
    }
    // An aggregated gap ("... on 3 object(s), e.g. DN") may hide more than its example.
    if !g.what.contains(" object(s)")
        && let Some((attr, dn)) = g.what.split_once(" of ")
        && is_attribute_name(attr)
        && dn.contains('=')
    {
        return GapSubject::Object(dn);
    }
    GapSubject::Unscoped
}

/// An LDAP attribute description (MS-ADTS names: letters, digits, `-`), not a phrase such as
/// "search".
fn is_attribute_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !matches!(s.to_ascii_lowercase().as_str(), "search" | "read" | "page")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(what: &str) -> Gap {
        Gap {
            what: what.into(),
            reason: "r".into(),
        }
    }

    #[test]
    fn gap_subjects() {
        assert!(matches!(
            gap_subject(&gap("replPropertyMetaData of CN=HV01,OU=H,DC=x")),
            GapSubject::Object("CN=HV01,OU=H,DC=x")
        ));
        assert!(matches!(
            gap_subject(&gap("rule HV002 on HV01")),
            GapSubject::Object("HV01")
        ));
        assert!(matches!(
            gap_subject(&gap("inventory host HV01")),
            GapSubject::InventoryHost
        ));
        assert!(matches!(
            gap_subject(&gap(
                "msDS-AllowedToDelegateTo on 3 object(s), e.g. CN=a,DC=x"
            )),
            GapSubject::Unscoped
        ));
        assert!(matches!(gap_subject(&gap("domain")), GapSubject::Unscoped));
        assert!(matches!(
            gap_subject(&gap("search of OU=Servers,DC=x")),
            GapSubject::Unscoped
        ));
    }
}
