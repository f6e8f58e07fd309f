//! Can the bind account read an attribute of an object? An attribute the DC hides from the
//! reader is simply absent from search results, exactly like an attribute with no value: a
//! delegation list denied to the bind account would look like "no delegation". This module
//! evaluates the object's DACL (read with the SD-flags control, which ordinary users may) for
//! the bind account's token, so absence can be told from denial.
//!
//! The check follows the Windows access-check order for READ_PROPERTY (MS-ADTS 5.1.3.3.3):
//! ACEs in DACL order, inherit-only ones skipped, the first allow or deny that names a SID in
//! the token and covers the attribute (no object type, the attribute's schemaIDGUID, or its
//! property set's GUID) decides; no deciding ACE means no access.
//!
//! What it cannot see: the bind token is rebuilt from `tokenGroups` plus the well-known SIDs
//! of a network logon, so SIDs added only at logon (claims, authentication assurance) are
//! missing; and attributes filtered by other means (confidential-attribute CONTROL_ACCESS
//! checks, the DC's own filtering of secret attributes) are not modelled. The audited
//! attributes are neither confidential nor secret.
//!
//! The descriptor is attacker-controlled: every offset is bounds-checked and each ACE must
//! advance the cursor.

use std::collections::HashSet;

use crate::model::Sid;

/// `ADS_RIGHT_DS_READ_PROP`.
pub const RIGHT_DS_READ_PROPERTY: u32 = 0x0000_0010;
const GENERIC_READ: u32 = 0x8000_0000;
const GENERIC_ALL: u32 = 0x1000_0000;
const INHERIT_ONLY_ACE: u8 = 0x08;
const SE_DACL_PRESENT: u16 = 0x0004;
const OBJECT_TYPE_PRESENT: u32 = 0x1;
const INHERITED_OBJECT_TYPE_PRESENT: u32 = 0x2;

/// Well-known SIDs every network logon carries besides its groups: Everyone, NETWORK,
/// Authenticated Users, This Organization.
pub const LOGON_SIDS: &[&str] = &["S-1-1-0", "S-1-5-2", "S-1-5-11", "S-1-5-15"];
/// PRINCIPAL_SELF: matches when the object is the bind account itself.
pub const PRINCIPAL_SELF: &str = "S-1-5-10";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    pub kind: u8,
    pub flags: u8,
    pub mask: u32,
    /// The object type GUID of an object ACE (as stored: the on-the-wire GUID layout).
    pub object_type: Option<[u8; 16]>,
    pub sid: Sid,
}

/// An attribute's GUIDs from the schema: its own and its property set's, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrGuids {
    pub schema_id: [u8; 16],
    pub property_set: Option<[u8; 16]>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("security descriptor: {0}")]
pub struct DaclError(pub String);

/// The bind account's SIDs: its own, its `tokenGroups` and [`LOGON_SIDS`].
#[derive(Debug, Clone)]
pub struct Token {
    pub user: Sid,
    pub sids: HashSet<Sid>,
    principal_self: Sid,
}

impl Token {
    pub fn new(user: Sid, groups: impl IntoIterator<Item = Sid>) -> Token {
        let mut sids: HashSet<Sid> = groups.into_iter().collect();
        sids.insert(user.clone());
        for s in LOGON_SIDS {
            if let Ok(sid) = Sid::parse(s) {
                sids.insert(sid);
            }
        }
        #[allow(
            clippy::expect_used,
            reason = "PRINCIPAL_SELF is the constant S-1-5-10"
        )]
        let principal_self = Sid::parse(PRINCIPAL_SELF).expect("well-formed constant");
        Token {
            user,
            sids,
            principal_self,
        }
    }

    fn matches(&self, sid: &Sid, object_sid: Option<&Sid>) -> bool {
        // PRINCIPAL_SELF stands for the object's own SID.
        self.sids.contains(sid) || (*sid == self.principal_self && object_sid == Some(&self.user))
    }
}

/// Whether `token` may read `attr` on an object with this DACL (`None`: no DACL, which
/// grants everything).
pub fn can_read(
    dacl: Option<&[Ace]>,
    token: &Token,
    attr: &AttrGuids,
    object_sid: Option<&Sid>,
) -> bool {
    let Some(aces) = dacl else {
        return true;
    };
    let read = RIGHT_DS_READ_PROPERTY | GENERIC_READ | GENERIC_ALL;
    for ace in aces {
        if ace.flags & INHERIT_ONLY_ACE != 0 || ace.mask & read == 0 {
            continue;
        }
        if !token.matches(&ace.sid, object_sid) {
            continue;
        }
        let covers = |ot: &Option<[u8; 16]>| match ot {
            None => true,
            Some(g) => *g == attr.schema_id || Some(*g) == attr.property_set,
        };
        match ace.kind {
            0x00 => return true,
            0x01 => return false,
            0x05 if covers(&ace.object_type) => return true,
            0x06 if covers(&ace.object_type) => return false,
            _ => {}
        }
    }
    false
}

/// The owner SID of a self-relative security descriptor (MS-DTYP 2.4.6: OffsetOwner at byte
/// 4); `Ok(None)` when it has none (offset 0, as when the SD-flags control did not ask for it).
/// The descriptor is attacker-controlled: the offset and the SID are bounds-checked.
pub fn parse_owner(sd: &[u8]) -> Result<Option<Sid>, DaclError> {
    if sd.len() < 20 {
        return Err(DaclError(format!(
            "{} bytes, shorter than its header",
            sd.len()
        )));
    }
    let off = u32_at(sd, 4) as usize;
    if off == 0 {
        return Ok(None);
    }
    let bytes = sd
        .get(off..)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| DaclError(format!("owner offset {off} outside {} bytes", sd.len())))?;
    Sid::from_bytes_prefix(bytes)
        .map(|(sid, _)| Some(sid))
        .map_err(|e| DaclError(format!("owner: {e}")))
}

/// The DACL of a self-relative security descriptor; `Ok(None)` when it has none.
pub fn parse_dacl(sd: &[u8]) -> Result<Option<Vec<Ace>>, DaclError> {
    let bad = |m: String| DaclError(m);
    if sd.len() < 20 {
        return Err(bad(format!("{} bytes, shorter than its header", sd.len())));
    }
    let control = u16::from_le_bytes([sd[2], sd[3]]);
    let off = u32_at(sd, 16) as usize;
    if control & SE_DACL_PRESENT == 0 || off == 0 {
        return Ok(None);
    }
    let acl = sd
        .get(off..off.saturating_add(8))
        .ok_or_else(|| bad(format!("DACL offset {off} outside {} bytes", sd.len())))?;
    let size = u16::from_le_bytes([acl[2], acl[3]]) as usize;
    let count = u16::from_le_bytes([acl[4], acl[5]]) as usize;
    let end = off + size;
    if size < 8 || end > sd.len() {
        return Err(bad(format!("DACL size {size} outside the descriptor")));
    }
    let mut aces = Vec::with_capacity(count.min(1024));
    let mut pos = off + 8;
    for i in 0..count {
        let hdr = sd
            .get(pos..pos + 4)
            .filter(|_| pos + 4 <= end)
            .ok_or_else(|| bad(format!("ACE {i} starts past the DACL")))?;
        let ace_size = u16::from_le_bytes([hdr[2], hdr[3]]) as usize;
        if ace_size < 4 || pos + ace_size > end {
            return Err(bad(format!("ACE {i} size {ace_size} does not fit")));
        }
        if let Some(ace) = parse_ace(&sd[pos..pos + ace_size]) {
            aces.push(ace);
        }
        pos += ace_size;
    }
    Ok(Some(aces))
}

/// One ACE; `None` for types that cannot grant or deny reading, or that do not parse.
fn parse_ace(b: &[u8]) -> Option<Ace> {
    let (kind, flags) = (b[0], b[1]);
    let mask = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?);
    let (object_type, sid_at) = match kind {
        0x00 | 0x01 => (None, 8),
        0x05 | 0x06 => {
            let oflags = u32::from_le_bytes(b.get(8..12)?.try_into().ok()?);
            let mut at = 12;
            let mut ot = None;
            if oflags & OBJECT_TYPE_PRESENT != 0 {
                ot = Some(b.get(at..at + 16)?.try_into().ok()?);
                at += 16;
            }
            if oflags & INHERITED_OBJECT_TYPE_PRESENT != 0 {
                at += 16;
            }
            (ot, at)
        }
        _ => return None,
    };
    let (sid, _) = Sid::from_bytes_prefix(b.get(sid_at..)?).ok()?;
    Some(Ace {
        kind,
        flags,
        mask,
        object_type,
        sid,
    })
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(s: &str) -> Sid {
        Sid::parse(s).unwrap()
    }

    const UAC: [u8; 16] = [1; 16];
    const RESTRICTIONS: [u8; 16] = [2; 16];
    const DELEG: [u8; 16] = [3; 16];

    fn ace(kind: u8, flags: u8, mask: u32, ot: Option<[u8; 16]>, who: &str) -> Vec<u8> {
        let mut body = mask.to_le_bytes().to_vec();
        if kind >= 0x05 {
            body.extend_from_slice(&(if ot.is_some() { 1u32 } else { 0 }).to_le_bytes());
            if let Some(g) = ot {
                body.extend_from_slice(&g);
            }
        }
        body.extend(sid(who).to_bytes());
        let mut a = vec![kind, flags];
        a.extend_from_slice(&((4 + body.len()) as u16).to_le_bytes());
        a.extend(body);
        a
    }

    #[test]
    fn owner_is_read_and_bounds_checked() {
        let owner = Sid::parse("S-1-5-21-1-2-3-1105").unwrap();
        let bytes = crate::collect::secdesc::build_rbcd_sd(&owner, &[]);
        assert_eq!(parse_owner(&bytes).unwrap(), Some(owner));
        let mut none = bytes.clone();
        none[4..8].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(parse_owner(&none).unwrap(), None);
        let mut outside = bytes.clone();
        outside[4..8].copy_from_slice(&10_000u32.to_le_bytes());
        assert!(parse_owner(&outside).is_err());
        let mut cut = bytes;
        cut.truncate(24);
        assert!(parse_owner(&cut).is_err());
        assert!(parse_owner(&[1, 0]).is_err());
    }

    fn sd(aces: &[Vec<u8>]) -> Vec<u8> {
        let size = 8 + aces.iter().map(Vec::len).sum::<usize>();
        let mut v = vec![1, 0];
        v.extend_from_slice(&(SE_DACL_PRESENT | 0x8000).to_le_bytes());
        v.extend_from_slice(&[0; 12]);
        v.extend_from_slice(&20u32.to_le_bytes());
        v.extend_from_slice(&[4, 0]);
        v.extend_from_slice(&(size as u16).to_le_bytes());
        v.extend_from_slice(&(aces.len() as u16).to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        for a in aces {
            v.extend_from_slice(a);
        }
        v
    }

    fn reader() -> Token {
        Token::new(sid("S-1-5-21-1-2-3-1105"), [sid("S-1-5-21-1-2-3-513")])
    }

    fn attr(id: [u8; 16], set: Option<[u8; 16]>) -> AttrGuids {
        AttrGuids {
            schema_id: id,
            property_set: set,
        }
    }

    #[test]
    fn first_matching_ace_decides() {
        let uac = attr(UAC, Some(RESTRICTIONS));
        let deleg = attr(DELEG, None);
        // Explicit deny of one attribute, then the usual read-all grant to Authenticated Users.
        let bytes = sd(&[
            ace(
                0x06,
                0,
                RIGHT_DS_READ_PROPERTY,
                Some(DELEG),
                "S-1-5-21-1-2-3-1105",
            ),
            ace(0x00, 0, 0x20094, None, "S-1-5-11"),
        ]);
        let dacl = parse_dacl(&bytes).unwrap().unwrap();
        assert_eq!(dacl.len(), 2);
        assert!(!can_read(Some(&dacl), &reader(), &deleg, None));
        assert!(can_read(Some(&dacl), &reader(), &uac, None));
        // Someone else is not affected by the deny.
        let other = Token::new(sid("S-1-5-21-1-2-3-500"), []);
        assert!(can_read(Some(&dacl), &other, &deleg, None));
    }

    #[test]
    fn property_sets_inherit_only_and_no_grant() {
        let uac = attr(UAC, Some(RESTRICTIONS));
        // A deny of the property set covers its members; an inherit-only deny does not apply.
        let set_deny = sd(&[
            ace(
                0x06,
                0,
                RIGHT_DS_READ_PROPERTY,
                Some(RESTRICTIONS),
                "S-1-5-21-1-2-3-513",
            ),
            ace(0x00, 0, RIGHT_DS_READ_PROPERTY, None, "S-1-1-0"),
        ]);
        let d = parse_dacl(&set_deny).unwrap().unwrap();
        assert!(!can_read(Some(&d), &reader(), &uac, None));
        let io_deny = sd(&[
            ace(
                0x01,
                INHERIT_ONLY_ACE,
                RIGHT_DS_READ_PROPERTY,
                None,
                "S-1-1-0",
            ),
            ace(0x05, 0, RIGHT_DS_READ_PROPERTY, Some(UAC), "S-1-5-11"),
        ]);
        let d = parse_dacl(&io_deny).unwrap().unwrap();
        assert!(can_read(Some(&d), &reader(), &uac, None));
        // Only another attribute granted: no access to this one.
        let other_only = sd(&[ace(0x05, 0, RIGHT_DS_READ_PROPERTY, Some(DELEG), "S-1-1-0")]);
        let d = parse_dacl(&other_only).unwrap().unwrap();
        assert!(!can_read(Some(&d), &reader(), &uac, None));
        // No DACL at all grants everything.
        assert!(can_read(None, &reader(), &uac, None));
    }

    #[test]
    fn principal_self_matches_only_the_bind_account() {
        let uac = attr(UAC, None);
        let bytes = sd(&[ace(
            0x05,
            0,
            RIGHT_DS_READ_PROPERTY,
            Some(UAC),
            PRINCIPAL_SELF,
        )]);
        let d = parse_dacl(&bytes).unwrap().unwrap();
        let me = sid("S-1-5-21-1-2-3-1105");
        assert!(can_read(Some(&d), &reader(), &uac, Some(&me)));
        assert!(!can_read(
            Some(&d),
            &reader(),
            &uac,
            Some(&sid("S-1-5-21-1-2-3-9"))
        ));
    }

    #[test]
    fn hostile_descriptors_are_errors_not_panics() {
        assert!(parse_dacl(&[1, 0, 4]).is_err());
        let mut b = sd(&[ace(0x00, 0, 0x10, None, "S-1-1-0")]);
        b[22] = 0xff; // ACL size beyond the buffer
        assert!(parse_dacl(&b).is_err());
        let mut b = sd(&[ace(0x00, 0, 0x10, None, "S-1-1-0")]);
        b[30] = 0; // ACE size 0 would not advance
        b[31] = 0;
        assert!(parse_dacl(&b).is_err());
        let mut b = sd(&[ace(0x00, 0, 0x10, None, "S-1-1-0")]);
        b[16..20].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        assert!(parse_dacl(&b).is_err());
    }
}
