//! Standard output and standard error that end quietly when the reader goes away.
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe (`hvaudit rules list | head -1`) is an
//! `EPIPE` error, which `println!` turns into a panic (exit 101). Like other Unix filters,
//! hvaudit instead stops printing once the reader has gone and finishes its work: the
//! output files are still written and the exit code still means what it says. Any other
//! error writing standard output (a full disk behind `> file`) is reported.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Standard output; after `EPIPE` every write succeeds without output.
pub struct Stdout;

/// Standard error; after `EPIPE` every write succeeds without output.
pub struct Stderr;

fn quiet_write(
    closed: &AtomicBool,
    buf: &[u8],
    write: impl FnOnce(&[u8]) -> io::Result<usize>,
) -> io::Result<usize> {
    if closed.load(Ordering::Relaxed) {
        return Ok(buf.len());
    }
    match write(buf) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            closed.store(true, Ordering::Relaxed);
            Ok(buf.len())
        }
        other => other,
    }
}

fn quiet_flush(closed: &AtomicBool, flush: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    if closed.load(Ordering::Relaxed) {
        return Ok(());
    }
    match flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            closed.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        quiet_write(&STDOUT_CLOSED, buf, |b| io::stdout().lock().write(b))
    }
    fn flush(&mut self) -> io::Result<()> {
        quiet_flush(&STDOUT_CLOSED, || io::stdout().lock().flush())
    }
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        quiet_write(&STDERR_CLOSED, buf, |b| io::stderr().lock().write(b))
    }
    fn flush(&mut self) -> io::Result<()> {
        quiet_flush(&STDERR_CLOSED, || io::stderr().lock().flush())
    }
}

/// A standard-output error other than a closed pipe, as a failure naming it.
pub fn stdout_failure(e: io::Error) -> super::Failure {
    super::Failure::usage(format!("cannot write to standard output: {e}"))
}

/// `println!` that ends quietly on a closed pipe; `?`-returns any other error as a
/// [`super::Failure`].
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!($crate::app::output::Stdout, $($t)*)
            .map_err($crate::app::output::stdout_failure)?
    }};
}

/// `eprintln!` that never panics: with standard error gone there is nowhere left to report.
macro_rules! note {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!($crate::app::output::Stderr, $($t)*);
    }};
}

pub(crate) use {note, say};
