//! `hvaudit rules`: list, show and explain the rules.

use chrono::Utc;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::output::say;
use super::{EXIT_OK, Failure};
use crate::cli::{AuditArgs, InputArgs, RulesAction, RulesArgs};
use crate::config::Config;
use crate::report;

use super::common::*;

pub fn rules(a: &RulesArgs) -> Result<u8, Failure> {
    let rules = load_rules(a.rules.as_deref(), &Config::default())?;
    match &a.action {
        RulesAction::List => {
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED);
            table.set_header(vec!["id", "severity", "scope", "title"]);
            for r in rules.rules() {
                table.add_row(vec![
                    r.id.clone(),
                    r.severity.as_str().to_string(),
                    crate::rules::model::scope_name(r.scope).to_string(),
                    r.title.clone(),
                ]);
            }
            say!("{table}");
            Ok(EXIT_OK)
        }
        RulesAction::Explain {
            id,
            on: Some(on),
            input,
            hosts,
            config,
        } => explain_on(a, id, on, input, hosts, config),
        RulesAction::Explain { input, .. }
            if input.snapshot.is_some()
                || input.source.ldif.is_some()
                || input.source.server.is_some() =>
        {
            Err(Failure::usage(
                "a directory (--ldif, --snapshot, --server) is only read with --on OBJECT",
            ))
        }
        RulesAction::Explain { id, .. } => match rules.explain(&id.to_ascii_uppercase()) {
            Some(text) => {
                say!("{text}");
                Ok(EXIT_OK)
            }
            None => Err(Failure::usage(format!(
                "no rule '{id}'; `hvaudit rules list` shows them"
            ))),
        },
    }
}

/// `hvaudit rules explain ID --on OBJECT`: the rule evaluated on that object, with the values
/// its condition read (see `rules::explain`). Exit 0 whether it fires or not.
fn explain_on(
    a: &RulesArgs,
    id: &str,
    on: &str,
    input: &InputArgs,
    hosts: &Option<std::path::PathBuf>,
    config: &Option<std::path::PathBuf>,
) -> Result<u8, Failure> {
    let audit = AuditArgs {
        hosts: hosts.clone(),
        config: config.clone(),
        rules: a.rules.clone(),
        suppressions: None,
        today: None,
        // The explanation evaluates the condition itself: no memo is involved.
        no_memo: true,
    };
    let inputs = load_inputs(input, &audit, 0)?;
    let out = crate::rules::explain::explain_on(
        &inputs.snapshot,
        inputs.inventory.as_ref(),
        &inputs.config,
        &inputs.rules,
        Utc::now(),
        id,
        on,
    )?;
    let Some(rule) = inputs.rules.get(id) else {
        return Err(Failure::usage(format!("no rule '{id}'")));
    };
    let clean = report::text::terminal_safe;
    for x in &out {
        let verdict = match &x.verdict {
            Ok(true) => "fires".to_string(),
            Ok(false) => "does not fire".to_string(),
            Err(e) => format!("cannot be evaluated: {}", clean(e)),
        };
        say!(
            "{} ({}, {}) on {}: {verdict}{}",
            rule.id,
            rule.severity.as_str(),
            crate::rules::model::scope_name(rule.scope),
            clean(&x.object),
            if rule.enabled {
                ""
            } else {
                " (the rule is disabled by the configuration: an audit does not evaluate it)"
            }
        );
        say!("  condition: {}", clean(rule.condition.trim()));
        say!("  values it read:");
        for (path, value) in &x.reads {
            say!("    {path} = {}", clean(value));
        }
        match &x.message {
            Some(Ok(m)) => say!("  message: {}", clean(m)),
            Some(Err(e)) => say!("  message cannot be rendered: {}", clean(e)),
            None => {}
        }
    }
    Ok(EXIT_OK)
}
