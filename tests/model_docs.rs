//! The documented model (VARIABLES, docs/rules.md) and the values rules actually see agree.

mod rules_support;

use std::collections::BTreeSet;

use hvaudit::analysis::{AccountIdx, Analysis, EntryIdx, GroupIdx, HostIdx};
use hvaudit::inventory::MigrationAuth;
use hvaudit::rules::model::{
    VARIABLES, account_view, entry_view, host_view, peer_pair_view, scan_view, storage_pair_view,
    to_value, variables_markdown,
};
use rules_support::*;
use serde_json::Value as J;

fn walk(prefix: &str, v: &J, out: &mut BTreeSet<String>) {
    match v {
        J::Object(m) => {
            for (k, x) in m {
                let p = format!("{prefix}.{k}");
                out.insert(p.clone());
                walk(&p, x, out);
            }
        }
        J::Array(items) => {
            for x in items {
                walk(&format!("{prefix}[]"), x, out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_model_value_is_documented_and_every_documented_variable_exists() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.computer("SOFS01");
    fx.mesh(&["HVA01", "HVA02"]);
    fx.user("eve");
    let eve = fx.acct("eve").sid.clone().unwrap();
    let g = fx.group("HV-Hosts");
    fx.member(&g, "HVA01", &[], false);
    fx.rbcd("HVA02", &[eve, g]);
    fx.gap("something");
    let mut row = inv_row("HVA01", MigrationAuth::Kerberos);
    row.error = Some("x".into());
    let inv = inventory(vec![row]);
    let config = cfg("[[group]]\nname = \"a\"\nname_glob = \"HVA*\"\nstorage = [\"SOFS01\"]\n");
    let a = Analysis::build(&fx.snap, Some(&inv), &config);
    let hosts: Vec<_> = HostIdx::range(a.hosts.len())
        .map(|h| to_value(host_view(&a, h)))
        .collect();

    let mut seen = BTreeSet::new();
    walk(
        "scan",
        &serde_json::to_value(scan_view(&a, now())).unwrap(),
        &mut seen,
    );
    for h in HostIdx::range(a.hosts.len()) {
        walk(
            "host",
            &serde_json::to_value(host_view(&a, h)).unwrap(),
            &mut seen,
        );
    }
    for e in EntryIdx::range(a.entries.len()) {
        walk(
            "entry",
            &serde_json::to_value(entry_view(&a, e)).unwrap(),
            &mut seen,
        );
    }
    for i in AccountIdx::range(fx.snap.accounts.len()) {
        walk(
            "account",
            &serde_json::to_value(account_view(&a, i, false)).unwrap(),
            &mut seen,
        );
    }
    let mut pair = serde_json::to_value(peer_pair_view(
        &a,
        HostIdx::new(0),
        HostIdx::new(1),
        Some("a"),
        &hosts,
    ))
    .unwrap();
    // pair.from / pair.to of a peer pair are host objects, documented as host.*.
    assert_eq!(pair["from"]["name"], "HVA01");
    assert_eq!(pair["to"]["name"], "HVA02");
    pair.as_object_mut().unwrap().remove("from");
    pair.as_object_mut().unwrap().remove("to");
    seen.insert("pair.from".into());
    seen.insert("pair.to".into());
    walk("pair", &pair, &mut seen);
    let mut storage = serde_json::to_value(storage_pair_view(
        &a,
        HostIdx::new(0),
        GroupIdx::new(0),
        0,
        &hosts,
    ))
    .unwrap();
    storage.as_object_mut().unwrap().remove("from");
    walk("pair", &storage, &mut seen);

    let documented: BTreeSet<String> = VARIABLES
        .iter()
        .map(|d| d.path.to_string())
        .filter(|p| !p.starts_with("check."))
        .collect();
    let undocumented: Vec<_> = seen.difference(&documented).collect();
    assert!(undocumented.is_empty(), "undocumented: {undocumented:?}");
    let missing: Vec<_> = documented.difference(&seen).collect();
    assert!(missing.is_empty(), "documented but absent: {missing:?}");
}

#[test]
fn docs_rules_md_carries_the_generated_model() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md");
    let doc = std::fs::read_to_string(path).unwrap();
    assert!(
        doc.contains(&variables_markdown()),
        "docs/rules.md is out of date: regenerate its model section with \
         `cargo run --example gen_rules_doc`"
    );
}

#[test]
fn docs_rules_md_carries_the_generated_catalogue() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let table =
        hvaudit::rules::catalogue::catalogue_markdown(&hvaudit::rules::RuleSet::builtin().unwrap());
    assert!(
        doc.contains(&format!(
            "<!-- catalogue:begin -->\n{table}<!-- catalogue:end -->"
        )),
        "docs/rules.md's built-in catalogue is out of date: regenerate it with \
         `cargo run --example gen_rules_doc`"
    );
}
