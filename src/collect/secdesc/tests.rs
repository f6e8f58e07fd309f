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
