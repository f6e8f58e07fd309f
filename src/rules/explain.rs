//! `hvaudit rules explain ID --on OBJECT`: why rule ID fired or not on one object. The rule's
//! condition is evaluated over the same view of the object an audit builds (`src/rules/model.rs`),
//! directly, without the verdict memo, and the answer lists every field the condition names with
//! its value, the verdict, and the rendered message when it is true.

use chrono::{DateTime, Utc};
use minijinja::value::ValueKind;
use minijinja::{Value, context};

use super::model::{
    account_view, entry_view, host_view, peer_pair_view, scan_view, storage_pair_view, to_value,
};
use super::{Rule, RuleError, RuleSet};
use crate::analysis::{AccountIdx, Analysis, EntryIdx, principal_name};
use crate::config::Config;
use crate::findings::Scope;
use crate::inventory::HostInventory;
use crate::model::Snapshot;

/// The rule on one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    /// The object as the audit names it: a host, `FROM->TO`, `OWNER: VALUE` for a delegation
    /// entry, an account, or the domain.
    pub object: String,
    /// Each field the condition names (as `host.os_build`; a path is followed up to the first
    /// value that is not a map, as the memo keys it), with its value printed as in a template
    /// (strings quoted, `none`, `undefined` for absent).
    pub reads: Vec<(String, String)>,
    /// The condition's value as a boolean, or why it could not be evaluated.
    pub verdict: Result<bool, String>,
    /// When the verdict is true: the rendered message, or why it could not be rendered.
    pub message: Option<Result<String, String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("no rule '{0}'; `hvaudit rules list` shows them")]
    UnknownRule(String),
    #[error("rule {id} is evaluated over {scope} objects: {what}")]
    NoSuchObject {
        id: String,
        scope: &'static str,
        what: String,
    },
    #[error(transparent)]
    Rules(#[from] RuleError),
}

/// Evaluates rule `id` on the objects of its scope that `on` designates: a host (NetBIOS name,
/// FQDN) for `host`; `FROM->TO` for `host_pair` (TO a peer host or a storage server of FROM's
/// group); a `msDS-AllowedToDelegateTo` value (every entry holding it, case-insensitive) for
/// `delegation_entry`; a sAMAccountName for `account`; the domain's DNS name for `scan`.
/// Errors: an unknown rule id; nothing of the rule's scope matches `on` (the message says what
/// to give); a rule set that does not compile.
#[allow(clippy::too_many_arguments)]
pub fn explain_on(
    snapshot: &Snapshot,
    inventory: Option<&HostInventory>,
    config: &Config,
    rules: &RuleSet,
    now: DateTime<Utc>,
    id: &str,
    on: &str,
) -> Result<Vec<Explained>, ExplainError> {
    let rule = rules
        .get(id)
        .ok_or_else(|| ExplainError::UnknownRule(id.to_string()))?;
    let a = Analysis::build(snapshot, inventory, config);
    let scan = to_value(scan_view(&a, now));
    let missing = |what: &str| ExplainError::NoSuchObject {
        id: rule.id.clone(),
        scope: super::model::scope_name(rule.scope),
        what: what.to_string(),
    };
    let on = on.trim();
    let host = |name: &str| {
        a.host(name)
            .ok_or_else(|| missing(&format!("'{name}' is not a Hyper-V host")))
    };
    let mut objects: Vec<(String, Value)> = Vec::new();
    match rule.scope {
        Scope::Scan => {
            let domain = &snapshot.domain.dns_name;
            if !on.eq_ignore_ascii_case(domain) && !on.eq_ignore_ascii_case("scan") {
                return Err(missing(&format!("give the domain, {domain}")));
            }
            objects.push((domain.clone(), context! { scan }));
        }
        Scope::Host => {
            let h = host(on)?;
            let v = to_value(host_view(&a, h));
            objects.push((a.hosts[h].name.clone(), context! { host => v, scan }));
        }
        Scope::HostPair => {
            let (from, to) = on.split_once("->").ok_or_else(|| {
                missing("give FROM->TO (two hosts, or a host and a storage server of its group)")
            })?;
            let f = host(from.trim())?;
            // Parallel to `a.hosts`.
            let mut values = vec![Value::UNDEFINED; a.hosts.len()];
            values[f.index()] = to_value(host_view(&a, f));
            let storage = a.hosts[f].group.and_then(|g| {
                a.groups[g]
                    .storage
                    .iter()
                    .position(|s| s.name.eq_ignore_ascii_case(to.trim()))
                    .map(|s| (g, s))
            });
            let view = match (a.host(to.trim()), storage) {
                (Some(t), _) if t != f => {
                    values[t.index()] = to_value(host_view(&a, t));
                    // A peer pair is judged inside the hosts' common migration group.
                    let group = (a.hosts[f].group.is_some()
                        && a.hosts[f].group == a.hosts[t].group)
                        .then(|| a.hosts[f].group.map(|g| a.groups[g].name.as_str()))
                        .flatten();
                    to_value(peer_pair_view(&a, f, t, group, &values))
                }
                (_, Some((g, s))) => to_value(storage_pair_view(&a, f, g, s, &values)),
                _ => {
                    return Err(missing(&format!(
                        "'{}' is neither another Hyper-V host nor a storage server of {}'s group",
                        to.trim(),
                        a.hosts[f].name
                    )));
                }
            };
            objects.push((
                format!("{}->{}", a.hosts[f].name, to.trim()),
                context! { pair => view, scan },
            ));
        }
        Scope::DelegationEntry => {
            for (e, entry) in a.entries.iter().enumerate() {
                if entry.value.eq_ignore_ascii_case(on) {
                    let v = to_value(entry_view(&a, EntryIdx::new(e)));
                    let owner = principal_name(snapshot, entry.owner);
                    objects.push((
                        format!("{owner}: {}", entry.value),
                        context! { entry => v, scan => scan.clone() },
                    ));
                }
            }
            if objects.is_empty() {
                return Err(missing(&format!(
                    "no account holds the msDS-AllowedToDelegateTo value '{on}'"
                )));
            }
        }
        Scope::Account => {
            let i = snapshot
                .accounts
                .iter()
                .position(|x| x.sam_account_name.eq_ignore_ascii_case(on))
                .map(AccountIdx::new)
                .ok_or_else(|| missing(&format!("no account has the sAMAccountName '{on}'")))?;
            let v = to_value(account_view(&a, i, false));
            objects.push((
                snapshot.accounts[i].sam_account_name.clone(),
                context! { account => v, scan },
            ));
        }
    }
    let compiled = rules.compile()?;
    Ok(objects
        .into_iter()
        .map(|(object, ctx)| explain_one(rules, &compiled, rule, object, &ctx))
        .collect())
}

fn explain_one(
    rules: &RuleSet,
    compiled: &super::CompiledRules,
    rule: &Rule,
    object: String,
    ctx: &Value,
) -> Explained {
    let expr = match rules.env().compile_expression(&rule.condition) {
        Ok(e) => e,
        Err(e) => {
            return Explained {
                object,
                reads: Vec::new(),
                verdict: Err(e.to_string()),
                message: None,
            };
        }
    };
    let mut paths: Vec<String> = expr.undeclared_variables(true).into_iter().collect();
    paths.sort();
    let mut reads: Vec<(String, String)> = Vec::new();
    for p in paths {
        let (reached, value) = read(ctx, &p);
        if !reads.iter().any(|(r, _)| *r == reached) {
            reads.push((reached, value));
        }
    }
    let verdict = expr
        .eval(ctx.clone())
        .map(|v| v.is_true())
        .map_err(|e| e.to_string());
    let message = matches!(verdict, Ok(true)).then(|| {
        compiled
            .render_text(rule, "message", ctx)
            .map(|m| m.trim().to_string())
    });
    Explained {
        object,
        reads,
        verdict,
        message,
    }
}

/// Follows `path` (`host.inventory.last_boot`) from `ctx` while the values are maps; returns
/// the path reached and its value as text.
fn read(ctx: &Value, path: &str) -> (String, String) {
    let mut v = ctx.clone();
    let mut reached: Vec<&str> = Vec::new();
    for name in path.split('.') {
        if v.kind() != ValueKind::Map {
            break;
        }
        v = v.get_attr(name).unwrap_or(Value::UNDEFINED);
        reached.push(name);
    }
    let text = match v.kind() {
        ValueKind::Undefined => "undefined".to_string(),
        ValueKind::None => "none".to_string(),
        ValueKind::String => format!("{:?}", v.as_str().unwrap_or_default()),
        _ => v.to_string(),
    };
    (reached.join("."), text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn a_path_is_read_up_to_its_first_plain_value() {
        let ctx = context! { host => context! { name => "HV01", inventory => (), n => 3 } };
        assert_eq!(
            read(&ctx, "host.name"),
            ("host.name".into(), "\"HV01\"".into())
        );
        assert_eq!(
            read(&ctx, "host.name.startswith"),
            ("host.name".into(), "\"HV01\"".into())
        );
        assert_eq!(
            read(&ctx, "host.inventory.last_boot"),
            ("host.inventory".into(), "none".into())
        );
        assert_eq!(
            read(&ctx, "host.gone"),
            ("host.gone".into(), "undefined".into())
        );
        assert_eq!(read(&ctx, "host.n"), ("host.n".into(), "3".into()));
    }
}
