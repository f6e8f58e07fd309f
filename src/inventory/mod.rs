//! Host inventory: per-host live-migration settings that live on the hosts, not in AD, as
//! exported by `collectors/Get-HvAuditInventory.ps1` (CSV or JSON, PowerShell property names).
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

/// Rejects a second record for a host already seen; names compare case-insensitively.
#[derive(Default)]
struct DuplicateCheck(HashMap<String, Location>);

impl DuplicateCheck {
    fn check(&mut self, label: &str, name: &str, at: Location) -> Result<(), InventoryError> {
        match self.0.insert(name.to_lowercase(), at) {
            Some(first) => Err(InventoryError::Duplicate {
                file: label.to_string(),
                name: value::quote(name),
                first,
                at,
            }),
            None => Ok(()),
        }
    }
}
