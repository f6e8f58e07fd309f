//! Connecting and binding: LDAPS, StartTLS, simple bind, Kerberos (GSSAPI) bind, and the
//! sealed path.

use std::sync::Arc;

use ldap3::{LdapConn, LdapConnSettings};

use crate::collect::kerberos::{self, KerberosBind};
use crate::collect::tls;

use super::error::{connect_hint, kerberos_bind_hint};
use super::*;
#[cfg(feature = "kerberos")]
use crate::collect::kerberos::KerberosError;

impl Collector {
    pub fn connect(opts: LdapOptions) -> Result<Self, CollectError> {
        let url = &opts.url;
        let lower = url.to_ascii_lowercase();
        let starttls = if lower.starts_with("ldaps://") {
            false
        } else if lower.starts_with("ldap://") {
            true
        } else {
            return Err(CollectError::Url {
                url: url.clone(),
                reason: "use ldaps://host or ldap://host (StartTLS)".into(),
            });
        };
        let sealed = opts.seal && starttls;
        if opts.seal && (!starttls || opts.kerberos.is_none()) {
            return Err(CollectError::Url {
                url: url.clone(),
                reason: "sealing needs --kerberos and an ldap:// URL".into(),
            });
        }
        // Credentials first: a missing ticket is the caller's problem, not the DC's.
        let credential = match &opts.kerberos {
            Some(_) => Some(kerberos::acquire()?),
            None => None,
        };
        let mut connection = crate::model::Connection {
            server: url.clone(),
            protection: "tls".into(),
            certificate: None,
            service_principal: opts
                .kerberos
                .as_ref()
                .map(|k| format!("ldap/{}", k.spn_host)),
            located_by: opts.located_by.clone(),
        };
        let (conn, res, identity) = if sealed {
            let (Some(how), Some(cred)) = (&opts.kerberos, credential) else {
                return Err(CollectError::Url {
                    url: url.clone(),
                    reason: "sealing needs --kerberos".into(),
                });
            };
            connection.protection = "kerberos-sealing".into();
            let principal = cred.principal().to_string();
            let conn = sealed_connect(&opts, how, cred)?;
            let ok = ldap3::LdapResult {
                rc: 0,
                matched: String::new(),
                text: String::new(),
                refs: Vec::new(),
                ctrls: Vec::new(),
            };
            (conn, ok, principal)
        } else {
            let mut settings = LdapConnSettings::new()
                .set_conn_timeout(opts.timeout)
                .set_starttls(starttls);
            let mut seen = None;
            if opts.insecure_skip_verify {
                settings = settings.set_no_tls_verify(true);
            } else {
                let (cfg, s) = tls::recording_client_config(opts.ca_file.as_deref())?;
                seen = Some(s);
                settings = settings.set_config(Arc::new(cfg));
            }
            let mut conn = LdapConn::with_settings(settings, url).map_err(|e| {
                let reason = one_line(&e.to_string());
                CollectError::Connect {
                    url: url.clone(),
                    hint: connect_hint(&e, starttls),
                    reason,
                }
            })?;
            connection.certificate = seen.and_then(|s| s.describe());
            let (res, identity) = match (&opts.kerberos, credential) {
                (Some(how), Some(cred)) => {
                    let principal = cred.principal().to_string();
                    (
                        kerberos::bind(&mut conn, how, cred, opts.timeout)?,
                        principal,
                    )
                }
                _ => (simple_bind(&mut conn, &opts)?, opts.user.clone()),
            };
            (conn, res, identity)
        };
        if opts.kerberos.is_some() && res.rc != 0 {
            return Err(CollectError::Bind {
                user: identity,
                rc: res.rc,
                name: rc_name(res.rc),
                text: one_line(&res.text),
                hint: kerberos_bind_hint(res.rc),
            });
        }
        if let Some(e) = bind_failure(&identity, &res) {
            return Err(e);
        }
        Ok(Collector {
            conn,
            opts,
            reads: Vec::new(),
            identity,
            sd_flags: false,
            connection,
        })
    }
}

/// The sealed path: hvaudit binds and seals (see [`crate::collect::sealed`]) and ldap3 talks plain LDAP
/// over the local end of the relay.
#[cfg(feature = "kerberos")]
fn sealed_connect(
    opts: &LdapOptions,
    how: &KerberosBind,
    cred: kerberos::Credential,
) -> Result<LdapConn, CollectError> {
    use crate::collect::sealed::{self, SealError};
    let url = &opts.url;
    let parsed = url::Url::parse(url).map_err(|e| CollectError::Url {
        url: url.clone(),
        reason: e.to_string(),
    })?;
    let host = parsed
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']']);
    let port = parsed.port().unwrap_or(389);
    let spn = format!("ldap/{}", how.spn_host);
    let local = sealed::connect(host, port, how, cred, opts.timeout).map_err(|e| match e {
        SealError::Connect(reason) => CollectError::Connect {
            url: url.clone(),
            hint: super::error::connect_hint_text(&reason, false),
            reason: one_line(&reason),
        },
        SealError::Refused { rc, text } => CollectError::Bind {
            user: spn.clone(),
            rc,
            name: rc_name(rc),
            text: one_line(&text),
            hint: sealed_bind_hint(rc),
        },
        SealError::Failed(reason) => CollectError::Kerberos(KerberosError::Failed {
            spn: spn.clone(),
            hint: String::new(),
            reason: one_line(&reason),
        }),
    })?;
    let settings = LdapConnSettings::new()
        .set_conn_timeout(opts.timeout)
        .set_std_stream(ldap3::StdStream::Unix(local));
    LdapConn::with_settings(settings, "ldapi://sealed").map_err(|e| CollectError::Connect {
        url: url.clone(),
        hint: String::new(),
        reason: one_line(&e.to_string()),
    })
}

#[cfg(not(feature = "kerberos"))]
fn sealed_connect(
    _: &LdapOptions,
    _: &KerberosBind,
    cred: kerberos::Credential,
) -> Result<LdapConn, CollectError> {
    // No credential exists without the feature.
    match cred {}
}

#[cfg(feature = "kerberos")]
fn sealed_bind_hint(rc: u32) -> String {
    hint(match rc {
        49 => {
            "the DC could not accept the Kerberos ticket: check that --kerberos-host (or the \
             SRV target) is this DC's DNS name as registered in its servicePrincipalName"
        }
        8 | 13 => {
            "the DC refuses sealed LDAP on this port: use ldaps:// or ldap:// with StartTLS \
             (without --seal)"
        }
        7 => "the DC does not offer SASL GSSAPI",
        _ => "",
    })
}

fn simple_bind(conn: &mut LdapConn, opts: &LdapOptions) -> Result<ldap3::LdapResult, CollectError> {
    conn.with_timeout(opts.timeout)
        .simple_bind(&opts.user, opts.password.expose())
        .map_err(|e| CollectError::Connect {
            url: opts.url.clone(),
            hint: connect_hint(&e, false),
            reason: one_line(&e.to_string()),
        })
}
