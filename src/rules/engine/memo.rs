//! Condition results remembered by the values they read. A condition is a pure function of
//! the fields it names (the rule environment has no clock, random or stateful function), so
//! two objects that agree on those fields get the same verdicts. A large domain has ~600,000
//! delegation entries but only a handful of distinct (owner is a host, classification,
//! resolved, target disabled) combinations: the conditions run once per combination instead
//! of once per entry. Findings are still rendered per object, from the object's own values.
//!
//! Only plain values (undefined, none, booleans, numbers, strings) make a key. A path that
//! reaches a list or a map as a whole (`host.delegations`, `entry`) turns the memo off for
//! that scope: its conditions then run for every object, as without a memo.

use std::fmt::Write as _;
use std::rc::Rc;

use foldhash::{HashMap, HashMapExt};
use minijinja::Value;
use minijinja::value::ValueKind;

use crate::findings::Scope;

/// Keys remembered per scope before a memo that rarely hits is given up (each object of the
/// scope would otherwise add a key nobody asks for again).
const MAX_KEYS: usize = 4096;

/// The attribute paths a scope's conditions read, e.g. `[["entry", "owner", "is_hyperv_host"],
/// ["entry", "resolved"]]`, as minijinja's nested variable tracking reports them.
pub type Paths = Vec<Vec<String>>;

/// Per evaluator (one per thread): verdicts by key, per scope.
#[derive(Default)]
pub struct Memo {
    scopes: HashMap<Scope, ScopeMemo>,
}

#[derive(Default)]
struct ScopeMemo {
    off: bool,
    verdicts: HashMap<String, Rc<[bool]>>,
    hits: usize,
}

impl Memo {
    pub fn new() -> Memo {
        Memo::default()
    }

    /// The key of `ctx` for `scope`, or None when this object (or the scope) cannot be
    /// memoised.
    pub fn key(&mut self, scope: Scope, paths: &Paths, ctx: &Value) -> Option<String> {
        let m = self.scopes.entry(scope).or_default();
        if m.off {
            return None;
        }
        let mut key = String::new();
        for path in paths {
            match resolve(ctx, path, &mut key) {
                Resolved::Plain => {}
                // An attribute lookup failed for this object: evaluate it the normal way.
                Resolved::Error => return None,
                Resolved::Compound => {
                    m.off = true;
                    m.verdicts = HashMap::new();
                    return None;
                }
            }
        }
        Some(key)
    }

    /// The remembered verdicts (shared, not copied: this runs once per object).
    pub fn get(&mut self, scope: Scope, key: &str) -> Option<Rc<[bool]>> {
        let m = self.scopes.get_mut(&scope)?;
        let v = Rc::clone(m.verdicts.get(key)?);
        m.hits += 1;
        Some(v)
    }

    pub fn put(&mut self, scope: Scope, key: String, verdicts: Rc<[bool]>) {
        let m = self.scopes.entry(scope).or_default();
        if m.off {
            return;
        }
        if m.verdicts.len() >= MAX_KEYS && m.hits < m.verdicts.len() {
            m.off = true;
            m.verdicts = HashMap::new();
            return;
        }
        m.verdicts.insert(key, verdicts);
    }
}

enum Resolved {
    /// Appended to the key.
    Plain,
    /// A list, map or other object: no key.
    Compound,
    /// An attribute lookup failed.
    Error,
}

/// Follows `path` from `ctx` and appends what it reached to `key`. The walk stops at the first
/// plain value: whatever an expression does with `entry.value.startswith(...)` depends only
/// on `entry.value`, so the string itself is the key, with the depth it was found at.
fn resolve(ctx: &Value, path: &[String], key: &mut String) -> Resolved {
    let mut v = ctx.clone();
    let mut depth = 0;
    for name in path {
        if v.kind() != ValueKind::Map {
            break;
        }
        v = match v.get_attr(name) {
            Ok(x) => x,
            Err(_) => return Resolved::Error,
        };
        depth += 1;
    }
    let _ = write!(key, "{depth}");
    match v.kind() {
        ValueKind::Undefined => key.push('u'),
        ValueKind::None => key.push('n'),
        ValueKind::Bool => key.push(if v.is_true() { 'T' } else { 'F' }),
        ValueKind::Number => {
            // Integers and floats print differently ("1" / "1.0"): at worst a missed hit.
            let _ = write!(key, "#{v};");
        }
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default();
            let tag = if v.is_safe() { 'S' } else { 's' };
            let _ = write!(key, "{tag}{}:", s.len());
            key.push_str(s);
        }
        _ => return Resolved::Compound,
    }
    Resolved::Plain
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn paths(p: &[&str]) -> Paths {
        p.iter()
            .map(|s| s.split('.').map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn equal_fields_give_equal_keys_and_different_fields_different_keys() {
        let mut m = Memo::new();
        let p = paths(&["entry.resolved", "entry.class"]);
        let a = context! { entry => context! { resolved => true, class => "cifs", value => "x" } };
        let b = context! { entry => context! { resolved => true, class => "cifs", value => "y" } };
        let c = context! { entry => context! { resolved => true, class => "cifs2" } };
        let d = context! { entry => context! { resolved => "true", class => "cifs" } };
        let ka = m.key(Scope::DelegationEntry, &p, &a).unwrap();
        assert_eq!(m.key(Scope::DelegationEntry, &p, &b).unwrap(), ka);
        assert_ne!(m.key(Scope::DelegationEntry, &p, &c).unwrap(), ka);
        assert_ne!(m.key(Scope::DelegationEntry, &p, &d).unwrap(), ka);
    }

    #[test]
    fn a_method_on_a_string_keys_on_the_string() {
        let mut m = Memo::new();
        let p = paths(&["entry.value.startswith"]);
        let a = context! { entry => context! { value => "cifs/a" } };
        let b = context! { entry => context! { value => "ldap/a" } };
        let ka = m.key(Scope::DelegationEntry, &p, &a).unwrap();
        assert_ne!(m.key(Scope::DelegationEntry, &p, &b).unwrap(), ka);
    }

    #[test]
    fn a_list_turns_the_scope_off() {
        let mut m = Memo::new();
        let p = paths(&["host.delegations"]);
        let a = context! { host => context! { delegations => vec!["a"] } };
        assert!(m.key(Scope::Host, &p, &a).is_none());
        let plain = context! { host => context! { delegations => "a" } };
        assert!(m.key(Scope::Host, &p, &plain).is_none(), "stays off");
        // Other scopes are not affected.
        let e = context! { entry => context! { resolved => true } };
        assert!(
            m.key(Scope::DelegationEntry, &paths(&["entry.resolved"]), &e)
                .is_some()
        );
    }

    #[test]
    fn a_memo_that_never_hits_is_given_up() {
        let mut m = Memo::new();
        let p = paths(&["entry.value"]);
        for i in 0..=MAX_KEYS {
            let ctx = context! { entry => context! { value => i.to_string() } };
            let k = m.key(Scope::DelegationEntry, &p, &ctx).unwrap();
            assert!(m.get(Scope::DelegationEntry, &k).is_none());
            m.put(Scope::DelegationEntry, k, Rc::from([false]));
        }
        let ctx = context! { entry => context! { value => "0" } };
        assert!(m.key(Scope::DelegationEntry, &p, &ctx).is_none());
    }
}
