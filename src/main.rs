//! The `hvaudit` binary: parse flags, hand over to the library, map the outcome to an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = hvaudit::cli::Cli::parse();
    hvaudit::app::run(cli)
}
