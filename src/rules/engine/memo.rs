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
    pub fn key(&mut self, scope: Scope, paths: &[Vec<String>], ctx: &Value) -> Option<String> {
        let m = self.scopes.entry(scope).or_default();
        if m.off {
            return None;
        }
        let mut key = String::with_capacity(64);
        // Paths share prefixes (`entry.owner.os`, `entry.owner.is_hyperv_host`), and reaching
        // a nested struct through a lazy view converts all of it: walk each prefix once.
        let mut walk = Walked::default();
        for path in paths {
            match resolve(ctx, path, &mut walk, &mut key) {
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

/// The values met along the previous path: `values[i]` is what its first `i + 1` names
/// reached (shorter than the path when the walk stopped at a plain value).
#[derive(Default)]
struct Walked<'p> {
    path: &'p [String],
    values: Vec<Value>,
}

/// Follows `path` from `ctx` and appends what it reached to `key`. The walk stops at the first
/// plain value: whatever an expression does with `entry.value.startswith(...)` depends only
/// on `entry.value`, so the string itself is the key, with the depth it was found at.
///
/// `walk` holds the values met along the previous path; the walk resumes after the names both
/// paths share, which gives what walking from `ctx` gives.
fn resolve<'p>(
    ctx: &Value,
    path: &'p [String],
    walk: &mut Walked<'p>,
    key: &mut String,
) -> Resolved {
    let shared = path
        .iter()
        .zip(walk.path)
        .take_while(|(a, b)| a == b)
        .count();
    walk.values.truncate(shared);
    walk.path = path;
    let mut depth = walk.values.len();
    let mut v = walk.values.last().unwrap_or(ctx).clone();
    while let Some(name) = path.get(depth) {
        if v.kind() != ValueKind::Map {
            break;
        }
        v = match v.get_attr(name) {
            Ok(x) => x,
            Err(_) => return Resolved::Error,
        };
        depth += 1;
        walk.values.push(v.clone());
    }
    push_number(key, depth);
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
            key.push(tag);
            push_number(key, s.len());
            key.push(':');
            key.push_str(s);
        }
        _ => return Resolved::Compound,
    }
    Resolved::Plain
}

/// Appends `n` in decimal (this runs for every path of every object; `write!` was a tenth of
/// the key's cost).
fn push_number(key: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    key.extend(digits[i..].iter().map(|&d| char::from(d)));
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
    fn numbers_append_in_decimal() {
        for n in [0usize, 7, 10, 12_345, usize::MAX] {
            let mut s = String::from("x");
            push_number(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    /// Walking shared prefixes once gives the key that walking every path from the root gives.
    #[test]
    fn shared_prefixes_key_like_separate_walks() {
        let p = paths(&[
            "entry.owner.os",
            "entry.owner.name.lower",
            "entry.owner",
            "entry.value.startswith",
            "entry.value",
            "entry.missing.deeper",
            "other",
        ]);
        let ctx = context! {
            entry => context! {
                owner => context! { os => "2025", name => "HV01" },
                value => "cifs/hv02",
            },
            other => 7,
        };
        let whole = Memo::new()
            .key(Scope::DelegationEntry, &p[..2], &ctx)
            .unwrap();
        let mut separate = String::new();
        for path in &p[..2] {
            let one = Memo::new().key(Scope::DelegationEntry, std::slice::from_ref(path), &ctx);
            separate.push_str(&one.unwrap());
        }
        assert_eq!(whole, separate);
        let plain = [&p[0], &p[1], &p[3], &p[4], &p[5], &p[6]];
        let all: Paths = plain.iter().map(|x| (*x).clone()).collect();
        let whole = Memo::new().key(Scope::DelegationEntry, &all, &ctx).unwrap();
        let separate: String = plain
            .iter()
            .map(|path| {
                Memo::new()
                    .key(Scope::DelegationEntry, std::slice::from_ref(*path), &ctx)
                    .unwrap()
            })
            .collect();
        assert_eq!(whole, separate);
        // `entry.owner` as a whole is a map: no key, whatever was walked before it.
        assert!(
            Memo::new()
                .key(Scope::DelegationEntry, &p[..3], &ctx)
                .is_none()
        );
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
