//! Reads a live domain controller over LDAP (LDAPS or StartTLS). Read-only by construction: the
//! only operations sent are bind, search and unbind.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ldap3::controls::{ControlType, PagedResults, RawControl};
use ldap3::{LdapConn, LdapConnSettings, LdapError, Scope, SearchEntry};

use super::builder::{BuildOptions, SnapshotBuilder};
use super::kerberos::{self, KerberosBind, KerberosError};
use super::{RawEntry, access, tls};
use crate::model::{ReadRecord, ScanMeta, Sid, Snapshot};

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
        what: String,
        base: String,
        entries: u64,
        reason: String,
        hint: String,
    },
    #[error("{0}")]
    Kerberos(#[from] KerberosError),
}

fn search_message(what: &str, base: &str, entries: u64, reason: &str, hint: &str) -> String {
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

/// Progress callback: called with the running count of entries read.
pub type Progress<'a> = &'a mut dyn FnMut(u64);

/// What the one subtree search that reads accounts, groups and SCPs is called in read records,
/// gaps and errors.
pub const MAIN_SEARCH: &str = "accounts, groups and Hyper-V service connection points";

const DOMAIN_SCOPE_OID: &str = "1.2.840.113556.1.4.1339";
/// LDAP_SERVER_SD_FLAGS_OID: which parts of nTSecurityDescriptor to return.
const SD_FLAGS_OID: &str = "1.2.840.113556.1.4.801";

/// Attributes whose absence could hide a finding, checked against the object's DACL when
/// absent: (attribute, applies to groups rather than users and computers). objectSid,
/// userAccountControl and sAMAccountName are required and their absence is a gap anyway.
const READ_CHECKED: &[(&str, bool)] = &[
    ("msDS-AllowedToDelegateTo", false),
    ("msDS-AllowedToActOnBehalfOfOtherIdentity", false),
    ("servicePrincipalName", false),
    ("replPropertyMetaData", false),
    ("primaryGroupID", false),
    ("adminCount", false),
    ("member", true),
];

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

    fn read_all(&mut self, progress: Progress<'_>) -> Result<Snapshot, CollectError> {
        let started = Utc::now();
        let mut builder = SnapshotBuilder::new(self.opts.build.clone());

        let root = self.read_root_dse()?;
        let base = match (&self.opts.base_dn, &root.default_nc) {
            (Some(b), _) => b.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(CollectError::Search {
                    what: "RootDSE".into(),
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
            "domain object",
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
                "domain NetBIOS name (crossRef)",
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
            MAIN_SEARCH,
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
                builder.gap(search_what(&e), e.to_string());
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
                    builder.gap(search_what(&e), e.to_string());
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

    /// The bind account's token (its SID and tokenGroups) and the schema GUIDs of the
    /// attributes in [`READ_CHECKED`]; the error says why the check cannot be made.
    fn read_check(&mut self, domain: &str, root: &RootDse) -> Result<ReadCheck, String> {
        let user = self.identity.clone();
        let found = if user.contains('=') {
            self.search_paged(
                "bind account",
                &user,
                Scope::Base,
                "(objectClass=*)",
                &["objectSid"],
            )
        } else {
            // DOMAIN\user, a UPN (also the implicit UPN sam@dns-domain), or a bare name.
            let sam = user
                .rsplit_once('\\')
                .map(|(_, u)| u)
                .or_else(|| user.split_once('@').map(|(u, _)| u))
                .unwrap_or(&user);
            let filter = format!(
                "(&(objectClass=user)(|(userPrincipalName={})(sAMAccountName={})))",
                ldap3::ldap_escape(&user),
                ldap3::ldap_escape(sam)
            );
            self.search_paged(
                "bind account",
                domain,
                Scope::Subtree,
                &filter,
                &["objectSid"],
            )
        }
        .map_err(|e| e.to_string())?;
        let [account] = found.as_slice() else {
            return Err(format!(
                "{} accounts match the bind identity '{user}'",
                found.len()
            ));
        };
        let sid = account
            .first("objectsid")
            .and_then(|b| Sid::from_bytes(b).ok())
            .ok_or_else(|| format!("the objectSid of {} is not readable", account.dn))?;
        let tg = self
            .search_paged(
                "bind account tokenGroups",
                &account.dn,
                Scope::Base,
                "(objectClass=*)",
                &["tokenGroups"],
            )
            .map_err(|e| e.to_string())?;
        let groups: Vec<Sid> = tg
            .first()
            .map(|e| e.values("tokengroups"))
            .unwrap_or(&[])
            .iter()
            .filter_map(|b| Sid::from_bytes(b).ok())
            .collect();
        if groups.is_empty() {
            return Err(format!(
                "the tokenGroups of {} are not readable",
                account.dn
            ));
        }
        let mut token = access::Token::new(sid, groups);
        // tokenGroups expands the account's own memberships only. A logon token also holds the
        // groups that well-known SIDs belong to (Authenticated Users is a member of
        // Pre-Windows 2000 Compatible Access by default), through their foreign security
        // principals: found level by level upwards with equality matches on `member`, which
        // the directory indexes. (LDAP_MATCHING_RULE_IN_CHAIN over every group of the domain
        // took 3.5 s on a 27,000-object Samba DC, a third of the whole scan.)
        let mut frontier: Vec<String> = access::LOGON_SIDS
            .iter()
            .map(|w| format!("CN={w},CN=ForeignSecurityPrincipals,{domain}"))
            .collect();
        let mut seen = std::collections::HashSet::new();
        // Nesting deeper than this is not a real directory; it bounds a hostile one.
        for _ in 0..64 {
            if frontier.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for chunk in frontier.chunks(100) {
                let filter = format!(
                    "(&(objectClass=group)(|{}))",
                    chunk
                        .iter()
                        .map(|dn| format!("(member={})", ldap3::ldap_escape(dn.as_str())))
                        .collect::<String>()
                );
                let found = self
                    .search_paged(
                        "groups of well-known logon SIDs",
                        domain,
                        Scope::Subtree,
                        &filter,
                        &["objectSid"],
                    )
                    .map_err(|e| e.to_string())?;
                for g in found {
                    if seen.insert(g.dn.to_ascii_lowercase()) {
                        if let Some(sid) =
                            g.first("objectsid").and_then(|b| Sid::from_bytes(b).ok())
                        {
                            token.sids.insert(sid);
                        }
                        next.push(g.dn);
                    }
                }
            }
            frontier = next;
        }

        let schema = root
            .schema_nc
            .clone()
            .ok_or("the RootDSE names no schemaNamingContext")?;
        let filter = format!(
            "(|{})",
            READ_CHECKED
                .iter()
                .map(|(a, _)| format!("(lDAPDisplayName={a})"))
                .collect::<String>()
        );
        let defs = self
            .search_paged(
                "schema of the audited attributes",
                &schema,
                Scope::OneLevel,
                &filter,
                &["lDAPDisplayName", "schemaIDGUID", "attributeSecurityGUID"],
            )
            .map_err(|e| e.to_string())?;
        let mut attrs = Vec::new();
        for (name, group) in READ_CHECKED {
            let def = defs.iter().find(|d| {
                d.text("ldapdisplayname")
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            });
            // An attribute the schema lacks cannot be set either: nothing to check.
            let Some(def) = def else { continue };
            let guid = |a: &str| def.first(a).and_then(|b| <[u8; 16]>::try_from(b).ok());
            let Some(schema_id) = guid("schemaidguid") else {
                return Err(format!("the schemaIDGUID of {name} is not readable"));
            };
            attrs.push(CheckedAttr {
                name,
                groups: *group,
                guids: access::AttrGuids {
                    schema_id,
                    property_set: guid("attributesecurityguid"),
                },
            });
        }
        Ok(ReadCheck {
            token,
            attrs,
            unreadable: Default::default(),
            no_dacl: None,
        })
    }

    fn read_root_dse(&mut self) -> Result<RootDse, CollectError> {
        let entries = self.search_paged(
            "RootDSE",
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

    /// A paged search whose (few) results are collected into a Vec.
    fn search_paged<S: AsRef<str>>(
        &mut self,
        what: &str,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[S],
    ) -> Result<Vec<RawEntry>, CollectError> {
        let mut out = Vec::new();
        self.stream_paged(what, base, scope, filter, attrs, &mut |e| out.push(e))?;
        Ok(out)
    }

    /// Runs one search page by page with the paged-results control, handing each entry to
    /// `sink` as it arrives, so memory follows what the caller keeps. Referrals are skipped
    /// (and the domain-scope control asks the DC not to send them).
    fn stream_paged<S: AsRef<str>>(
        &mut self,
        what: &str,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[S],
        sink: &mut dyn FnMut(RawEntry),
    ) -> Result<(), CollectError> {
        let attrs: Vec<&str> = attrs.iter().map(AsRef::as_ref).collect();
        let mut record = ReadRecord {
            what: what.to_string(),
            base: base.to_string(),
            filter: filter.to_string(),
            entries: 0,
            pages: 0,
        };
        let res = self.stream_pages(&mut record, scope, &attrs, sink);
        // Recorded even on failure: the snapshot then shows how far the search got.
        let entries = record.entries;
        self.reads.push(record);
        res.map_err(|(reason, hint)| CollectError::Search {
            what: what.to_string(),
            base: base.to_string(),
            entries,
            reason,
            hint,
        })
    }

    /// The page loop of [`stream_paged`](Self::stream_paged); errors are (reason, hint).
    fn stream_pages(
        &mut self,
        record: &mut ReadRecord,
        scope: Scope,
        attrs: &[&str],
        sink: &mut dyn FnMut(RawEntry),
    ) -> Result<(), (String, String)> {
        let err = |e: LdapError| (one_line(&e.to_string()), connect_hint(&e, false));
        let mut cookie = Vec::new();
        loop {
            let mut controls: Vec<RawControl> = vec![
                PagedResults {
                    size: self.opts.page_size as i32,
                    cookie: std::mem::take(&mut cookie),
                }
                .into(),
                RawControl {
                    ctype: DOMAIN_SCOPE_OID.to_string(),
                    crit: false,
                    val: None,
                },
            ];
            if self.sd_flags {
                // Owner and DACL (OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                // MS-ADTS 3.1.1.3.4.1.11): READ_CONTROL suffices for both, which ordinary users
                // hold; the SACL would need SeSecurityPrivilege and make the DC omit the whole
                // attribute.
                controls.push(RawControl {
                    ctype: SD_FLAGS_OID.to_string(),
                    crit: false,
                    val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x05]),
                });
            }
            record.pages += 1;
            // The timeout bounds the wait for each response message, so a DC that stalls
            // mid-stream ends the search instead of hanging the scan.
            let mut stream = self
                .conn
                .with_controls(controls)
                .with_timeout(self.opts.timeout)
                .streaming_search(&record.base, scope, &record.filter, attrs)
                .map_err(err)?;
            while let Some(item) = stream.next().map_err(err)? {
                if item.is_ref() {
                    continue;
                }
                record.entries += 1;
                sink(raw_entry(SearchEntry::construct(item)));
            }
            let res = stream.result();
            if res.rc != 0 {
                return Err(search_failure(&res));
            }
            let next = res.ctrls.iter().find_map(|c| match c.0 {
                Some(ControlType::PagedResults) => Some(c.1.parse::<PagedResults>().cookie),
                _ => None,
            });
            match next {
                Some(c) if !c.is_empty() => cookie = c,
                _ => return Ok(()),
            }
        }
    }

    /// Reads the rest of a `member` attribute that came back as a range, one range request at
    /// a time, until the DC answers with a range ending in `*`. Each answer keeps its
    /// `member;range=START-END` name: the snapshot builder checks that the ranges start at 0
    /// and leave no hole (a DC, or something between it and us, answering another range than
    /// the one asked for), and records a gap naming the group if they do not.
    fn complete_member_ranges(&mut self, mut e: RawEntry) -> Result<RawEntry, CollectError> {
        let mut members = member_value_count(&e);
        let mut next = next_range_start(&e);
        // One read record for the whole attribute, however many ranges it took.
        let first_record = self.reads.len();
        let size = self.opts.range_size.max(1);
        let mut guard = 0u32;
        while let Some(start) = next {
            guard += 1;
            if guard > 1_000_000 {
                return Err(CollectError::Search {
                    what: format!("member of {}", e.dn),
                    base: e.dn.clone(),
                    entries: members as u64,
                    reason: "range retrieval did not terminate".into(),
                    hint: String::new(),
                });
            }
            let attr = format!("member;range={start}-{}", start + size - 1);
            let got = self.search_paged(
                &format!("member of {}", e.dn),
                &e.dn,
                Scope::Base,
                "(objectClass=*)",
                &[attr.as_str()],
            )?;
            let mut chunk = got.into_iter().next().unwrap_or_default();
            next = next_range_start(&chunk);
            let moved = move_member_values(&mut chunk, &mut e);
            members += moved;
            if moved == 0 && next.is_some() {
                return Err(CollectError::Search {
                    what: format!("member of {}", e.dn),
                    base: e.dn.clone(),
                    entries: members as u64,
                    reason: format!("the DC returned no values for {attr}"),
                    hint: String::new(),
                });
            }
        }
        let ranges = self.reads.split_off(first_record);
        if !ranges.is_empty() {
            self.reads.push(ReadRecord {
                what: format!("member of {} (ranged)", e.dn),
                base: e.dn.clone(),
                filter: "(objectClass=*)".into(),
                entries: members as u64,
                pages: ranges.iter().map(|r| r.pages).sum(),
            });
        }
        Ok(e)
    }
}

/// The sealed path: hvaudit binds and seals (see [`super::sealed`]) and ldap3 talks plain LDAP
/// over the local end of the relay.
#[cfg(feature = "kerberos")]
fn sealed_connect(
    opts: &LdapOptions,
    how: &KerberosBind,
    cred: kerberos::Credential,
) -> Result<LdapConn, CollectError> {
    use super::sealed::{self, SealError};
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
            hint: connect_hint_text(&reason, false),
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

struct CheckedAttr {
    name: &'static str,
    groups: bool,
    guids: access::AttrGuids,
}

/// Aggregates, over the main search, the attributes absent from entries whose DACL denies the
/// bind account reading them: absent because hidden, not because empty.
struct ReadCheck {
    token: access::Token,
    attrs: Vec<CheckedAttr>,
    /// attribute -> (objects, example DN)
    unreadable: std::collections::BTreeMap<&'static str, (u64, String)>,
    /// Objects whose DACL was not returned or did not parse: (count, example DN, reason).
    no_dacl: Option<(u64, String, String)>,
}

impl ReadCheck {
    /// Checks one entry and drops its security descriptor, except on computers, whose owner
    /// the snapshot builder reads (who controls a would-be Hyper-V host).
    fn inspect(&mut self, e: &mut RawEntry) {
        let sd = e.attrs.remove("ntsecuritydescriptor");
        self.check(e, sd.as_deref());
        if e.has_object_class("computer")
            && let Some(sd) = sd
        {
            e.attrs.insert("ntsecuritydescriptor".to_string(), sd);
        }
    }

    fn check(&mut self, e: &RawEntry, sd: Option<&[Vec<u8>]>) {
        let is_group = e.has_object_class("group");
        if !is_group && !e.has_object_class("user") {
            return;
        }
        let absent: Vec<&CheckedAttr> = self
            .attrs
            .iter()
            .filter(|a| a.groups == is_group)
            .filter(|a| {
                let lower = a.name.to_ascii_lowercase();
                !e.attrs
                    .keys()
                    .any(|k| *k == lower || k.starts_with(&format!("{lower};")))
            })
            .collect();
        if absent.is_empty() {
            return;
        }
        let dacl = match sd.and_then(|v| v.first()) {
            None => Err("not returned".to_string()),
            Some(b) => access::parse_dacl(b).map_err(|err| err.to_string()),
        };
        let dacl = match dacl {
            Ok(d) => d,
            Err(reason) => {
                let slot = self
                    .no_dacl
                    .get_or_insert_with(|| (0, e.dn.clone(), reason));
                slot.0 += 1;
                return;
            }
        };
        let object_sid = e.first("objectsid").and_then(|b| Sid::from_bytes(b).ok());
        for a in absent {
            if !access::can_read(dacl.as_deref(), &self.token, &a.guids, object_sid.as_ref()) {
                let slot = self.unreadable.entry(a.name).or_insert((0, e.dn.clone()));
                slot.0 += 1;
            }
        }
    }

    fn gaps(self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .unreadable
            .into_iter()
            .map(|(attr, (n, example))| {
                (
                    format!("{attr} on {n} object(s), e.g. {example}"),
                    "the object's permissions deny the bind account reading it: its value is \
                     unknown, not empty (bind with an account that may read it)"
                        .to_string(),
                )
            })
            .collect();
        if let Some((n, example, reason)) = self.no_dacl {
            out.push((
                format!("permissions of {n} object(s), e.g. {example}"),
                format!(
                    "security descriptor {reason}: attributes absent from them may be hidden \
                     rather than empty"
                ),
            ));
        }
        out
    }
}

/// Reason and hint for a search answered with a non-zero result code. Referrals are reported,
/// never followed: following them could loop or lead to a server the admin did not name.
fn search_failure(res: &ldap3::LdapResult) -> (String, String) {
    let refs = if res.refs.is_empty() {
        String::new()
    } else {
        format!(" (referred to {})", res.refs.join(", "))
    };
    (
        format!(
            "LDAP result {} ({}): {}{refs}",
            res.rc,
            rc_name(res.rc),
            one_line(&res.text)
        ),
        search_hint(res.rc),
    )
}

impl CollectError {
    /// Whether `--partial-ok` would have kept what was read: only the main search and the
    /// ranged member reads degrade to gaps; without the RootDSE or domain object there is no
    /// audit to speak of.
    pub fn partial_ok_applies(&self) -> bool {
        match self {
            CollectError::Search { what, .. } => {
                what == MAIN_SEARCH || what.starts_with("member of ")
            }
            _ => false,
        }
    }
}

fn search_what(e: &CollectError) -> String {
    match e {
        CollectError::Search { what, .. } => what.clone(),
        _ => "directory read".into(),
    }
}

struct RootDse {
    default_nc: Option<String>,
    config_nc: Option<String>,
    schema_nc: Option<String>,
}

/// Converts an ldap3 entry without copying values. Both maps are read: a binary value that
/// happens to be valid UTF-8 (an objectSid, say) lands in `attrs`, not `bin_attrs`.
fn raw_entry(se: SearchEntry) -> RawEntry {
    let mut e = RawEntry::new(se.dn);
    for (k, vs) in se.attrs {
        let slot = e.attrs.entry(k.to_ascii_lowercase()).or_default();
        slot.extend(vs.into_iter().map(String::into_bytes));
    }
    for (k, vs) in se.bin_attrs {
        e.attrs
            .entry(k.to_ascii_lowercase())
            .or_default()
            .extend(vs);
    }
    e
}

/// Parses `member;range=START-END` attribute names: END `*` means the last chunk.
fn range_of(name: &str) -> Option<(u64, Option<u64>)> {
    let r = name.strip_prefix("member;range=")?;
    let (a, b) = r.split_once('-')?;
    let start = a.parse().ok()?;
    let end = if b == "*" {
        None
    } else {
        Some(b.parse().ok()?)
    };
    Some((start, end))
}

fn has_open_range(e: &RawEntry) -> bool {
    e.attrs
        .keys()
        .any(|k| matches!(range_of(k), Some((_, Some(_)))))
}

fn is_member_attr(name: &str) -> bool {
    name == "member" || name.starts_with("member;range=")
}

/// Where the range after those in `e` starts; `None` once a range ends in `*` (the last one)
/// or when `e` holds no open range.
fn next_range_start(e: &RawEntry) -> Option<u32> {
    let mut next = None;
    for k in e.attrs.keys() {
        match range_of(k) {
            Some((_, None)) => return None,
            Some((_, Some(end))) => next = next.max(u32::try_from(end + 1).ok()),
            None => {}
        }
    }
    next
}

fn member_value_count(e: &RawEntry) -> usize {
    e.attrs
        .iter()
        .filter(|(k, _)| is_member_attr(k))
        .map(|(_, v)| v.len())
        .sum()
}

/// Moves the member values of `chunk` into `e` under their own attribute names (so each
/// range stays identifiable); returns how many values moved.
fn move_member_values(chunk: &mut RawEntry, e: &mut RawEntry) -> usize {
    let keys: Vec<String> = chunk
        .attrs
        .keys()
        .filter(|k| is_member_attr(k))
        .cloned()
        .collect();
    let mut moved = 0;
    for k in keys {
        let vals = chunk.attrs.remove(&k).unwrap_or_default();
        moved += vals.len();
        e.attrs.entry(k).or_default().extend(vals);
    }
    moved
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

fn kerberos_bind_hint(rc: u32) -> String {
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

fn search_hint(rc: u32) -> String {
    hint(match rc {
        50 => "the bind account lacks read rights on this part of the directory",
        32 => "the base DN does not exist on this DC; check --base-dn",
        10 => "the base DN belongs to another domain; point --server at one of its DCs",
        _ => "",
    })
}

fn connect_hint(e: &LdapError, starttls: bool) -> String {
    connect_hint_text(&e.to_string(), starttls)
}

/// The hint for a connection failure's text. `starttls`: the failure happened on an
/// `ldap://` URL, where a DC without a certificate answers StartTLS with an error.
fn connect_hint_text(text: &str, starttls: bool) -> String {
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
    fn ranges_parse_and_merge() {
        assert_eq!(range_of("member;range=0-1499"), Some((0, Some(1499))));
        assert_eq!(range_of("member;range=1500-*"), Some((1500, None)));
        assert_eq!(range_of("member"), None);
        let mut e = RawEntry::new("CN=G");
        e.push("member;range=0-1", b"CN=a".to_vec());
        e.push("member;range=0-1", b"CN=b".to_vec());
        assert!(has_open_range(&e));
        assert_eq!(next_range_start(&e), Some(2));
        assert_eq!(member_value_count(&e), 2);
        let mut last = RawEntry::new("CN=G");
        last.push("member;range=2-*", b"CN=c".to_vec());
        assert!(!has_open_range(&last));
        assert_eq!(next_range_start(&last), None);
        assert_eq!(move_member_values(&mut last, &mut e), 1);
        assert_eq!(member_value_count(&e), 3);
        // Both ranges keep their names, for the builder's coverage check.
        assert_eq!(
            e.attrs.keys().collect::<Vec<_>>(),
            ["member;range=0-1", "member;range=2-*"]
        );
    }

    #[test]
    fn a_dc_answering_another_range_leaves_a_hole_the_builder_reports() {
        // Asked for 2-3, the DC answers 5-*: the merged entry shows the hole.
        let mut e = RawEntry::new("CN=G,DC=x");
        e.push("objectClass", b"group".to_vec());
        e.push("member;range=0-1", b"CN=a,DC=x".to_vec());
        e.push("member;range=0-1", b"CN=b,DC=x".to_vec());
        let mut chunk = RawEntry::new("CN=G,DC=x");
        chunk.push("member;range=5-*", b"CN=f,DC=x".to_vec());
        move_member_values(&mut chunk, &mut e);
        let mut b = SnapshotBuilder::new(Default::default());
        b.add(e);
        let gaps = b.finish(test_meta()).meta.gaps;
        let member: Vec<_> = gaps
            .iter()
            .filter(|g| g.what.starts_with("member"))
            .collect();
        assert_eq!(member.len(), 1, "{gaps:?}");
        assert_eq!(member[0].what, "member of CN=G,DC=x");
        assert!(
            member[0].reason.contains("values 2-4 were never read"),
            "{gaps:?}"
        );
    }

    fn test_meta() -> ScanMeta {
        ScanMeta {
            tool_version: "t".into(),
            source_kind: "ldap".into(),
            source: "t".into(),
            bind_identity: None,
            collected_at: chrono::Utc::now(),
            reads: vec![],
            gaps: vec![],
            tls_verification_disabled: false,
            connection: None,
        }
    }

    #[test]
    fn referrals_are_reported_not_followed() {
        let res = ldap3::LdapResult {
            rc: 10,
            matched: String::new(),
            text: "0000202B: RefErr: DSID-0310082F, data 0, 1 access points".into(),
            refs: vec!["ldap://other.test/DC=other,DC=test".into()],
            ctrls: Vec::new(),
        };
        let (reason, hint) = search_failure(&res);
        assert_eq!(
            reason,
            "LDAP result 10 (referral): 0000202B: RefErr: DSID-0310082F, data 0, 1 access \
             points (referred to ldap://other.test/DC=other,DC=test)"
        );
        assert_eq!(
            hint,
            " (hint: the base DN belongs to another domain; point --server at one of its DCs)"
        );
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let s = Secret::new("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn bind_hints_read_ad_substatus() {
        assert!(bind_hint(49, "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563").contains("locked"));
        assert!(bind_hint(8, "BindSimple: Transport encryption required.").contains("ldaps://"));
    }
}
