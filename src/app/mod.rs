//! Runs the commands. Errors become one line on stderr and an exit code:
//! 0 clean, 1 findings at or above --fail-on, 2 usage or input error, 3 scan failed or incomplete.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{Cli, Command, SourceArgs};

mod check;
mod collect;
mod common;
mod completions;
mod diff;
mod output;
mod remediate;
mod rules;
mod scan;
mod templates;

use crate::model::Gap;
use crate::outfile::{self, CommitError};
use output::note;

pub use collect::{check_server_url, load_source};
pub use common::exit_for;

pub const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_INCOMPLETE: u8 = 3;

/// A command's error: one line for stderr and the exit code it maps to ([`Failure::exit_code`]).
/// Bad flags and bad input files exit [`EXIT_USAGE`] (2); a scan that failed or could not
/// finish exits [`EXIT_INCOMPLETE`] (3). The library's input errors convert with `?` and keep
/// their own message (file, line, attribute); they are all usage errors. An error that must be
/// a scan failure (DNS not answering, a DC refusing a search) is built with [`Failure::scan`].
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Exit 2: the caller's flags or input files.
    #[error("{0}")]
    Usage(String),
    /// Exit 3: the scan failed or is incomplete.
    #[error("{0}")]
    Scan(String),
    #[error(transparent)]
    Rules(#[from] crate::rules::RuleError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    #[error(transparent)]
    Ldif(#[from] crate::collect::ldif::LdifError),
    /// A domain name that cannot make an SRV query (`--domain`); DNS failing is a scan error.
    #[error(transparent)]
    Locate(#[from] crate::collect::locate::LocateError),
    #[error(transparent)]
    Kerberos(#[from] crate::collect::kerberos::KerberosError),
    #[error(transparent)]
    Suppressions(#[from] crate::suppress::SuppressError),
    #[error(transparent)]
    Findings(#[from] crate::diff::DiffError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error(transparent)]
    Check(#[from] crate::audit::CheckError),
    #[error(transparent)]
    Explain(#[from] crate::rules::explain::ExplainError),
}

impl Failure {
    pub fn usage(m: impl Into<String>) -> Self {
        Failure::Usage(m.into())
    }
    pub fn scan(m: impl Into<String>) -> Self {
        Failure::Scan(m.into())
    }
    /// The process exit code: 3 for [`Failure::Scan`], 2 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Scan(_) => EXIT_INCOMPLETE,
            _ => EXIT_USAGE,
        }
    }
}

pub fn run(cli: Cli) -> ExitCode {
    let result = match &cli.command {
        Command::Collect(a) => collect::cmd_collect(a, cli.verbose),
        Command::Scan(a) | Command::Audit(a) => scan::scan(a, cli.verbose),
        Command::Diff(a) => diff::diff(a),
        Command::Remediate(a) => remediate::remediate(a, cli.verbose),
        Command::Check(a) => check::check(a, cli.verbose),
        Command::Rules(a) => rules::rules(a),
        Command::Completions { shell } => completions::completions(*shell),
        Command::Man => completions::man(),
    };
    crate::timing::phase("drop");
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            // Messages quote their input (an LDIF line, a directory value): no escape sequence
            // may reach the terminal, and the error stays one line.
            note!(
                "hvaudit: error: {}",
                crate::report::text::terminal_safe(&f.to_string())
            );
            ExitCode::from(f.exit_code())
        }
    }
}

pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::usage(format!("cannot serialise: {e}")))?;
    write_file(path, text.as_bytes())
}

/// Writes through a uniquely named temporary file and a rename, so an interrupted or failed
/// run leaves the earlier file (or none), never a half-written one; the error says so.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    crate::outfile::write_atomic(path, bytes).map_err(commit_failure)
}

/// A failed write, naming the files not written (their earlier versions are unchanged).
fn commit_failure(e: CommitError) -> Failure {
    Failure::usage(format!(
        "cannot write {e}; {}",
        not_written_note(&e.not_written, &e.written)
    ))
}

/// `not written: a, b (...)`, plus the files already replaced when a commit stopped midway.
pub(crate) fn not_written_note(not_written: &[PathBuf], written: &[PathBuf]) -> String {
    let list = |v: &[PathBuf]| {
        v.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = format!(
        "not written: {} (any earlier version is left unchanged)",
        list(not_written)
    );
    if !written.is_empty() {
        s.push_str(&format!("; already replaced: {}", list(written)));
    }
    s
}

/// The files a run may write or remove in output directory `dir`, for
/// [`refuse_outputs_that_are_inputs`]: the directory, every report name and the manifest.
pub(crate) fn dir_outputs(dir: &Path) -> Vec<PathBuf> {
    let mut v = vec![dir.to_path_buf()];
    v.extend(outfile::OWN_FILES.iter().map(|n| dir.join(n)));
    v.push(dir.join(outfile::MANIFEST));
    v
}

/// Exit 2 when an output path is one of the inputs (compared canonicalised): writing it would
/// destroy the input, and for `--previous` compare a scan with itself.
pub(crate) fn refuse_outputs_that_are_inputs(
    flag: &str,
    out: &Path,
    outputs: &[PathBuf],
    inputs: &[(&str, &Path)],
) -> Result<(), Failure> {
    match outfile::input_collision(outputs, inputs) {
        None => Ok(()),
        Some((o, in_flag, input)) if o == out => Err(Failure::usage(format!(
            "{flag} {} is also the input {in_flag} {}: it would be overwritten; choose another {flag}",
            out.display(),
            input.display()
        ))),
        Some((o, in_flag, input)) => Err(Failure::usage(format!(
            "{flag} {} would write {}, which is the input {in_flag} {}; choose another {flag}",
            out.display(),
            o.display(),
            input.display()
        ))),
    }
}

/// The inputs of a directory source (`--ldif`, `--password-file`, `--ca-file`).
pub(crate) fn source_inputs(s: &SourceArgs) -> Vec<(&'static str, &Path)> {
    let mut v: Vec<(&'static str, &Path)> = Vec::new();
    if let Some(p) = &s.ldif {
        v.push(("--ldif", p));
    }
    if let Some(p) = &s.password_file {
        v.push(("--password-file", p));
    }
    if let Some(p) = &s.ca_file {
        v.push(("--ca-file", p));
    }
    v
}

/// Locks `dir`, renames the staged files into place, removes what the previous run's
/// manifest lists and this run did not write, and writes the new manifest. Prints a note
/// for every removed file.
pub(crate) fn commit_directory(
    dir: &Path,
    lock: &outfile::DirLock,
    command: &str,
    staging: outfile::Staging,
) -> Result<Vec<PathBuf>, Failure> {
    debug_assert_eq!(lock.dir(), dir);
    let written = staging.commit().map_err(commit_failure)?;
    let cleanup = outfile::finish_directory(lock, command, &written).map_err(commit_failure)?;
    for p in &cleanup.removed {
        note!(
            "hvaudit: removed {} (written by an earlier run, not by this one)",
            p.display()
        );
    }
    if let Some(w) = &cleanup.warning {
        note!(
            "hvaudit: warning: {}",
            crate::report::text::terminal_safe(w)
        );
    }
    Ok(written)
}

/// Takes the advisory lock of output directory `dir` (creating it), or fails clearly.
pub(crate) fn lock_directory(dir: &Path) -> Result<outfile::DirLock, Failure> {
    outfile::DirLock::acquire(dir).map_err(|e| match e {
        outfile::OutputError::Locked { .. } => Failure::usage(e.to_string()),
        e => Failure::usage(format!("cannot create or lock {e}")),
    })
}

pub fn warn_incomplete(gaps: &[Gap]) {
    if gaps.is_empty() {
        return;
    }
    note!(
        "hvaudit: WARNING: INCOMPLETE SCAN (SC001): {} item(s) could not be read; nothing here proves compliance:",
        gaps.len()
    );
    for g in gaps.iter().take(20) {
        // Gap texts quote directory and inventory values: no escape sequences to the terminal.
        note!(
            "  - {}: {}",
            crate::report::text::terminal_safe(&g.what),
            crate::report::text::terminal_safe(&g.reason)
        );
    }
    if gaps.len() > 20 {
        note!("  ... and {} more (see the report's gaps)", gaps.len() - 20);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(text: &str) -> Result<crate::config::Config, Failure> {
        Ok(crate::config::Config::from_toml_str(text, "hvaudit.toml")?)
    }

    #[test]
    fn input_errors_convert_to_usage_with_their_own_message() {
        let direct = crate::config::Config::from_toml_str("[[", "hvaudit.toml").unwrap_err();
        let f = fails("[[").unwrap_err();
        assert!(matches!(f, Failure::Config(_)), "{f:?}");
        assert_eq!(f.exit_code(), EXIT_USAGE);
        // The file name and line the library put in stay in the one-line message.
        assert_eq!(f.to_string(), direct.to_string());
        assert!(f.to_string().starts_with("hvaudit.toml"), "{f}");
    }

    #[test]
    fn scan_failures_exit_3_and_usage_errors_exit_2() {
        assert_eq!(
            Failure::scan("DNS did not answer").exit_code(),
            EXIT_INCOMPLETE
        );
        assert_eq!(
            Failure::usage("--seal needs ldap://").exit_code(),
            EXIT_USAGE
        );
        assert_eq!(Failure::usage("bad flag").to_string(), "bad flag");
    }
}
