//! Evaluation: every expression compiled once in the rule set's environment, then evaluated
//! per scope object. Messages and remediations are rendered only for rules that fire.

pub mod lazy;
pub mod memo;

use std::collections::BTreeMap;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use foldhash::{HashMap, HashMapExt};

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, Expression, Value, context};
use serde::Serialize;

use super::{FIELD_LIMIT, FUEL, Rule, RuleError, RuleSet, template_name};
use crate::findings::{Finding, Scope, Status};
use memo::{Memo, Paths};

/// Quotes a value as a PowerShell single-quoted string: directory values are attacker
/// controlled, and inside single quotes only a quote character is special. PowerShell also
/// treats the typographic single quotes as quotes, so those are doubled too. A list becomes a
/// comma-separated list of quoted strings.
pub fn ps_quote(v: Value) -> Result<String, Error> {
    let one = crate::remediate::ps_quote;
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => Err(Error::new(
            ErrorKind::InvalidOperation,
            "ps_quote: the value is none or undefined",
        )),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = v
                .try_iter()?
                .map(|i| {
                    if i.is_none() || i.is_undefined() {
                        Err(Error::new(
                            ErrorKind::InvalidOperation,
                            "ps_quote: a list item is none or undefined",
                        ))
                    } else {
                        Ok(one(&i.to_string()))
                    }
                })
                .collect::<Result<_, _>>()?;
            Ok(items.join(", "))
        }
        _ => Ok(one(&v.to_string())),
    }
}

/// A rule that could not be evaluated for one object (a runtime error in its expression).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("rule {rule_id} on {object}: {message}")]
pub struct EvalError {
    pub rule_id: String,
    pub object: String,
    /// The field (`condition`, `message`, `evidence.NAME`, ...) and what went wrong.
    pub message: String,
    /// The field exceeded its evaluation budget ([`FUEL`] instructions or [`FIELD_LIMIT`]
    /// bytes): the rule itself is faulty, not the object, and the audit stops (exit 2)
    /// instead of spending the budget again on every other object.
    pub over_budget: bool,
}

/// What the budget error of a field says.
fn over_fuel(what: &str) -> String {
    format!(
        "{what}: evaluation budget exceeded: more than {FUEL} template instructions (a loop that \
         runs away?)"
    )
}

fn over_size(what: &str) -> String {
    format!("{what}: evaluation budget exceeded: longer than {FIELD_LIMIT} bytes")
}

/// Collects a rendered template and refuses to grow past [`FIELD_LIMIT`], so a template that
/// writes without end fails at the limit instead of exhausting memory.
struct Capped {
    text: Vec<u8>,
    full: bool,
}

impl io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.text.len() + buf.len() > FIELD_LIMIT {
            self.full = true;
            return Err(io::Error::other("field size limit"));
        }
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Why a field could not be rendered.
enum Failed {
    Error(Error),
    OverFuel,
    OverSize,
    OverDepth,
}

impl Failed {
    fn of(e: Error) -> Failed {
        // minijinja stops macro recursion at its recursion limit with this error; it is a
        // budget of the same kind as fuel (the native stack), so it ends the audit the same way.
        let recursion = e.kind() == ErrorKind::InvalidOperation
            && e.detail().is_some_and(|d| d.contains("recursion limit"));
        if e.kind() == ErrorKind::OutOfFuel {
            Failed::OverFuel
        } else if recursion {
            Failed::OverDepth
        } else {
            Failed::Error(e)
        }
    }
}

/// What a finding is about; computed only when a rule fires.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub object: String,
    pub object_dn: Option<String>,
    pub target: Option<String>,
    pub group: Option<String>,
}

/// A finding with what is needed to evaluate its `blocks` expression later.
#[derive(Debug, Clone)]
pub struct Fired {
    pub finding: Finding,
    /// Index of the rule in [`CompiledRules`].
    pub rule: usize,
    /// The evaluation context the rule fired in.
    pub ctx: Value,
}

struct CompiledRule<'r> {
    rule: &'r Rule,
    condition: Expression<'r, 'static>,
    evidence: Vec<(String, Expression<'r, 'static>)>,
    target: Option<Expression<'r, 'static>>,
    blocks: Option<Expression<'r, 'static>>,
}

pub struct CompiledRules<'r> {
    set: &'r RuleSet,
    rules: Vec<CompiledRule<'r>>,
    by_scope: HashMap<Scope, Vec<usize>>,
    /// Per scope with several rules: all their conditions as one list expression, so an
    /// object costs one evaluation instead of one per rule (a large domain has ~600,000
    /// delegation entries). On an error the conditions are evaluated one by one again, so
    /// the error names its rule.
    combined: HashMap<Scope, Expression<'r, 'static>>,
    /// Per scope: the attribute paths its conditions read (see [`Memo`]).
    reads: HashMap<Scope, Paths>,
    /// Set when a rule exceeded its budget: evaluation stops for every object and thread.
    stopped: AtomicBool,
}

fn detail(e: &Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

/// Evidence values as text: lists joined with ", ", none/undefined left out.
fn evidence_text(v: &Value) -> Option<String> {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => None,
        ValueKind::Seq | ValueKind::Iterable => Some(
            v.try_iter()
                .map(|it| it.map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
                .unwrap_or_else(|_| v.to_string()),
        ),
        _ => Some(v.to_string()),
    }
}

impl<'r> CompiledRules<'r> {
    pub(super) fn new(set: &'r RuleSet) -> Result<CompiledRules<'r>, RuleError> {
        let env = set.env();
        let mut rules = Vec::new();
        let mut by_scope: HashMap<Scope, Vec<usize>> = HashMap::new();
        for rule in set.rules.iter().filter(|r| r.enabled) {
            let compile = |what: &str, src: &str| {
                env.compile_expression_owned(src.to_string())
                    .map_err(|e| RuleError {
                        file: rule.source.clone(),
                        line: Some(rule.line),
                        message: format!("rule {}: {what} does not compile: {e}", rule.id),
                    })
            };
            let c = CompiledRule {
                rule,
                condition: compile("condition", &rule.condition)?,
                evidence: rule
                    .evidence
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), compile(&format!("evidence.{k}"), v)?)))
                    .collect::<Result<_, RuleError>>()?,
                target: rule
                    .target
                    .as_deref()
                    .map(|t| compile("target", t))
                    .transpose()?,
                blocks: rule
                    .blocks
                    .as_deref()
                    .map(|t| compile("blocks", t))
                    .transpose()?,
            };
            by_scope.entry(rule.scope).or_default().push(rules.len());
            rules.push(c);
        }
        let mut combined = HashMap::new();
        for (scope, idx) in &by_scope {
            if idx.len() < 2 {
                continue;
            }
            let list: Vec<String> = idx
                .iter()
                .map(|&i| format!("({})", rules[i].rule.condition))
                .collect();
            // Each condition compiled on its own above; should the list still not compile,
            // the scope just keeps one evaluation per rule.
            if let Ok(e) = env.compile_expression_owned(format!("[{}]", list.join(", "))) {
                combined.insert(*scope, e);
            }
        }
        let mut reads = HashMap::new();
        // Without the memo no scope has a key: every condition runs for every object.
        for (scope, idx) in by_scope.iter().filter(|_| set.memo) {
            let mut paths: Vec<String> = idx
                .iter()
                .flat_map(|&i| rules[i].condition.undeclared_variables(true))
                .collect();
            paths.sort();
            paths.dedup();
            let paths: Paths = paths
                .iter()
                .map(|p| p.split('.').map(str::to_string).collect())
                .collect();
            reads.insert(*scope, paths);
        }
        Ok(CompiledRules {
            set,
            rules,
            by_scope,
            combined,
            reads,
            stopped: AtomicBool::new(false),
        })
    }

    /// True when verdicts are remembered by the values the conditions read ([`Memo`]); false
    /// after [`RuleSet::set_memo`]`(false)`.
    pub fn uses_memo(&self) -> bool {
        !self.reads.is_empty()
    }

    /// Renders one of `rule`'s templates (`message`, `remediation`) over `ctx`, within the
    /// same budget as an audit; the error says what went wrong. For `hvaudit rules explain
    /// --on`, which renders a rule whether or not it is enabled.
    pub(super) fn render_text(
        &self,
        rule: &Rule,
        part: &str,
        ctx: &Value,
    ) -> Result<String, String> {
        self.render(rule, part, ctx).map_err(|e| match e {
            Failed::Error(e) => detail(&e),
            Failed::OverFuel => over_fuel(part),
            Failed::OverSize => over_size(part),
            Failed::OverDepth => format!("{part}: macros nested too deep (recursion?)"),
        })
    }

    /// True when some enabled rule has this scope (callers skip building its objects if not).
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.by_scope.contains_key(&scope)
    }

    pub fn rule(&self, i: usize) -> &'r Rule {
        self.rules[i].rule
    }

    /// Evaluates every enabled rule of `scope` over one object's context. `memo` remembers
    /// verdicts by the values the conditions read (one per evaluating thread).
    pub fn eval(
        &self,
        scope: Scope,
        ctx: &Value,
        subject: impl Fn() -> Subject,
        memo: &mut Memo,
        out: &mut Vec<Fired>,
        errors: &mut Vec<EvalError>,
    ) {
        let Some(idx) = self.by_scope.get(&scope) else {
            return;
        };
        if self.stopped.load(Ordering::Relaxed) {
            return;
        }
        let key = self
            .reads
            .get(&scope)
            .and_then(|paths| memo.key(scope, paths, ctx));
        let remembered = key.as_deref().and_then(|k| memo.get(scope, k));
        let verdicts = match remembered {
            Some(v) => v,
            None => {
                let before = errors.len();
                let v: Rc<[bool]> = self.verdicts(scope, idx, ctx, &subject, errors).into();
                // A condition that failed is evaluated (and reported) again for every object.
                if let Some(k) = key
                    && errors.len() == before
                {
                    memo.put(scope, k, Rc::clone(&v));
                }
                v
            }
        };
        for (&i, &fire) in idx.iter().zip(verdicts.iter()) {
            if fire {
                out.push(self.finding(i, ctx, subject(), errors));
            }
        }
    }

    /// Whether each rule of the scope fires (in `idx` order).
    fn verdicts(
        &self,
        scope: Scope,
        idx: &[usize],
        ctx: &Value,
        subject: &impl Fn() -> Subject,
        errors: &mut Vec<EvalError>,
    ) -> Vec<bool> {
        if let Some(all) = self.combined.get(&scope)
            && let Ok(v) = all.eval(ctx.clone())
            && v.len() == Some(idx.len())
        {
            return (0..idx.len())
                .map(|k| v.get_item_by_index(k).is_ok_and(|c| c.is_true()))
                .collect();
        }
        idx.iter()
            .map(|&i| {
                let c = &self.rules[i];
                match c.condition.eval(ctx.clone()).map_err(Failed::of) {
                    Ok(v) => v.is_true(),
                    Err(e) => {
                        errors.push(self.error(c.rule, &subject().object, "condition", e));
                        false
                    }
                }
            })
            .collect()
    }

    /// The error of one field; a budget error also stops the evaluation of every rule.
    fn error(&self, rule: &Rule, object: &str, what: &str, e: Failed) -> EvalError {
        let (message, over_budget) = match e {
            Failed::Error(e) => (format!("{what}: {}", detail(&e)), false),
            Failed::OverFuel => (over_fuel(what), true),
            Failed::OverSize => (over_size(what), true),
            Failed::OverDepth => (
                format!("{what}: evaluation budget exceeded: macros nested too deep (recursion?)"),
                true,
            ),
        };
        if over_budget {
            self.stopped.store(true, Ordering::Relaxed);
        }
        EvalError {
            rule_id: rule.id.clone(),
            object: object.to_string(),
            message,
            over_budget,
        }
    }

    /// Renders one of the rule's templates within the budget.
    fn render(&self, rule: &Rule, part: &str, ctx: &Value) -> Result<String, Failed> {
        let t = self
            .set
            .env()
            .get_template(&template_name(&rule.id, part))
            .map_err(Failed::Error)?;
        let mut out = Capped {
            text: Vec::new(),
            full: false,
        };
        match t.render_captured_to(ctx, &mut out) {
            Ok(_) => Ok(String::from_utf8_lossy(&out.text).into_owned()),
            Err(_) if out.full => Err(Failed::OverSize),
            Err(e) => Err(Failed::of(e)),
        }
    }

    /// Evaluates an expression field to text within the budget.
    fn text(expr: &Expression<'r, 'static>, ctx: &Value) -> Result<Option<String>, Failed> {
        let v = expr.eval(ctx.clone()).map_err(Failed::of)?;
        match evidence_text(&v) {
            Some(t) if t.len() > FIELD_LIMIT => Err(Failed::OverSize),
            t => Ok(t),
        }
    }

    /// An evidence value: its text ([`evidence_text`]) and, for a list, its items (JSON writes
    /// those as an array: a joined value is ambiguous when an item contains `, `).
    #[allow(clippy::type_complexity)]
    fn evidence(
        expr: &Expression<'r, 'static>,
        ctx: &Value,
    ) -> Result<Option<(String, Option<Vec<String>>)>, Failed> {
        let v = expr.eval(ctx.clone()).map_err(Failed::of)?;
        let Some(t) = evidence_text(&v) else {
            return Ok(None);
        };
        if t.len() > FIELD_LIMIT {
            return Err(Failed::OverSize);
        }
        let list = match v.kind() {
            ValueKind::Seq | ValueKind::Iterable => v
                .try_iter()
                .ok()
                .map(|it| it.map(|i| i.to_string()).collect()),
            _ => None,
        };
        Ok(Some((t, list)))
    }

    fn finding(
        &self,
        i: usize,
        ctx: &Value,
        mut subject: Subject,
        errors: &mut Vec<EvalError>,
    ) -> Fired {
        let c = &self.rules[i];
        let rule = c.rule;
        let mut err = |what: &str, e: Failed, object: &str| {
            errors.push(self.error(rule, object, what, e));
        };
        if let Some(t) = &c.target {
            match Self::text(t, ctx) {
                Ok(v) => subject.target = v,
                Err(e) => err("target", e, &subject.object),
            }
        }
        let message = match self.render(rule, "message", ctx) {
            Ok(m) => m.trim().to_string(),
            Err(e) => {
                let why = match &e {
                    Failed::Error(e) => e.to_string(),
                    Failed::OverFuel | Failed::OverSize | Failed::OverDepth => {
                        "evaluation budget exceeded".into()
                    }
                };
                let text = format!("{} (message could not be rendered: {why})", rule.title);
                err("message", e, &subject.object);
                text
            }
        };
        let remediation = match &rule.remediation {
            None => None,
            Some(_) => match self.render(rule, "remediation", ctx) {
                Ok(r) => Some(r.trim().to_string()).filter(|r| !r.is_empty()),
                Err(e) => {
                    err("remediation", e, &subject.object);
                    None
                }
            },
        };
        let mut evidence = BTreeMap::new();
        let mut evidence_lists = BTreeMap::new();
        for (name, expr) in &c.evidence {
            match Self::evidence(expr, ctx) {
                Ok(Some((t, list))) => {
                    evidence.insert(name.clone(), t);
                    if let Some(items) = list {
                        evidence_lists.insert(name.clone(), items);
                    }
                }
                Ok(None) => {}
                Err(e) => err(&format!("evidence.{name}"), e, &subject.object),
            }
        }
        Fired {
            finding: Finding {
                rule_id: rule.id.clone(),
                severity: rule.severity,
                title: rule.title.clone(),
                scope: rule.scope,
                object: subject.object,
                object_dn: subject.object_dn,
                target: subject.target,
                group: subject.group,
                message,
                evidence,
                evidence_lists,
                remediation,
                status: Status::Open,
                suppression: None,
                first_seen: None,
            },
            rule: i,
            ctx: ctx.clone(),
        }
    }

    /// Whether a fired finding blocks migrating `check.from` -> `check.to` (host names) with
    /// the given operator, the destination addressed by name form `form` (`netbios`, `fqdn`,
    /// `cn`).
    pub fn blocks(
        &self,
        fired: &Fired,
        from: &str,
        to: &str,
        operator: Option<&str>,
        form: &str,
    ) -> Result<bool, EvalError> {
        let c = &self.rules[fired.rule];
        let Some(expr) = &c.blocks else {
            return Ok(false);
        };
        if self.stopped.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let ctx = context! {
            check => context! { from => from, to => to, operator => operator, form => form },
            ..fired.ctx.clone()
        };
        expr.eval(ctx)
            .map(|v| v.is_true())
            .map_err(|e| self.error(c.rule, &fired.finding.object, "blocks", Failed::of(e)))
    }

    /// True when the rule can block readiness at all.
    pub fn can_block(&self, rule: usize) -> bool {
        self.rules[rule].blocks.is_some()
    }

    /// True when the rule's `blocks` expression reads `check.form`: only then can its verdict
    /// differ between the name forms of one pair (the readiness matrix evaluates the others once).
    pub fn blocks_depends_on_form(&self, rule: usize) -> bool {
        self.rules[rule]
            .rule
            .blocks
            .as_deref()
            .is_some_and(|b| b.contains("form"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_quote_doubles_every_single_quote_form() {
        assert_eq!(ps_quote(Value::from("HV01")).unwrap(), "'HV01'");
        assert_eq!(ps_quote(Value::from("a'b")).unwrap(), "'a''b'");
        assert_eq!(
            ps_quote(Value::from("x\u{2019}; Remove-Item C:\\ -Recurse; '")).unwrap(),
            "'x\u{2019}\u{2019}; Remove-Item C:\\ -Recurse; '''"
        );
        assert_eq!(
            ps_quote(Value::from("$(calc) `n \"q\"")).unwrap(),
            "'$(calc) `n \"q\"'"
        );
        assert_eq!(
            ps_quote(Value::from(vec!["a", "b'c"])).unwrap(),
            "'a', 'b''c'"
        );
        assert!(ps_quote(Value::from(())).is_err());
        assert!(ps_quote(Value::UNDEFINED).is_err());
    }
}
