//! `hvaudit collect` and reading the source every command starts from: an LDIF file or a DC
//! over LDAP (found through DNS SRV with `--domain`).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::output::{note, say};
use super::{
    EXIT_INCOMPLETE, EXIT_OK, Failure, refuse_outputs_that_are_inputs, source_inputs,
    warn_incomplete, write_json,
};
use crate::cli::{CollectArgs, SourceArgs};
use crate::collect::builder::BuildOptions;
use crate::collect::kerberos;
use crate::collect::ldap::{self, LdapOptions, Secret};
use crate::model::Snapshot;

use crate::collect;

pub(super) fn cmd_collect(a: &CollectArgs, verbose: u8) -> Result<u8, Failure> {
    let mut inputs = source_inputs(&a.source);
    if let Some(p) = &a.config {
        inputs.push(("--config", p));
    }
    refuse_outputs_that_are_inputs("--out", &a.out, std::slice::from_ref(&a.out), &inputs)?;
    let build = match &a.config {
        Some(p) => BuildOptions {
            extra_group_sids: crate::config::Config::load(p)?.extra_privileged_groups,
        },
        None => BuildOptions::default(),
    };
    let snap = load_source(&a.source, &build, verbose)?;
    write_json(&a.out, &snap)?;
    print_collect_summary(&snap)?;
    warn_incomplete(&snap.meta.gaps);
    Ok(if snap.is_complete() {
        EXIT_OK
    } else {
        EXIT_INCOMPLETE
    })
}

/// Reads the directory from the LDAP server or LDIF file the flags name.
pub fn load_source(s: &SourceArgs, build: &BuildOptions, verbose: u8) -> Result<Snapshot, Failure> {
    if let Some(path) = &s.ldif {
        return collect::ldif_snapshot(path, build.clone()).map_err(Failure::from);
    }
    let timeout = Duration::from_secs(s.timeout.max(1));
    // clap's `requires` cannot see whether a boolean flag was given.
    if s.kerberos_host.is_some() && !s.kerberos {
        return Err(Failure::usage(
            "--kerberos-host is only used with --kerberos",
        ));
    }
    // (URL, how it was found) for each DC to try, in order.
    let candidates: Vec<(String, String)> = match (&s.server, &s.domain) {
        (Some(url), _) => {
            check_server_url(url).map_err(Failure::usage)?;
            if s.seal && !url.to_ascii_lowercase().starts_with("ldap://") {
                return Err(Failure::usage(format!(
                    "--seal needs an ldap:// URL, not '{url}': LDAPS already encrypts (drop \
                     --seal to bind with Kerberos inside TLS)"
                )));
            }
            vec![(url.clone(), "--server".to_string())]
        }
        (None, Some(domain)) => {
            if s.kerberos_host.is_some() {
                return Err(Failure::usage(
                    "--kerberos-host is not used with --domain: the service ticket is for each \
                     DC found (ldap/<its DNS name>)",
                ));
            }
            // A bad name is the caller's mistake; DNS not answering is the scan failing.
            collect::locate::srv_names(domain, s.site.as_deref())?;
            let found = collect::locate::lookup(domain, s.site.as_deref(), timeout)
                .map_err(|e| Failure::scan(e.to_string()))?;
            found
                .into_iter()
                .map(|t| {
                    // SRV records name LDAP's port (389); AD serves LDAPS on 636 of the same
                    // host.
                    let url = if s.seal || s.starttls {
                        format!("ldap://{}:{}", t.host, t.port)
                    } else {
                        format!("ldaps://{}", t.host)
                    };
                    (url, format!("DNS SRV {}", t.srv))
                })
                .collect()
        }
        (None, None) => {
            return Err(Failure::usage(
                "give --server URL or --ldif FILE (or --domain DNS-DOMAIN to find a DC; audit \
                 also takes --snapshot FILE)",
            ));
        }
    };
    let Some((first_url, _)) = candidates.first() else {
        return Err(Failure::scan("no domain controller to connect to"));
    };
    let mut base = if s.kerberos {
        kerberos_options(first_url, s)?
    } else {
        let user = s.user.as_deref().ok_or_else(|| {
            Failure::usage("--server needs --user (the bind identity) or --kerberos")
        })?;
        let password = read_password(s, user)?;
        LdapOptions::new(first_url, user, password)
    };
    if s.insecure_skip_verify {
        note!(
            "hvaudit: WARNING: --insecure-skip-verify: the DC's certificate is NOT verified; \
             anyone on the network path can impersonate it{}",
            if s.kerberos {
                ""
            } else {
                " and read the bind password"
            }
        );
    }
    base.ca_file = s.ca_file.clone();
    base.insecure_skip_verify = s.insecure_skip_verify;
    base.timeout = timeout;
    base.page_size = s.page_size;
    base.range_size = s.range_size;
    base.base_dn = s.base_dn.clone();
    base.partial_ok = s.partial_ok;
    base.build = build.clone();
    base.seal = s.seal;
    let mut all = Vec::with_capacity(candidates.len());
    for (url, located_by) in candidates {
        let mut opts = base.clone();
        if s.kerberos {
            let spn_host = kerberos::spn_host(&url, s.kerberos_host.as_deref())?;
            opts.kerberos = Some(kerberos::KerberosBind { spn_host });
        }
        opts.url = url;
        opts.located_by = located_by;
        all.push(opts);
    }
    if verbose > 0 {
        for opts in &all {
            let how = if opts.seal { " (sealed)" } else { "" };
            match &opts.kerberos {
                Some(k) => note!(
                    "hvaudit: DC candidate {} ({}) with Kerberos{how} (service ldap/{})",
                    opts.url,
                    opts.located_by,
                    k.spn_host
                ),
                None => note!(
                    "hvaudit: DC candidate {} ({}) as {}",
                    opts.url,
                    opts.located_by,
                    opts.user
                ),
            }
        }
    }
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(Duration::from_millis(120));
        b
    } else {
        ProgressBar::hidden()
    };
    let mut progress = |n: u64| bar.set_message(format!("{n} entries read"));
    let mut skipped = |url: &str, e: &ldap::CollectError| {
        note!("hvaudit: {url} did not answer ({e}); trying the next DC")
    };
    let res = ldap::collect_any(all, &mut progress, &mut skipped);
    bar.finish_and_clear();
    res.map_err(|e| {
        let tail = match &e {
            e if e.partial_ok_applies() => {
                "; no snapshot or report was written (--partial-ok keeps what was read, marked \
                 incomplete)"
            }
            ldap::CollectError::Search { .. } => "; no snapshot or report was written",
            _ => "",
        };
        Failure::scan(format!("{e}{tail}"))
    })
}

/// Checks `--server` before anything else happens (no password prompt, no connection): an
/// LDAP URL (RFC 4516 section 2) with scheme `ldaps` or `ldap`, a host, an optional port
/// 1..=65535, and no user information. ldap3 panics on a URL without a host (`ldaps://`,
/// `ldap:///DC=x`), so this is also what keeps such a flag a usage error (exit 2). The error
/// names the flag and says what is wrong.
pub fn check_server_url(raw: &str) -> Result<(), String> {
    // A URL with user information may carry a password: it is never echoed.
    let shown = match raw.split_once("://") {
        Some((scheme, rest))
            if rest
                .split(['/', '?', '#'])
                .next()
                .is_some_and(|a| a.contains('@')) =>
        {
            let after = rest.rsplit_once('@').map_or("", |(_, h)| h);
            format!("{scheme}://***@{after}")
        }
        _ => raw.to_string(),
    };
    let bad = |why: &str| {
        format!("--server '{shown}': {why} (expected ldaps://HOST[:PORT] or ldap://HOST[:PORT])")
    };
    let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "ldaps" | "ldap") {
        return Err(bad(&format!(
            "scheme '{}' is not ldaps or ldap",
            url.scheme()
        )));
    }
    // `ldap:///DC=x` parses with an empty host: RFC 4516 lets a client pick a default server,
    // hvaudit never guesses one.
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if url.port() == Some(0) {
        return Err(bad("port 0 is not a port a DC listens on"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "user information does not belong in the URL (use --user; the password is never \
             given on the command line)",
        ));
    }
    Ok(())
}

/// `--kerberos`: checked before anything is sent, so a binary without Kerberos support or a
/// URL without a DNS name fails as a usage error (exit 2).
fn kerberos_options(url: &str, s: &SourceArgs) -> Result<LdapOptions, Failure> {
    if !kerberos::AVAILABLE {
        return Err(Failure::usage(
            kerberos::KerberosError::NotBuilt.to_string(),
        ));
    }
    let spn_host = kerberos::spn_host(url, s.kerberos_host.as_deref())?;
    Ok(LdapOptions::kerberos(
        url,
        kerberos::KerberosBind { spn_host },
    ))
}

fn read_password(s: &SourceArgs, user: &str) -> Result<Secret, Failure> {
    if let Some(path) = &s.password_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
        let first = text.lines().next().unwrap_or("").to_string();
        if first.is_empty() {
            return Err(Failure::usage(format!(
                "{}: the first line (the password) is empty",
                path.display()
            )));
        }
        return Ok(Secret::new(first));
    }
    if let Ok(p) = std::env::var("HVAUDIT_PASSWORD") {
        if p.is_empty() {
            return Err(Failure::usage("HVAUDIT_PASSWORD is set but empty"));
        }
        return Ok(Secret::new(p));
    }
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password(format!("Password for {user}: "))
            .map_err(|e| Failure::usage(format!("cannot read the password: {e}")))?;
        return Ok(Secret::new(p));
    }
    Err(Failure::usage(
        "no password: set HVAUDIT_PASSWORD, pass --password-file FILE, or run on a terminal to be prompted",
    ))
}

fn print_collect_summary(s: &Snapshot) -> Result<(), Failure> {
    // The domain name comes from the directory's DN: attacker-controlled.
    let clean = crate::report::text::terminal_safe;
    let hosts = s
        .computers
        .iter()
        .filter(|c| !c.allowed_to_delegate_to.is_empty())
        .count();
    say!(
        "domain {} ({}), {} DCs; {} computers ({} with constrained delegation), {} user/service \
         accounts, {} groups resolved; source {}",
        clean(&s.domain.dns_name),
        s.domain
            .sid
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "SID unknown".into()),
        s.domain.domain_controllers.len(),
        s.computers.len(),
        hosts,
        s.accounts.len(),
        s.groups.len(),
        clean(&s.meta.source)
    );
    Ok(())
}
