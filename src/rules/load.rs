//! Loading rule files: `[[rule]]` entries in TOML, each checked (fields, scope, every
//! expression and template compiled, every variable documented) before it is accepted.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use minijinja::Environment;
use serde::Deserialize;
use toml::Spanned;

use super::model::{allowed_roots, check_path, parse_scope};
use super::{Rule, RuleError};
use crate::config::line_of;
use crate::findings::Severity;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    title: String,
    severity: Spanned<String>,
    scope: Spanned<String>,
    condition: Spanned<String>,
    message: Spanned<String>,
    rationale: String,
    remediation: Option<Spanned<String>>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    evidence: BTreeMap<String, Spanned<String>>,
    target: Option<Spanned<String>>,
    blocks: Option<Spanned<String>>,
    summary: Option<Spanned<String>>,
    blocks_doc: Option<Spanned<String>>,
    changes_delegation: Option<Spanned<bool>>,
}

enum Kind {
    Expression,
    Template,
}

/// Parses one rule file. `env` is used to compile (and so check) every expression/template.
pub fn parse_file(text: &str, file: &str, env: &Environment) -> Result<Vec<Rule>, RuleError> {
    let err = |offset: Option<usize>, message: String| RuleError {
        file: file.to_string(),
        line: offset.map(|o| line_of(text, o)),
        message,
    };
    let raw: RawFile = toml::from_str(text)
        .map_err(|e| err(e.span().map(|s| s.start), e.message().trim().to_string()))?;
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for r in raw.rule {
        let start = r.span().start;
        let r = r.into_inner();
        let id = r.id.get_ref().trim().to_string();
        let ctx = |m: String| format!("rule {id}: {m}");
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(err(
                Some(r.id.span().start),
                format!("rule id '{id}' must be letters, digits, '-' or '_'"),
            ));
        }
        if !ids.insert(id.to_ascii_uppercase()) {
            return Err(err(
                Some(r.id.span().start),
                format!("rule id {id} is defined twice in this file"),
            ));
        }
        let severity = Severity::parse(r.severity.get_ref()).ok_or_else(|| {
            err(
                Some(r.severity.span().start),
                ctx(format!(
                    "severity '{}' is not one of critical, high, medium, low, info",
                    r.severity.get_ref()
                )),
            )
        })?;
        let scope = parse_scope(r.scope.get_ref()).ok_or_else(|| {
            err(
                Some(r.scope.span().start),
                ctx(format!(
                    "scope '{}' is not one of scan, host, host_pair, delegation_entry, account",
                    r.scope.get_ref()
                )),
            )
        })?;
        for (what, v) in [("title", &r.title), ("rationale", &r.rationale)] {
            if v.trim().is_empty() {
                return Err(err(Some(start), ctx(format!("{what} is empty"))));
            }
        }
        // Both are cells of the catalogue table in docs/rules.md: one line of text.
        for (what, v) in [("summary", &r.summary), ("blocks_doc", &r.blocks_doc)] {
            if let Some(v) = v
                && (v.get_ref().trim().is_empty() || v.get_ref().trim().contains(['\n', '\r']))
            {
                return Err(err(
                    Some(v.span().start),
                    ctx(format!("{what} must be one line of text")),
                ));
            }
        }
        // The script's reboot list is about the change the remediation makes: without one,
        // the flag could only be a mistake.
        if let Some(c) = &r.changes_delegation
            && *c.get_ref()
            && r.remediation.is_none()
        {
            return Err(err(
                Some(c.span().start),
                ctx("changes_delegation = true needs a remediation".into()),
            ));
        }
        let check = |field: &str, s: &Spanned<String>, kind: Kind, blocks: bool| {
            let src = s.get_ref();
            let base = line_of(text, s.span().start);
            if src.trim().is_empty() {
                return Err(RuleError {
                    file: file.to_string(),
                    line: Some(base),
                    message: ctx(format!("{field} is empty")),
                });
            }
            let compiled = match kind {
                Kind::Expression => env
                    .compile_expression(src)
                    .map(|e| e.undeclared_variables(true)),
                Kind::Template => env
                    .template_from_str(src)
                    .map(|t| t.undeclared_variables(true)),
            };
            let vars = compiled.map_err(|e| RuleError {
                file: file.to_string(),
                // A multi-line string starts on the line after its opening quotes.
                line: Some(
                    base + e.line().unwrap_or(1).saturating_sub(1)
                        + usize::from(src_starts_after_quotes(text, s.span().start)),
                ),
                message: ctx(format!("{field} does not compile: {}", e_detail(&e))),
            })?;
            let roots = allowed_roots(scope, blocks);
            let mut vars: Vec<String> = vars.into_iter().collect();
            vars.sort();
            for v in vars {
                check_path(&v, &roots).map_err(|m| RuleError {
                    file: file.to_string(),
                    line: Some(base),
                    message: ctx(format!("{field}: {m}")),
                })?;
            }
            Ok(())
        };
        check("condition", &r.condition, Kind::Expression, false)?;
        check("message", &r.message, Kind::Template, false)?;
        if let Some(rem) = &r.remediation {
            check("remediation", rem, Kind::Template, false)?;
        }
        for (name, e) in &r.evidence {
            check(&format!("evidence.{name}"), e, Kind::Expression, false)?;
        }
        if let Some(t) = &r.target {
            check("target", t, Kind::Expression, false)?;
        }
        if let Some(b) = &r.blocks {
            check("blocks", b, Kind::Expression, true)?;
        }
        out.push(Rule {
            id,
            title: r.title.trim().to_string(),
            severity,
            default_severity: severity,
            scope,
            condition: r.condition.into_inner(),
            message: r.message.into_inner(),
            rationale: r.rationale.trim().to_string(),
            remediation: r.remediation.map(Spanned::into_inner),
            references: r.references,
            evidence: r
                .evidence
                .into_iter()
                .map(|(k, v)| (k, v.into_inner()))
                .collect(),
            target: r.target.map(Spanned::into_inner),
            blocks: r.blocks.map(Spanned::into_inner),
            summary: r.summary.map(|s| s.into_inner().trim().to_string()),
            blocks_doc: r.blocks_doc.map(|s| s.into_inner().trim().to_string()),
            changes_delegation: r.changes_delegation.is_some_and(|c| c.into_inner()),
            enabled: true,
            source: file.to_string(),
            line: line_of(text, start),
        });
    }
    Ok(out)
}

fn e_detail(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!("{} ({d})", e.kind()),
        None => e.kind().to_string(),
    }
}

/// True when the string value at `offset` is a multi-line string whose first newline is
/// trimmed by TOML, so its content starts one line later.
fn src_starts_after_quotes(text: &str, offset: usize) -> bool {
    let rest = &text[offset.min(text.len())..];
    (rest.starts_with("\"\"\"") || rest.starts_with("'''")) && rest[3..].starts_with(['\n', '\r'])
}

/// Every `*.toml` in a directory, sorted by name.
pub fn dir_files(dir: &Path) -> Result<Vec<(String, String)>, RuleError> {
    let read_err = |p: &Path, e: std::io::Error| RuleError {
        file: p.display().to_string(),
        line: None,
        message: format!("cannot read: {e}"),
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            std::fs::read_to_string(&p)
                .map(|t| (p.display().to_string(), t))
                .map_err(|e| read_err(&p, e))
        })
        .collect()
}
