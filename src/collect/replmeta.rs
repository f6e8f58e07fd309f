//! When was an attribute last changed? `replPropertyMetaData` (MS-DRSR
//! REPL_PROPERTY_META_DATA_BLOB) records it per attribute; the audit uses it to tell whether a
//! host rebooted since its delegation changed. Read from the directory, so attacker-controlled:
//! sizes are checked before anything is allocated.

use chrono::{DateTime, Utc};

/// `msDS-AllowedToDelegateTo` (KCD service list).
pub const ATTID_MS_DS_ALLOWED_TO_DELEGATE_TO: u32 = 0x906FB;
/// `userAccountControl` (protocol transition and other delegation bits).
pub const ATTID_USER_ACCOUNT_CONTROL: u32 = 0x90008;

const HEADER: usize = 16;
const ENTRY: usize = 48;
/// Seconds from 1601-01-01 (the blob's epoch) to 1970-01-01.
const EPOCH_1601_TO_UNIX: i64 = 11_644_473_600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplMetaEntry {
    pub attid: u32,
    /// How many times the attribute has been changed (originating writes).
    pub version: u32,
    pub changed: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplMetaError {
    #[error("replPropertyMetaData is {0} bytes, shorter than its 16-byte header")]
    TooShort(usize),
    #[error("replPropertyMetaData version {0} at offset 0 is not 1")]
    Version(u32),
    #[error(
        "replPropertyMetaData claims {count} entries at offset 8 ({need} bytes) but is {len} bytes"
    )]
    Truncated { count: u32, need: u64, len: usize },
    #[error(
        "replPropertyMetaData entry {index} (offset {offset}): change time {secs} is out of range"
    )]
    Time {
        index: usize,
        offset: usize,
        secs: u64,
    },
}

/// Parses the blob. Bytes after the last entry are ignored.
pub fn parse_repl_meta(bytes: &[u8]) -> Result<Vec<ReplMetaEntry>, ReplMetaError> {
    if bytes.len() < HEADER {
        return Err(ReplMetaError::TooShort(bytes.len()));
    }
    let version = u32_at(bytes, 0);
    if version != 1 {
        return Err(ReplMetaError::Version(version));
    }
    let count = u32_at(bytes, 8);
    // u64 arithmetic: a claimed count of 2^32-1 must not overflow or allocate.
    let need = HEADER as u64 + count as u64 * ENTRY as u64;
    if need > bytes.len() as u64 {
        return Err(ReplMetaError::Truncated {
            count,
            need,
            len: bytes.len(),
        });
    }
    (0..count as usize)
        .map(|index| {
            let offset = HEADER + index * ENTRY;
            let secs =
                u64::from_le_bytes(bytes[offset + 8..offset + 16].try_into().unwrap_or([0; 8]));
            let changed = i64::try_from(secs)
                .ok()
                .and_then(|s| s.checked_sub(EPOCH_1601_TO_UNIX))
                .and_then(|unix| DateTime::from_timestamp(unix, 0))
                .ok_or(ReplMetaError::Time {
                    index,
                    offset: offset + 8,
                    secs,
                })?;
            Ok(ReplMetaEntry {
                attid: u32_at(bytes, offset),
                version: u32_at(bytes, offset + 4),
                changed,
            })
        })
        .collect()
}

/// Last change time of one attribute, if the blob lists it.
pub fn change_time(entries: &[ReplMetaEntry], attid: u32) -> Option<DateTime<Utc>> {
    entries.iter().find(|e| e.attid == attid).map(|e| e.changed)
}

/// Builds a blob from `(attid, version, change time)` triples, for tests and fixture generators.
/// Times before 1601 are clamped to 1601; invocation IDs are zero and USNs count from 1.
pub fn build_repl_meta(entries: &[(u32, u32, DateTime<Utc>)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEADER + entries.len() * ENTRY);
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    for (i, (attid, version, time)) in entries.iter().enumerate() {
        let secs = (time.timestamp() + EPOCH_1601_TO_UNIX).max(0) as u64;
        let usn = i as i64 + 1;
        b.extend_from_slice(&attid.to_le_bytes());
        b.extend_from_slice(&version.to_le_bytes());
        b.extend_from_slice(&secs.to_le_bytes());
        b.extend_from_slice(&[0u8; 16]);
        b.extend_from_slice(&usn.to_le_bytes()); // originating USN
        b.extend_from_slice(&usn.to_le_bytes()); // local USN
    }
    b
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hex(s: &str) -> Vec<u8> {
        let d: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        d.chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    /// Two entries written by hand: userAccountControl version 5 changed 2024-03-01 12:00:00 UTC
    /// (13353768000 s since 1601 = 0x3_1BF2_5440), msDS-AllowedToDelegateTo version 2 changed
    /// 1601-01-01 00:00:01 UTC.
    const BLOB: &str = "
        01 00 00 00  00 00 00 00  02 00 00 00  00 00 00 00
        08 00 09 00  05 00 00 00  40 54 f2 1b 03 00 00 00
            aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa
            10 27 00 00 00 00 00 00  11 27 00 00 00 00 00 00
        fb 06 09 00  02 00 00 00  01 00 00 00 00 00 00 00
            bb bb bb bb bb bb bb bb bb bb bb bb bb bb bb bb
            20 4e 00 00 00 00 00 00  21 4e 00 00 00 00 00 00";

    #[test]
    fn parses_hand_written_blob() {
        let e = parse_repl_meta(&hex(BLOB)).unwrap();
        assert_eq!(
            e,
            vec![
                ReplMetaEntry {
                    attid: 0x90008,
                    version: 5,
                    changed: Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap(),
                },
                ReplMetaEntry {
                    attid: 0x906FB,
                    version: 2,
                    changed: Utc.with_ymd_and_hms(1601, 1, 1, 0, 0, 1).unwrap(),
                },
            ]
        );
        assert_eq!(
            change_time(&e, ATTID_USER_ACCOUNT_CONTROL),
            Some(Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap())
        );
        assert_eq!(
            change_time(&e, ATTID_MS_DS_ALLOWED_TO_DELEGATE_TO),
            Some(Utc.with_ymd_and_hms(1601, 1, 1, 0, 0, 1).unwrap())
        );
        assert_eq!(change_time(&e, 0x90001), None);
    }

    #[test]
    fn build_round_trips_and_matches_the_hand_layout() {
        let t = Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap();
        let b = build_repl_meta(&[(0x90008, 5, t)]);
        assert_eq!(b.len(), 64);
        // Same attid, version and time bytes as the hand-written blob.
        assert_eq!(&b[16..32], &hex(BLOB)[16..32]);
        assert_eq!(&b[8..12], &[1, 0, 0, 0]);
        let e = parse_repl_meta(&b).unwrap();
        assert_eq!(
            e,
            vec![ReplMetaEntry {
                attid: 0x90008,
                version: 5,
                changed: t
            }]
        );
    }

    #[test]
    fn empty_blob_has_no_entries() {
        assert_eq!(parse_repl_meta(&build_repl_meta(&[])).unwrap(), vec![]);
    }

    #[test]
    fn short_or_wrong_version_is_an_error() {
        assert_eq!(parse_repl_meta(&[1, 0, 0]), Err(ReplMetaError::TooShort(3)));
        let mut b = hex(BLOB);
        b[0] = 2;
        assert_eq!(parse_repl_meta(&b), Err(ReplMetaError::Version(2)));
    }

    #[test]
    fn count_beyond_data_is_an_error_without_allocating() {
        let mut b = hex(BLOB);
        b[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            parse_repl_meta(&b),
            Err(ReplMetaError::Truncated {
                count: u32::MAX,
                need: 16 + 48 * u32::MAX as u64,
                len: 112
            })
        );
        for n in 16..112 {
            assert!(parse_repl_meta(&hex(BLOB)[..n]).is_err(), "{n} bytes");
        }
    }

    #[test]
    fn out_of_range_time_is_an_error() {
        let mut b = hex(BLOB);
        b[64 + 8..64 + 16].copy_from_slice(&u64::MAX.to_le_bytes());
        let e = parse_repl_meta(&b).unwrap_err();
        assert_eq!(
            e,
            ReplMetaError::Time {
                index: 1,
                offset: 72,
                secs: u64::MAX
            }
        );
        assert!(e.to_string().contains("entry 1 (offset 72)"), "{e}");
    }
}
