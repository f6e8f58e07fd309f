//! RBCD: read the self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6) stored in
//! `msDS-AllowedToActOnBehalfOfOtherIdentity`. Its DACL names who may delegate to the account.
//!
//! The bytes come from the directory and are attacker-controlled: every offset and size is
//! checked against the buffer, and each ACE must advance the cursor, so parsing cannot panic or
//! loop.

use crate::model::{OpaqueAce, Rbcd, RbcdTrustee, Sid};

/// `SECURITY_DESCRIPTOR.Control` bits (MS-DTYP 2.4.6).
pub const SE_DACL_PRESENT: u16 = 0x0004;
pub const SE_SELF_RELATIVE: u16 = 0x8000;
/// The mask Windows writes for RBCD trustees (what `Set-ADComputer
/// -PrincipalsAllowedToDelegateToAccount` stores).
pub const RBCD_ACCESS_MASK: u32 = 0x000F_01FF;

const SD_HEADER: usize = 20;
const ACL_HEADER: usize = 8;
/// `ACL_REVISION_DS`: what AD writes for these descriptors even with only basic ACEs.
const ACL_REVISION_DS: u8 = 4;
/// Object-ACE `Flags` bits saying which GUIDs follow.
const ACE_OBJECT_TYPE_PRESENT: u32 = 0x1;
const ACE_INHERITED_OBJECT_TYPE_PRESENT: u32 = 0x2;

/// What is wrong with a security descriptor, and where (byte offset from its start).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("security descriptor: {reason} (at byte offset {offset})")]
pub struct SdError {
    pub offset: usize,
    pub reason: String,
}

fn err(offset: usize, reason: impl Into<String>) -> SdError {
    SdError {
        offset,
        reason: reason.into(),
    }
}

/// `AceFlags` bit (MS-DTYP 2.4.4.1): the ACE only feeds inheritance and does not apply to the
/// object it is on.
pub const INHERIT_ONLY_ACE: u8 = 0x08;

/// The DACL's ACEs as trustees (opaque ACEs left out). A descriptor without a DACL yields an
/// empty list; use [`parse_rbcd_descriptor`] to tell "no DACL" (everyone) from "empty DACL"
/// (no one).
pub fn parse_rbcd(bytes: &[u8]) -> Result<Vec<RbcdTrustee>, SdError> {
    Ok(parse_rbcd_descriptor(bytes)?.trustees)
}

/// `None` when the descriptor has no DACL (SE_DACL_PRESENT clear, or a NULL DACL with offset 0),
/// else its trustees. Under Windows access-check rules a missing DACL grants everyone access,
/// which is not the same as an empty DACL (grants no one).
pub fn parse_rbcd_dacl(bytes: &[u8]) -> Result<Option<Vec<RbcdTrustee>>, SdError> {
    let rbcd = parse_rbcd_descriptor(bytes)?;
    Ok((!rbcd.no_dacl).then_some(rbcd.trustees))
}

/// Reads a self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6) into what the RBCD access check
/// needs: the DACL's ACEs in order (MS-DTYP 2.4.4), whether there is no DACL at all, and the ACEs
/// of types hvaudit does not evaluate (kept as [`OpaqueAce`], with their position).
///
/// Evaluated types, which must carry a readable SID: ACCESS_ALLOWED (0x00), ACCESS_DENIED
/// (0x01), their object forms (0x05, 0x06), callback forms (0x09, 0x0A) and callback object
/// forms (0x0B, 0x0C). When SE_DACL_PRESENT is clear the DACL offset is ignored, as Windows does.
///
/// Errors: a header, ACL or ACE that does not fit the buffer, a bad revision, or a bad SID in
/// an evaluated ACE, with the byte offset.
pub fn parse_rbcd_descriptor(bytes: &[u8]) -> Result<Rbcd, SdError> {
    if bytes.len() < SD_HEADER {
        return Err(err(
            0,
            format!("{} bytes, shorter than the 20-byte header", bytes.len()),
        ));
    }
    if bytes[0] != 1 {
        return Err(err(0, format!("revision {} is not 1", bytes[0])));
    }
    let control = u16_at(bytes, 2);
    let dacl_offset = u32_at(bytes, 16) as usize;
    if control & SE_DACL_PRESENT == 0 || dacl_offset == 0 {
        return Ok(Rbcd {
            trustees: Vec::new(),
            no_dacl: true,
            opaque: Vec::new(),
        });
    }
    parse_acl(bytes, dacl_offset)
}

fn parse_acl(sd: &[u8], start: usize) -> Result<Rbcd, SdError> {
    if start < SD_HEADER || start.saturating_add(ACL_HEADER) > sd.len() {
        return Err(err(
            16,
            format!(
                "DACL offset {start} does not leave room for an ACL header in {} bytes",
                sd.len()
            ),
        ));
    }
    let revision = sd[start];
    if !(2..=4).contains(&revision) {
        return Err(err(
            start,
            format!("ACL revision {revision} is not 2, 3 or 4"),
        ));
    }
    let size = u16_at(sd, start + 2) as usize;
    let count = u16_at(sd, start + 4) as usize;
    let end = start + size;
    if size < ACL_HEADER || end > sd.len() {
        return Err(err(
            start + 2,
            format!(
                "ACL size {size} is outside the {} bytes available",
                sd.len() - start
            ),
        ));
    }
    let mut out = Rbcd {
        trustees: Vec::new(),
        no_dacl: false,
        opaque: Vec::new(),
    };
    let mut pos = start + ACL_HEADER;
    for index in 0..count {
        if pos + 4 > end {
            return Err(err(
                pos,
                format!("ACL claims {count} ACEs but ACE {index} would start past its end"),
            ));
        }
        let ace_size = u16_at(sd, pos + 2) as usize;
        // An ACE smaller than its header would not advance the cursor.
        if ace_size < 4 || pos + ace_size > end {
            return Err(err(
                pos + 2,
                format!("ACE {index} size {ace_size} does not fit in the ACL"),
            ));
        }
        match parse_ace(&sd[pos..pos + ace_size], pos)? {
            Some(t) => out.trustees.push(t),
            None => out.opaque.push(OpaqueAce {
                index,
                before: out.trustees.len(),
                ace_type: sd[pos],
                ace_flags: sd[pos + 1],
            }),
        }
        pos += ace_size;
    }
    Ok(out)
}

/// Parses one ACE (`ace` is exactly its bytes; `at` its offset in the descriptor, for errors).
/// ACE types the access check is not modelled for are `Ok(None)` (opaque).
fn parse_ace(ace: &[u8], at: usize) -> Result<Option<RbcdTrustee>, SdError> {
    let kind = ace[0];
    let (name, object_layout) = match kind {
        0x00 => ("allow".to_string(), false),
        0x01 => ("deny".to_string(), false),
        0x05 => ("allow_object".to_string(), true),
        0x06 => ("deny_object".to_string(), true),
        // ACCESS_ALLOWED/DENIED_CALLBACK (conditional ACEs among them).
        0x09 | 0x0A => (format!("type-{kind}"), false),
        // ACCESS_ALLOWED/DENIED_CALLBACK_OBJECT.
        0x0B | 0x0C => (format!("type-{kind}"), true),
        _ => return Ok(None),
    };
    let (mask, object_type, sid) = locate_sid(ace, object_layout)
        .map_err(|(off, reason)| err(at + off, format!("{name} ACE: {reason}")))?;
    Ok(Some(RbcdTrustee {
        sid,
        ace_type: name,
        access_mask: mask,
        ace_flags: ace[1],
        object_type,
    }))
}

/// Finds the access mask, object type and SID of an ACE; on failure, the offset within the ACE
/// and why.
#[allow(clippy::type_complexity)]
fn locate_sid(
    ace: &[u8],
    object_layout: bool,
) -> Result<(u32, Option<String>, Sid), (usize, String)> {
    if ace.len() < 8 {
        return Err((
            0,
            format!("{} bytes, too short for an access mask", ace.len()),
        ));
    }
    let mask = u32_at(ace, 4);
    let mut sid_at = 8;
    let mut object_type = None;
    if object_layout {
        if ace.len() < 12 {
            return Err((8, "too short for object flags".into()));
        }
        let flags = u32_at(ace, 8);
        sid_at = 12;
        if flags & ACE_OBJECT_TYPE_PRESENT != 0 {
            let guid = ace
                .get(12..28)
                .ok_or((12, "too short for its object type GUID".to_string()))?;
            object_type = Some(guid_text(guid));
            sid_at += 16;
        }
        if flags & ACE_INHERITED_OBJECT_TYPE_PRESENT != 0 {
            sid_at += 16;
        }
    }
    let rest = ace.get(sid_at..).unwrap_or(&[]);
    let (sid, _) = Sid::from_bytes_prefix(rest).map_err(|e| (sid_at, format!("bad SID: {e}")))?;
    Ok((mask, object_type, sid))
}

/// A GUID in its usual text form (MS-DTYP 2.3.4.3: the first three fields little-endian).
fn guid_text(g: &[u8]) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        u32_at(g, 0),
        u16_at(g, 4),
        u16_at(g, 6),
        g[8],
        g[9],
        g[10],
        g[11],
        g[12],
        g[13],
        g[14],
        g[15]
    )
}

/// The right the KDC asks of the requester's token when it checks an S4U2Proxy request against
/// this descriptor: ADS_RIGHT_DS_CONTROL_ACCESS. Windows writes 0x000F01FF for RBCD trustees, but
/// its KDC only requires this bit (Samba's `samba_kdc_check_s4u2proxy_rbcd` documents testing
/// against Windows; MS-SFU 3.2.5.2.3 says only that an access check is made).
pub const RBCD_RIGHT: u32 = 0x0000_0100;
/// GENERIC_ALL/EXECUTE/WRITE/READ and MAXIMUM_ALLOWED: bits an ACE may carry that could stand
/// for [`RBCD_RIGHT`] or not, depending on how the checker maps them.
const MAYBE_RIGHT_BITS: u32 = 0xF000_0000 | 0x0200_0000;

/// Grants or refuses the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AceEffect {
    Allow,
    Deny,
}

/// What one ACE means for the RBCD check, before asking whether its SID is in the requester's
/// token (MS-DTYP 2.5.3.2: the DACL is walked in order; the first ACE that applies to the token
/// and carries the right decides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AceReading {
    /// Never decides: inherit-only (does not apply to the object), or no bit that could be the
    /// right.
    Skipped,
    /// Decides for a token holding its SID.
    Decides(AceEffect),
    /// Might decide for a token holding its SID; hvaudit cannot tell (why).
    Undecided(AceEffect, String),
    /// Might decide for anyone: a type hvaudit does not evaluate.
    Opaque(String),
}

/// One ACE of a parsed descriptor, in ACL order.
#[derive(Debug, Clone, Copy)]
pub enum AceRef<'a> {
    Trustee(&'a RbcdTrustee),
    Opaque(&'a OpaqueAce),
}

/// The ACEs of `rbcd` in ACL order with their index in the ACL.
pub fn ordered_aces(rbcd: &Rbcd) -> Vec<(usize, AceRef<'_>)> {
    let mut out = Vec::with_capacity(rbcd.trustees.len() + rbcd.opaque.len());
    let mut opaque = rbcd.opaque.iter().peekable();
    for (i, t) in rbcd.trustees.iter().enumerate() {
        while let Some(o) = opaque.next_if(|o| o.before <= i) {
            out.push(AceRef::Opaque(o));
        }
        out.push(AceRef::Trustee(t));
    }
    out.extend(opaque.map(AceRef::Opaque));
    out.into_iter().enumerate().collect()
}

/// Reads one ACE against [`RBCD_RIGHT`]; see [`AceReading`].
pub fn read_ace(ace: AceRef<'_>) -> AceReading {
    let t = match ace {
        AceRef::Opaque(o) if o.ace_flags & INHERIT_ONLY_ACE != 0 => return AceReading::Skipped,
        AceRef::Opaque(o) => {
            return AceReading::Opaque(format!(
                "ACE type 0x{:02x} is not evaluated by hvaudit",
                o.ace_type
            ));
        }
        AceRef::Trustee(t) => t,
    };
    if t.ace_flags & INHERIT_ONLY_ACE != 0 {
        return AceReading::Skipped;
    }
    let (effect, object, callback) = match t.ace_type.as_str() {
        "allow" => (AceEffect::Allow, false, false),
        "deny" => (AceEffect::Deny, false, false),
        "allow_object" => (AceEffect::Allow, true, false),
        "deny_object" => (AceEffect::Deny, true, false),
        "type-9" => (AceEffect::Allow, false, true),
        "type-10" => (AceEffect::Deny, false, true),
        "type-11" => (AceEffect::Allow, true, true),
        "type-12" => (AceEffect::Deny, true, true),
        other => {
            return AceReading::Opaque(format!("ACE type {other} is not evaluated by hvaudit"));
        }
    };
    let mask_doubt = if t.access_mask & RBCD_RIGHT != 0 {
        None
    } else if t.access_mask & MAYBE_RIGHT_BITS != 0 {
        Some(format!(
            "access mask 0x{:08x} holds generic or MAXIMUM_ALLOWED bits that may or may not grant CONTROL_ACCESS (0x100)",
            t.access_mask
        ))
    } else {
        return AceReading::Skipped;
    };
    if callback {
        return AceReading::Undecided(
            effect,
            "a callback (conditional) ACE whose condition hvaudit does not evaluate".into(),
        );
    }
    if object && let Some(g) = &t.object_type {
        // Without an object type list the access check may skip such an ACE or apply it; what
        // the KDC passes is not documented, so the ACE is not decided either way.
        return AceReading::Undecided(effect, format!("an object ACE limited to object type {g}"));
    }
    match mask_doubt {
        Some(why) => AceReading::Undecided(effect, why),
        // An object ACE without an object type applies like the plain ACE (MS-DTYP 2.5.3.2).
        None => AceReading::Decides(effect),
    }
}

/// One line per ACE of `rbcd` whose effect hvaudit cannot decide, naming the ACE (index, type,
/// SID) and why. Empty when every ACE is understood.
pub fn undecided_aces(rbcd: &Rbcd) -> Vec<String> {
    ordered_aces(rbcd)
        .into_iter()
        .filter_map(|(i, ace)| {
            let why = match read_ace(ace) {
                AceReading::Undecided(_, why) | AceReading::Opaque(why) => why,
                AceReading::Skipped | AceReading::Decides(_) => return None,
            };
            Some(match ace {
                AceRef::Trustee(t) => format!("ACE {i} ({} for {}): {why}", t.ace_type, t.sid),
                AceRef::Opaque(_) => format!("ACE {i}: {why}"),
            })
        })
        .collect()
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Builds the descriptor Windows writes for RBCD: self-relative, owner, no group or SACL, and a
/// DACL of ACCESS_ALLOWED ACEs with mask [`RBCD_ACCESS_MASK`]. Layout: header, owner, DACL.
/// For tests and fixture generators; the audit itself never writes to the directory.
pub fn build_rbcd_sd(owner: &Sid, allowed: &[Sid]) -> Vec<u8> {
    let owner_bytes = owner.to_bytes();
    let aces: Vec<Vec<u8>> = allowed
        .iter()
        .map(|sid| {
            let sid = sid.to_bytes();
            let mut ace = vec![0x00, 0x00];
            ace.extend_from_slice(&((8 + sid.len()) as u16).to_le_bytes());
            ace.extend_from_slice(&RBCD_ACCESS_MASK.to_le_bytes());
            ace.extend_from_slice(&sid);
            ace
        })
        .collect();
    let acl_size = ACL_HEADER + aces.iter().map(Vec::len).sum::<usize>();
    let dacl_offset = SD_HEADER + owner_bytes.len();

    let mut sd = vec![1, 0];
    sd.extend_from_slice(&(SE_DACL_PRESENT | SE_SELF_RELATIVE).to_le_bytes());
    sd.extend_from_slice(&(SD_HEADER as u32).to_le_bytes()); // owner
    sd.extend_from_slice(&0u32.to_le_bytes()); // group
    sd.extend_from_slice(&0u32.to_le_bytes()); // SACL
    sd.extend_from_slice(&(dacl_offset as u32).to_le_bytes());
    sd.extend_from_slice(&owner_bytes);
    sd.extend_from_slice(&[ACL_REVISION_DS, 0]);
    sd.extend_from_slice(&(acl_size as u16).to_le_bytes());
    sd.extend_from_slice(&(aces.len() as u16).to_le_bytes());
    sd.extend_from_slice(&[0, 0]);
    for ace in aces {
        sd.extend_from_slice(&ace);
    }
    sd
}

#[cfg(test)]
mod tests;
