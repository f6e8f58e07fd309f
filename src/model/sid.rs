//! Security identifiers: binary form (MS-DTYP 2.4.2.2) to and from the `S-1-...` string.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid {
    pub revision: u8,
    pub authority: u64,
    pub sub_authorities: Vec<u32>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SidError {
    #[error("SID is {0} bytes, shorter than its header")]
    TooShort(usize),
    #[error("SID revision {0} is not 1")]
    Revision(u8),
    #[error("SID claims {claimed} sub-authorities but has room for {room}")]
    Truncated { claimed: usize, room: usize },
    #[error("'{0}' is not a SID string (S-1-<authority>-<sub>...)")]
    BadString(String),
}

impl Sid {
    /// Parses a binary SID and returns it with the number of bytes it used.
    pub fn from_bytes_prefix(b: &[u8]) -> Result<(Sid, usize), SidError> {
        if b.len() < 8 {
            return Err(SidError::TooShort(b.len()));
        }
        if b[0] != 1 {
            return Err(SidError::Revision(b[0]));
        }
        let count = b[1] as usize;
        let need = 8 + 4 * count;
        if b.len() < need {
            return Err(SidError::Truncated {
                claimed: count,
                room: (b.len() - 8) / 4,
            });
        }
        let authority = b[2..8].iter().fold(0u64, |acc, x| (acc << 8) | *x as u64);
        let sub_authorities = (0..count)
            .map(|i| {
                let o = 8 + 4 * i;
                u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
            })
            .collect();
        Ok((
            Sid {
                revision: 1,
                authority,
                sub_authorities,
            },
            need,
        ))
    }

    /// Parses a binary SID that must fill the whole buffer (as objectSid does).
    pub fn from_bytes(b: &[u8]) -> Result<Sid, SidError> {
        let (sid, used) = Sid::from_bytes_prefix(b)?;
        if used != b.len() {
            return Err(SidError::Truncated {
                claimed: sid.sub_authorities.len(),
                room: (b.len() - 8) / 4,
            });
        }
        Ok(sid)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![self.revision, self.sub_authorities.len() as u8];
        v.extend_from_slice(&self.authority.to_be_bytes()[2..8]);
        for s in &self.sub_authorities {
            v.extend_from_slice(&s.to_le_bytes());
        }
        v
    }

    pub fn parse(s: &str) -> Result<Sid, SidError> {
        let bad = || SidError::BadString(s.to_string());
        let rest = s
            .strip_prefix("S-")
            .or_else(|| s.strip_prefix("s-"))
            .ok_or_else(bad)?;
        let mut parts = rest.split('-');
        let revision: u8 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        if revision != 1 {
            return Err(SidError::Revision(revision));
        }
        let authority: u64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        if authority >= 1 << 48 {
            return Err(bad());
        }
        let sub_authorities = parts
            .map(|p| p.parse::<u32>().map_err(|_| bad()))
            .collect::<Result<Vec<_>, _>>()?;
        if sub_authorities.len() > 15 {
            return Err(bad());
        }
        Ok(Sid {
            revision,
            authority,
            sub_authorities,
        })
    }

    /// The last sub-authority: the RID for domain accounts.
    pub fn rid(&self) -> Option<u32> {
        self.sub_authorities.last().copied()
    }

    /// The SID without its RID (the domain SID for a domain account).
    pub fn parent(&self) -> Option<Sid> {
        let n = self.sub_authorities.len();
        (n > 0).then(|| Sid {
            revision: self.revision,
            authority: self.authority,
            sub_authorities: self.sub_authorities[..n - 1].to_vec(),
        })
    }

    pub fn with_rid(&self, rid: u32) -> Sid {
        let mut s = self.clone();
        s.sub_authorities.push(rid);
        s
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-{}-{}", self.revision, self.authority)?;
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl Serialize for Sid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sid::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Well-known SIDs and RIDs the audit looks groups up by (never by name: names are localised
/// and renamable).
pub mod well_known {
    pub const BUILTIN_ADMINISTRATORS: &str = "S-1-5-32-544";
    pub const ACCOUNT_OPERATORS: &str = "S-1-5-32-548";
    pub const SERVER_OPERATORS: &str = "S-1-5-32-549";
    pub const PRINT_OPERATORS: &str = "S-1-5-32-550";
    pub const BACKUP_OPERATORS: &str = "S-1-5-32-551";
    pub const EVERYONE: &str = "S-1-1-0";
    pub const AUTHENTICATED_USERS: &str = "S-1-5-11";

    pub const RID_ADMINISTRATOR: u32 = 500;
    pub const RID_KRBTGT: u32 = 502;
    pub const RID_DOMAIN_ADMINS: u32 = 512;
    pub const RID_DOMAIN_USERS: u32 = 513;
    pub const RID_DOMAIN_COMPUTERS: u32 = 515;
    pub const RID_SCHEMA_ADMINS: u32 = 518;
    pub const RID_ENTERPRISE_ADMINS: u32 = 519;
    pub const RID_GROUP_POLICY_CREATOR_OWNERS: u32 = 520;
    pub const RID_PROTECTED_USERS: u32 = 525;
    pub const RID_KEY_ADMINS: u32 = 526;
    pub const RID_ENTERPRISE_KEY_ADMINS: u32 = 527;

    /// Builtin privileged groups (S-1-5-32-*).
    pub const PRIVILEGED_BUILTIN: &[&str] = &[
        BUILTIN_ADMINISTRATORS,
        ACCOUNT_OPERATORS,
        SERVER_OPERATORS,
        PRINT_OPERATORS,
        BACKUP_OPERATORS,
    ];
    /// Domain-relative privileged group RIDs.
    pub const PRIVILEGED_DOMAIN_RIDS: &[u32] = &[
        RID_DOMAIN_ADMINS,
        RID_SCHEMA_ADMINS,
        RID_ENTERPRISE_ADMINS,
        RID_GROUP_POLICY_CREATOR_OWNERS,
        RID_KEY_ADMINS,
        RID_ENTERPRISE_KEY_ADMINS,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_binary_and_string() {
        let s = Sid::parse("S-1-5-21-1004336348-1177238915-682003330-512").unwrap();
        let b = s.to_bytes();
        assert_eq!(b.len(), 8 + 4 * 5);
        assert_eq!(Sid::from_bytes(&b).unwrap(), s);
        assert_eq!(
            s.to_string(),
            "S-1-5-21-1004336348-1177238915-682003330-512"
        );
        assert_eq!(s.rid(), Some(512));
        assert_eq!(
            s.parent().unwrap().to_string(),
            "S-1-5-21-1004336348-1177238915-682003330"
        );
    }

    #[test]
    fn rejects_truncated_and_garbage() {
        assert!(matches!(
            Sid::from_bytes(&[1, 5, 0, 0, 0, 0, 0, 5, 1, 0]),
            Err(SidError::Truncated { .. })
        ));
        assert!(Sid::from_bytes(&[1, 0]).is_err());
        assert!(Sid::parse("S-1-5-x").is_err());
        assert!(Sid::parse("X-1-5").is_err());
    }
}
