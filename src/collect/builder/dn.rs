//! DN string helpers the builder needs before the whole directory is known.

/// Index of the first comma that separates RDNs (not one escaped with `\`).
fn rdn_end(dn: &str) -> Option<usize> {
    let bytes = dn.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b',' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The DN of the entry's parent.
pub fn parent_dn(dn: &str) -> Option<&str> {
    rdn_end(dn).map(|i| dn[i + 1..].trim_start())
}

/// The value of the entry's own RDN (`CN=Microsoft Hyper-V,...` -> `Microsoft Hyper-V`).
pub fn rdn_value(dn: &str) -> Option<String> {
    let first = &dn[..rdn_end(dn).unwrap_or(dn.len())];
    let (_, v) = first.split_once('=')?;
    Some(v.trim().replace('\\', ""))
}

/// `DC=corp,DC=example` -> `corp.example`.
pub fn dns_name_of(dn: &str) -> String {
    dn.split(',')
        .filter_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            k.eq_ignore_ascii_case("dc").then(|| v.to_string())
        })
        .collect::<Vec<_>>()
        .join(".")
}
