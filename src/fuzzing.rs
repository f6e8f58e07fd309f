//! Entry points shared by the `cargo fuzz` targets (`fuzz/fuzz_targets/`) and the corpus
//! regression test (`tests/fuzz_corpus.rs`), so the two cannot drift apart. Each takes arbitrary
//! bytes, drives one parser the way the program does, and panics only on a bug: a malformed input
//! must come back as an error value.
//!
//! Not part of the supported API.

// A fuzz target reports a broken property by panicking: here expect is an assertion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "fuzz targets report failures by panicking"
)]

use std::sync::OnceLock;

use chrono::{DateTime, Utc};

use crate::analysis::spn::Spn;
use crate::audit::run_audit;
use crate::collect::builder::{BuildOptions, SnapshotBuilder};
use crate::collect::ldif::LdifReader;
use crate::collect::{replmeta, secdesc};
use crate::config::Config;
use crate::inventory::{self, HostInventory};
use crate::model::{ScanMeta, Sid, Snapshot};
use crate::rules::RuleSet;

/// One entry point: arbitrary bytes in, a panic only on a bug.
pub type Entry = fn(&[u8]);

/// Every target, by the name its fuzz target and corpus directory carry.
pub const TARGETS: &[(&str, Entry)] = &[
    ("ldif", ldif),
    ("audit", audit),
    ("inventory_csv", inventory_csv),
    ("inventory_json", inventory_json),
    ("rules", rules),
    ("config", config),
    ("spn", spn),
    ("secdesc", secdesc),
    ("replmeta", replmeta),
];

/// A fixed scan time: the same input must behave the same on every run.
fn fixed_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

/// The built-in rules, loaded once (targets clone them): loading them per input would dominate
/// the run time.
fn builtin_rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("the built-in rules load"))
}

/// Text the way the program gets it from files: as UTF-8 where valid. Invalid input is fed
/// through lossily so the fuzzer's mutations still reach the parser.
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// The LDIF reader over arbitrary bytes and a snapshot built from the entries that parse; the
/// snapshot must survive its JSON round trip (what `collect --out` writes and `--snapshot` reads).
pub fn ldif(data: &[u8]) {
    let snap = snapshot_of(data);
    let json = serde_json::to_string(&snap).expect("a snapshot serialises");
    let back: Snapshot = serde_json::from_str(&json).expect("a snapshot reads back");
    assert_eq!(back, snap, "snapshot JSON round trip changed it");
}

/// LDIF as in [`ldif`], then the whole audit with the built-in rules (every rule over every
/// host, pair, delegation entry and account built from attacker-controlled values) and the
/// remediation script. Slower per input, so a target of its own.
pub fn audit(data: &[u8]) {
    let snap = snapshot_of(data);
    let outcome = run_audit(
        &snap,
        None,
        &Config::default(),
        builtin_rules(),
        fixed_time(),
    )
    .expect("the built-in rules compile");
    let meta = crate::remediate::RemediationMeta::new(
        &snap.domain.dns_name,
        fixed_time(),
        builtin_rules(),
    );
    let _ = crate::remediate::script(&outcome.findings, &meta);
}

/// Reads entries until the first error (as the CLI does) and builds the snapshot.
fn snapshot_of(data: &[u8]) -> Snapshot {
    let mut b = SnapshotBuilder::new(BuildOptions::default());
    for entry in LdifReader::new(data, "fuzz.ldif") {
        match entry {
            Ok(e) => b.add(e),
            Err(e) => {
                // Rendering the message must not panic either (it quotes the input).
                let _ = e.to_string();
                break;
            }
        }
    }
    let meta = ScanMeta {
        tool_version: String::new(),
        source_kind: "ldif".into(),
        source: "fuzz.ldif".into(),
        bind_identity: None,
        collected_at: fixed_time(),
        reads: Vec::new(),
        gaps: Vec::new(),
        tls_verification_disabled: false,
        connection: None,
    };
    b.finish(meta)
}

fn use_inventory(inv: &HostInventory) {
    for h in &inv.hosts {
        assert!(
            inv.host(&h.computer_name).is_some(),
            "a parsed host is found by its name"
        );
    }
}

/// The CSV inventory reader (encoding detection included).
pub fn inventory_csv(data: &[u8]) {
    match inventory::parse_csv(data, "fuzz.csv") {
        Ok(inv) => use_inventory(&inv),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The JSON inventory reader (encoding detection is the CSV target's: it is shared).
pub fn inventory_json(data: &[u8]) {
    match inventory::parse_json(&text(data), "fuzz.json") {
        Ok(inv) => use_inventory(&inv),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// A rule file: TOML, then every expression and template compiled by minijinja; loaded alone
/// and over the built-in catalogue (overrides), then compiled for evaluation.
pub fn rules(data: &[u8]) {
    let text = text(data);
    let mut alone = RuleSet::empty();
    if alone.add_text(&text, "fuzz.toml").is_ok() {
        let _ = alone.compile().map(|_| ());
        for r in alone.rules() {
            let _ = alone.explain(&r.id);
        }
    }
    let mut set = builtin_rules().clone();
    if set.add_text(&text, "fuzz.toml").is_ok() {
        let _ = set.compile().map(|_| ());
    }
}

/// The configuration file, then its `[rules]` section applied to the built-in rules.
pub fn config(data: &[u8]) {
    let text = text(data);
    match Config::from_toml_str(&text, "fuzz.toml") {
        Ok(cfg) => {
            let mut set = builtin_rules().clone();
            let _ = set.apply_config(&cfg.rules, &cfg.source);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The SPN parser and the accessors the analysis calls on its result.
pub fn spn(data: &[u8]) {
    let text = text(data);
    match Spn::parse(&text) {
        Ok(s) => {
            assert!(!s.host.is_empty(), "a parsed SPN has a host");
            assert!(!s.class.trim().is_empty(), "a parsed SPN has a class");
            let _ = (s.host_key(), s.host_is_fqdn(), s.is_hyperv_class());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The RBCD security-descriptor parser; re-encoding what it read must read back the same.
pub fn secdesc(data: &[u8]) {
    let dacl = secdesc::parse_rbcd_dacl(data);
    match secdesc::parse_rbcd(data) {
        Ok(trustees) => {
            assert!(dacl.is_ok(), "parse_rbcd and parse_rbcd_dacl agree");
            for t in &trustees {
                let text = t.sid.to_string();
                assert_eq!(
                    Sid::parse(&text).as_ref(),
                    Ok(&t.sid),
                    "SID text round trip"
                );
            }
            // Bounded so the rebuilt ACL's u16 size cannot overflow.
            if trustees.len() <= 100 {
                let sids: Vec<Sid> = trustees.iter().map(|t| t.sid.clone()).collect();
                let owner = Sid::parse("S-1-5-32-544").expect("a valid SID");
                let rebuilt = secdesc::parse_rbcd(&secdesc::build_rbcd_sd(&owner, &sids))
                    .expect("a built descriptor parses");
                let again: Vec<Sid> = rebuilt.into_iter().map(|t| t.sid).collect();
                assert_eq!(again, sids, "descriptor re-encoding round trip");
            }
        }
        Err(e) => {
            assert!(dacl.is_err(), "parse_rbcd and parse_rbcd_dacl agree");
            let _ = e.to_string();
        }
    }
}

/// The replPropertyMetaData parser.
pub fn replmeta(data: &[u8]) {
    match replmeta::parse_repl_meta(data) {
        Ok(entries) => {
            assert!(
                16 + entries.len() * 48 <= data.len(),
                "every entry lies inside the blob"
            );
            let _ = replmeta::change_time(&entries, replmeta::ATTID_USER_ACCOUNT_CONTROL);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
