//! Rules: data (`rules/*.toml`, embedded; `--rules DIR` adds or overrides) evaluated over the
//! facts of the analysis. Everything a rule decides is in its entry; code only computes facts.

pub mod catalogue;
pub mod engine;
pub mod explain;
pub mod load;
pub mod model;

use std::path::Path;

use minijinja::value::{Value, ValueKind};
use minijinja::{
    AutoEscape, Environment, Error, Output, State, UndefinedBehavior, escape_formatter,
};
use serde::Serialize;

use crate::config::RulesConfig;
use crate::findings::{Scope, Severity};

pub use engine::{CompiledRules, EvalError, Fired, Subject, lazy, memo};

/// The built-in catalogue, embedded so the binary works from any directory.
pub const BUILTIN_RULE_FILES: &[(&str, &str)] = &[
    ("rules/hyperv.toml", include_str!("../../rules/hyperv.toml")),
    (
        "rules/privileged.toml",
        include_str!("../../rules/privileged.toml"),
    ),
    ("rules/scan.toml", include_str!("../../rules/scan.toml")),
];

/// A rule problem, located in its file.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct RuleError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: String,
    pub title: String,
    /// Effective severity (after configuration overrides).
    pub severity: Severity,
    /// As written in the rule file.
    pub default_severity: Severity,
    pub scope: Scope,
    /// minijinja expression: the rule fires when it is true.
    pub condition: String,
    /// minijinja template of the finding's message.
    pub message: String,
    pub rationale: String,
    /// minijinja template producing PowerShell.
    pub remediation: Option<String>,
    pub references: Vec<String>,
    /// Evidence name -> expression, evaluated when the rule fires.
    pub evidence: Vec<(String, String)>,
    /// Expression giving the finding's target, replacing the scope's default.
    pub target: Option<String>,
    /// Expression over the scope object and `check`: true when the finding blocks migrating
    /// `check.from` -> `check.to`. Absent = never blocks.
    pub blocks: Option<String>,
    /// One line for the catalogue table in docs/rules.md ("finding" column); the title when
    /// absent.
    pub summary: Option<String>,
    /// One line for the catalogue's "blocks" column: what the `blocks` expression blocks, in
    /// words.
    pub blocks_doc: Option<String>,
    /// The remediation changes the object's delegation (msDS-AllowedToDelegateTo or the
    /// delegation bits of userAccountControl): the host must restart, or purge its Kerberos
    /// tickets, before live migration sees the change. The remediation script lists such
    /// hosts at its end.
    pub changes_delegation: bool,
    pub enabled: bool,
    /// File and line it was defined at.
    pub source: String,
    pub line: usize,
}

#[derive(Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    env: Environment<'static>,
    /// Remember condition verdicts by the values they read (`src/rules/memo.rs`); on by
    /// default, off with `--no-memo` / `HVAUDIT_NO_MEMO` to rule out a cache bug.
    memo: bool,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.len())
            .finish()
    }
}

fn template_name(id: &str, part: &str) -> String {
    format!("{id}#{part}")
}

/// Instructions one evaluation of a rule field (its condition, message, remediation, target,
/// one evidence expression, `blocks`) may execute: minijinja's fuel, counted per render or
/// expression evaluation (`Environment::set_fuel`, docs.rs/minijinja). The built-in rules
/// complete the 100,000-computer benchmark snapshot with 20,000 (250 times less); a custom
/// rule that loops without end stops here (about a second) with an error naming the rule and
/// the field, instead of hanging the audit.
pub const FUEL: u64 = 5_000_000;

/// Bytes one rendered field (message, remediation, target, an evidence value) may have. A
/// template that writes without end fails at this size instead of exhausting memory; real
/// fields are a few hundred bytes, and a remediation quotes directory values whole.
pub const FIELD_LIMIT: usize = 64 << 20;

fn new_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    // Undefined values fail when printed or iterated (a typo must not yield an empty
    // PowerShell argument) but are false in conditions.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // ps_quote's output is a complete literal: marked safe so the formatter leaves it alone.
    env.add_filter("ps_quote", |v: Value| {
        engine::ps_quote(v).map(Value::from_safe_string)
    });
    env.set_formatter(remediation_formatter);
    env
}

/// In remediation templates, a value printed without `ps_quote` can only sit in a comment or
/// in display text, so it is printed as [`crate::remediate::ps_comment`] makes it: a CR or LF
/// from the directory would otherwise end a `#` comment and turn the rest of the value into
/// code (PowerShell ends a line at a lone CR too). Messages are left as they are.
fn remediation_formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    let plain = matches!(value.kind(), ValueKind::Undefined | ValueKind::None)
        || value.is_safe()
        || !state.name().ends_with("#remediation");
    if plain {
        return escape_formatter(out, state, value);
    }
    out.write_str(&crate::remediate::ps_comment(&value.to_string()))
        .map_err(Error::from)
}

impl RuleSet {
    /// An empty rule set (no rules).
    pub fn empty() -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            env: new_env(),
            memo: true,
        }
    }

    /// Turns the verdict memo (`src/rules/memo.rs`) on or off for every later
    /// [`RuleSet::compile`]. Off, every condition is evaluated for every object: slower on a
    /// large domain, the same findings (the memo is exact), which is what turning it off shows.
    pub fn set_memo(&mut self, on: bool) {
        self.memo = on;
    }

    /// The built-in catalogue.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::empty();
        let mut all = Vec::new();
        for (file, text) in BUILTIN_RULE_FILES {
            all.extend(load::parse_file(text, file, &set.env)?);
        }
        set.add_rules(all, false)?;
        Ok(set)
    }

    /// The built-in catalogue plus (overridden by) the rules of `dir`.
    pub fn load(dir: Option<&Path>) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::builtin()?;
        if let Some(d) = dir {
            set.add_dir(d)?;
        }
        Ok(set)
    }

    /// Adds every `*.toml` of a directory; a rule with an existing id replaces it. An id defined
    /// twice within the directory is an error.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), RuleError> {
        let mut all = Vec::new();
        for (file, text) in load::dir_files(dir)? {
            all.extend(load::parse_file(&text, &file, &self.env)?);
        }
        self.add_rules(all, true)
    }

    /// Adds the rules of one file's text (same override semantics as [`RuleSet::add_dir`]).
    pub fn add_text(&mut self, text: &str, file: &str) -> Result<(), RuleError> {
        let rules = load::parse_file(text, file, &self.env)?;
        self.add_rules(rules, true)
    }

    fn add_rules(&mut self, rules: Vec<Rule>, may_override: bool) -> Result<(), RuleError> {
        let mut seen: Vec<&Rule> = Vec::new();
        for r in &rules {
            if let Some(prev) = seen.iter().find(|p| p.id.eq_ignore_ascii_case(&r.id)) {
                return Err(RuleError {
                    file: r.source.clone(),
                    line: Some(r.line),
                    message: format!(
                        "rule id {} is already defined at {}:{}",
                        r.id, prev.source, prev.line
                    ),
                });
            }
            if !may_override
                && let Some(prev) = self.rules.iter().find(|p| p.id.eq_ignore_ascii_case(&r.id))
            {
                return Err(RuleError {
                    file: r.source.clone(),
                    line: Some(r.line),
                    message: format!(
                        "rule id {} is already defined at {}:{}",
                        r.id, prev.source, prev.line
                    ),
                });
            }
            seen.push(r);
        }
        for r in rules {
            let mut add = |part: &str, src: &str| {
                self.env
                    .add_template_owned(template_name(&r.id, part), src.to_string())
                    .map_err(|e| RuleError {
                        file: r.source.clone(),
                        line: Some(r.line),
                        message: format!("rule {}: {part} does not compile: {e}", r.id),
                    })
            };
            add("message", &r.message)?;
            match &r.remediation {
                Some(rem) => add("remediation", rem)?,
                None => self
                    .env
                    .remove_template(&template_name(&r.id, "remediation")),
            }
            match self
                .rules
                .iter_mut()
                .find(|p| p.id.eq_ignore_ascii_case(&r.id))
            {
                Some(slot) => *slot = r,
                None => self.rules.push(r),
            }
        }
        Ok(())
    }

    /// Applies `[rules] disable` and `[rules.severity]`; an unknown id is an error naming the
    /// configuration file and line.
    pub fn apply_config(&mut self, cfg: &RulesConfig, config_file: &str) -> Result<(), RuleError> {
        let unknown = |id: &str| RuleError {
            file: config_file.to_string(),
            line: cfg.lines.get(id).copied(),
            message: format!("[rules] names rule {id}, which does not exist"),
        };
        for id in &cfg.disable {
            let r = self
                .rules
                .iter_mut()
                .find(|r| r.id.eq_ignore_ascii_case(id))
                .ok_or_else(|| unknown(id))?;
            r.enabled = false;
        }
        for (id, sev) in &cfg.severity {
            let r = self
                .rules
                .iter_mut()
                .find(|r| r.id.eq_ignore_ascii_case(id))
                .ok_or_else(|| unknown(id))?;
            r.severity = *sev;
        }
        Ok(())
    }

    /// Every rule, enabled or not, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// Compiles every enabled rule's expressions once, for evaluation.
    pub fn compile(&self) -> Result<CompiledRules<'_>, RuleError> {
        CompiledRules::new(self)
    }

    pub(crate) fn env(&self) -> &Environment<'static> {
        &self.env
    }

    /// Human-readable description of a rule, for `hvaudit rules explain ID`.
    pub fn explain(&self, id: &str) -> Option<String> {
        let r = self.get(id)?;
        let mut s = format!(
            "{} ({}{}) - {}\nscope: {}\ndefined at: {}:{}\n{}\n\nRationale:\n{}\n\nCondition:\n  {}\n",
            r.id,
            r.severity.as_str(),
            if r.severity != r.default_severity {
                format!(", default {}", r.default_severity.as_str())
            } else {
                String::new()
            },
            r.title,
            model::scope_name(r.scope),
            r.source,
            r.line,
            if r.enabled {
                "enabled"
            } else {
                "disabled by configuration"
            },
            r.rationale,
            r.condition.trim(),
        );
        if let Some(b) = &r.blocks {
            s.push_str(&format!("\nBlocks live migration when:\n  {}\n", b.trim()));
        }
        if let Some(rem) = &r.remediation {
            s.push_str(&format!("\nRemediation template:\n{}\n", rem.trim_end()));
        }
        if !r.references.is_empty() {
            s.push_str("\nReferences:\n");
            for x in &r.references {
                s.push_str(&format!("  {x}\n"));
            }
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remediation_prints_unquoted_values_as_comment_text() {
        let mut env = new_env();
        let src = "# after {{ name }} restarts\nSet-X {{ name | ps_quote }} {{ n }}";
        env.add_template("X#remediation", src).unwrap();
        env.add_template("X#message", "{{ name }}").unwrap();
        env.add_template("Y#remediation", "# {{ missing }}")
            .unwrap();
        // A lone CR ends a PowerShell line: unneutralised, `Write-Host` would run.
        let name = "\rWrite-Host INJECTED\n#>";
        let ctx = minijinja::context! { name, n => 3 };
        let render = |t: &str| env.get_template(t).unwrap().render(&ctx);
        assert_eq!(
            render("X#remediation").unwrap(),
            "# after  Write-Host INJECTED # > restarts\n\
             Set-X ('' + [char]0x000D + 'Write-Host INJECTED' + [char]0x000A + '#>') 3"
        );
        // Messages keep the value exactly; each output format escapes it for itself.
        assert_eq!(render("X#message").unwrap(), name);
        assert!(render("Y#remediation").is_err(), "undefined still fails");
    }
}
