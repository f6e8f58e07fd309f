//! `hvaudit remediate`: the PowerShell that fixes what the audit found.

use std::collections::BTreeSet;

use super::output::{note, say};
use super::{
    EXIT_INCOMPLETE, EXIT_OK, Failure, refuse_outputs_that_are_inputs, warn_incomplete, write_file,
};
use crate::cli::RemediateArgs;
use crate::remediate::{self, ScopeHost};
use crate::report;
use crate::rules::RuleSet;

use super::common::*;

pub fn remediate(a: &RemediateArgs, verbose: u8) -> Result<u8, Failure> {
    let read = audit_inputs(&a.input, &a.audit);
    refuse_outputs_that_are_inputs("--out", &a.out, std::slice::from_ref(&a.out), &read)?;
    let inputs = load_inputs(&a.input, &a.audit, verbose)?;
    // Rule ids are checked before the audit: a typo should not cost a scan.
    let rules = rule_ids("--rule", &a.rule, &inputs.rules)?;
    let allow_weakening = weakening_ids(&a.allow_weakening, &inputs.rules)?;
    // A fix that passes -Confirm (or -WhatIf) would answer the script's prompt itself.
    if let Some((id, line)) = remediate::plan::confirm_overrides(&inputs.rules)
        .into_iter()
        .next()
    {
        return Err(Failure::usage(format!(
            "rule {id}: its remediation passes -Confirm or -WhatIf ({}): that overrides the \
             script's confirmation prompt or dry run; remove it from the rule",
            report::text::terminal_safe(&line)
        )));
    }
    let outcome = audit(&inputs)?;
    // Decided by the audit (`audit::completeness`), as for scan, audit and check.
    let complete = outcome.complete;
    let mut gaps = inputs.snapshot.meta.gaps.clone();
    gaps.extend(outcome.gaps);
    let mut findings = outcome.findings;
    for n in suppressions(&a.audit, &mut findings)? {
        note!("hvaudit: note: {}", report::text::terminal_safe(&n));
    }
    let hosts: Vec<ScopeHost> = outcome
        .hosts
        .iter()
        .map(|h| ScopeHost {
            name: h.name.clone(),
            fqdn: h.fqdn.clone(),
        })
        .collect();
    let mut scope_hosts = Vec::new();
    for want in &a.host {
        match hosts.iter().find(|h| h.is_named(want)) {
            Some(h) => scope_hosts.push(h.clone()),
            None => {
                return Err(Failure::usage(format!(
                    "--host {}: no Hyper-V host of this audit has that name (NetBIOS name or FQDN)",
                    report::text::terminal_safe(want)
                )));
            }
        }
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
    // The header names the file as written; an absolute path tells where it is.
    let shown = std::path::absolute(&a.out).unwrap_or_else(|_| a.out.clone());
    meta.out_path = Some(shown.display().to_string());
    meta.scope.hosts = scope_hosts;
    meta.scope.rules = rules;
    meta.allow_weakening = allow_weakening;
    meta.hosts = hosts;
    let script = remediate::script(&findings, &meta);
    write_file(&a.out, script.as_bytes())?;
    let plan = remediate::plan::plan(&findings, &meta);
    say!(
        "wrote {} ({} change(s), {} manual step(s)); review it, then run it with -WhatIf first",
        a.out.display(),
        plan.enabled(),
        plan.manual.len() + plan.refused()
    );
    if !complete {
        warn_incomplete(&gaps);
        note!("hvaudit: WARNING: the audit is incomplete (SC001): the script may miss fixes");
        return Ok(EXIT_INCOMPLETE);
    }
    Ok(EXIT_OK)
}

/// `ids` upper-cased, each naming a loaded rule; an unknown one is a usage error naming it.
fn rule_ids(flag: &str, ids: &[String], rules: &RuleSet) -> Result<BTreeSet<String>, Failure> {
    let mut out = BTreeSet::new();
    for id in ids {
        let up = id.trim().to_ascii_uppercase();
        if !rules.rules().iter().any(|r| r.id.eq_ignore_ascii_case(&up)) {
            return Err(Failure::usage(format!(
                "{flag} {}: no such rule (hvaudit rules list shows them)",
                report::text::terminal_safe(id)
            )));
        }
        out.insert(up);
    }
    Ok(out)
}

/// `--allow-weakening` ids: each must be a rule whose fix removes a protection.
fn weakening_ids(ids: &[String], rules: &RuleSet) -> Result<BTreeSet<String>, Failure> {
    let known = remediate::weakening_rules(rules);
    let ids = rule_ids("--allow-weakening", ids, rules)?;
    if let Some(bad) = ids.iter().find(|id| !known.contains(id)) {
        return Err(Failure::usage(format!(
            "--allow-weakening {bad}: its fix removes no protection; the rules whose fix does: {}",
            known.join(", ")
        )));
    }
    Ok(ids)
}
