//! Collection errors and the hints that go with them: what failed, and what the admin can do.

use ldap3::LdapError;

use crate::collect::kerberos::KerberosError;
use crate::collect::tls;
use crate::model::Gap;

use super::*;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("invalid server URL '{url}': {reason}")]
    Url { url: String, reason: String },
    #[error("{0}")]
    Tls(#[from] tls::TlsError),
    #[error("cannot connect to {url}: {reason}{hint}")]
    Connect {
        url: String,
        reason: String,
        hint: String,
    },
    #[error("bind as '{user}' rejected: LDAP result {rc} ({name}): {text}{hint}")]
    Bind {
        user: String,
        rc: u32,
        name: &'static str,
        text: String,
        hint: String,
    },
    /// A search that failed, with how far it got: `entries` were read (and kept by the caller
    /// only with `partial_ok`) before `reason`; the rest of it was not.
    #[error("{}", search_message(what, base, *entries, reason, hint))]
    Search {
        what: SearchKind,
        base: String,
        entries: u64,
        reason: String,
        hint: String,
    },
    #[error("{0}")]
    Kerberos(#[from] KerberosError),
}

fn search_message(what: &SearchKind, base: &str, entries: u64, reason: &str, hint: &str) -> String {
    let under = if base.is_empty() {
        String::new()
    } else {
        format!(" under '{base}'")
    };
    let n = if entries == 1 { "entry" } else { "entries" };
    format!(
        "reading {what}{under} failed after {entries} {n}: {reason}; the rest of it and the \
         reads after it were not done{hint}"
    )
}

impl CollectError {
    /// Whether `--partial-ok` would have kept what was read: only the main search and the
    /// ranged member reads degrade to gaps; without the RootDSE or domain object there is no
    /// audit to speak of.
    pub fn partial_ok_applies(&self) -> bool {
        match self {
            CollectError::Search { what, .. } => what.partial_ok_applies(),
            _ => false,
        }
    }
}

/// The gap a failed read leaves with `--partial-ok`: named by its search, and about one object
/// when the search read one object's values (a group's member ranges).
pub(super) fn search_gap(e: &CollectError) -> Gap {
    match e {
        CollectError::Search { what, .. } => match what.object() {
            Some(dn) => Gap::on(dn, what.to_string(), e.to_string()),
            None => Gap::new(what.to_string(), e.to_string()),
        },
        _ => Gap::new("directory read", e.to_string()),
    }
}

pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Names of the LDAP result codes an auditor meets (RFC 4511).
pub fn rc_name(rc: u32) -> &'static str {
    match rc {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        13 => "confidentialityRequired",
        14 => "saslBindInProgress",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        80 => "other",
        _ => "unknown",
    }
}

/// The error for a bind answered with a non-zero result code (`None` on success). Public so
/// tests can map results the collector itself never provokes (a simple bind in clear text).
pub fn bind_failure(user: &str, res: &ldap3::LdapResult) -> Option<CollectError> {
    (res.rc != 0).then(|| CollectError::Bind {
        user: user.to_string(),
        rc: res.rc,
        name: rc_name(res.rc),
        text: one_line(&res.text),
        hint: bind_hint(res.rc, &res.text),
    })
}

/// `" (hint: ...)"` appended to an error line, or nothing when there is no hint.
pub(crate) fn hint(h: &str) -> String {
    if h.is_empty() {
        String::new()
    } else {
        format!(" (hint: {h})")
    }
}

fn bind_hint(rc: u32, text: &str) -> String {
    // AD (and Samba) put the Win32 sub-status in the diagnostic text as `data 52e` etc.
    let t = text.to_ascii_lowercase();
    let h = if t.contains("data 775") {
        "the account is locked out: wait for the lockout to expire or have it unlocked \
         (Unlock-ADAccount), then retry once with the right password"
    } else if t.contains("data 533") {
        "the account is disabled: enable it or bind with another account"
    } else if t.contains("data 532") || t.contains("data 773") {
        "the password has expired or must be changed: set a new one first"
    } else if t.contains("data 701") {
        "the account has expired: extend its expiry or use another account"
    } else if t.contains("data 52e") || t.contains("data 525") {
        "wrong user name or password: check --user (UPN, DN or DOMAIN\\user) and the password"
    } else {
        match rc {
            49 => "check the user name (UPN, DN or DOMAIN\\user) and the password",
            8 | 13 => "the DC requires transport encryption: use ldaps:// or ldap:// with StartTLS",
            48 => "use a user account (an empty password is an anonymous bind)",
            _ => "",
        }
    };
    hint(h)
}

pub(super) fn kerberos_bind_hint(rc: u32) -> String {
    let h = match rc {
        49 => {
            "the DC rejected the Kerberos ticket: check it with klist and that --kerberos-host \
               names this DC"
        }
        // Samba's default for `ldap server require strong auth` refuses SASL inside TLS.
        8 | 13 => {
            "the DC refuses a Kerberos bind inside TLS (Samba: set `ldap server require \
                   strong auth = allow_sasl_over_tls`)"
        }
        7 => "the DC does not offer SASL GSSAPI",
        _ => "",
    };
    hint(h)
}

pub(super) fn search_hint(rc: u32) -> String {
    hint(match rc {
        50 => "the bind account lacks read rights on this part of the directory",
        32 => "the base DN does not exist on this DC; check --base-dn",
        10 => "the base DN belongs to another domain; point --server at one of its DCs",
        _ => "",
    })
}

pub(super) fn connect_hint(e: &LdapError, starttls: bool) -> String {
    connect_hint_text(&e.to_string(), starttls)
}

/// The hint for a connection failure's text. `starttls`: the failure happened on an
/// `ldap://` URL, where a DC without a certificate answers StartTLS with an error.
pub(super) fn connect_hint_text(text: &str, starttls: bool) -> String {
    let s = text.to_ascii_lowercase();
    // On `ldap://` the only LDAP result before the bind is the answer to StartTLS.
    let h = if starttls && s.contains("ldap operation result") {
        "the DC did not start TLS (a DC without a certificate cannot): bind with Kerberos \
         sealing instead, `--kerberos --seal` (build with --features kerberos)"
    } else if s.contains("unknownissuer") || s.contains("unknown issuer") {
        "the DC's certificate is not trusted: pass --ca-file with the CA that issued it"
    } else if s.contains("notvalidforname") || s.contains("not valid for name") {
        "the DC's certificate is not issued for the name in --server: connect with a name the \
         certificate lists (usually the DC's FQDN)"
    } else if s.contains("expired") && s.contains("certificate") {
        "the DC's certificate has expired: renew it on the DC"
    } else if s.contains("certificate") {
        "the DC's certificate was refused: check it against --ca-file and the name in --server"
    } else if s.contains("lookup")
        || s.contains("resolve")
        || s.contains("name resolution")
        || s.contains("name or service")
    {
        "the server name does not resolve: check the name or use the DC's IP address"
    } else if s.contains("refused") {
        "nothing listens there: check the host and port (LDAPS is 636, LDAP 389)"
    } else if s.contains("timed out") || s.contains("timeout") || s.contains("elapsed") {
        "no answer within the timeout: check reachability or raise --timeout"
    } else if s.contains("reset")
        || s.contains("eof")
        || s.contains("broken pipe")
        || s.contains("end of search stream")
        || s.contains("close_notify")
    {
        "the connection was cut: check the network path and the DC's logs"
    } else {
        ""
    };
    hint(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_hints_read_ad_substatus() {
        assert!(bind_hint(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563").contains("locked"));
        assert!(bind_hint(8, "BindSimple: Transport encryption required.").contains("ldaps://"));
    }
}
