//! Attribute decoding: attribute values as typed values. A value that does not decode is
//! recorded as a gap naming the object and attribute, never guessed.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{RawEntry, SnapshotBuilder};
use crate::model::Sid;

impl SnapshotBuilder {
    pub(super) fn sid_of(&mut self, e: &RawEntry) -> Option<Sid> {
        let raw = e.first("objectsid")?;
        match Sid::from_bytes(raw) {
            Ok(s) => Some(s),
            Err(err) => {
                self.gap_on(&e.dn, format!("objectSid of {}", e.dn), err.to_string());
                None
            }
        }
    }

    /// mS-DS-CreatorSID (binary SID); a value that does not parse is a gap, never a guess.
    pub(super) fn creator_sid(&mut self, e: &RawEntry) -> Option<Sid> {
        let raw = e.first("ms-ds-creatorsid")?;
        match Sid::from_bytes(raw) {
            Ok(s) => Some(s),
            Err(err) => {
                self.gap_on(
                    &e.dn,
                    format!("mS-DS-CreatorSID of {}", e.dn),
                    err.to_string(),
                );
                None
            }
        }
    }

    /// The owner of nTSecurityDescriptor, when the collector kept it (LDAP scans ask for owner
    /// and DACL with the SD-flags control) or an LDIF export carries it.
    pub(super) fn owner_sid(&mut self, e: &RawEntry) -> Option<Sid> {
        let raw = e.first("ntsecuritydescriptor")?;
        match crate::collect::access::parse_owner(raw) {
            Ok(o) => o,
            Err(err) => {
                self.gap_on(
                    &e.dn,
                    format!("nTSecurityDescriptor of {}", e.dn),
                    err.to_string(),
                );
                None
            }
        }
    }

    pub(super) fn require(&mut self, e: &RawEntry, attr: &'static str) {
        if e.first(&attr.to_ascii_lowercase()).is_none() {
            let slot = self.missing.entry(attr).or_insert((0, e.dn.clone()));
            slot.0 += 1;
        }
    }

    pub(super) fn number(&mut self, e: &RawEntry, attr: &str) -> Option<u32> {
        let text = self.text(e, attr)?;
        // userAccountControl and friends are signed 32-bit in the schema; accept both forms.
        match text.trim().parse::<i64>() {
            Ok(n) if (i32::MIN as i64..=u32::MAX as i64).contains(&n) => Some(n as u32),
            _ => {
                self.gap_on(
                    &e.dn,
                    format!("{attr} of {}", e.dn),
                    format!("'{text}' is not a 32-bit integer"),
                );
                None
            }
        }
    }

    pub(super) fn time(&mut self, e: &RawEntry, attr: &str) -> Option<DateTime<Utc>> {
        let text = self.text(e, attr)?;
        match parse_generalized_time(&text) {
            Some(t) => Some(t),
            None => {
                self.gap_on(
                    &e.dn,
                    format!("{attr} of {}", e.dn),
                    format!("'{text}' is not a generalized time"),
                );
                None
            }
        }
    }
    /// The first value of `attr` as text. A value that is not valid UTF-8 is recorded as a gap
    /// naming the object and attribute and is returned with U+FFFD in place of the bad bytes,
    /// so it still shows in reports; the remediation script refuses any value holding U+FFFD
    /// ([`crate::remediate::ps_quote`]), so such a value is never written back.
    pub(super) fn text(&mut self, e: &RawEntry, attr: &str) -> Option<String> {
        let v = e.first(attr)?;
        Some(self.decode(e, attr, v))
    }

    /// Every value of `attr` as text, with the same treatment as [`Self::text`].
    pub(super) fn texts(&mut self, e: &RawEntry, attr: &str) -> Vec<String> {
        e.values(attr)
            .iter()
            .map(|v| self.decode(e, attr, v))
            .collect()
    }

    fn decode(&mut self, e: &RawEntry, attr: &str, v: &[u8]) -> String {
        match std::str::from_utf8(v) {
            Ok(t) => t.to_string(),
            Err(_) => {
                self.gap_on(
                    &e.dn,
                    format!("{} of {}", display_attr(attr), e.dn),
                    not_utf8_reason(v),
                );
                String::from_utf8_lossy(v).into_owned()
            }
        }
    }
}

/// Why a value that is not UTF-8 is a gap, with the value shown byte-exact (`\xNN` for each
/// byte that is not part of valid UTF-8, control characters escaped).
pub(super) fn not_utf8_reason(v: &[u8]) -> String {
    let mut shown = String::new();
    for chunk in v.utf8_chunks() {
        for c in chunk.valid().chars().take(200) {
            if c.is_control() {
                shown.extend(c.escape_default());
            } else {
                shown.push(c);
            }
        }
        for b in chunk.invalid() {
            shown.push_str(&format!("\\x{b:02X}"));
        }
    }
    format!(
        "a value is not valid UTF-8 ('{shown}'): its text is unknown, it is shown with U+FFFD \
         in its place, and the remediation script never writes it back; correct it in the \
         directory (e.g. with ADSI Edit) and scan again"
    )
}

/// The schema spelling of the lower-cased attribute names the builder reads as text.
fn display_attr(attr: &str) -> &str {
    match attr {
        "samaccountname" => "sAMAccountName",
        "dnshostname" => "dNSHostName",
        "operatingsystem" => "operatingSystem",
        "operatingsystemversion" => "operatingSystemVersion",
        "serviceprincipalname" => "servicePrincipalName",
        "msds-allowedtodelegateto" => "msDS-AllowedToDelegateTo",
        "netbiosname" => "nETBIOSName",
        "ncname" => "nCName",
        "useraccountcontrol" => "userAccountControl",
        "primarygroupid" => "primaryGroupID",
        "admincount" => "adminCount",
        "whenchanged" => "whenChanged",
        "msds-behavior-version" => "msDS-Behavior-Version",
        other => other,
    }
}

/// `START-END` or `START-*` of a `member;range=` option.
pub(super) fn parse_range(range: &str) -> Option<(u64, Option<u64>)> {
    let (a, b) = range.split_once('-')?;
    let start = a.parse().ok()?;
    let end = if b == "*" {
        None
    } else {
        Some(b.parse().ok()?)
    };
    Some((start, end))
}

/// Whether the ranges read cover the attribute from value 0 to the range ending in `*`
/// (MS-ADTS 3.1.1.3.1.3.3, range retrieval). `None` when they do or there are none.
pub(super) fn range_problem(ranges: &mut [(u64, Option<u64>, &str)]) -> Option<String> {
    if ranges.is_empty() {
        return None;
    }
    ranges.sort_unstable();
    let mut next = 0u64;
    for (i, &(start, end, text)) in ranges.iter().enumerate() {
        if start > next {
            return Some(if next == 0 {
                format!(
                    "the first range read is member;range={text}: values 0-{} were never read",
                    start - 1
                )
            } else {
                format!(
                    "values {next}-{} were never read (hole before member;range={text})",
                    start - 1
                )
            });
        }
        match end {
            Some(end) if end < start => {
                return Some(format!("member;range={text} ends before it starts"));
            }
            Some(end) => next = next.max(end.saturating_add(1)),
            None if i + 1 < ranges.len() => {
                return Some(format!(
                    "member;range={text} claims to be the last range but further ranges follow"
                ));
            }
            None => return None,
        }
    }
    let last = ranges.last().map_or("", |r| r.2);
    Some(format!(
        "only up to member;range={last} was read: the values after it were never read"
    ))
}

/// LDAP GeneralizedTime as AD writes it: `20261120101500.0Z`.
pub fn parse_generalized_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let body = s.strip_suffix('Z').unwrap_or(s);
    let main = body.split(['.', ',']).next()?;
    NaiveDateTime::parse_from_str(main, "%Y%m%d%H%M%S")
        .ok()
        .map(|n| n.and_utc())
}
