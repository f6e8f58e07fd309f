//! Distinguished names compared the way the directory compares them, so that one object spelled
//! two ways (`CN=HV01,OU=HV,...` and `cn=hv01, ou=HV,...`, or `\2C` for `\,`) is recognised as
//! one object.
//!
//! The string form is RFC 4514 (LDAP: String Representation of Distinguished Names): RDNs
//! separated by unescaped `,`, attribute-value assertions within one RDN by `+`, and values
//! escaped with `\` followed by a special character or two hex digits. Matching follows RFC 4517
//! `distinguishedNameMatch`: same number of RDNs, each with the same set of attribute types and
//! values equal under each attribute's equality rule. Attribute types compare
//! case-insensitively; the naming attributes AD uses (`CN`, `OU`, `DC`, `O`, `L`, ...) are
//! Unicode strings that Active Directory compares case-insensitively, so values are compared
//! after Unicode lower-casing. Spaces around `,`, `+` and `=` and unescaped leading and trailing
//! spaces of a value are not part of it (RFC 4514 section 3 allows them on input).

/// A DN reduced to what distinguishedNameMatch compares: per RDN (leaf first), its sorted
/// `(attribute type, value)` pairs, types lower-cased, values unescaped and lower-cased. Held as
/// one string (separators below U+0004, which values escape) so that a set of the DNs of a
/// 100,000-object directory costs one allocation per DN.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DnKey(String);

impl DnKey {
    /// The key as text (control characters U+0001..U+0004 separate its parts): stable across
    /// runs, for hashing into finding ids.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// [`DnKey::of`]`(dn)` written into `buf` (cleared first) instead of a new string: for
    /// checking 100,000 DNs with one buffer.
    pub fn write_into(dn: &str, buf: &mut String) {
        buf.clear();
        if !simple_key_into(dn, buf) {
            buf.clear();
            buf.push_str(&parsed_key(dn).0);
        }
    }

    /// The comparison key of `dn`. A string that does not parse as a DN (an unterminated
    /// escape, an RDN without `=`) still gets a key: its lower-cased text, kept apart from every
    /// parsed DN, so two identical malformed strings still match each other and nothing else.
    pub fn of(dn: &str) -> DnKey {
        simple_key(dn).unwrap_or_else(|| parsed_key(dn))
    }
}

/// [`DnKey::of`] through the full RFC 4514 parse.
fn parsed_key(dn: &str) -> DnKey {
    match parse(dn) {
        Some(rdns) => {
            let mut key = String::with_capacity(dn.len() + 8);
            for (r, rdn) in rdns.iter().enumerate() {
                if r > 0 {
                    key.push('\u{3}');
                }
                for (a, (ty, value)) in rdn.iter().enumerate() {
                    if a > 0 {
                        key.push('\u{2}');
                    }
                    key.push_str(ty);
                    key.push('\u{1}');
                    for c in value.chars() {
                        if c <= '\u{4}' {
                            key.push('\u{4}');
                            key.push(char::from(b'0' + c as u8));
                        } else {
                            key.push(c);
                        }
                    }
                }
            }
            DnKey(key)
        }
        None => DnKey(format!("\u{0}{}", dn.to_lowercase())),
    }
}

/// The key of a DN in the shape nearly every directory DN has (printable ASCII, one attribute
/// per RDN, no escapes, no spaces beside `,` or `=`), built in one pass with one allocation;
/// `None` for anything else, which takes the full parse. Equal to what the full parse gives for
/// the same DN (test `simple_key_agrees_with_the_parse`): a 130,000-object snapshot is keyed on
/// every load for the duplicate check, and the parse's per-value allocations were most of it.
fn simple_key(dn: &str) -> Option<DnKey> {
    let mut key = String::with_capacity(dn.len() + 8);
    simple_key_into(dn, &mut key).then_some(DnKey(key))
}

/// [`simple_key`] appended to `key`; false (with `key` in an unspecified state) when the DN
/// needs the full parse.
fn simple_key_into(dn: &str, key: &mut String) -> bool {
    let b = dn.as_bytes();
    if b.is_empty()
        || b[0] == b' '
        || b[b.len() - 1] == b' '
        || b.iter()
            .any(|&c| !(b' '..=b'~').contains(&c) || matches!(c, b'\\' | b'+' | b';'))
    {
        return false;
    }
    for (r, rdn) in dn.split(',').enumerate() {
        // Printable ASCII only here (checked above): byte positions are character boundaries.
        let Some(eq) = rdn.bytes().position(|c| c == b'=') else {
            return false;
        };
        let (ty, value) = (&rdn[..eq], &rdn[eq + 1..]);
        if ty.is_empty()
            || ty.starts_with(' ')
            || ty.ends_with(' ')
            || value.starts_with(' ')
            || value.ends_with(' ')
            || ty.len() >= 4 && ty[..4].eq_ignore_ascii_case("oid.")
        {
            return false;
        }
        if r > 0 {
            key.push('\u{3}');
        }
        let start = key.len();
        key.push_str(ty);
        key.push('\u{1}');
        key.push('t');
        key.push_str(value);
        key[start..].make_ascii_lowercase();
    }
    true
}

/// True when `a` and `b` name the same entry (see the module documentation).
pub fn same_dn(a: &str, b: &str) -> bool {
    DnKey::of(a) == DnKey::of(b)
}

/// True when the first RDN of `dn` is the single attribute `ty` (lower case, e.g. `cn`) with
/// `value`, compared as LDAP compares AD string values (escapes resolved, case ignored):
/// `CN=Smith\, John,...` has the CN `smith, john`.
pub fn first_rdn_is(dn: &str, ty: &str, value: &str) -> bool {
    parse(dn)
        .and_then(|rdns| rdns.into_iter().next())
        .is_some_and(|rdn| {
            rdn.len() == 1 && rdn[0].0 == ty && rdn[0].1 == format!("t{}", value.to_lowercase())
        })
}

fn parse(dn: &str) -> Option<Vec<Vec<(String, String)>>> {
    let bytes = dn.as_bytes();
    let mut rdns = Vec::new();
    let mut rdn = Vec::new();
    let mut i = 0;
    if dn.trim().is_empty() {
        return Some(Vec::new());
    }
    loop {
        // Attribute type: up to '='.
        let eq = i + bytes[i..].iter().position(|&b| b == b'=')?;
        let ty = dn[i..eq].trim().to_ascii_lowercase();
        let ty = ty.strip_prefix("oid.").unwrap_or(&ty).to_string();
        if ty.is_empty() || ty.contains([',', '+', '\\']) {
            return None;
        }
        i = eq + 1;
        // Value: up to an unescaped ',', '+' or the end.
        let mut value: Vec<u8> = Vec::new();
        // Length of `value` up to the last byte that was escaped or not a space: trailing
        // unescaped spaces are dropped, escaped ones (`\ `) kept.
        let mut keep = 0;
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let end_char = loop {
            let Some(&b) = bytes.get(i) else { break None };
            match b {
                b',' | b'+' | b';' => break Some(b),
                b'\\' => {
                    let next = *bytes.get(i + 1)?;
                    if next.is_ascii_hexdigit() {
                        let hi = hex(next)?;
                        let lo = hex(*bytes.get(i + 2)?)?;
                        value.push(hi << 4 | lo);
                        i += 3;
                    } else {
                        value.push(next);
                        i += 2;
                    }
                    keep = value.len();
                }
                b' ' => {
                    value.push(b);
                    i += 1;
                }
                _ => {
                    value.push(b);
                    keep = value.len();
                    i += 1;
                }
            }
        };
        value.truncate(keep);
        // Tagged so that escaped bytes that are not UTF-8 (compared as bytes) never equal a
        // text value. Lower-casing also makes the hex of a `#` (BER) value case-insensitive.
        let text = match String::from_utf8(value) {
            Ok(t) => format!("t{}", t.to_lowercase()),
            Err(e) => format!(
                "b{}",
                e.as_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
        };
        rdn.push((ty, text));
        i += 1;
        match end_char {
            Some(b'+') => continue,
            Some(_) => {
                rdn.sort();
                rdns.push(std::mem::take(&mut rdn));
            }
            None => {
                rdn.sort();
                rdns.push(rdn);
                return Some(rdns);
            }
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_rdn_resolves_escapes_and_case() {
        assert!(first_rdn_is("CN=hyperv-a02,OU=H,DC=x", "cn", "HyperV-A02"));
        assert!(first_rdn_is(
            "CN=Smith\\, John,OU=H,DC=x",
            "cn",
            "smith, john"
        ));
        assert!(first_rdn_is("cn=A\\2CB,DC=x", "cn", "a,b"));
        assert!(!first_rdn_is("OU=hv,DC=x", "cn", "hv"));
        assert!(!first_rdn_is("CN=a+SN=b,DC=x", "cn", "a"));
    }

    #[test]
    fn spellings_of_one_dn_match() {
        let base = "CN=HV01,OU=HV,DC=t,DC=example";
        for same in [
            "cn=hv01,ou=hv,dc=t,dc=example",
            "CN=HV01, OU=HV, DC=t, DC=example",
            "CN = HV01 ,OU=HV,DC=t,DC=example",
            "CN=\\48V01,OU=HV,DC=t,DC=example",
            "OID.cn=HV01,OU=HV,DC=t,DC=example",
            "CN=HV01 ,OU=HV,DC=t,DC=example",
        ] {
            assert!(same_dn(base, same), "{same}");
        }
        assert!(same_dn(
            "CN=Smith\\, John,OU=Users,DC=x",
            "cn=smith\\2c john,ou=users,dc=x"
        ));
        assert!(same_dn("CN=a+UID=b,DC=x", "UID=b+CN=a,DC=x"));
        assert!(same_dn("CN=Ärger,DC=x", "cn=ärger,dc=x"));
    }

    #[test]
    fn different_dns_do_not_match() {
        let base = "CN=HV01,OU=HV,DC=t,DC=example";
        for other in [
            "CN=HV02,OU=HV,DC=t,DC=example",
            "CN=HV01,OU=HV,DC=t",
            "CN=HV01\\ ,OU=HV,DC=t,DC=example",
            "OU=HV01,OU=HV,DC=t,DC=example",
            "CN=HV01\\,OU=HV,DC=t,DC=example",
        ] {
            assert!(!same_dn(base, other), "{other}");
        }
        assert!(!same_dn("CN=Smith\\, John,DC=x", "CN=Smith,CN=John,DC=x"));
    }

    /// The one-pass key must be exactly the parse's key wherever it answers, and must decline
    /// every shape it does not model.
    #[test]
    fn simple_key_agrees_with_the_parse() {
        let full = parsed_key;
        let simple = [
            "CN=HV01,OU=HV,DC=t,DC=example",
            "cn=hv01,ou=Hyper V Hosts,dc=t",
            "CN=a=b,DC=x",
            "CN=,DC=x",
            "CN=\"q\",DC=x",
            "CN=#41,DC=x",
            "DC=x",
        ];
        for dn in simple {
            assert_eq!(simple_key(dn), Some(full(dn)), "{dn}");
        }
        let declined = [
            "",
            " CN=a,DC=x",
            "CN=a,DC=x ",
            "CN =a,DC=x",
            "CN= a,DC=x",
            "CN=a ,DC=x",
            "CN=a, DC=x",
            "CN=a\\,b,DC=x",
            "CN=a+UID=b,DC=x",
            "CN=a;DC=x",
            "OID.cn=a,DC=x",
            "oid.CN=a,DC=x",
            "CN=Ärger,DC=x",
            "CN=a\u{1},DC=x",
            "CN=a,,DC=x",
            "CN=a,",
            "garbage",
            "=a,DC=x",
        ];
        for dn in declined {
            assert_eq!(simple_key(dn), None, "{dn:?}");
            // The public key still comes from the parse, so both spellings keep agreeing.
            assert_eq!(DnKey::of(dn), full(dn), "{dn:?}");
        }
    }

    #[test]
    fn malformed_dns_only_match_themselves() {
        assert!(same_dn("CN=x\\", "cn=X\\"));
        assert!(!same_dn("CN=x\\", "CN=x"));
        assert!(!same_dn("garbage", "CN=garbage"));
        assert_eq!(DnKey::of(""), DnKey(String::new()));
        assert!(!same_dn("CN=a\\01,DC=x", "CN=a\\04 1,DC=x"));
    }
}
