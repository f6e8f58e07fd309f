//! Reads a live domain controller over LDAP (LDAPS or StartTLS). Read-only by construction: the
//! only operations sent are bind, search and unbind.

mod connect;
mod error;
mod readcheck;
mod search;

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use ldap3::{LdapConn, Scope};

use super::RawEntry;
use super::builder::{BuildOptions, SnapshotBuilder};
use super::kerberos::KerberosBind;
use crate::model::{ReadRecord, ScanMeta, Snapshot};

use error::search_gap;
use search::has_open_range;

pub use error::{CollectError, bind_failure, rc_name};
pub(crate) use error::{hint, one_line};
pub use search::SearchKind;

/// A password that never shows in Debug output or logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct LdapOptions {
    /// `ldaps://host[:port]` or `ldap://host[:port]` (StartTLS is then required).
    pub url: String,
    pub user: String,
    pub password: Secret,
    pub ca_file: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    /// Connect and per-response timeout.
    pub timeout: Duration,
    /// Entries per page of the paged-results control (AD's MaxPageSize is 1,000).
    pub page_size: u32,
    /// Values per `member;range=` request (AD's MaxValRange is 1,500).
    pub range_size: u32,
    /// Overrides the RootDSE's defaultNamingContext.
    pub base_dn: Option<String>,
    /// When the main search or a ranged read fails midway, keep what was read and record the
    /// failure as a gap (the snapshot is then incomplete) instead of failing the collection.
    pub partial_ok: bool,
    pub build: BuildOptions,
    /// Bind with Kerberos (SASL GSSAPI) instead of `user`/`password`, which are then unused.
    pub kerberos: Option<KerberosBind>,
    /// With `kerberos` and an `ldap://` URL: no StartTLS; the bind negotiates the Kerberos
    /// confidentiality layer and every later message is sealed (see [`super::sealed`]).
    pub seal: bool,
    /// How the DC was chosen, recorded in the snapshot (`--server`, or the SRV name).
    pub located_by: String,
}

impl LdapOptions {
    pub fn new(url: &str, user: &str, password: Secret) -> Self {
        LdapOptions {
            url: url.to_string(),
            user: user.to_string(),
            password,
            ca_file: None,
            insecure_skip_verify: false,
            timeout: Duration::from_secs(30),
            page_size: 500,
            range_size: 1500,
            base_dn: None,
            partial_ok: false,
            build: BuildOptions::default(),
            kerberos: None,
            seal: false,
            located_by: "--server".into(),
        }
    }

    /// Options for a Kerberos bind with the caller's credentials: no user, no password.
    pub fn kerberos(url: &str, how: KerberosBind) -> Self {
        let mut o = LdapOptions::new(url, "", Secret::new(String::new()));
        o.kerberos = Some(how);
        o
    }
}

/// Progress callback: called with the running count of entries read.
pub type Progress<'a> = &'a mut dyn FnMut(u64);

/// Attributes of the one subtree search that reads accounts, groups and SCPs. `member` is
/// requested as a range so large groups are read the same way on every DC.
const ACCOUNT_ATTRS: &[&str] = &[
    "objectClass",
    "sAMAccountName",
    "dNSHostName",
    "objectSid",
    "userAccountControl",
    "operatingSystem",
    "operatingSystemVersion",
    "servicePrincipalName",
    "msDS-AllowedToDelegateTo",
    "msDS-AllowedToActOnBehalfOfOtherIdentity",
    "whenChanged",
    "replPropertyMetaData",
    "primaryGroupID",
    "adminCount",
    "mS-DS-CreatorSID",
];

const ACCOUNT_FILTER: &str = "(|(objectClass=user)(objectClass=group)\
(objectClass=foreignSecurityPrincipal)\
(&(objectClass=serviceConnectionPoint)(cn=Microsoft Hyper-V)))";

pub struct Collector {
    conn: LdapConn,
    opts: LdapOptions,
    reads: Vec<ReadRecord>,
    /// Who the DC authenticated: the bind user, or the Kerberos principal.
    identity: String,
    /// Send the SD-flags control (DACL only) with the next searches.
    sd_flags: bool,
    /// How the connection is protected, for the snapshot.
    connection: crate::model::Connection,
}

/// Connects, binds, reads everything the audit needs and returns the snapshot.
pub fn collect(opts: LdapOptions, progress: Progress<'_>) -> Result<Snapshot, CollectError> {
    let mut c = Collector::connect(opts)?;
    let snap = c.read_all(progress);
    // Unbind is a courtesy; the snapshot is already complete or marked incomplete.
    let _ = c.conn.unbind();
    snap
}

/// Like [`collect`] over DCs to try in order (DNS discovery): a DC that cannot be reached
/// (nothing listening, no route, timeout, TLS handshake cut) is skipped with `skipped` called,
/// and the next one tried. Any other failure (a bind refused, an untrusted certificate, a
/// search failing) ends the run there: retrying a password on every DC could lock the account.
pub fn collect_any(
    candidates: Vec<LdapOptions>,
    progress: Progress<'_>,
    skipped: &mut dyn FnMut(&str, &CollectError),
) -> Result<Snapshot, CollectError> {
    let n = candidates.len();
    let mut last = None;
    for (i, opts) in candidates.into_iter().enumerate() {
        let url = opts.url.clone();
        match Collector::connect(opts) {
            Ok(mut c) => {
                let snap = c.read_all(progress);
                let _ = c.conn.unbind();
                return snap;
            }
            Err(e @ CollectError::Connect { .. }) if unreachable(&e) && i + 1 < n => {
                skipped(&url, &e);
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| CollectError::Url {
        url: String::new(),
        reason: "no domain controller to connect to".into(),
    }))
}

/// Whether a connection failure means the DC is not there (as opposed to a DC that answered
/// and refused, or a certificate that failed verification).
fn unreachable(e: &CollectError) -> bool {
    let CollectError::Connect { reason, .. } = e else {
        return false;
    };
    let r = reason.to_ascii_lowercase();
    !r.contains("certificate") && !r.contains("ldap operation result")
}

impl Collector {
    fn read_all(&mut self, progress: Progress<'_>) -> Result<Snapshot, CollectError> {
        let started = Utc::now();
        let mut builder = SnapshotBuilder::new(self.opts.build.clone());

        let root = self.read_root_dse()?;
        let base = match (&self.opts.base_dn, &root.default_nc) {
            (Some(b), _) => b.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(CollectError::Search {
                    what: SearchKind::RootDse,
                    base: String::new(),
                    entries: 1,
                    reason: "the server published no defaultNamingContext".into(),
                    hint: hint("pass --base-dn"),
                });
            }
        };
        builder.set_domain_dn(&base);

        let mut seen = 0u64;
        let mut sink = |e: RawEntry, b: &mut SnapshotBuilder| {
            b.add(e);
            seen += 1;
            if seen.is_multiple_of(500) {
                progress(seen);
            }
        };

        let domain = self.search_paged(
            SearchKind::Domain,
            &base,
            Scope::Base,
            "(objectClass=*)",
            &["objectClass", "objectSid", "msDS-Behavior-Version", "name"],
        )?;
        for e in domain {
            sink(e, &mut builder);
        }
        if let Some(config_nc) = &root.config_nc {
            let partitions = format!("CN=Partitions,{config_nc}");
            match self.search_paged(
                SearchKind::CrossRef,
                &partitions,
                Scope::OneLevel,
                "(&(objectClass=crossRef)(nETBIOSName=*))",
                &["objectClass", "nETBIOSName", "nCName", "dnsRoot"],
            ) {
                Ok(refs) => refs.into_iter().for_each(|e| sink(e, &mut builder)),
                // The NetBIOS name is cosmetic for the audit: note it, carry on.
                Err(e) => builder.gap("domain NetBIOS name", e.to_string()),
            }
        }

        // Can the bind account read what it does not see? Needs its token and the schema GUIDs.
        let mut check = match self.read_check(root.default_nc.as_deref().unwrap_or(&base), &root) {
            Ok(c) => Some(c),
            Err(reason) => {
                builder.gap(
                    "read-access check",
                    format!(
                        "{reason}: attributes the bind account may not read cannot be told from \
                         empty ones"
                    ),
                );
                None
            }
        };
        let mut attrs: Vec<String> = ACCOUNT_ATTRS.iter().map(|s| s.to_string()).collect();
        if check.is_some() {
            attrs.push("nTSecurityDescriptor".into());
        }
        attrs.push(format!(
            "member;range=0-{}",
            self.opts.range_size.max(1) - 1
        ));
        let mut partial_groups = Vec::new();
        self.sd_flags = check.is_some();
        let main = self.stream_paged(
            SearchKind::Main,
            &base,
            Scope::Subtree,
            ACCOUNT_FILTER,
            &attrs,
            &mut |mut e| {
                if let Some(c) = check.as_mut() {
                    c.inspect(&mut e);
                }
                if has_open_range(&e) {
                    partial_groups.push(e);
                } else {
                    sink(e, &mut builder);
                }
            },
        );
        self.sd_flags = false;
        if let Some(c) = check {
            for (what, reason) in c.gaps() {
                builder.gap(what, reason);
            }
        }
        // With --partial-ok a failed read becomes a gap; after one failure the connection is
        // presumed dead, so groups still missing member ranges are kept as read (the builder
        // records each truncated `member` as a gap of its own).
        let mut failed = match main {
            Ok(()) => false,
            Err(e) if self.opts.partial_ok => {
                builder.add_gap(search_gap(&e));
                true
            }
            Err(e) => return Err(e),
        };
        for g in partial_groups {
            if failed {
                sink(g, &mut builder);
                continue;
            }
            match self.complete_member_ranges(g.clone()) {
                Ok(full) => sink(full, &mut builder),
                Err(e) if self.opts.partial_ok => {
                    builder.add_gap(search_gap(&e));
                    failed = true;
                    sink(g, &mut builder);
                }
                Err(e) => return Err(e),
            }
        }
        progress(seen);

        let meta = ScanMeta {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            source_kind: "ldap".into(),
            source: self.opts.url.clone(),
            bind_identity: Some(self.identity.clone()),
            collected_at: started,
            reads: std::mem::take(&mut self.reads),
            gaps: Vec::new(),
            tls_verification_disabled: self.opts.insecure_skip_verify,
            connection: Some(self.connection.clone()),
        };
        Ok(builder.finish(meta))
    }

    fn read_root_dse(&mut self) -> Result<RootDse, CollectError> {
        let entries = self.search_paged(
            SearchKind::RootDse,
            "",
            Scope::Base,
            "(objectClass=*)",
            &[
                "defaultNamingContext",
                "configurationNamingContext",
                "schemaNamingContext",
                "dnsHostName",
            ],
        )?;
        let e = entries.into_iter().next().unwrap_or_default();
        Ok(RootDse {
            default_nc: e.text("defaultnamingcontext"),
            config_nc: e.text("configurationnamingcontext"),
            schema_nc: e.text("schemanamingcontext"),
        })
    }
}

struct RootDse {
    default_nc: Option<String>,
    config_nc: Option<String>,
    schema_nc: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_debug_print() {
        let s = Secret::new("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
