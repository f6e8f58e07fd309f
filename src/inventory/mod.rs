//! Host inventory: per-host live-migration settings that live on the hosts, not in AD, as
//! exported by `powershell/Get-HvAuditInventory.ps1` (CSV or JSON, PowerShell property names).
//!
//! [`load_inventory`] reads a file; [`parse_csv`] and [`parse_json`] parse already-open input.
//! The accepted forms are described in `docs/inventory.md`. Everything in the file is treated
//! as untrusted: bad values are errors naming the file, the row or element, and the column.

mod csv;
mod error;
mod json;
mod value;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Snapshot;

pub use self::csv::parse_csv;
pub use self::error::{InventoryError, Location};
pub use self::json::parse_json;

/// Larger inventories than this are refused: a real one is a few hundred bytes per host.
pub const MAX_INVENTORY_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MigrationAuth {
    CredSSP,
    Kerberos,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct InventoryHost {
    /// NetBIOS name or FQDN as the collector wrote it.
    pub computer_name: String,
    pub migration_enabled: Option<bool>,
    pub authentication_type: Option<MigrationAuth>,
    pub performance_option: Option<String>,
    pub use_any_network: Option<bool>,
    pub maximum_migrations: Option<u32>,
    pub credential_guard_running: Option<bool>,
    pub last_boot: Option<DateTime<Utc>>,
    pub cluster_name: Option<String>,
    /// Set when the collector could not read the host: its other fields are then unknown.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HostInventory {
    /// The file it was read from.
    pub source: String,
    pub hosts: Vec<InventoryHost>,
    /// Where each host's record starts in the file, parallel to `hosts`; empty for an
    /// inventory built in code. Used to name both rows of a conflict.
    #[serde(skip)]
    pub locations: Vec<Location>,
}

impl HostInventory {
    /// The host named `name`, compared case-insensitively. When no entry matches exactly, a
    /// NetBIOS name and an FQDN match on their first label (`HV01` ~ `hv01.contoso.com`), but
    /// only if exactly one entry matches that way, so that two domains' `HV01` never merge.
    pub fn host(&self, name: &str) -> Option<&InventoryHost> {
        if let Some(h) = self
            .hosts
            .iter()
            .find(|h| h.computer_name.eq_ignore_ascii_case(name))
        {
            return Some(h);
        }
        let short = first_label(name);
        let mut matches = self
            .hosts
            .iter()
            .filter(|h| first_label(&h.computer_name).eq_ignore_ascii_case(short));
        match (matches.next(), matches.next()) {
            (Some(h), None) => Some(h),
            _ => None,
        }
    }
}

fn first_label(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

impl HostInventory {
    /// Refuses an inventory in which two rows name one computer of `snapshot`: by its
    /// sAMAccountName (without `$`), its dNSHostName, or `<sAMAccountName>.<domain>`, the way
    /// the analysis matches rows to computers. The name check while reading catches `HV01` next
    /// to `hv01.t.example`; this one also catches a NetBIOS name next to a dNSHostName whose
    /// first label differs. Which row is true cannot be told, so neither is used: the error
    /// names both rows.
    pub fn check_against(&self, snapshot: &Snapshot) -> Result<(), InventoryError> {
        let domain = snapshot.domain.dns_name.to_lowercase();
        let row_key = |name: &str| {
            let key = name.trim().trim_end_matches('.').to_lowercase();
            match key.strip_suffix('$') {
                Some(k) => k.to_string(),
                None => key,
            }
        };
        // The names a row can be looked up by: its own, and its first label when the rest is
        // this domain. Only computers known by one of them are indexed, so a 100,000-computer
        // snapshot costs a lower-casing into one buffer per name, not an allocation.
        let mut wanted: foldhash::HashSet<String> = foldhash::HashSet::default();
        for h in &self.hosts {
            let key = row_key(&h.computer_name);
            if let Some((first, rest)) = key.split_once('.')
                && !domain.is_empty()
                && rest == domain
            {
                wanted.insert(first.to_string());
            }
            wanted.insert(key);
        }
        let mut by_name: foldhash::HashMap<String, usize> = foldhash::HashMap::default();
        let mut buf = String::new();
        let mut index = |name: &str, i: usize, buf: &mut String| {
            buf.clear();
            if name.is_ascii() {
                buf.extend(name.chars().map(|c| c.to_ascii_lowercase()));
            } else {
                // str::to_lowercase, as row keys are made (final sigma included).
                buf.push_str(&name.to_lowercase());
            }
            if wanted.contains(buf.as_str()) && !by_name.contains_key(buf.as_str()) {
                by_name.insert(buf.clone(), i);
            }
        };
        for (i, c) in snapshot.computers.iter().enumerate() {
            let sam = &c.sam_account_name;
            index(sam.strip_suffix('$').unwrap_or(sam), i, &mut buf);
            if let Some(d) = &c.dns_host_name {
                index(d, i, &mut buf);
            }
        }
        let resolve = |name: &str| -> Option<usize> {
            let key = row_key(name);
            by_name.get(&key).copied().or_else(|| {
                let (first, rest) = key.split_once('.')?;
                (!domain.is_empty() && rest == domain)
                    .then(|| by_name.get(first).copied())
                    .flatten()
            })
        };
        let mut seen: HashMap<usize, usize> = HashMap::new();
        for (row, h) in self.hosts.iter().enumerate() {
            let Some(c) = resolve(&h.computer_name) else {
                continue;
            };
            if let Some(first) = seen.insert(c, row) {
                let at = |r: usize| self.locations.get(r).copied();
                return Err(InventoryError::SameHost {
                    file: self.source.clone(),
                    first: at(first).unwrap_or(Location::Element(first)),
                    at: at(row).unwrap_or(Location::Element(row)),
                    message: format!(
                        "{} and {} both name computer {}",
                        value::quote(&h.computer_name),
                        value::quote(&self.hosts[first].computer_name),
                        value::quote(&snapshot.computers[c].dn)
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Reads a host inventory, choosing the format by extension (`.csv`, `.json`) or, for any other
/// name, by content: a first non-blank character `[` or `{` means JSON, anything else CSV.
pub fn load_inventory(path: &Path) -> Result<HostInventory, InventoryError> {
    let label = path.display().to_string();
    let io_err = |err| InventoryError::Io {
        file: label.clone(),
        err,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let bytes = read_limited(file, &label)?;
    let text = value::decode_text(&bytes).map_err(|message| InventoryError::Encoding {
        file: label.clone(),
        message,
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let is_json = match ext.as_deref() {
        Some("json") => true,
        Some("csv") => false,
        _ => matches!(text.trim_start().chars().next(), Some('[' | '{')),
    };
    if is_json {
        parse_json(&text, &label)
    } else {
        self::csv::parse_text(&text, &label)
    }
}

/// Reads at most [`MAX_INVENTORY_BYTES`], failing rather than truncating beyond that.
fn read_limited(reader: impl Read, label: &str) -> Result<Vec<u8>, InventoryError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INVENTORY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| InventoryError::Io {
            file: label.to_string(),
            err,
        })?;
    if bytes.len() as u64 > MAX_INVENTORY_BYTES {
        return Err(InventoryError::TooLarge {
            file: label.to_string(),
            limit: MAX_INVENTORY_BYTES,
        });
    }
    Ok(bytes)
}

/// Rejects a second record for a host already seen: the same name (case-insensitively, a
/// trailing `.` ignored), or a NetBIOS name and an FQDN whose first label it is (`HV01` and
/// `hv01.t.example`). Two FQDNs that share only their first label are different domains' hosts
/// and both kept.
#[derive(Default)]
struct DuplicateCheck {
    /// Full lower-cased name -> where and as written.
    full: HashMap<String, (Location, String)>,
    /// Single-label names by lower-cased label.
    netbios: HashMap<String, (Location, String)>,
    /// The first FQDN seen per lower-cased first label.
    fqdn: HashMap<String, (Location, String)>,
}

impl DuplicateCheck {
    fn check(&mut self, label: &str, name: &str, at: Location) -> Result<(), InventoryError> {
        let key = name.trim().trim_end_matches('.').to_lowercase();
        if let Some((first, _)) = self.full.get(&key) {
            return Err(InventoryError::Duplicate {
                file: label.to_string(),
                name: value::quote(name),
                first: *first,
                at,
            });
        }
        let short = first_label(&key).to_string();
        let other = if key.contains('.') {
            self.netbios.get(&short)
        } else {
            self.fqdn.get(&short)
        };
        if let Some((first, first_name)) = other {
            return Err(InventoryError::SameHost {
                file: label.to_string(),
                first: *first,
                at,
                message: format!(
                    "{} and {} are an FQDN and a NetBIOS name with the same first label",
                    value::quote(name),
                    value::quote(first_name)
                ),
            });
        }
        let entry = (at, name.to_string());
        if key.contains('.') {
            self.fqdn.entry(short).or_insert_with(|| entry.clone());
        } else {
            self.netbios.insert(short, entry.clone());
        }
        self.full.insert(key, entry);
        Ok(())
    }
}
