//! Every command-line flag, documented in one place. `main.rs` only parses and dispatches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hvaudit",
    version,
    about = "Read-only auditor of Kerberos delegation for Hyper-V live migration in Active Directory",
    long_about = "Reads Active Directory (LDAP, or an LDIF export) and a host inventory, checks \
                  the Kerberos constrained delegation that Hyper-V live migration relies on, and \
                  reports what is missing, stale or dangerous. It never writes to the directory."
)]
pub struct Cli {
    /// More detail on stderr (repeat for more). Secrets are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a directory into a snapshot (JSON) without auditing it.
    Collect(CollectArgs),
}

/// Where the directory comes from: a live DC or an LDIF export.
#[derive(Debug, Args, Clone)]
pub struct SourceArgs {
    /// Domain controller URL: ldaps://dc.example.com (636) or ldap://dc.example.com (StartTLS).
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "ldif",
        required_unless_present = "ldif"
    )]
    pub server: Option<String>,
    /// Bind identity for a simple bind (UPN, DN or DOMAIN\user). The password is read from
    /// HVAUDIT_PASSWORD, --password-file or an interactive prompt, never from the command line.
    #[arg(long, value_name = "USER", requires = "server")]
    pub user: Option<String>,
    /// File whose first line is the bind password.
    #[arg(long, value_name = "FILE", requires = "server")]
    pub password_file: Option<PathBuf>,
    /// PEM file of the CA(s) that issued the DC's certificate (default: the system store).
    #[arg(long, value_name = "PEM", requires = "server")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the DC's certificate. Dangerous: warns on every run and is recorded in the
    /// snapshot and reports.
    #[arg(long, requires = "server")]
    pub insecure_skip_verify: bool,
    /// Search base (default: the RootDSE's defaultNamingContext).
    #[arg(long, value_name = "DN", requires = "server")]
    pub base_dn: Option<String>,
    /// Seconds to wait for the connection and for each response.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Entries per page (paged-results control; AD allows at most 1,000).
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
    /// Values per ranged read of large `member` attributes (AD's MaxValRange is 1,500).
    #[arg(long, value_name = "N", default_value_t = 1500, value_parser = clap::value_parser!(u32).range(1..))]
    pub range_size: u32,
    /// Read an LDIF export (ldapsearch or ldifde output) instead of a live DC.
    #[arg(long, value_name = "FILE")]
    pub ldif: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Where to write the snapshot JSON.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}
