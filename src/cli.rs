//! Every command-line flag, documented in one place. `main.rs` only parses and dispatches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::findings::Severity;
/// `--help` headings: flags grouped by what they are about.
pub const INPUT: &str = "Input";
pub const CONNECTION: &str = "Directory connection";
pub const OUTPUT: &str = "Output";
pub const POLICY: &str = "Policy";

/// Examples at the end of `scan --help` and `audit --help`.
const AUDIT_EXAMPLES: &str = "Examples:
  hvaudit scan --server ldaps://dc01.corp.example --user auditor@corp.example \\
      --hosts hosts.csv --config hvaudit.toml --out report/
  hvaudit audit --ldif export.ldif --hosts hosts.csv --out report/ --format html,xlsx
  hvaudit audit --snapshot snapshot.json --out report/ --previous last-week/findings.json
  hvaudit audit --ldif export.ldif --out report/ --format json,ndjson --fail-on critical

Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it (never with
--fail-on none), 2 usage or input error, 3 incomplete scan (something could not be read;
nothing proves compliance).";

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
    /// Collect from a live DC, audit, and write the reports.
    #[command(after_help = AUDIT_EXAMPLES)]
    Scan(ScanArgs),
    /// Audit a saved snapshot or an LDIF export offline, and write the reports.
    ///
    /// Takes the same flags as `scan`; its help lists the directory-connection flags only
    /// under `scan` (they still work here, for one command line that does both).
    #[command(after_help = AUDIT_EXAMPLES)]
    #[command(mut_args(hide_connection))]
    Audit(ScanArgs),
    /// Compare two findings.json files: new, resolved, no longer evaluated, unchanged.
    ///
    /// "No longer evaluated": a finding of the older scan whose rule did not run in the newer
    /// one (disabled, or its input such as --hosts missing); nothing says it was fixed, so it
    /// is not "resolved". Unchanged findings are counted, and listed with --all.
    Diff(DiffArgs),
    /// Write one reviewable PowerShell script that fixes every fixable finding.
    Remediate(RemediateArgs),
    /// Can host A live-migrate to host B? GO / NO-GO / UNKNOWN with every reason and its fix.
    ///
    /// The destination is judged in the name form given (NetBIOS name, FQDN or CN): Kerberos
    /// requests its SPNs exactly as typed. NO-GO as soon as one known fact blocks the
    /// migration; GO only when every fact that decides it is known (without --hosts, the host
    /// settings are not, so a migration nothing blocks is UNKNOWN). A source that
    /// live-migrates with CredSSP does not use the delegation checked: UNKNOWN, or NO-GO
    /// when --operator starts it remotely.
    ///
    /// Exit codes: 0 GO, 1 NO-GO, 3 UNKNOWN (what is missing is listed), 2 usage or input
    /// error.
    #[command(
        after_help = "Exit codes: 0 GO, 1 NO-GO, 3 UNKNOWN (the facts that are missing are listed), 2 usage or input error."
    )]
    Check(CheckArgs),
    /// List the rules or explain one.
    Rules(RulesArgs),
    /// Print a shell completion script for bash, zsh, fish or PowerShell on stdout.
    ///
    /// bash: `hvaudit completions bash > ~/.local/share/bash-completion/completions/hvaudit`;
    /// zsh: into a directory on $fpath as `_hvaudit`; fish:
    /// `~/.config/fish/completions/hvaudit.fish`; PowerShell: add
    /// `hvaudit completions powershell | Out-String | Invoke-Expression` to $PROFILE.
    Completions {
        /// The shell to complete in.
        shell: Shell,
    },
    /// Print the manual page (roff) on stdout: `hvaudit man > ~/.local/share/man/man1/hvaudit.1`.
    Man,
}

/// Shells `hvaudit completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// What the audit reads besides the directory, and how it judges.
#[derive(Debug, Args, Clone)]
pub struct AuditArgs {
    /// Host inventory (CSV or JSON) from powershell/Get-HvAuditInventory.ps1; see docs/inventory.md.
    #[arg(long, value_name = "FILE", help_heading = INPUT)]
    pub hosts: Option<PathBuf>,
    /// Configuration (migration groups, clusters, storage, LM operators, rule overrides);
    /// see docs/config.md.
    #[arg(long, value_name = "FILE", help_heading = INPUT)]
    pub config: Option<PathBuf>,
    /// Directory of extra or overriding rule files (*.toml); see docs/rules.md.
    #[arg(long, value_name = "DIR", help_heading = POLICY)]
    pub rules: Option<PathBuf>,
    /// Accepted risks (TOML); see docs/suppressions.md.
    #[arg(long, value_name = "FILE", help_heading = POLICY)]
    pub suppressions: Option<PathBuf>,
    /// The date suppressions are checked against (YYYY-MM-DD; default: today, UTC).
    #[arg(long, value_name = "DATE", hide = true, env = "HVAUDIT_TODAY")]
    pub today: Option<chrono::NaiveDate>,
    /// Evaluate every rule condition for every object, without remembering verdicts by the
    /// values a condition reads (docs/rules.md, "Speed"). Slower on a large domain, the same
    /// findings: use it to rule out a cache bug. Also HVAUDIT_NO_MEMO=1.
    #[arg(long, env = "HVAUDIT_NO_MEMO", value_parser = clap::builder::FalseyValueParser::new(), help_heading = POLICY)]
    pub no_memo: bool,
}

/// `--snapshot FILE`, or any directory source.
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// A snapshot written by `hvaudit collect`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["server", "domain", "ldif"], help_heading = INPUT)]
    pub snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub audit: AuditArgs,
    /// Output directory for report.html, findings.csv (+ readiness.csv, hosts.csv),
    /// findings.json, findings.xlsx (and findings.ndjson when asked for).
    #[arg(long, value_name = "DIR", help_heading = OUTPUT)]
    pub out: PathBuf,
    /// Which reports to write (comma-separated: html, csv, json, xlsx, ndjson).
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_values = ["html", "csv", "json", "xlsx"], help_heading = OUTPUT)]
    pub format: Vec<Format>,
    /// Report templates replacing the built-in ones: any of report.html.j2, report.css and
    /// report.js in DIR (the others stay built in); see docs/report-html.md.
    #[arg(long, value_name = "DIR", help_heading = OUTPUT)]
    pub templates: Option<PathBuf>,
    /// Exit 1 when any unsuppressed finding is at or above this severity; `none` never exits
    /// 1 for findings (an incomplete scan still exits 3).
    #[arg(
        long,
        value_name = "SEVERITY",
        value_enum,
        default_value = "high",
        ignore_case = true,
        help_heading = POLICY
    )]
    pub fail_on: FailOn,
    /// A previous findings.json: each finding is marked new or existing and gets its
    /// first_seen time.
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub previous: Option<PathBuf>,
}

/// `--fail-on`: the lowest severity that makes the run exit 1, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "lowercase")]
pub enum FailOn {
    // Listed in --help in this order: the thresholds, least strict first, like the severities.
    // (Plain comments: a doc comment per value would turn clap's one-line list into a long one.)
    // Findings never make the run exit 1; an incomplete scan still exits 3.
    None,
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl FailOn {
    /// The severity at or above which a finding fails the run; `None` for `--fail-on none`.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::None => None,
            FailOn::Info => Some(Severity::Info),
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Csv,
    Json,
    /// findings.xlsx: Summary, Findings, Hosts, Readiness, Privileged accounts, Checks.
    Xlsx,
    /// findings.ndjson: one finding per line, for SIEM ingestion (not written by default).
    Ndjson,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older findings.json.
    pub old: PathBuf,
    /// The newer findings.json.
    pub new: PathBuf,
    /// Write diff reports (every format: html, csv, json, xlsx, ndjson) here; without it, only the summary is printed.
    #[arg(long, value_name = "DIR", help_heading = OUTPUT)]
    pub out: Option<PathBuf>,
    /// List the unchanged findings too (by default only new, resolved and no longer
    /// evaluated ones are listed; all are counted).
    #[arg(long, help_heading = OUTPUT)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct RemediateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub audit: AuditArgs,
    /// Where to write the PowerShell script.
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub out: PathBuf,
    /// Only the changes that involve this host: its own, and its peers' changes that name it
    /// (both directions of every pair). Repeatable. NetBIOS name or FQDN of a Hyper-V host;
    /// an unknown name is a usage error.
    #[arg(long = "host", value_name = "NAME")]
    pub host: Vec<String>,
    /// Only the findings of this rule. Repeatable; an unknown id is a usage error.
    #[arg(long = "rule", value_name = "ID")]
    pub rule: Vec<String>,
    /// Write enabled the fix of this rule even though it removes a protection (HV017: clears
    /// NOT_DELEGATED or Protected Users membership of the LM operator). Repeatable. Without
    /// it such a fix is written commented out, with the trade-off.
    #[arg(long = "allow-weakening", value_name = "ID")]
    pub allow_weakening: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub audit: AuditArgs,
    /// Source host (NetBIOS name or FQDN).
    #[arg(long, value_name = "HOST")]
    pub from: String,
    /// Destination host, in the form the operator will type it (NetBIOS name, FQDN or CN):
    /// the verdict holds for that form.
    #[arg(long, value_name = "HOST")]
    pub to: String,
    /// The account that will start the migration remotely.
    #[arg(long, value_name = "USER")]
    pub operator: Option<String>,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Directory of extra or overriding rule files.
    #[arg(long, value_name = "DIR", global = true)]
    pub rules: Option<PathBuf>,
    #[command(subcommand)]
    pub action: RulesAction,
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// One line per rule: id, severity, scope, title.
    List,
    /// A rule's full documentation: rationale, condition, remediation, references. With
    /// --on, why it fires or not on one object of a directory: the fields its condition reads
    /// with their values, the verdict, and the message when it fires.
    Explain {
        /// Rule id, e.g. HV005.
        id: String,
        /// The object to evaluate the rule on: a host (host rules), FROM->TO (pair rules), a
        /// msDS-AllowedToDelegateTo value (delegation_entry rules), a sAMAccountName (account
        /// rules) or the domain (scan rules). Needs --ldif, --snapshot or --server.
        #[arg(long, value_name = "OBJECT")]
        on: Option<String>,
        #[command(flatten)]
        input: Box<InputArgs>,
        /// Host inventory, as for audit.
        #[arg(long, value_name = "FILE", requires = "on", help_heading = INPUT)]
        hosts: Option<PathBuf>,
        /// Configuration, as for audit.
        #[arg(long, value_name = "FILE", requires = "on", help_heading = INPUT)]
        config: Option<PathBuf>,
    },
}

/// Where the directory comes from: a live DC or an LDIF export.
#[derive(Debug, Args, Clone)]
#[command(group(clap::ArgGroup::new("live").args(["server", "domain"]).multiple(false)))]
#[command(next_help_heading = CONNECTION)]
pub struct SourceArgs {
    /// Domain controller URL: ldaps://dc.example.com (636) or ldap://dc.example.com (StartTLS;
    /// with --kerberos --seal, Kerberos sealing instead).
    // Not `required`: `--snapshot` (which SourceArgs cannot name) also stands in for it; the
    // command reports a missing source itself.
    #[arg(long, value_name = "URL", conflicts_with = "ldif")]
    pub server: Option<String>,
    /// Find a DC of this DNS domain instead of naming one: looks up the SRV records
    /// _ldap._tcp.dc._msdcs.DOMAIN (after _ldap._tcp.SITE._sites.dc._msdcs.DOMAIN with
    /// --site) with the system's resolver, orders them by priority and weight (RFC 2782) and
    /// uses the first DC that answers, over LDAPS (636) unless --starttls or --seal. The
    /// certificate (or Kerberos service ticket) must name the DC found; the DC used is
    /// recorded.
    #[arg(long, value_name = "DOMAIN", conflicts_with = "ldif")]
    pub domain: Option<String>,
    /// With --domain: prefer the DCs of this Active Directory site.
    #[arg(long, value_name = "SITE", requires = "domain")]
    pub site: Option<String>,
    /// With --domain: connect to the port the SRV record names (389) with StartTLS instead of
    /// LDAPS on 636.
    #[arg(long, requires = "domain")]
    pub starttls: bool,
    /// With --kerberos and an ldap:// URL (or --domain): no StartTLS; the Kerberos bind
    /// negotiates the confidentiality ("sealing") layer and every later message is encrypted
    /// and integrity-protected, as Windows tools do when the DC has no certificate. Meets
    /// "Domain controller: LDAP server signing requirements = Require signing".
    #[arg(long, requires = "kerberos", conflicts_with = "starttls")]
    pub seal: bool,
    /// Bind identity for a simple bind (UPN, DN or DOMAIN\user). The password is read from
    /// HVAUDIT_PASSWORD, --password-file or an interactive prompt, never from the command line.
    /// Not used with --kerberos.
    #[arg(long, value_name = "USER", requires = "live")]
    pub user: Option<String>,
    /// File whose first line is the bind password.
    #[arg(long, value_name = "FILE", requires = "live")]
    pub password_file: Option<PathBuf>,
    /// Bind with Kerberos (SASL GSSAPI) instead of a password: uses the caller's ticket cache
    /// (after `kinit`; KRB5CCNAME selects another cache) or a client keytab named by
    /// KRB5_CLIENT_KTNAME, and the realm settings of krb5.conf (KRB5_CONFIG). The bind runs
    /// inside TLS (ldaps:// or StartTLS), or sealed with --seal; the ticket's principal is
    /// recorded as the bind identity. Needs a build with `--features kerberos`.
    #[arg(long, requires = "live", conflicts_with_all = ["user", "password_file"])]
    pub kerberos: bool,
    /// The DC's DNS name for its Kerberos service principal (ldap/NAME), when --server names
    /// an IP address or an alias the DC is not registered under (default: the URL's host).
    /// Never looked up in DNS.
    #[arg(long, value_name = "NAME")]
    pub kerberos_host: Option<String>,
    /// PEM file of the CA(s) that issued the DC's certificate (default: the system store).
    #[arg(long, value_name = "PEM", requires = "live")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the DC's certificate. Dangerous: warns on every run and is recorded in the
    /// snapshot and reports.
    #[arg(long, requires = "live")]
    pub insecure_skip_verify: bool,
    /// Search base (default: the RootDSE's defaultNamingContext).
    #[arg(long, value_name = "DN", requires = "live")]
    pub base_dn: Option<String>,
    /// Seconds to wait for the connection (including TLS) and for each response.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// When a search fails midway (connection cut, timeout), keep what was read: the failure
    /// becomes an SC001 gap and the snapshot and reports are written under the SC001
    /// "incomplete" banner. The exit code is still 3. Without it nothing is written.
    #[arg(long, requires = "live")]
    pub partial_ok: bool,
    /// Entries per page (paged-results control; AD allows at most 1,000).
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
    /// Values per ranged read of large `member` attributes (AD's MaxValRange is 1,500).
    #[arg(long, value_name = "N", default_value_t = 1500, value_parser = clap::value_parser!(u32).range(1..))]
    pub range_size: u32,
    /// Read an LDIF export (ldapsearch or ldifde output) instead of a live DC.
    #[arg(long, value_name = "FILE", help_heading = INPUT)]
    pub ldif: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Configuration whose extra privileged groups (by SID) get their membership resolved too.
    #[arg(long, value_name = "FILE", help_heading = INPUT)]
    pub config: Option<PathBuf>,
    /// Where to write the snapshot JSON.
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub out: PathBuf,
}

/// The flags of a live directory connection (not `--ldif`, which reads a file).
pub const CONNECTION_FLAGS: [&str; 16] = [
    "server",
    "domain",
    "site",
    "starttls",
    "seal",
    "user",
    "password_file",
    "kerberos",
    "kerberos_host",
    "ca_file",
    "insecure_skip_verify",
    "base_dn",
    "timeout",
    "partial_ok",
    "page_size",
    "range_size",
];

/// Hides a directory-connection flag from a command's help (`audit` reads files); the flag
/// still parses.
fn hide_connection(a: clap::Arg) -> clap::Arg {
    if CONNECTION_FLAGS.contains(&a.get_id().as_str()) {
        a.hide(true)
    } else {
        a
    }
}
