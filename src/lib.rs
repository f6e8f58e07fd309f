//! hvaudit: a read-only auditor of Kerberos delegation for Hyper-V live migration.
//!
//! Pipeline: [`collect`] (LDAP or LDIF) -> [`model`] snapshot -> [`analysis`] -> [`rules`] ->
//! [`findings`] -> [`report`]. The binary in `src/main.rs` is a thin shell over this library.

// Everything read is attacker-controlled and the program must never crash: no unwrap/expect
// outside tests (clippy.toml allows them in #[cfg(test)]); a provably safe one carries an
// #[allow(..., reason = "...")].
#![deny(clippy::unwrap_used, clippy::expect_used)]

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
pub mod parallel;
pub mod remediate;
pub mod report;
pub mod rules;
pub mod suppress;
pub mod timing;
