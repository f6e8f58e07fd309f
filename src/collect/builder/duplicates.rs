//! Duplicate detection: two entries that are one directory object (same DN or objectSid).

use super::{RawEntry, SnapshotBuilder};
use crate::model::Sid;
use crate::model::dn::DnKey;

/// Two entries that are one directory object: the same DN (compared as LDAP compares DNs, see
/// [`crate::model::dn`]) or the same objectSid. Lines are 1-based LDIF lines, 0 when the entry
/// did not come from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub first_dn: String,
    pub first_line: usize,
    pub dn: String,
    pub line: usize,
    /// What the two share: `the same DN` or `objectSid S-1-...`.
    pub same: String,
}

impl Conflict {
    /// One sentence naming both entries, for an error at the second one's line.
    pub fn describe(&self) -> String {
        format!(
            "entry {} is the same object as {}{} ({}); an export holds each object once, so \
             which copy is true cannot be told: remove one copy or export again",
            self.dn,
            self.first_dn,
            at_line(self.first_line),
            self.same
        )
    }
}

pub(super) fn at_line(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" at line {line}")
    }
}

impl SnapshotBuilder {
    /// The oldest duplicate found and not yet taken. A file source (LDIF) turns it into an
    /// error naming both places; whatever is left at [`SnapshotBuilder::finish`] (a live DC
    /// returning one object twice) becomes an SC001 gap, so the scan is incomplete either way.
    pub fn take_conflict(&mut self) -> Option<Conflict> {
        (!self.conflicts.is_empty()).then(|| self.conflicts.remove(0))
    }

    /// Records `e` as seen and notes a conflict when its DN or objectSid was seen before.
    pub(super) fn check_duplicate(&mut self, e: &RawEntry) {
        let place = u32::try_from(self.places.len()).unwrap_or(u32::MAX);
        self.places.push((e.dn.as_str().into(), e.line));
        let mut first = None;
        match self.seen_dns.entry(DnKey::of(&e.dn)) {
            std::collections::hash_map::Entry::Occupied(o) => {
                first = Some((
                    *o.get(),
                    "the same DN, compared as LDAP compares DNs".to_string(),
                ));
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(place);
            }
        }
        if first.is_none()
            && let Some(sid) = e.first("objectsid").and_then(|r| Sid::from_bytes(r).ok())
        {
            let text = format!("the same objectSid {sid}");
            match self.seen_sids.entry(sid) {
                std::collections::hash_map::Entry::Occupied(o) => first = Some((*o.get(), text)),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(place);
                }
            }
        }
        if let Some((i, same)) = first {
            let (first_dn, first_line) = self
                .places
                .get(i as usize)
                .map_or((String::new(), 0), |(d, l)| (d.to_string(), *l));
            self.conflicts.push(Conflict {
                first_dn,
                first_line,
                dn: e.dn.clone(),
                line: e.line,
                same,
            });
        }
    }
}
