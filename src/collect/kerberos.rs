//! Kerberos (SASL GSSAPI) bind with the caller's credentials: the ticket cache (`kinit`,
//! `KRB5CCNAME`) or a client keytab (`KRB5_CLIENT_KTNAME`), so no password is ever typed.
//!
//! The GSSAPI part needs the system's Kerberos libraries and is compiled only with the cargo
//! feature `kerberos`. The service-principal host name rules are always compiled, so a build
//! without the feature still rejects bad flags the same way and then says how to rebuild.
//!
//! The bind runs inside the TLS session (LDAPS or StartTLS): ldap3's SASL security layer on
//! plain 389 breaks bulk reads (see docs), and TLS also verifies the DC before any ticket is
//! sent.

use std::net::IpAddr;

/// How to bind with Kerberos: the DNS name of the DC for its service principal `ldap/NAME`.
/// The connection itself may go to an IP address; the ticket is for this name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerberosBind {
    pub spn_host: String,
}

/// Recorded as the bind identity when the credential's principal cannot be read.
pub const UNNAMED_IDENTITY: &str = "GSSAPI (ticket cache)";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KerberosError {
    #[error(
        "--kerberos needs the DC's DNS name for its service principal (ldap/NAME), but the \
         server URL names {host}: pass --kerberos-host with the DC's DNS name (e.g. dc1.example.com)"
    )]
    NeedHostName { host: String },
    #[error("--kerberos-host '{host}' is not a DNS host name")]
    BadHostName { host: String },
    #[error("cannot read a host name from the server URL '{url}'")]
    NoUrlHost { url: String },
    #[error(
        "--kerberos: this hvaudit was built without Kerberos support; rebuild with \
         `cargo build --release --features kerberos` (needs libkrb5-dev, clang and libclang-dev)"
    )]
    NotBuilt,
    #[error(
        "no Kerberos credentials: run kinit (or point KRB5CCNAME at a ticket cache, or \
         KRB5_CLIENT_KTNAME at a keytab){detail}"
    )]
    NoCredentials { detail: String },
    #[error("the Kerberos ticket has expired: run kinit again{detail}")]
    Expired { detail: String },
    #[error("Kerberos bind to {spn} failed: {reason}{hint}")]
    Failed {
        spn: String,
        reason: String,
        hint: String,
    },
}

/// The host of `ldaps://host[:port]/...` or `ldap://[v6]:port`, without brackets or port.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    // Userinfo has no place in an LDAP URL, but a stray one must not become the host.
    let authority = authority.rsplit('@').next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

/// Picks the DNS name the service ticket is requested for: `--kerberos-host` if given, else
/// the URL's host. An IP address is refused (the KDC knows no `ldap/127.0.0.1`), and no
/// reverse lookup is made: which resolver answers would decide which DC is trusted.
pub fn spn_host(url: &str, explicit: Option<&str>) -> Result<String, KerberosError> {
    if let Some(h) = explicit {
        let h = h.trim_end_matches('.');
        if !is_dns_name(h) {
            return Err(KerberosError::BadHostName {
                host: h.to_string(),
            });
        }
        return Ok(h.to_string());
    }
    let host = url_host(url).ok_or_else(|| KerberosError::NoUrlHost {
        url: url.to_string(),
    })?;
    if host.parse::<IpAddr>().is_ok() {
        return Err(KerberosError::NeedHostName {
            host: host.to_string(),
        });
    }
    let host = host.trim_end_matches('.');
    if !is_dns_name(host) {
        return Err(KerberosError::BadHostName {
            host: host.to_string(),
        });
    }
    Ok(host.to_string())
}

/// Letters, digits and hyphens in dot-separated labels; not all digits (that is an address).
fn is_dns_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.parse::<IpAddr>().is_err()
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && !h.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// Whether this binary can bind with Kerberos.
pub const AVAILABLE: bool = cfg!(feature = "kerberos");

#[cfg(feature = "kerberos")]
mod gss {
    use std::time::Duration;

    use ldap3::{LdapConn, LdapResult};
    use libgssapi::credential::{Cred, CredUsage};
    use libgssapi::error::Error as GssError;

    use super::{KerberosBind, KerberosError, UNNAMED_IDENTITY};

    /// The caller's default initiator credential and its principal name.
    pub struct Credential {
        cred: Cred,
        principal: String,
    }

    impl Credential {
        pub fn principal(&self) -> &str {
            &self.principal
        }

        /// The GSS-API credential itself, for the sealed bind hvaudit runs on its own.
        pub fn into_cred(self) -> Cred {
            self.cred
        }
    }

    /// Acquires the default credential before connecting, so a missing or expired ticket is
    /// reported as such, not as a bind failure.
    pub fn acquire() -> Result<Credential, KerberosError> {
        let cred = Cred::acquire(None, None, CredUsage::Initiate, None).map_err(cred_error)?;
        // A ticket cache holding only expired tickets still yields a credential; asking its
        // lifetime then says so (zero, or a credentials-expired status).
        match cred.lifetime() {
            Ok(left) if left == Duration::ZERO => {
                return Err(KerberosError::Expired {
                    detail: String::new(),
                });
            }
            Err(e) if is_expired(&e) => return Err(cred_error(e)),
            _ => {}
        }
        let principal = cred
            .name()
            .ok()
            .and_then(|n| n.display_name().ok())
            .and_then(|b| std::str::from_utf8(&b).ok().map(str::to_string))
            .filter(|s| !s.is_empty() && !s.chars().any(char::is_control))
            .unwrap_or_else(|| UNNAMED_IDENTITY.to_string());
        Ok(Credential { cred, principal })
    }

    /// Runs the SASL GSSAPI exchange on an open (TLS) connection. ldap3's timeout covers
    /// only the first of its three round trips.
    pub fn bind(
        conn: &mut LdapConn,
        how: &KerberosBind,
        cred: Credential,
        timeout: Duration,
    ) -> Result<LdapResult, KerberosError> {
        let spn = format!("ldap/{}", how.spn_host);
        conn.with_timeout(timeout)
            .sasl_gssapi_cred_bind(cross_krb5::Cred::from(cred.cred), &how.spn_host)
            .map_err(|e| {
                let reason = super::super::ldap::one_line(&e.to_string());
                KerberosError::Failed {
                    hint: failure_hint(&reason),
                    spn,
                    reason,
                }
            })
    }

    /// GSS major status: the routine error sits in bits 16-23 as a number, not a flag
    /// (RFC 2744, 3.9.1); 11 is GSS_S_CREDENTIALS_EXPIRED.
    const ROUTINE_CREDENTIALS_EXPIRED: u32 = 11;

    fn is_expired(e: &GssError) -> bool {
        (e.major.bits() >> 16) & 0xff == ROUTINE_CREDENTIALS_EXPIRED
    }

    fn cred_error(e: GssError) -> KerberosError {
        if is_expired(&e) {
            // MIT's text adds nothing to "expired" here.
            KerberosError::Expired {
                detail: String::new(),
            }
        } else {
            // Names the cache or keytab MIT looked in.
            KerberosError::NoCredentials {
                detail: format!(" ({})", super::super::ldap::one_line(&e.to_string())),
            }
        }
    }

    /// MIT's texts for the failures an admin meets, mapped to what to do.
    fn failure_hint(reason: &str) -> String {
        let r = reason.to_ascii_lowercase();
        let h = if r.contains("not found in kerberos database") || r.contains("unknown server") {
            "the KDC knows no such service principal: use the DC's DNS name (--kerberos-host) \
             as registered in its servicePrincipalName"
        } else if r.contains("expired") {
            "the ticket has expired: run kinit again"
        } else if r.contains("cannot find kdc") || r.contains("cannot contact any kdc") {
            "no KDC reachable for the realm: check krb5.conf (KRB5_CONFIG) and the network"
        } else if r.contains("clock skew") {
            "this machine's clock differs from the DC's: synchronise time"
        } else if r.contains("cannot determine realm") {
            "no realm for the DC's name: add a [domain_realm] mapping to krb5.conf"
        } else {
            ""
        };
        crate::collect::ldap::hint(h)
    }
}

/// Without the feature no credential can exist, so `bind` is statically unreachable and
/// `acquire` says how to rebuild.
#[cfg(not(feature = "kerberos"))]
mod gss {
    use std::time::Duration;

    use ldap3::{LdapConn, LdapResult};

    use super::{KerberosBind, KerberosError};

    pub enum Credential {}

    impl Credential {
        pub fn principal(&self) -> &str {
            match *self {}
        }
    }

    pub fn acquire() -> Result<Credential, KerberosError> {
        Err(KerberosError::NotBuilt)
    }

    pub fn bind(
        _: &mut LdapConn,
        _: &KerberosBind,
        cred: Credential,
        _: Duration,
    ) -> Result<LdapResult, KerberosError> {
        match cred {}
    }
}

pub use gss::{Credential, acquire, bind};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("ldaps://dc1.lab.test"), Some("dc1.lab.test"));
        assert_eq!(url_host("ldap://dc1.lab.test:389/"), Some("dc1.lab.test"));
        assert_eq!(url_host("ldaps://127.0.0.60:636"), Some("127.0.0.60"));
        assert_eq!(url_host("ldaps://[::1]:636"), Some("::1"));
        assert_eq!(url_host("ldaps://x@dc1.lab.test"), Some("dc1.lab.test"));
        assert_eq!(url_host("ldaps://"), None);
        assert_eq!(url_host("dc1.lab.test"), None);
    }

    #[test]
    fn spn_host_from_url_or_flag() {
        assert_eq!(
            spn_host("ldaps://DC1.lab.test:636", None),
            Ok("DC1.lab.test".into())
        );
        assert_eq!(
            spn_host("ldaps://dc1.lab.test./", None),
            Ok("dc1.lab.test".into())
        );
        assert_eq!(
            spn_host("ldaps://127.0.0.60", None),
            Err(KerberosError::NeedHostName {
                host: "127.0.0.60".into()
            })
        );
        assert_eq!(
            spn_host("ldaps://[::1]", None),
            Err(KerberosError::NeedHostName { host: "::1".into() })
        );
        assert_eq!(
            spn_host("ldaps://127.0.0.60", Some("dc1.lab.test")),
            Ok("dc1.lab.test".into())
        );
        for bad in [
            "10.0.0.1",
            "dc1/evil",
            "dc1 lab",
            "",
            "-dc.lab.test",
            "a..b",
        ] {
            assert_eq!(
                spn_host("ldaps://127.0.0.60", Some(bad)),
                Err(KerberosError::BadHostName { host: bad.into() }),
                "{bad}"
            );
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        let m = KerberosError::NeedHostName {
            host: "127.0.0.60".into(),
        }
        .to_string();
        assert!(m.contains("--kerberos-host"), "{m}");
        assert!(
            KerberosError::NotBuilt
                .to_string()
                .contains("--features kerberos")
        );
        let m = KerberosError::NoCredentials {
            detail: String::new(),
        }
        .to_string();
        assert!(m.starts_with("no Kerberos credentials: run kinit"), "{m}");
    }
}
