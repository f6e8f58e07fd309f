//! hvaudit: a read-only auditor of Kerberos delegation for Hyper-V live migration.
//!
//! Pipeline: [`collect`] (LDAP or LDIF) -> [`model`] snapshot -> analysis -> rules -> findings
//! -> reports. The binary in `src/main.rs` is a thin shell over this library.

pub mod analysis;
pub mod audit;
pub mod collect;
pub mod config;
pub mod findings;
pub mod inventory;
pub mod model;
pub mod rules;
