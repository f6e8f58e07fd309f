//! Reads a live domain controller over LDAP (LDAPS or StartTLS). Read-only by construction: the
//! only operations sent are bind, search and unbind.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ldap3::controls::{ControlType, PagedResults, RawControl};
use ldap3::{LdapConn, LdapConnSettings, LdapError, Scope, SearchEntry};

use super::builder::{BuildOptions, SnapshotBuilder};
use super::{RawEntry, tls};
use crate::model::{ReadRecord, ScanMeta, Snapshot};

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
        }
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
];

const ACCOUNT_FILTER: &str = "(|(objectClass=user)(objectClass=group)\
(objectClass=foreignSecurityPrincipal)\
(&(objectClass=serviceConnectionPoint)(cn=Microsoft Hyper-V)))";

pub struct Collector {
    conn: LdapConn,
    opts: LdapOptions,
    reads: Vec<ReadRecord>,
}

/// Connects, binds, reads everything the audit needs and returns the snapshot.
pub fn collect(opts: LdapOptions, progress: Progress<'_>) -> Result<Snapshot, CollectError> {
    let mut c = Collector::connect(opts)?;
    let snap = c.read_all(progress);
    // Unbind is a courtesy; the snapshot is already complete or marked incomplete.
    let _ = c.conn.unbind();
    snap
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
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(opts.timeout)
            .set_starttls(starttls);
        if opts.insecure_skip_verify {
            settings = settings.set_no_tls_verify(true);
        } else {
            let cfg = tls::client_config(opts.ca_file.as_deref())?;
            settings = settings.set_config(Arc::new(cfg));
        }
        let mut conn =
            LdapConn::with_settings(settings, url).map_err(|e| CollectError::Connect {
                url: url.clone(),
                hint: connect_hint(&e),
                reason: one_line(&e.to_string()),
            })?;
        let res = conn
            .with_timeout(opts.timeout)
            .simple_bind(&opts.user, opts.password.expose())
            .map_err(|e| CollectError::Connect {
                url: url.clone(),
                hint: connect_hint(&e),
                reason: one_line(&e.to_string()),
            })?;
        if let Some(e) = bind_failure(&opts.user, &res) {
            return Err(e);
        }
        Ok(Collector {
            conn,
            opts,
            reads: Vec::new(),
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
                    hint: " (hint: pass --base-dn)".into(),
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

        let mut attrs: Vec<String> = ACCOUNT_ATTRS.iter().map(|s| s.to_string()).collect();
        attrs.push(format!(
            "member;range=0-{}",
            self.opts.range_size.max(1) - 1
        ));
        let mut partial_groups = Vec::new();
        let main = self.stream_paged(
            MAIN_SEARCH,
            &base,
            Scope::Subtree,
            ACCOUNT_FILTER,
            &attrs,
            &mut |e| {
                if has_open_range(&e) {
                    partial_groups.push(e);
                } else {
                    sink(e, &mut builder);
                }
            },
        );
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
            bind_identity: Some(self.opts.user.clone()),
            collected_at: started,
            reads: std::mem::take(&mut self.reads),
            gaps: Vec::new(),
            tls_verification_disabled: self.opts.insecure_skip_verify,
        };
        Ok(builder.finish(meta))
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
                "dnsHostName",
            ],
        )?;
        let e = entries.into_iter().next().unwrap_or_default();
        Ok(RootDse {
            default_nc: e.text("defaultnamingcontext"),
            config_nc: e.text("configurationnamingcontext"),
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
        let err = |e: LdapError| (one_line(&e.to_string()), connect_hint(&e));
        let mut cookie = Vec::new();
        loop {
            let controls: Vec<RawControl> = vec![
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
    /// a time, until the DC answers with a range ending in `*`.
    fn complete_member_ranges(&mut self, mut e: RawEntry) -> Result<RawEntry, CollectError> {
        let mut members = Vec::new();
        let mut next = take_member_ranges(&mut e, &mut members);
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
                    entries: members.len() as u64,
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
            let before = members.len();
            next = take_member_ranges(&mut chunk, &mut members);
            if members.len() == before && next.is_some() {
                return Err(CollectError::Search {
                    what: format!("member of {}", e.dn),
                    base: e.dn.clone(),
                    entries: members.len() as u64,
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
                entries: members.len() as u64,
                pages: ranges.iter().map(|r| r.pages).sum(),
            });
        }
        e.attrs.insert("member".into(), members);
        Ok(e)
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

/// Moves ranged member values into `out`; returns where the next range starts, if any.
fn take_member_ranges(e: &mut RawEntry, out: &mut Vec<Vec<u8>>) -> Option<u32> {
    let keys: Vec<String> = e
        .attrs
        .keys()
        .filter(|k| *k == "member" || k.starts_with("member;range="))
        .cloned()
        .collect();
    let mut next = None;
    for k in keys {
        let vals = e.attrs.remove(&k).unwrap_or_default();
        out.extend(vals);
        if let Some((_, Some(end))) = range_of(&k) {
            next = u32::try_from(end + 1).ok();
        }
    }
    next
}

fn one_line(s: &str) -> String {
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
    if h.is_empty() {
        String::new()
    } else {
        format!(" (hint: {h})")
    }
}

fn search_hint(rc: u32) -> String {
    match rc {
        50 => " (hint: the bind account lacks read rights on this part of the directory)".into(),
        32 => " (hint: the base DN does not exist on this DC; check --base-dn)".into(),
        10 => " (hint: the base DN belongs to another domain; point --server at one of its DCs)"
            .into(),
        _ => String::new(),
    }
}

fn connect_hint(e: &LdapError) -> String {
    let s = e.to_string().to_ascii_lowercase();
    let h = if s.contains("unknownissuer") || s.contains("unknown issuer") {
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
    if h.is_empty() {
        String::new()
    } else {
        format!(" (hint: {h})")
    }
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
        let mut out = Vec::new();
        assert_eq!(take_member_ranges(&mut e, &mut out), Some(2));
        assert_eq!(out.len(), 2);
        let mut last = RawEntry::new("CN=G");
        last.push("member;range=2-*", b"CN=c".to_vec());
        assert!(!has_open_range(&last));
        assert_eq!(take_member_ranges(&mut last, &mut out), None);
        assert_eq!(out.len(), 3);
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
