//! Host inventory: per-host live-migration settings that live on the hosts, not in AD, as
//! exported by `collectors/Get-HvAuditInventory.ps1` (CSV or JSON, PowerShell property names).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
