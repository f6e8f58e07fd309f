//! The fuzz corpus as regression tests: every kept input of every `cargo fuzz` target (the
//! minimised corpus and the inputs of crashes fixed since) goes through the same entry point as
//! the fuzz target, `hvaudit::fuzzing`, on stable and without the fuzzer. Each must return
//! without panicking.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Far above what any input needs (milliseconds); only there to name a hanging input instead
/// of stalling the whole test run.
const PER_INPUT_LIMIT: Duration = Duration::from_secs(120);

/// `fuzz/corpus`, or the directory in `HVAUDIT_FUZZ_CORPUS` (e.g. `fuzz/corpus-work`, to put a
/// whole working corpus through the debug build's overflow checks).
fn corpus_dir(target: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    match std::env::var_os("HVAUDIT_FUZZ_CORPUS") {
        Some(dir) => root.join(dir),
        None => root.join("fuzz").join("corpus"),
    }
    .join(target)
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs one input on its own thread so a panic is caught and a hang is reported by name.
fn run_one(f: fn(&[u8]), path: &Path) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| f(&data));
        let _ = tx.send(r.is_ok());
    });
    match rx.recv_timeout(PER_INPUT_LIMIT) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("{}: panicked", path.display())),
        Err(_) => Err(format!(
            "{}: did not return within {PER_INPUT_LIMIT:?}",
            path.display()
        )),
    }
}

#[test]
fn every_target_has_a_corpus() {
    for (name, _) in hvaudit::fuzzing::TARGETS {
        assert!(
            inputs(name).len() >= 3,
            "fuzz/corpus/{name} should hold the minimised corpus"
        );
    }
}

#[test]
fn every_corpus_input_returns_without_panicking() {
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, f) in hvaudit::fuzzing::TARGETS {
        for path in inputs(name) {
            total += 1;
            if let Err(e) = run_one(*f, &path) {
                failures.push(e);
            }
        }
    }
    assert!(total > 0, "no corpus inputs found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The entry points are not vacuous: a malformed input is an error, and a panic inside one is
/// caught and reported by the harness above.
#[test]
fn harness_reports_a_panicking_input() {
    fn boom(_: &[u8]) {
        panic!("deliberate");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("input");
    std::fs::write(&p, b"x").expect("write");
    let e = run_one(boom, &p).expect_err("a panic is reported");
    assert!(e.ends_with("input: panicked"), "{e}");
    run_one(hvaudit::fuzzing::ldif, &p).expect("garbage LDIF is an error, not a panic");
}
