//! The `hvaudit` binary: parse flags, hand over to the library, map the outcome to an exit code.

#![deny(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;

// A large domain's audit allocates and frees millions of small strings and values; with
// glibc's allocator a 100,000-computer audit spent about a fifth of its time in malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = hvaudit::cli::Cli::parse();
    hvaudit::app::run(cli)
}
