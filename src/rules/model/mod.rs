//! The evaluation model: the variables each rule scope sees. Every variable is listed in
//! [`VARIABLES`] (the source of `docs/rules.md`'s model section, and what rule loading checks
//! rule expressions against), assembled from the per-scope lists; each scope's file (`scan`,
//! `host`, `pair`, `entry`, `account`) holds its variables next to the view that is built from
//! the [`crate::analysis::Analysis`].

mod account;
mod entry;
mod host;
mod pair;
mod scan;

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use minijinja::Value;
use serde::Serialize;

use crate::findings::Scope;

pub use account::{AccountView, account_view};
pub use entry::{EntryView, OwnerView, entry_view, entry_view_with_owner, group_name, owner_view};
pub use host::{EntryBrief, HostView, InventoryView, TrusteeView, host_view};
pub use pair::{PairView, StorageView, peer_pair_view, storage_pair_view};
pub use scan::{GapView, InventoryErrorView, ScanView, scan_view};

/// Timestamps are rendered as fixed-width UTC strings so rules can compare them as strings.
pub fn fmt_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A view as a template value; its fields are converted only when an expression reads them
/// (see [`super::engine::lazy`]).
pub fn to_value<T: Serialize + Send + Sync + 'static>(t: T) -> Value {
    super::engine::lazy::View::value(t)
}

/// The name a scope's object has in expressions.
pub fn scope_var(scope: Scope) -> &'static str {
    match scope {
        Scope::Scan => "scan",
        Scope::Host => "host",
        Scope::HostPair => "pair",
        Scope::DelegationEntry => "entry",
        Scope::Account => "account",
    }
}

/// The name a rule file gives `scope` (its [`clap::ValueEnum`] name, `host_pair`).
pub fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Scan => "scan",
        Scope::Host => "host",
        Scope::HostPair => "host_pair",
        Scope::DelegationEntry => "delegation_entry",
        Scope::Account => "account",
    }
}

/// A rule file's `scope` value (exact spelling, as [`scope_name`] writes it); `None` for
/// anything else.
pub fn parse_scope(s: &str) -> Option<Scope> {
    <Scope as clap::ValueEnum>::from_str(s, false).ok()
}

/// One documented variable: its dotted path (`[]` marks list items), type and meaning.
pub struct VarDoc {
    pub path: &'static str,
    pub ty: &'static str,
    pub doc: &'static str,
}

const fn v(path: &'static str, ty: &'static str, doc: &'static str) -> VarDoc {
    VarDoc { path, ty, doc }
}

/// Every variable a rule can use, in documentation order: the per-scope lists, then `check`.
/// `pair.from` and `pair.to` are host objects (all `host.*` fields), except that `pair.to` of a
/// storage pair has only the fields listed for it.
pub static VARIABLES: LazyLock<Vec<&'static VarDoc>> = LazyLock::new(|| {
    [
        scan::VARS,
        host::VARS,
        pair::VARS,
        entry::VARS,
        account::VARS,
        CHECK_VARS,
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// The `check.*` variables, only in `blocks` (a readiness check's context).
pub const CHECK_VARS: &[VarDoc] = &[
    v(
        "check.from",
        "string",
        "readiness check: source host name (as `host.name`)",
    ),
    v(
        "check.to",
        "string",
        "readiness check: destination host name",
    ),
    v(
        "check.operator",
        "string|none",
        "readiness check: sAMAccountName of the operator, if given",
    ),
    v(
        "check.form",
        "string",
        "readiness check: the name form the destination is addressed by (`netbios`, `fqdn` or `cn`): Kerberos asks for the SPN in that form",
    ),
];

/// Top-level variables an expression of this scope may use (`check` only in `blocks`).
pub fn allowed_roots(scope: Scope, in_blocks: bool) -> Vec<&'static str> {
    let mut v = vec!["scan"];
    if scope != Scope::Scan {
        v.push(scope_var(scope));
    }
    if in_blocks {
        v.push("check");
    }
    v
}

fn strip_items(path: &str) -> String {
    path.replace("[]", "")
}

/// Checks a dotted variable path (as minijinja reports it) against the documentation.
/// `Err` carries the reason.
pub fn check_path(path: &str, roots: &[&str]) -> Result<(), String> {
    let root = path.split('.').next().unwrap_or(path);
    if !roots.contains(&root) {
        return Err(format!(
            "unknown variable '{root}' (this scope sees: {})",
            roots.join(", ")
        ));
    }
    // pair.from.x / pair.to.x are host fields.
    let canonical = if let Some(rest) = path
        .strip_prefix("pair.from.")
        .or_else(|| path.strip_prefix("pair.to."))
    {
        if VARIABLES
            .iter()
            .any(|d| d.path == format!("pair.to.{rest}"))
        {
            path.to_string()
        } else {
            format!("host.{rest}")
        }
    } else {
        path.to_string()
    };
    let ok = VARIABLES.iter().any(|d| {
        let doc = strip_items(d.path);
        // exact, a prefix of a documented path, or a documented leaf with a method call after
        doc == canonical
            || doc.starts_with(&format!("{canonical}."))
            || canonical.starts_with(&format!("{doc}."))
    });
    if ok {
        Ok(())
    } else {
        Err(format!("unknown variable '{path}' (see docs/rules.md)"))
    }
}

/// The model section of `docs/rules.md`, generated from [`VARIABLES`].
pub fn variables_markdown() -> String {
    let mut out = String::new();
    let sections = [
        ("scan", "`scan` (every scope)"),
        ("host", "`host` (scope `host`)"),
        ("pair", "`pair` (scope `host_pair`)"),
        ("entry", "`entry` (scope `delegation_entry`)"),
        ("account", "`account` (scope `account`)"),
        ("check", "`check` (only in `blocks`)"),
    ];
    for (root, title) in sections {
        out.push_str(&format!(
            "### {title}\n\n| variable | type | meaning |\n|---|---|---|\n"
        ));
        for d in VARIABLES
            .iter()
            .filter(|d| d.path.split('.').next() == Some(root))
        {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                d.path,
                d.ty,
                d.doc.replace('|', "\\|")
            ));
        }
        out.push('\n');
    }
    out
}
