//! `hvaudit check`: can this host live-migrate to that one, and if not, why not.

use chrono::Utc;

use super::output::{note, say};
use super::{EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, Failure};
use crate::audit::check_pair;
use crate::cli::CheckArgs;
use crate::findings::ReadinessState;
use crate::report;

use super::common::*;

pub fn check(a: &CheckArgs, verbose: u8) -> Result<u8, Failure> {
    let inputs = load_inputs(&a.input, &a.audit, verbose)?;
    let c = check_pair(
        &inputs.snapshot,
        inputs.inventory.as_ref(),
        &inputs.config,
        &inputs.rules,
        Utc::now(),
        &a.from,
        &a.to,
        a.operator.as_deref(),
    )?;
    let clean = report::text::terminal_safe;
    let verdict = match c.state {
        ReadinessState::Ready => "GO",
        ReadinessState::Blocked => "NO-GO",
        ReadinessState::Unknown => "UNKNOWN",
    };
    let form = match c.form.as_str() {
        "fqdn" => "FQDN",
        "cn" => "CN",
        _ => "NetBIOS name",
    };
    say!(
        "{verdict}: live migration from {} to {} (addressed by {form} '{}'){}",
        clean(&c.from),
        clean(&c.to),
        clean(&c.to_addressed_as),
        c.operator
            .as_deref()
            .map(|o| format!(" started by {}", clean(o)))
            .unwrap_or_default()
    );
    if c.same_cluster {
        say!("  same failover cluster: no constrained delegation needed");
    }
    for r in &c.reasons {
        say!(
            "  [{}] {} {}",
            r.severity.as_str(),
            r.rule_id,
            clean(&r.message)
        );
        if let Some(fix) = &r.remediation {
            for line in fix.lines() {
                say!("      {}", clean(line));
            }
        }
    }
    if c.state == ReadinessState::Unknown {
        say!("  known: nothing in the directory blocks it (delegation and account checks passed)");
    }
    if !c.unknown.is_empty() {
        say!(
            "  {}:",
            if c.state == ReadinessState::Blocked {
                "also unknown"
            } else {
                "unknown"
            }
        );
        for u in &c.unknown {
            say!("    - {}", clean(u));
        }
    }
    for e in &c.errors {
        // Rule errors name the object they were evaluated on.
        note!(
            "hvaudit: rule error: {}",
            report::text::terminal_safe(&e.to_string())
        );
    }
    if !c.complete {
        note!(
            "hvaudit: WARNING: the scan is incomplete; gaps touching {} or {} make the verdict \
             UNKNOWN, others are listed in the audit",
            clean(&c.from),
            clean(&c.to)
        );
    }
    Ok(match c.state {
        ReadinessState::Ready => EXIT_OK,
        ReadinessState::Blocked => EXIT_FINDINGS,
        ReadinessState::Unknown => EXIT_INCOMPLETE,
    })
}
