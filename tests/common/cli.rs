//! Running the built `hvaudit` the way the example-based CLI tests do.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root: the example paths (`examples/corp.ldif`, ...) are relative to it.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `hvaudit ARGS` run in [`root`], with `HVAUDIT_TODAY` pinned to 2025-06-01 so the
/// example's suppressions are judged against their expiry dates the same on any day.
pub fn hvaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .current_dir(root())
        .args(args)
        .env("HVAUDIT_TODAY", "2025-06-01")
        .output()
        .expect("run hvaudit")
}
