use std::io::{self, BufReader, Read};

use super::*;

/// S-1-5-21-1004336348-1177238915-682003330-1105 in binary.
const SID_1105: [u8; 28] = [
    0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x15, 0x00, 0x00, 0x00, 0xdc, 0xf4, 0xdc, 0x3b,
    0x83, 0x3d, 0x2b, 0x46, 0x82, 0x8b, 0xa6, 0x28, 0x51, 0x04, 0x00, 0x00,
];

fn read_all(text: &[u8]) -> Result<Vec<RawEntry>, LdifError> {
    LdifReader::new(text, "test.ldif").collect()
}

fn read_err(text: &str) -> LdifError {
    match read_all(text.as_bytes()) {
        Ok(e) => panic!("expected an error, got {e:?}"),
        Err(e) => e,
    }
}

fn texts(e: &RawEntry, name: &str) -> Vec<String> {
    e.texts(name)
}

const LDAPSEARCH_PLAIN: &str = "\
# extended LDIF
#
# LDAPv3
# base <DC=corp,DC=example> with scope subtree
# filter: (objectClass=computer)
# requesting: cn userAccountControl msDS-AllowedToDelegateTo objectSid servicePrincipalName
#

# HV01, Hyper-V, corp.example
dn: CN=HV01,OU=Hyper-V,DC=corp,DC=example
cn: HV01
userAccountControl: 16781312
msDS-AllowedToDelegateTo: Microsoft Virtual System Migration Service/HV02.corp
 .example
msDS-AllowedToDelegateTo: cifs/HV02.corp.example
objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==
servicePrincipalName: Microsoft Virtual Console Service/HV01.corp.example
servicePrincipalName: HOST/HV01

# search reference
ref: ldap://ForestDnsZones.corp.example/DC=ForestDnsZones,DC=corp,DC=example

# search reference
ref: ldap://DomainDnsZones.corp.example/DC=DomainDnsZones,DC=corp,DC=example

# search result
search: 2
result: 0 Success

# numResponses: 4
# numEntries: 1
";

#[test]
fn reads_plain_ldapsearch_output_and_skips_trailers() {
    let entries = read_all(LDAPSEARCH_PLAIN.as_bytes()).unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e.dn, "CN=HV01,OU=Hyper-V,DC=corp,DC=example");
    assert_eq!(e.text("cn").as_deref(), Some("HV01"));
    assert_eq!(e.text("useraccountcontrol").as_deref(), Some("16781312"));
    assert_eq!(
        texts(e, "msds-allowedtodelegateto"),
        vec![
            "Microsoft Virtual System Migration Service/HV02.corp.example",
            "cifs/HV02.corp.example",
        ]
    );
    assert_eq!(e.first("objectsid"), Some(&SID_1105[..]));
    assert_eq!(texts(e, "serviceprincipalname").len(), 2);
    // Names are stored lower-cased, and only the attributes present exist.
    let names: Vec<&str> = e.attrs.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        vec![
            "cn",
            "msds-allowedtodelegateto",
            "objectsid",
            "serviceprincipalname",
            "useraccountcontrol"
        ]
    );
}

#[test]
fn reads_lll_output_with_options_base64_dn_and_no_final_newline() {
    let text = "\
dn: CN=Hyper-V Admins,OU=Groups,DC=corp,DC=example
objectClass: group
member;range=0-1499: CN=A,DC=corp,DC=example
member;range=0-1499: CN=B,DC=corp,DC=example

dn:: Q049SsO8cmdlbiBNw7xsbGVyLE9VPUFkbWlucyxEQz1jb3JwLERDPWV4YW1wbGU=
Description:: ZW5kcyB3aXRoIHNwYWNlIA==
sAMAccountName: jmueller";
    let entries = read_all(text.as_bytes()).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        texts(&entries[0], "member;range=0-1499"),
        vec!["CN=A,DC=corp,DC=example", "CN=B,DC=corp,DC=example"]
    );
    assert!(entries[0].attrs.contains_key("member;range=0-1499"));
    assert_eq!(
        entries[1].dn,
        "CN=J\u{fc}rgen M\u{fc}ller,OU=Admins,DC=corp,DC=example"
    );
    assert_eq!(
        entries[1].first("description"),
        Some(&b"ends with space "[..])
    );
    assert_eq!(
        entries[1].text("samaccountname").as_deref(),
        Some("jmueller")
    );
}

#[test]
fn range_option_is_lower_cased() {
    let e = read_all(b"dn: CN=G\nMember;Range=1500-*: CN=C\n").unwrap();
    assert!(e[0].attrs.contains_key("member;range=1500-*"));
}

#[test]
fn version_line_with_or_without_blank_line() {
    for text in [
        "version: 1\ndn: CN=X\ncn: X\n",
        "version: 1\n\n# comment\ndn: CN=X\ncn: X\n",
    ] {
        let e = read_all(text.as_bytes()).unwrap();
        assert_eq!(e.len(), 1, "{text:?}");
        assert_eq!(e[0].dn, "CN=X");
        assert!(e[0].values("version").is_empty());
    }
}

#[test]
fn version_other_than_one_is_an_error() {
    let e = read_err("\nversion: 2\ndn: CN=X\n");
    assert_eq!(e.line, 2);
    assert!(e.reason.contains("version '2'"), "{e}");
}

#[test]
fn value_spacing_follows_the_rfc() {
    let e = read_all(b"dn: CN=X\na:   leading\nb: trailing  \nc:\nd::\ne:x\n").unwrap();
    let e = &e[0];
    assert_eq!(e.first("a"), Some(&b"leading"[..]));
    assert_eq!(e.first("b"), Some(&b"trailing  "[..]));
    assert_eq!(e.first("c"), Some(&b""[..]));
    assert_eq!(e.first("d"), Some(&b""[..]));
    assert_eq!(e.first("e"), Some(&b"x"[..]));
}

#[test]
fn folded_comments_and_folded_base64_are_unfolded() {
    let text = "\
# a comment that is
 folded onto a second line: still a comment
dn: CN=X
objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9
 K0aCi6YoUQQAAA==
# comment inside a record
cn: X
";
    let e = read_all(text.as_bytes()).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].first("objectsid"), Some(&SID_1105[..]));
    assert_eq!(e[0].text("cn").as_deref(), Some("X"));
    assert_eq!(e[0].attrs.len(), 2);
}

#[test]
fn continuation_removes_exactly_one_space() {
    let e = read_all(b"dn: CN=X\ndescription: two\n  words\n").unwrap();
    assert_eq!(e[0].text("description").as_deref(), Some("two words"));
}

/// ldifde layout: BOM, leading blank line, CRLF, `changetype: add`, folding at 79 columns.
fn ldifde_sample() -> String {
    let lines = [
        "",
        "dn: CN=HV01,OU=Hyper-V Hosts,OU=Servers,DC=corp,DC=example",
        "changetype: add",
        "objectClass: top",
        "objectClass: computer",
        "cn: HV01",
        "userAccountControl: 16781312",
        "msDS-AllowedToDelegateTo: Microsoft Virtual System Migration Service/HV02.cor",
        " p.example",
        "objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==",
        "",
        "dn: CN=HV02,OU=Hyper-V Hosts,OU=Servers,DC=corp,DC=example",
        "changetype: add",
        "cn: HV02",
        "",
    ];
    lines.join("\r\n")
}

#[test]
fn reads_ldifde_export_with_crlf_bom_and_folding() {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(ldifde_sample().as_bytes());
    let e = read_all(&bytes).unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(
        e[0].dn,
        "CN=HV01,OU=Hyper-V Hosts,OU=Servers,DC=corp,DC=example"
    );
    assert_eq!(
        texts(&e[0], "msds-allowedtodelegateto"),
        vec!["Microsoft Virtual System Migration Service/HV02.corp.example"]
    );
    assert_eq!(e[0].text("useraccountcontrol").as_deref(), Some("16781312"));
    assert_eq!(e[0].first("objectsid"), Some(&SID_1105[..]));
    assert!(e[0].values("changetype").is_empty());
    assert_eq!(
        e[1].dn,
        "CN=HV02,OU=Hyper-V Hosts,OU=Servers,DC=corp,DC=example"
    );
    assert_eq!(e[1].text("cn").as_deref(), Some("HV02"));
}

/// Returns one byte per read, to push every chunk boundary through the decoders.
struct OneByte<R>(R);
impl<R: Read> Read for OneByte<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}

fn utf16le_with_bom(s: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

#[test]
fn reads_utf16le_export_even_one_byte_at_a_time() {
    let text = "dn: CN=HV01,DC=corp,DC=example\r\nchangetype: add\r\ndescription: K\u{f6}ln \u{1F5A5} host\r\n\r\n";
    let bytes = utf16le_with_bom(text);
    let whole = read_all(&bytes).unwrap();
    let slow: Vec<RawEntry> =
        LdifReader::new(BufReader::with_capacity(1, OneByte(&bytes[..])), "u16.ldif")
            .collect::<Result<_, _>>()
            .unwrap();
    for e in [&whole, &slow] {
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].dn, "CN=HV01,DC=corp,DC=example");
        assert_eq!(
            e[0].first("description"),
            Some("K\u{f6}ln \u{1F5A5} host".as_bytes())
        );
    }
}

#[test]
fn utf16le_with_odd_length_or_lone_surrogate_is_an_error() {
    let mut odd = utf16le_with_bom("dn: CN=X\r\n");
    odd.push(b'a');
    let e = read_all(&odd).unwrap_err();
    assert!(e.reason.contains("odd number of bytes"), "{e}");

    let mut lone = utf16le_with_bom("dn: CN=X\r\ncn: ");
    lone.extend_from_slice(&0xD800u16.to_le_bytes());
    let e = read_all(&lone).unwrap_err();
    assert!(e.reason.contains("read error"), "{e}");
}

#[test]
fn utf16be_is_refused_clearly() {
    let e = read_all(&[0xFE, 0xFF, 0x00, b'd']).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.reason.contains("big-endian"), "{e}");
}

#[test]
fn record_truncated_at_eof_is_returned() {
    let e = read_all(b"dn: CN=A\ncn: A\n\ndn: CN=B\ncn: B").unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[1].text("cn").as_deref(), Some("B"));
}

#[test]
fn empty_and_comment_only_inputs_have_no_entries() {
    assert!(read_all(b"").unwrap().is_empty());
    assert!(read_all(b"\n\n# nothing\n\n").unwrap().is_empty());
    assert!(read_all(&[0xEF, 0xBB, 0xBF]).unwrap().is_empty());
}

#[test]
fn root_dse_empty_dn_is_accepted() {
    let e = read_all(b"dn:\nnamingContexts: DC=corp,DC=example\n").unwrap();
    assert_eq!(e[0].dn, "");
}

#[test]
fn url_reference_is_an_error_at_its_line() {
    let e = read_err("dn: CN=X\ncn: X\njpegPhoto:< file:///etc/passwd\n");
    assert_eq!(e.line, 3);
    assert!(e.reason.contains("URL references are not supported"), "{e}");
}

#[test]
fn invalid_base64_is_an_error_at_the_start_of_the_folded_line() {
    let e = read_err("dn: CN=X\n\ndn: CN=Y\nobjectSid:: AQUA\n AA*A\n");
    assert_eq!(e.line, 4);
    assert!(e.reason.contains("invalid base64"), "{e}");
    assert!(e.reason.contains("objectsid"), "{e}");
}

#[test]
fn line_without_colon_is_an_error() {
    let e = read_err("dn: CN=X\ncn: X\nthis line has no separator\n");
    assert_eq!(e.line, 3);
    assert!(e.reason.contains("no ':'"), "{e}");
}

#[test]
fn continuation_at_record_start_is_an_error() {
    let e = read_err("dn: CN=X\ncn: X\n\n continued\n");
    assert_eq!(e.line, 4);
    assert!(e.reason.contains("continuation"), "{e}");
    let e = read_err(" starts folded\n");
    assert_eq!(e.line, 1);
}

#[test]
fn change_records_are_refused() {
    for (kind, line) in [("modify", 2), ("delete", 2), ("moddn", 2), ("modrdn", 2)] {
        let e = read_err(&format!("dn: CN=X\nchangetype: {kind}\n"));
        assert_eq!(e.line, line);
        assert!(e.reason.contains(kind), "{e}");
        assert!(e.reason.contains("not a directory export"), "{e}");
    }
    let e = read_err("dn: CN=A\ncn: A\n\ndn: CN=B\nChangeType: Modify\nreplace: cn\n");
    assert_eq!(e.line, 5);
}

#[test]
fn empty_attribute_name_is_an_error() {
    let e = read_err("dn: CN=X\n: value\n");
    assert_eq!(e.line, 2);
    assert!(e.reason.contains("empty attribute name"), "{e}");
}

#[test]
fn bad_character_in_attribute_name_is_an_error() {
    let e = read_err("dn: CN=X\nuser account: 1\n");
    assert_eq!(e.line, 2);
    assert!(e.reason.contains("invalid character"), "{e}");
}

#[test]
fn record_without_dn_is_an_error_unless_a_trailer() {
    let e = read_err("dn: CN=A\n\nobjectClass: top\ncn: lost\n");
    assert_eq!(e.line, 3);
    assert!(e.reason.contains("no dn"), "{e}");
}

#[test]
fn failed_search_trailer_is_an_error() {
    let e = read_err("dn: CN=A\n\n# search result\nsearch: 2\nresult: 4 Size limit exceeded\n");
    assert_eq!(e.line, 5);
    assert!(e.reason.contains("Size limit exceeded"), "{e}");
}

#[test]
fn second_dn_in_a_record_is_an_error() {
    let e = read_err("dn: CN=A\ncn: A\ndn: CN=B\n");
    assert_eq!(e.line, 3);
}

#[test]
fn non_utf8_dn_is_an_error() {
    let e = read_all(b"dn: CN=\xff\n").unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.reason.contains("UTF-8"), "{e}");
}

#[test]
fn error_display_names_file_and_line_and_stops_iteration() {
    let mut r = LdifReader::new(
        &b"dn: CN=A\n\ndn: CN=B\nbogus\n\ndn: CN=C\n"[..],
        "export.ldif",
    );
    assert_eq!(r.next().unwrap().unwrap().dn, "CN=A");
    let e = r.next().unwrap().unwrap_err();
    assert!(
        e.to_string().starts_with("export.ldif:4: line has no ':'"),
        "{e}"
    );
    assert!(r.next().is_none());
}

/// Fails after yielding some bytes, like a disk error mid-file.
struct FailAfter<'a>(&'a [u8]);
impl Read for FailAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn io_error_names_the_file() {
    let r = LdifReader::new(
        BufReader::new(FailAfter(b"dn: CN=A\ncn: A\n")),
        "broken.ldif",
    );
    let e = r.collect::<Result<Vec<_>, _>>().unwrap_err();
    assert_eq!(e.file, "broken.ldif");
    assert_eq!(e.line, 3);
    assert!(e.to_string().contains("disk on fire"), "{e}");
}

#[test]
fn read_ldif_file_reads_and_reports_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dump.ldif");
    std::fs::write(&path, LDAPSEARCH_PLAIN).unwrap();
    let e = read_ldif_file(&path).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].dn, "CN=HV01,OU=Hyper-V,DC=corp,DC=example");

    let missing = dir.path().join("nope.ldif");
    let err = read_ldif_file(&missing).unwrap_err();
    assert_eq!(err.line, 0);
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{}: cannot open", missing.display())),
        "{shown}"
    );
}

/// An endless export: only a streaming reader can return its first entries.
struct Endless(u64, Vec<u8>);
impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.1.is_empty() {
            self.0 += 1;
            self.1 = format!("dn: CN=PC{},DC=corp\ncn: PC{}\n\n", self.0, self.0).into_bytes();
        }
        let n = buf.len().min(self.1.len());
        buf[..n].copy_from_slice(&self.1[..n]);
        self.1.drain(..n);
        Ok(n)
    }
}

#[test]
fn streams_without_reading_to_the_end() {
    let r = LdifReader::new(BufReader::new(Endless(0, Vec::new())), "endless.ldif");
    let dns: Vec<String> = r.take(3).map(|e| e.unwrap().dn).collect();
    assert_eq!(
        dns,
        vec!["CN=PC1,DC=corp", "CN=PC2,DC=corp", "CN=PC3,DC=corp"]
    );
}
