//! Paged searches (streamed page by page) and ranged reads of large `member` attributes;
//! [`SearchKind`] names each read.

use ldap3::controls::{ControlType, PagedResults, RawControl};
use ldap3::{LdapError, Scope, SearchEntry};

use crate::collect::RawEntry;
use crate::model::ReadRecord;

use super::error::{connect_hint, search_hint};
use super::*;

/// Which read a search is. Its label names the search in read records, gaps and errors (the
/// snapshot's `reads[].what` and `gaps[].what`); its kind decides whether `--partial-ok` keeps
/// what was read before it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKind {
    /// The RootDSE: the naming contexts.
    RootDse,
    /// The domain object: its SID, name and functional level.
    Domain,
    /// The domain's crossRef under `CN=Partitions`: its NetBIOS name.
    CrossRef,
    /// The one subtree search that reads accounts, groups and Hyper-V service connection points.
    Main,
    /// The bind account's own entry (read-access check).
    BindAccount,
    /// The bind account's tokenGroups (read-access check).
    TokenGroups,
    /// The groups the well-known logon SIDs belong to (read-access check).
    WellKnownGroups,
    /// The schema entries of the audited attributes (read-access check).
    Schema,
    /// One range request for the `member` attribute of the group with this DN.
    MemberRange(String),
    /// The read record that sums up every range request of the group with this DN.
    MemberRanged(String),
}

impl SearchKind {
    /// The DN of the one object the search reads values of, if any (see
    /// [`crate::model::Gap::object`]).
    pub fn object(&self) -> Option<&str> {
        match self {
            SearchKind::MemberRange(dn) | SearchKind::MemberRanged(dn) => Some(dn),
            _ => None,
        }
    }
}

impl std::fmt::Display for SearchKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SearchKind::RootDse => f.write_str("RootDSE"),
            SearchKind::Domain => f.write_str("domain object"),
            SearchKind::CrossRef => f.write_str("domain NetBIOS name (crossRef)"),
            SearchKind::Main => {
                f.write_str("accounts, groups and Hyper-V service connection points")
            }
            SearchKind::BindAccount => f.write_str("bind account"),
            SearchKind::TokenGroups => f.write_str("bind account tokenGroups"),
            SearchKind::WellKnownGroups => f.write_str("groups of well-known logon SIDs"),
            SearchKind::Schema => f.write_str("schema of the audited attributes"),
            SearchKind::MemberRange(dn) => write!(f, "member of {dn}"),
            SearchKind::MemberRanged(dn) => write!(f, "member of {dn} (ranged)"),
        }
    }
}

impl SearchKind {
    /// Whether `--partial-ok` turns a failure of this read into a gap and keeps what was read:
    /// only the main search and the ranged member reads; without the RootDSE or the domain
    /// object there is no audit to speak of.
    pub fn partial_ok_applies(&self) -> bool {
        matches!(self, SearchKind::Main | SearchKind::MemberRange(_))
    }
}

const DOMAIN_SCOPE_OID: &str = "1.2.840.113556.1.4.1339";
/// LDAP_SERVER_SD_FLAGS_OID: which parts of nTSecurityDescriptor to return.
const SD_FLAGS_OID: &str = "1.2.840.113556.1.4.801";

impl Collector {
    /// A paged search whose (few) results are collected into a Vec.
    pub(super) fn search_paged<S: AsRef<str>>(
        &mut self,
        what: SearchKind,
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
    pub(super) fn stream_paged<S: AsRef<str>>(
        &mut self,
        what: SearchKind,
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
            what,
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
    pub(super) fn complete_member_ranges(
        &mut self,
        mut e: RawEntry,
    ) -> Result<RawEntry, CollectError> {
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
                    what: SearchKind::MemberRange(e.dn.clone()),
                    base: e.dn.clone(),
                    entries: members as u64,
                    reason: "range retrieval did not terminate".into(),
                    hint: String::new(),
                });
            }
            let attr = format!("member;range={start}-{}", start + size - 1);
            let got = self.search_paged(
                SearchKind::MemberRange(e.dn.clone()),
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
                    what: SearchKind::MemberRange(e.dn.clone()),
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
                what: SearchKind::MemberRanged(e.dn.clone()).to_string(),
                base: e.dn.clone(),
                filter: "(objectClass=*)".into(),
                entries: members as u64,
                pages: ranges.iter().map(|r| r.pages).sum(),
            });
        }
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

pub(super) fn has_open_range(e: &RawEntry) -> bool {
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
    fn search_kinds_keep_their_snapshot_labels_and_partial_ok_scope() {
        // The labels are the snapshot's reads[].what and gaps[].what: renaming one changes the
        // snapshot format and what tests/samba matches on.
        assert_eq!(
            SearchKind::Main.to_string(),
            "accounts, groups and Hyper-V service connection points"
        );
        assert_eq!(
            SearchKind::MemberRange("CN=G,DC=x".into()).to_string(),
            "member of CN=G,DC=x"
        );
        assert_eq!(
            SearchKind::MemberRanged("CN=G,DC=x".into()).to_string(),
            "member of CN=G,DC=x (ranged)"
        );
        assert_eq!(SearchKind::RootDse.to_string(), "RootDSE");
        // Only the main search and range reads degrade to gaps under --partial-ok.
        assert!(SearchKind::Main.partial_ok_applies());
        assert!(SearchKind::MemberRange("CN=G".into()).partial_ok_applies());
        for k in [
            SearchKind::RootDse,
            SearchKind::Domain,
            SearchKind::CrossRef,
            SearchKind::BindAccount,
            SearchKind::TokenGroups,
            SearchKind::WellKnownGroups,
            SearchKind::Schema,
            SearchKind::MemberRanged("CN=G".into()),
        ] {
            assert!(!k.partial_ok_applies(), "{k}");
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
}
