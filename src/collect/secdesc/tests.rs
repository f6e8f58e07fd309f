use super::*;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn sid(s: &str) -> Sid {
    Sid::parse(s).unwrap()
}

/// Written by hand from MS-DTYP: owner BUILTIN\Administrators, DACL allowing one computer
/// (S-1-5-21-1004336348-1177238915-682003330-1105) with 0x000F01FF, in the layout Windows
/// writes (header, owner, DACL with ACL revision 4; see `REAL_WINDOWS` below).
const WINDOWS_STYLE: &str = "
    01 00 04 80  14 00 00 00  00 00 00 00  00 00 00 00  24 00 00 00
    01 02 00 00 00 00 00 05  20 00 00 00  20 02 00 00
    04 00 2c 00  01 00 00 00
    00 00 24 00  ff 01 0f 00
    01 05 00 00 00 00 00 05  15 00 00 00  dc f4 dc 3b  83 3d 2b 46  82 8b a6 28  51 04 00 00";

/// No owner; ACL revision 4 with deny, object (both GUIDs), object (no GUID), callback (trailing
/// application data) and an unknown-type ACE.
const MIXED: &str = "
    01 00 04 80  00 00 00 00  00 00 00 00  00 00 00 00  14 00 00 00
    04 00 90 00  05 00 00 00
    01 00 14 00  ff 01 0f 00  01 01 00 00 00 00 00 01  00 00 00 00
    05 02 3c 00  00 01 00 00  03 00 00 00
        11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11
        22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22
        01 02 00 00 00 00 00 05  20 00 00 00  20 02 00 00
    06 00 18 00  10 00 00 00  00 00 00 00  01 01 00 00 00 00 00 05  0b 00 00 00
    09 00 18 00  ff 01 0f 00  01 01 00 00 00 00 00 05  12 00 00 00  61 72 74 78
    42 00 08 00  de ad be ef";

#[test]
fn parses_windows_style_descriptor() {
    let t = parse_rbcd(&hex(WINDOWS_STYLE)).unwrap();
    assert_eq!(
        t,
        vec![RbcdTrustee {
            sid: sid("S-1-5-21-1004336348-1177238915-682003330-1105"),
            ace_type: "allow".into(),
            access_mask: 0x000F_01FF,
            ace_flags: 0,
            object_type: None,
        }]
    );
}

/// A descriptor written by Windows (an `msDS-GroupMSAMembership` value from a public ldapsearch
/// dump; that attribute uses the same format as the RBCD one), two allowed SIDs.
const REAL_WINDOWS: &str = "AQAEgBQAAAAAAAAAAAAAACQAAAABAgAAAAAABSAAAAAgAgAABABQAAIAAAAAACQA/wEPAAEFAAAAAAAFFQAAAEaG8fp0Fw3KRmPkzOgDAAAAACQA/wEPAAEFAAAAAAAFFQAAAEaG8fp0Fw3KRmPkzHYEAAA=";

#[test]
fn parses_a_descriptor_written_by_windows() {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(REAL_WINDOWS)
        .unwrap();
    let t = parse_rbcd(&bytes).unwrap();
    let got: Vec<(String, &str, u32)> = t
        .iter()
        .map(|t| (t.sid.to_string(), t.ace_type.as_str(), t.access_mask))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "S-1-5-21-4210132550-3389855604-3437519686-1000".to_string(),
                "allow",
                0x000F_01FF
            ),
            (
                "S-1-5-21-4210132550-3389855604-3437519686-1142".to_string(),
                "allow",
                0x000F_01FF
            ),
        ]
    );
    // The builder reproduces Windows' bytes exactly.
    let rebuilt = build_rbcd_sd(
        &sid("S-1-5-32-544"),
        &[
            sid("S-1-5-21-4210132550-3389855604-3437519686-1000"),
            sid("S-1-5-21-4210132550-3389855604-3437519686-1142"),
        ],
    );
    assert_eq!(rebuilt, bytes);
}

#[test]
fn builder_writes_the_windows_layout() {
    let built = build_rbcd_sd(
        &sid("S-1-5-32-544"),
        &[sid("S-1-5-21-1004336348-1177238915-682003330-1105")],
    );
    assert_eq!(built, hex(WINDOWS_STYLE));
}

#[test]
fn builder_round_trips_several_trustees() {
    let allowed = [
        sid("S-1-5-21-1-2-3-1105"),
        sid("S-1-5-21-1-2-3-1106"),
        sid("S-1-5-32-544"),
    ];
    let t = parse_rbcd(&build_rbcd_sd(&sid("S-1-5-32-544"), &allowed)).unwrap();
    let got: Vec<String> = t.iter().map(|t| t.sid.to_string()).collect();
    assert_eq!(
        got,
        vec!["S-1-5-21-1-2-3-1105", "S-1-5-21-1-2-3-1106", "S-1-5-32-544"]
    );
    assert!(
        t.iter()
            .all(|t| t.ace_type == "allow" && t.access_mask == 0x000F_01FF)
    );
    assert_eq!(
        parse_rbcd_dacl(&build_rbcd_sd(&sid("S-1-5-32-544"), &[])).unwrap(),
        Some(vec![])
    );
}

#[test]
fn parses_deny_object_callback_and_skips_unknown() {
    let t = parse_rbcd(&hex(MIXED)).unwrap();
    let got: Vec<(String, &str, u32)> = t
        .iter()
        .map(|t| (t.sid.to_string(), t.ace_type.as_str(), t.access_mask))
        .collect();
    assert_eq!(
        got,
        vec![
            ("S-1-1-0".to_string(), "deny", 0x000F_01FF),
            ("S-1-5-32-544".to_string(), "allow_object", 0x100),
            ("S-1-5-11".to_string(), "deny_object", 0x10),
            ("S-1-5-18".to_string(), "type-9", 0x000F_01FF),
        ]
    );
}

#[test]
fn no_dacl_gives_an_empty_list() {
    let mut sd = hex(WINDOWS_STYLE);
    sd[2] &= !(SE_DACL_PRESENT as u8); // control low byte: clear DACL_PRESENT
    assert_eq!(parse_rbcd_dacl(&sd).unwrap(), None);
    assert_eq!(parse_rbcd(&sd).unwrap(), vec![]);

    let mut null_dacl = hex(WINDOWS_STYLE);
    null_dacl[16..20].copy_from_slice(&[0, 0, 0, 0]);
    assert_eq!(parse_rbcd_dacl(&null_dacl).unwrap(), None);
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    for fixture in [WINDOWS_STYLE, MIXED] {
        let full = hex(fixture);
        for n in 0..full.len() {
            assert!(
                parse_rbcd(&full[..n]).is_err(),
                "prefix of {n} bytes parsed"
            );
        }
    }
    let e = parse_rbcd(&hex(WINDOWS_STYLE)[..19]).unwrap_err();
    assert_eq!(e.offset, 0);
    assert!(
        e.to_string().contains("shorter than the 20-byte header"),
        "{e}"
    );
}

#[test]
fn bad_revision_is_an_error() {
    let mut sd = hex(WINDOWS_STYLE);
    sd[0] = 2;
    let e = parse_rbcd(&sd).unwrap_err();
    assert_eq!((e.offset, e.reason.as_str()), (0, "revision 2 is not 1"));

    let mut sd = hex(WINDOWS_STYLE);
    sd[0x24] = 9;
    let e = parse_rbcd(&sd).unwrap_err();
    assert_eq!(e.offset, 0x24);
    assert!(e.reason.contains("ACL revision 9"), "{e}");
}

#[test]
fn dacl_offset_outside_the_buffer_is_an_error() {
    let mut sd = hex(WINDOWS_STYLE);
    sd[16..20].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let e = parse_rbcd(&sd).unwrap_err();
    assert_eq!(e.offset, 16);
    // Pointing the DACL into the header is also refused.
    sd[16..20].copy_from_slice(&4u32.to_le_bytes());
    assert_eq!(parse_rbcd(&sd).unwrap_err().offset, 16);
}

#[test]
fn acl_size_larger_than_the_buffer_is_an_error() {
    let mut sd = hex(WINDOWS_STYLE);
    sd[0x26] = 0x2d; // ACL size 0x2d: one byte past the end
    let e = parse_rbcd(&sd).unwrap_err();
    assert_eq!(e.offset, 0x26);
    assert!(e.reason.contains("ACL size 45"), "{e}");
}

#[test]
fn zero_sized_ace_is_an_error_not_a_loop() {
    let mut sd = hex(WINDOWS_STYLE);
    sd[0x2e] = 0; // first ACE's size
    let e = parse_rbcd(&sd).unwrap_err();
    assert_eq!(e.offset, 0x2e);
    assert!(e.reason.contains("ACE 0 size 0"), "{e}");
}

#[test]
fn ace_count_beyond_the_acl_is_an_error() {
    let mut sd = hex(WINDOWS_STYLE);
    sd[0x28..0x2a].copy_from_slice(&0xFFFFu16.to_le_bytes());
    let e = parse_rbcd(&sd).unwrap_err();
    assert_eq!(e.offset, 0x50);
    assert!(e.reason.contains("ACE 1 would start past its end"), "{e}");
}

#[test]
fn bad_sid_in_an_allow_ace_is_an_error_with_its_offset() {
    let mut sd = hex(WINDOWS_STYLE);
    sd[0x34] = 5; // SID revision
    let e = parse_rbcd(&sd).unwrap_err();
    assert_eq!(e.offset, 0x34);
    assert!(e.reason.starts_with("allow ACE: bad SID"), "{e}");

    // A sub-authority count that runs past the ACE (but not past the buffer end).
    let mut sd = hex(WINDOWS_STYLE);
    sd[0x35] = 6;
    assert_eq!(parse_rbcd(&sd).unwrap_err().offset, 0x34);
}

/// xorshift64: deterministic pseudo-random bytes without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn random_corruption_never_panics() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for fixture in [hex(WINDOWS_STYLE), hex(MIXED)] {
        for _ in 0..20_000 {
            let mut sd = fixture.clone();
            for _ in 0..(1 + next(&mut state) % 4) {
                let i = (next(&mut state) as usize) % sd.len();
                sd[i] = next(&mut state) as u8;
            }
            let keep = sd.len() - (next(&mut state) as usize % 8);
            let _ = parse_rbcd(&sd[..keep]);
        }
    }
}

/// One ACE, byte by byte (MS-DTYP 2.4.4): `kind`, `flags`, `mask`, the object part when
/// `object` is Some((ObjectFlags, GUIDs)), the SID, then `app` (callback application data).
fn ace(
    kind: u8,
    flags: u8,
    mask: u32,
    object: Option<(u32, &[u8])>,
    s: &str,
    app: &[u8],
) -> Vec<u8> {
    let mut body = mask.to_le_bytes().to_vec();
    if let Some((oflags, guids)) = object {
        body.extend_from_slice(&oflags.to_le_bytes());
        body.extend_from_slice(guids);
    }
    body.extend_from_slice(&sid(s).to_bytes());
    body.extend_from_slice(app);
    let mut a = vec![kind, flags];
    a.extend_from_slice(&((4 + body.len()) as u16).to_le_bytes());
    a.extend_from_slice(&body);
    a
}

/// A self-relative descriptor with no owner and a DACL of `aces` right after the header.
fn sd_with(aces: &[Vec<u8>]) -> Vec<u8> {
    let size = 8 + aces.iter().map(Vec::len).sum::<usize>();
    let mut sd = vec![1, 0];
    sd.extend_from_slice(&(SE_DACL_PRESENT | SE_SELF_RELATIVE).to_le_bytes());
    sd.extend_from_slice(&[0; 12]);
    sd.extend_from_slice(&20u32.to_le_bytes());
    sd.extend_from_slice(&[4, 0]);
    sd.extend_from_slice(&(size as u16).to_le_bytes());
    sd.extend_from_slice(&(aces.len() as u16).to_le_bytes());
    sd.extend_from_slice(&[0, 0]);
    for a in aces {
        sd.extend_from_slice(a);
    }
    sd
}

/// The reading of every ACE of a descriptor, in ACL order.
fn readings(sd: &[u8]) -> Vec<AceReading> {
    let rbcd = parse_rbcd_descriptor(sd).unwrap();
    ordered_aces(&rbcd)
        .into_iter()
        .map(|(_, a)| read_ace(a))
        .collect()
}

const HOST: &str = "S-1-5-21-1-2-3-1105";
const FULL: u32 = 0x000F_01FF;

#[test]
fn no_dacl_and_null_dacl_are_everyone_but_an_empty_dacl_is_no_one() {
    // SE_DACL_PRESENT clear: the ACL the offset points at is ignored, as Windows does.
    let mut absent = sd_with(&[ace(0, 0, FULL, None, HOST, &[])]);
    absent[2] &= !(SE_DACL_PRESENT as u8);
    let r = parse_rbcd_descriptor(&absent).unwrap();
    assert!(r.no_dacl && r.trustees.is_empty(), "{r:?}");

    let mut null = sd_with(&[]);
    null[16..20].copy_from_slice(&[0; 4]);
    assert!(parse_rbcd_descriptor(&null).unwrap().no_dacl);

    let empty = parse_rbcd_descriptor(&sd_with(&[])).unwrap();
    assert!(!empty.no_dacl);
    assert!(empty.trustees.is_empty() && empty.opaque.is_empty());
    assert_eq!(parse_rbcd_dacl(&sd_with(&[])).unwrap(), Some(vec![]));
}

#[test]
fn plain_allow_and_deny_decide_in_order() {
    let sd = sd_with(&[
        ace(1, 0, FULL, None, HOST, &[]),
        ace(0, 0, FULL, None, HOST, &[]),
    ]);
    assert_eq!(
        readings(&sd),
        vec![
            AceReading::Decides(AceEffect::Deny),
            AceReading::Decides(AceEffect::Allow)
        ]
    );
    // Only CONTROL_ACCESS matters: a mask without it (and without generic bits) never decides.
    let sd = sd_with(&[
        ace(0, 0, 0x100, None, HOST, &[]),
        ace(1, 0, 0x10, None, HOST, &[]),
    ]);
    assert_eq!(
        readings(&sd),
        vec![AceReading::Decides(AceEffect::Allow), AceReading::Skipped]
    );
}

#[test]
fn object_ace_without_object_type_is_a_plain_allow() {
    // ObjectFlags 0: no GUID follows, the SID comes right after the flags.
    let sd = sd_with(&[ace(5, 0, FULL, Some((0, &[])), HOST, &[])]);
    let r = parse_rbcd_descriptor(&sd).unwrap();
    assert_eq!(r.trustees[0].sid, sid(HOST));
    assert_eq!(r.trustees[0].object_type, None);
    assert_eq!(readings(&sd), vec![AceReading::Decides(AceEffect::Allow)]);
    // Only an inherited object type: still applies to this object like a plain ACE.
    let sd = sd_with(&[ace(6, 0, FULL, Some((2, &[0x22; 16])), HOST, &[])]);
    assert_eq!(readings(&sd), vec![AceReading::Decides(AceEffect::Deny)]);
}

#[test]
fn object_ace_with_an_object_type_is_undecided() {
    let guid: Vec<u8> = (0x10..0x20).collect();
    let sd = sd_with(&[ace(5, 0, 0x100, Some((1, &guid)), HOST, &[])]);
    let r = parse_rbcd_descriptor(&sd).unwrap();
    assert_eq!(
        r.trustees[0].object_type.as_deref(),
        Some("13121110-1514-1716-1819-1a1b1c1d1e1f")
    );
    assert!(matches!(
        &readings(&sd)[0],
        AceReading::Undecided(AceEffect::Allow, why) if why.contains("13121110-")
    ));
}

#[test]
fn inherit_only_aces_do_not_apply_to_the_object() {
    let sd = sd_with(&[
        ace(0, INHERIT_ONLY_ACE | 0x02, FULL, None, "S-1-5-11", &[]),
        ace(1, INHERIT_ONLY_ACE, FULL, None, HOST, &[]),
        // Inherited (0x10) but not inherit-only: applies.
        ace(0, 0x10, FULL, None, HOST, &[]),
    ]);
    assert_eq!(
        readings(&sd),
        vec![
            AceReading::Skipped,
            AceReading::Skipped,
            AceReading::Decides(AceEffect::Allow)
        ]
    );
    assert!(undecided_aces(&parse_rbcd_descriptor(&sd).unwrap()).is_empty());
}

#[test]
fn callback_and_conditional_aces_are_undecided() {
    let sd = sd_with(&[
        ace(9, 0, FULL, None, "S-1-5-11", b"artx\0\0\0\0"),
        ace(0x0A, 0, FULL, None, HOST, &[]),
        ace(0x0B, 0, FULL, Some((0, &[])), HOST, b"artx"),
    ]);
    let got = readings(&sd);
    assert!(
        matches!(&got[0], AceReading::Undecided(AceEffect::Allow, w) if w.contains("callback"))
    );
    assert!(matches!(&got[1], AceReading::Undecided(AceEffect::Deny, _)));
    assert!(matches!(
        &got[2],
        AceReading::Undecided(AceEffect::Allow, _)
    ));
    let lines = undecided_aces(&parse_rbcd_descriptor(&sd).unwrap());
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].starts_with("ACE 0 (type-9 for S-1-5-11): a callback"),
        "{lines:?}"
    );
}

#[test]
fn generic_or_maximum_allowed_masks_are_undecided() {
    for mask in [0x1000_0000, 0x8000_0000, 0x0200_0000] {
        let sd = sd_with(&[ace(0, 0, mask, None, HOST, &[])]);
        assert!(
            matches!(&readings(&sd)[0], AceReading::Undecided(AceEffect::Allow, w) if w.contains("access mask")),
            "{mask:#x}"
        );
    }
    // GENERIC_ALL alongside CONTROL_ACCESS: the right is there whatever the mapping.
    let sd = sd_with(&[ace(0, 0, 0x1000_0100, None, HOST, &[])]);
    assert_eq!(readings(&sd), vec![AceReading::Decides(AceEffect::Allow)]);
}

#[test]
fn unknown_and_sacl_ace_types_are_opaque_in_place() {
    let sd = sd_with(&[
        ace(0, 0, FULL, None, HOST, &[]),
        // SYSTEM_AUDIT (0x02) in a DACL, then an undefined type without a SID.
        ace(2, 0, FULL, None, "S-1-1-0", &[]),
        vec![0x42, 0, 8, 0, 0xde, 0xad, 0xbe, 0xef],
        ace(1, 0, FULL, None, HOST, &[]),
    ]);
    let r = parse_rbcd_descriptor(&sd).unwrap();
    assert_eq!(r.trustees.len(), 2);
    let at: Vec<(usize, usize, u8)> = r
        .opaque
        .iter()
        .map(|o| (o.index, o.before, o.ace_type))
        .collect();
    assert_eq!(at, vec![(1, 1, 2), (2, 1, 0x42)]);
    let got = readings(&sd);
    assert_eq!(got[0], AceReading::Decides(AceEffect::Allow));
    assert!(matches!(&got[1], AceReading::Opaque(w) if w.contains("0x02")));
    assert!(matches!(&got[2], AceReading::Opaque(w) if w.contains("0x42")));
    assert_eq!(got[3], AceReading::Decides(AceEffect::Deny));
    assert_eq!(
        undecided_aces(&r),
        vec![
            "ACE 1: ACE type 0x02 is not evaluated by hvaudit".to_string(),
            "ACE 2: ACE type 0x42 is not evaluated by hvaudit".to_string(),
        ]
    );
    // An opaque ACE that is inherit-only does not apply either.
    let sd = sd_with(&[vec![0x42, INHERIT_ONLY_ACE, 8, 0, 0, 0, 0, 0]]);
    assert_eq!(readings(&sd), vec![AceReading::Skipped]);
}

#[test]
fn bad_sid_in_a_callback_ace_is_an_error() {
    let mut a = ace(9, 0, FULL, None, HOST, &[]);
    a[8] = 7; // SID revision
    let e = parse_rbcd(&sd_with(&[a])).unwrap_err();
    assert_eq!(e.offset, 28 + 8);
    assert!(e.reason.starts_with("type-9 ACE: bad SID"), "{e}");
}
