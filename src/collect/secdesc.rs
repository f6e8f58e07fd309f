//! RBCD: read the self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6) stored in
//! `msDS-AllowedToActOnBehalfOfOtherIdentity`. Its DACL names who may delegate to the account.
//!
//! The bytes come from the directory and are attacker-controlled: every offset and size is
//! checked against the buffer, and each ACE must advance the cursor, so parsing cannot panic or
//! loop.

use crate::model::{RbcdTrustee, Sid};

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

/// The DACL's ACEs as trustees. A descriptor without a DACL yields an empty list; use
/// [`parse_rbcd_dacl`] to tell "no DACL" from "empty DACL".
pub fn parse_rbcd(bytes: &[u8]) -> Result<Vec<RbcdTrustee>, SdError> {
    Ok(parse_rbcd_dacl(bytes)?.unwrap_or_default())
}

/// `None` when the descriptor has no DACL (SE_DACL_PRESENT clear, or a NULL DACL with offset 0).
/// Under Windows access-check rules a missing DACL grants everyone access, which is not the same
/// as an empty DACL (grants no one), so callers that care can tell them apart.
pub fn parse_rbcd_dacl(bytes: &[u8]) -> Result<Option<Vec<RbcdTrustee>>, SdError> {
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
        return Ok(None);
    }
    parse_acl(bytes, dacl_offset).map(Some)
}

fn parse_acl(sd: &[u8], start: usize) -> Result<Vec<RbcdTrustee>, SdError> {
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
    let mut out = Vec::new();
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
        if let Some(t) = parse_ace(&sd[pos..pos + ace_size], pos)? {
            out.push(t);
        }
        pos += ace_size;
    }
    Ok(out)
}

/// Parses one ACE (`ace` is exactly its bytes; `at` its offset in the descriptor, for errors).
/// Unknown ACE types whose SID cannot be located are skipped (`Ok(None)`).
fn parse_ace(ace: &[u8], at: usize) -> Result<Option<RbcdTrustee>, SdError> {
    let kind = ace[0];
    let (name, object_layout, known) = match kind {
        0x00 => ("allow".to_string(), false, true),
        0x01 => ("deny".to_string(), false, true),
        0x05 => ("allow_object".to_string(), true, true),
        0x06 => ("deny_object".to_string(), true, true),
        // Audit, alarm and callback object ACEs share the object layout.
        0x07 | 0x08 | 0x0B | 0x0C | 0x0F | 0x10 => (format!("type-{kind}"), true, false),
        _ => (format!("type-{kind}"), false, false),
    };
    let located = locate_sid(ace, object_layout);
    let (mask, sid) = match (located, known) {
        (Ok(v), _) => v,
        (Err(_), false) => return Ok(None),
        (Err((off, reason)), true) => {
            return Err(err(at + off, format!("{name} ACE: {reason}")));
        }
    };
    Ok(Some(RbcdTrustee {
        sid,
        ace_type: name,
        access_mask: mask,
    }))
}

/// Finds the access mask and SID of an ACE; on failure, the offset within the ACE and why.
fn locate_sid(ace: &[u8], object_layout: bool) -> Result<(u32, Sid), (usize, String)> {
    if ace.len() < 8 {
        return Err((
            0,
            format!("{} bytes, too short for an access mask", ace.len()),
        ));
    }
    let mask = u32_at(ace, 4);
    let mut sid_at = 8;
    if object_layout {
        if ace.len() < 12 {
            return Err((8, "too short for object flags".into()));
        }
        let flags = u32_at(ace, 8);
        sid_at = 12;
        if flags & ACE_OBJECT_TYPE_PRESENT != 0 {
            sid_at += 16;
        }
        if flags & ACE_INHERITED_OBJECT_TYPE_PRESENT != 0 {
            sid_at += 16;
        }
    }
    let rest = ace.get(sid_at..).unwrap_or(&[]);
    let (sid, _) = Sid::from_bytes_prefix(rest).map_err(|e| (sid_at, format!("bad SID: {e}")))?;
    Ok((mask, sid))
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
