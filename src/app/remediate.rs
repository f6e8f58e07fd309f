//! `hvaudit remediate`: the PowerShell that fixes what the audit found.

use super::output::{note, say};
use super::{
    EXIT_INCOMPLETE, EXIT_OK, Failure, refuse_outputs_that_are_inputs, warn_incomplete, write_file,
};
use crate::cli::RemediateArgs;
use crate::findings::Status;
use crate::remediate;
use crate::report;

use super::common::*;

pub fn remediate(a: &RemediateArgs, verbose: u8) -> Result<u8, Failure> {
    let read = audit_inputs(&a.input, &a.audit);
    refuse_outputs_that_are_inputs("--out", &a.out, std::slice::from_ref(&a.out), &read)?;
    let inputs = load_inputs(&a.input, &a.audit, verbose)?;
    let outcome = audit(&inputs)?;
    // Decided by the audit (`audit::completeness`), as for scan, audit and check.
    let complete = outcome.complete;
    let mut gaps = inputs.snapshot.meta.gaps.clone();
    gaps.extend(outcome.gaps);
    let mut findings = outcome.findings;
    for n in suppressions(&a.audit, &mut findings)? {
        note!("hvaudit: note: {}", report::text::terminal_safe(&n));
    }
    let mut meta = remediate::RemediationMeta::new(
        &inputs.snapshot.domain.dns_name,
        inputs.snapshot.meta.collected_at,
        &inputs.rules,
    );
    meta.left_out_candidates = outcome
        .hosts
        .iter()
        .filter_map(|h| h.unconfirmed_note.clone())
        .collect();
    let script = remediate::script(&findings, &meta);
    write_file(&a.out, script.as_bytes())?;
    let fixable = findings
        .iter()
        .filter(|f| f.remediation.is_some() && f.status != Status::Suppressed)
        .count();
    say!(
        "wrote {} ({fixable} fixable finding(s)); review it, then run it with -WhatIf first",
        a.out.display()
    );
    if !complete {
        warn_incomplete(&gaps);
        note!("hvaudit: WARNING: the audit is incomplete (SC001): the script may miss fixes");
        return Ok(EXIT_INCOMPLETE);
    }
    Ok(EXIT_OK)
}
