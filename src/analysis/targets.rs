//! Delegation targets: each `msDS-AllowedToDelegateTo` value parsed, resolved to the account
//! that runs the service, and classified.

use serde::Serialize;

use super::Index;
use super::spn::{CIFS_CLASS, MIGRATION_CLASS, Spn, SpnError};
use super::{AccountIdx, ComputerIdx, Principal};
use crate::model::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// `Microsoft Virtual System Migration Service`.
    Migration,
    Cifs,
    /// Any service on a domain controller, and `ldap`, `gc`, `krbtgt` anywhere.
    DcService,
    Other,
    /// A value no service-ticket request can equal (see [`value_defect`]): it delegates to
    /// nothing, whatever its service class.
    Malformed,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Migration => "migration",
            Classification::Cifs => "cifs",
            Classification::DcService => "dc_service",
            Classification::Other => "other",
            Classification::Malformed => "malformed",
        }
    }
}

/// Classes that reach a DC's core services (or the KDC itself) wherever they point: LDAP and
/// the Global Catalog, the KDC's own principals (`krbtgt/<realm>`, `kadmin/changepw`,
/// `kpasswd`), and directory replication (the DRS RPC interface GUID, MS-DRSR 2.2.3.2).
const DC_CLASSES: &[&str] = &[
    "ldap",
    "gc",
    "krbtgt",
    "kadmin",
    "kpasswd",
    "E3514235-4B06-11D1-AB04-00C04FC2DCD2",
];

/// One `msDS-AllowedToDelegateTo` value of one account, borrowed from the snapshot.
#[derive(Debug, Clone)]
pub struct DelegationEntry<'a> {
    /// The account holding the attribute (a computer or an account).
    pub owner: Principal,
    /// The value as stored.
    pub value: &'a str,
    pub spn: Result<Spn<'a>, String>,
    /// The account the SPN's host resolves to; None = stale.
    pub target: Option<Principal>,
    pub target_disabled: bool,
    pub target_is_dc: bool,
    /// The host part names the domain itself (its DNS or NetBIOS name): whatever answers is a
    /// domain controller (`cifs/corp.example` is SYSVOL and NETLOGON).
    pub target_is_domain: bool,
    /// The value names the account that holds it: delegation to itself reaches no peer.
    pub targets_self: bool,
    /// The host part is an FQDN outside the audited domain (lower-cased DNS suffix): classic
    /// KCD does not cross domains (MS-SFU 3.2.5.2.2 resolves the SPN in the service's own
    /// domain), so the value serves no migration; RBCD on the target is the way across.
    pub external_domain: Option<Box<str>>,
    /// No Kerberos request can equal this value ([`value_defect`]; the reason is
    /// [`DelegationEntry::defect`]). A flag, not the text: 600,000 entries at scale, few defective.
    pub defective: bool,
    pub classification: Classification,
}

impl DelegationEntry<'_> {
    /// Why no Kerberos request can equal this value, when none can ([`value_defect`]).
    pub fn defect(&self) -> Option<String> {
        if self.defective {
            value_defect(self.value)
        } else {
            None
        }
    }
}

/// Why no service-ticket request can ever equal a stored `msDS-AllowedToDelegateTo` value, or
/// None when one can.
///
/// S4U2Proxy succeeds only when the SPN the client asks for equals a stored value, compared
/// case-insensitively and otherwise exactly (MS-SFU 3.2.5.2.2, MS-ADTS 3.1.1.5.1.2): the KDC
/// trims nothing and parses nothing. Hyper-V's VMMS asks for
/// `Microsoft Virtual System Migration Service/<host>` and the SMB client for `cifs/<host>`,
/// with `<host>` the NetBIOS name or FQDN the operator typed: never a port, never a third
/// component, never a trailing dot. So: surrounding or embedded white space, control
/// characters, an unparsable SPN (no `/`, empty class or host, bad port), an empty label or a
/// trailing dot in the host part make any value unmatchable; a port or an extra component makes
/// a migration or cifs value unmatchable (other services, such as `MSSQLSvc/sql:1433`, do
/// request such SPNs).
pub fn value_defect(value: &str) -> Option<String> {
    defect_of(value, &Spn::parse(value.trim()))
}

/// [`value_defect`] given the parse of `value.trim()`, which [`entries`] needs anyway: the SPN
/// is read once per stored value (600,000 at the benchmark's size).
fn defect_of(value: &str, trimmed: &Result<Spn<'_>, SpnError>) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".into());
    }
    if value.trim() != value {
        return Some("it has white space before or after it, which the KDC compares too".into());
    }
    if has_control(value) {
        return Some("it contains control characters".into());
    }
    // `value` is its own trim here, so this is the parse of `value`.
    let spn = match trimmed {
        Ok(s) => s,
        Err(e) => return Some(e.to_string()),
    };
    if has_whitespace(spn.host) {
        return Some("its host part contains white space".into());
    }
    if spn.host.ends_with('.') {
        return Some("its host part ends with a dot, a form no client requests".into());
    }
    if spn.host.starts_with('.') || has_empty_label(spn.host) {
        return Some("its host part has an empty label".into());
    }
    if spn.class_is(MIGRATION_CLASS) || spn.class_is(CIFS_CLASS) {
        if spn.port.is_some() {
            return Some(format!(
                "it carries a port, but {} requests `{}/<host>` without one",
                if spn.class_is(CIFS_CLASS) {
                    "the SMB client"
                } else {
                    "the Hyper-V migration service"
                },
                spn.class
            ));
        }
        if spn.service_name.is_some() {
            return Some(format!(
                "it has a third component, but live migration requests the two-part `{}/<host>`",
                spn.class
            ));
        }
    }
    None
}

/// `s` holds a control character (`char::is_control`). Stored values are nearly always
/// ASCII, where that is a byte below 0x20 or 0x7F: this runs for every value of the domain.
fn has_control(s: &str) -> bool {
    if s.is_ascii() {
        // A fold without early exit: the compiler checks many bytes at once.
        s.bytes()
            .fold(false, |found, b| found | b.is_ascii_control())
    } else {
        s.chars().any(char::is_control)
    }
}

/// `s` holds white space (`char::is_whitespace`); in ASCII that is tab to carriage return
/// and space.
fn has_whitespace(s: &str) -> bool {
    if s.is_ascii() {
        s.bytes().fold(false, |found, b| {
            found | (b == b' ') | (b.wrapping_sub(b'\t') <= 4)
        })
    } else {
        s.chars().any(char::is_whitespace)
    }
}

/// `s` holds `..` (an empty label between two dots).
fn has_empty_label(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter()
        .zip(b.iter().skip(1))
        .fold(false, |found, (x, y)| found | ((*x == b'.') & (*y == b'.')))
}

/// The values that say what a defective value meant: `class/host` for a migration or cifs
/// value whose class and host can still be read (trimmed, without port, extra component or
/// trailing dot). Empty when nothing can be recovered.
pub fn intended_value(value: &str) -> Option<String> {
    let t = value.trim();
    let spn = Spn::parse(t).ok()?;
    let host = spn.host.trim().trim_end_matches('.');
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let class = if spn.class_is(MIGRATION_CLASS) {
        MIGRATION_CLASS
    } else if spn.class_is(CIFS_CLASS) {
        CIFS_CLASS
    } else {
        return None;
    };
    Some(format!("{class}/{host}"))
}

pub fn classify(spn: Option<&Spn>, target_is_dc: bool) -> Classification {
    let Some(spn) = spn else {
        return Classification::Malformed;
    };
    // A DC's services come first: cifs or the migration service on a DC is still a DC service.
    if target_is_dc || DC_CLASSES.iter().any(|c| spn.class_is(c)) {
        Classification::DcService
    } else if spn.class_is(MIGRATION_CLASS) {
        Classification::Migration
    } else if spn.class_is(CIFS_CLASS) {
        Classification::Cifs
    } else {
        Classification::Other
    }
}

/// Every delegation entry in the snapshot, computers first, in snapshot order.
pub fn entries<'a>(snapshot: &'a Snapshot, index: &Index) -> Vec<DelegationEntry<'a>> {
    let owners = snapshot
        .computers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                Principal::Computer(ComputerIdx::new(i)),
                &c.allowed_to_delegate_to,
            )
        })
        .chain(snapshot.accounts.iter().enumerate().map(|(i, a)| {
            (
                Principal::Account(AccountIdx::new(i)),
                &a.allowed_to_delegate_to,
            )
        }));
    // Sized up front: at 100,000 computers this is ~600,000 entries, and growing by doubling
    // would leave up to half the vector unused at the peak.
    let total = snapshot
        .computers
        .iter()
        .map(|c| c.allowed_to_delegate_to.len())
        .chain(
            snapshot
                .accounts
                .iter()
                .map(|a| a.allowed_to_delegate_to.len()),
        )
        .sum();
    let mut out = Vec::with_capacity(total);
    let domain_dns = snapshot.domain.dns_name.to_lowercase();
    let domain_netbios = snapshot.domain.netbios_name.as_deref().unwrap_or("");
    for (owner, values) in owners {
        for value in values {
            // A defective value still names something (what it was meant to reach): parse the
            // trimmed value for the report, but it delegates to nothing.
            let parsed = Spn::parse(value.trim());
            let defective = defect_of(value, &parsed).is_some();
            let spn = parsed.map_err(|e| e.to_string());
            let host = spn.as_ref().ok().map(|s| s.host.trim_end_matches('.'));
            let target = host.and_then(|h| index.resolve_spn_host(h));
            let target_disabled = target.is_some_and(|t| index.is_disabled(snapshot, t));
            let target_is_dc = target.is_some_and(|t| index.is_dc(t));
            let target_is_domain = host.is_some_and(|h| {
                (!domain_dns.is_empty() && h.eq_ignore_ascii_case(&domain_dns))
                    || (!domain_netbios.is_empty() && h.eq_ignore_ascii_case(domain_netbios))
            });
            let external_domain = match host {
                Some(h) if target.is_none() && !target_is_domain => {
                    index.external_domain(h).map(String::into_boxed_str)
                }
                _ => None,
            };
            let classification = if defective {
                Classification::Malformed
            } else {
                classify(spn.as_ref().ok(), target_is_dc || target_is_domain)
            };
            out.push(DelegationEntry {
                owner,
                value,
                spn,
                targets_self: target == Some(owner),
                target,
                target_disabled,
                target_is_dc,
                target_is_domain,
                external_domain,
                defective,
                classification,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ASCII fast paths decide every ASCII character as `char` does.
    #[test]
    fn ascii_fast_paths_agree_with_char_classes() {
        for b in 0u8..=127 {
            let c = char::from(b);
            let s = format!("a{c}b");
            assert_eq!(has_control(&s), c.is_control(), "{b:#x}");
            assert_eq!(has_whitespace(&s), c.is_whitespace(), "{b:#x}");
        }
        for s in ["a..b", "a.b.", ".", "..", "", "a.\u{2e}"] {
            assert_eq!(has_empty_label(s), s.contains(".."), "{s:?}");
        }
        for s in ["a\u{85}b", "a\u{a0}b", "a\u{2028}b", "é", "a\u{9f}"] {
            assert_eq!(has_control(s), s.chars().any(char::is_control), "{s:?}");
            assert_eq!(
                has_whitespace(s),
                s.chars().any(char::is_whitespace),
                "{s:?}"
            );
        }
    }

    #[test]
    fn classification_puts_dc_first() {
        fn s(v: &str) -> Spn<'_> {
            Spn::parse(v).unwrap()
        }
        assert_eq!(
            classify(Some(&s("cifs/dc01")), true),
            Classification::DcService
        );
        assert_eq!(classify(Some(&s("cifs/hv01")), false), Classification::Cifs);
        assert_eq!(
            classify(Some(&s("LDAP/anything")), false),
            Classification::DcService
        );
        assert_eq!(
            classify(
                Some(&s("microsoft virtual system migration service/hv")),
                false
            ),
            Classification::Migration
        );
        assert_eq!(classify(Some(&s("http/web")), false), Classification::Other);
        assert_eq!(classify(None, false), Classification::Malformed);
        assert_eq!(
            classify(Some(&s("kadmin/changepw")), false),
            Classification::DcService
        );
    }
}

#[cfg(test)]
mod defect_tests {
    use super::*;

    const M: &str = MIGRATION_CLASS;

    #[test]
    fn exact_lm_values_have_no_defect() {
        for v in [
            format!("{M}/HV02"),
            format!("{M}/hv02.contoso.com"),
            "cifs/HV02".to_string(),
            "CIFS/hv02.contoso.com".to_string(),
            // Ports and instance names are how other services request tickets.
            "MSSQLSvc/sql01.contoso.com:1433".to_string(),
            "ldap/dc01.contoso.com/contoso.com".to_string(),
        ] {
            assert_eq!(value_defect(&v), None, "{v}");
        }
    }

    #[test]
    fn values_no_lm_request_can_equal_have_a_defect() {
        for v in [
            "cifs/hv02.contoso.com:445".to_string(),
            "cifs/HV02:445".to_string(),
            format!("{M}/HV02:6600"),
            format!("{M}/hv02.contoso.com/contoso.com"),
            "cifs/hv02/share".to_string(),
            "cifs/HV02 ".to_string(),
            " cifs/HV02".to_string(),
            "cifs/HV02\t".to_string(),
            "cifs/".to_string(),
            format!("{M}/"),
            "cifs/hv02.contoso.com.".to_string(),
            "cifs/.contoso.com".to_string(),
            "cifs/hv02..contoso.com".to_string(),
            "cifs".to_string(),
            "/hv02".to_string(),
            String::new(),
            "cifs/hv 02".to_string(),
        ] {
            assert!(value_defect(&v).is_some(), "{v:?} should be unmatchable");
        }
    }

    #[test]
    fn intended_value_recovers_class_and_host() {
        assert_eq!(
            intended_value("cifs/hv02.contoso.com:445").as_deref(),
            Some("cifs/hv02.contoso.com")
        );
        assert_eq!(
            intended_value("microsoft virtual system migration service/HV02/contoso.com")
                .as_deref(),
            Some(format!("{M}/HV02").as_str())
        );
        assert_eq!(intended_value("cifs/HV02 ").as_deref(), Some("cifs/HV02"));
        assert_eq!(
            intended_value("cifs/hv02.contoso.com.").as_deref(),
            Some("cifs/hv02.contoso.com")
        );
        assert_eq!(intended_value("cifs/"), None);
        assert_eq!(intended_value("http/web01:80"), None);
    }
}
