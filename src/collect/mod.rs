//! Collection: read a directory (LDAP or LDIF) into raw entries, then build the typed snapshot.

pub mod access;
pub mod builder;
pub mod kerberos;
pub mod ldap;
pub mod ldif;
pub mod locate;
pub mod replmeta;
pub mod sealed;
pub mod secdesc;
pub mod tls;

use std::collections::BTreeMap;

/// One directory entry as read, before typing. Attribute names are lower-cased (LDAP attribute
/// names are case-insensitive) and values are kept as bytes, because binary attributes
/// (objectSid, security descriptors) can arrive through either the text or binary channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawEntry {
    pub dn: String,
    pub attrs: BTreeMap<String, Vec<Vec<u8>>>,
    /// 1-based line of the `dn:` line in the LDIF file the entry came from; 0 when it did not
    /// come from a file (LDAP). Lets problems found later name the place in the export.
    pub line: usize,
}

impl RawEntry {
    pub fn new(dn: impl Into<String>) -> Self {
        RawEntry {
            dn: dn.into(),
            attrs: BTreeMap::new(),
            line: 0,
        }
    }
    pub fn push(&mut self, name: &str, value: Vec<u8>) {
        self.attrs
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value);
    }
    pub fn values(&self, name: &str) -> &[Vec<u8>] {
        // Callers mostly pass lower-case names already: no allocation per lookup then (the
        // builder looks up ~15 attributes of each of tens of thousands of entries).
        let found = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.attrs.get(&name.to_ascii_lowercase())
        } else {
            self.attrs.get(name)
        };
        found.map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn first(&self, name: &str) -> Option<&[u8]> {
        self.values(name).first().map(Vec::as_slice)
    }
    /// First value as text (lossy: text attributes from AD are UTF-8). The snapshot builder
    /// does not use this for directory data: it records a value that is not UTF-8 as a gap.
    pub fn text(&self, name: &str) -> Option<String> {
        self.first(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
    pub fn texts(&self, name: &str) -> Vec<String> {
        self.values(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }
    pub fn has_object_class(&self, class: &str) -> bool {
        self.values("objectclass")
            .iter()
            .any(|v| v.eq_ignore_ascii_case(class.as_bytes()))
    }
}

/// Reads an LDIF export into a snapshot.
pub fn ldif_snapshot(
    path: &std::path::Path,
    opts: builder::BuildOptions,
) -> Result<crate::model::Snapshot, ldif::LdifError> {
    let file = std::fs::File::open(path).map_err(|e| ldif::LdifError {
        file: path.display().to_string(),
        line: 0,
        reason: format!("cannot open: {e}"),
    })?;
    let mut b = builder::SnapshotBuilder::new(opts);
    let reader = ldif::LdifReader::new(std::io::BufReader::new(file), &path.display().to_string());
    for entry in reader {
        b.add(entry?);
        // The same object twice in one export: which copy is true cannot be told, so the file
        // is refused with both places named (see `SnapshotBuilder::take_conflict`).
        if let Some(c) = b.take_conflict() {
            return Err(ldif::LdifError {
                file: path.display().to_string(),
                line: c.line,
                reason: c.describe(),
            });
        }
    }
    let meta = crate::model::ScanMeta {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        source_kind: "ldif".into(),
        source: path.display().to_string(),
        bind_identity: None,
        collected_at: chrono::Utc::now(),
        reads: vec![crate::model::ReadRecord {
            what: "LDIF export".into(),
            base: String::new(),
            filter: String::new(),
            entries: b.entries_seen(),
            pages: 0,
        }],
        gaps: Vec::new(),
        tls_verification_disabled: false,
        connection: None,
    };
    Ok(b.finish(meta))
}
