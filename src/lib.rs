//! hvaudit: a read-only auditor of Kerberos delegation for Hyper-V live migration.
//!
//! Pipeline: [`collect`] (LDAP or LDIF) -> [`model`] snapshot -> [`analysis`] -> [`rules`] ->
//! [`findings`] -> [`report`]. The binary in `src/main.rs` is a thin shell over this library.

pub mod analysis;
pub mod app;
pub mod audit;
pub mod cli;
pub mod collect;
pub mod config;
pub mod diff;
pub mod findings;
#[doc(hidden)]
pub mod fuzzing;
pub mod inventory;
pub mod model;
pub mod outfile;
pub mod remediate;
pub mod report;
pub mod rules;
pub mod suppress;
