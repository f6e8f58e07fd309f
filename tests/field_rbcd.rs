//! The RBCD field cases and their neighbours (`tests/fixtures/field/rbcd-*`): each folder holds
//! a directory export (`input.ldif`), the findings expected of a default audit
//! (`expected-findings.tsv`: rule, object, target or `-`) and, for every ordered pair of hosts
//! whose destination has RBCD, whether it covers the source (`expected-rbcd.tsv`: from, to,
//! `covers` / `does_not` / `unknown`). The neighbours are written by `gen_rbcd.py` there.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use hvaudit::analysis::{Analysis, RbcdCoverage};
use hvaudit::audit::run_audit;
use hvaudit::collect::builder::BuildOptions;
use hvaudit::collect::ldif_snapshot;
use hvaudit::config::Config;
use hvaudit::rules::RuleSet;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/field");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("rbcd-"))
        })
        .collect();
    v.sort();
    v
}

/// Non-empty, non-comment lines, trailing whitespace dropped, sorted.
fn expected(dir: &Path, file: &str) -> Vec<String> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v: Vec<String> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn actual(dir: &Path) -> (Vec<String>, Vec<String>) {
    let snap = ldif_snapshot(&dir.join("input.ldif"), BuildOptions::default()).unwrap();
    let config = Config::default();
    let rules = RuleSet::builtin().unwrap();
    let now = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
    let out = run_audit(&snap, None, &config, &rules, now).unwrap();
    assert!(out.errors.is_empty(), "rule errors: {:#?}", out.errors);
    let mut findings: Vec<String> = out
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}\t{}\t{}",
                f.rule_id,
                f.object,
                f.target.as_deref().unwrap_or("-")
            )
        })
        .collect();
    findings.sort();

    let a = Analysis::build(&snap, None, &config);
    let mut rbcd = Vec::new();
    for to in 0..a.hosts.len() {
        if !a.hosts[to].rbcd.present {
            continue;
        }
        for from in (0..a.hosts.len()).filter(|f| *f != to) {
            let c = match a.rbcd_coverage(from, to) {
                RbcdCoverage::Covers => "covers",
                RbcdCoverage::DoesNot => "does_not",
                RbcdCoverage::Unknown => "unknown",
            };
            assert_eq!(
                a.rbcd_covers(from, to),
                c == "covers",
                "rbcd_covers means known to cover"
            );
            rbcd.push(format!("{}\t{}\t{c}", a.hosts[from].name, a.hosts[to].name));
        }
    }
    rbcd.sort();
    (findings, rbcd)
}

#[test]
fn rbcd_field_cases_give_their_expected_findings_and_coverage() {
    let cases = cases();
    assert!(cases.len() >= 12, "fixtures missing: {cases:?}");
    let mut failures = Vec::new();
    for dir in &cases {
        let (findings, rbcd) = actual(dir);
        let want_f = expected(dir, "expected-findings.tsv");
        let want_r = expected(dir, "expected-rbcd.tsv");
        if findings != want_f || rbcd != want_r {
            failures.push(format!(
                "{}:\n  findings: {findings:#?}\n  expected: {want_f:#?}\n  rbcd: {rbcd:#?}\n  expected: {want_r:#?}",
                dir.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn undecided_aces_are_gaps_naming_the_object_and_the_attribute() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/field");
    for (case, needle) in [
        (
            "rbcd-callback-allow",
            "ACE 1 (type-9 for S-1-5-11): a callback",
        ),
        (
            "rbcd-object-ace-with-guid",
            "limited to object type 13121110-1514-1716-1819-1a1b1c1d1e1f",
        ),
        ("rbcd-generic-mask", "access mask 0x10000000"),
        ("rbcd-unknown-ace-type", "ACE 0: ACE type 0x42"),
    ] {
        let snap =
            ldif_snapshot(&root.join(case).join("input.ldif"), BuildOptions::default()).unwrap();
        assert_eq!(snap.meta.gaps.len(), 1, "{case}: {:#?}", snap.meta.gaps);
        let g = &snap.meta.gaps[0];
        assert_eq!(
            g.what,
            "msDS-AllowedToActOnBehalfOfOtherIdentity of CN=HV03,OU=HV,DC=t,DC=example"
        );
        assert!(g.reason.contains(needle), "{case}: {}", g.reason);
    }
    // Understood descriptors leave the scan complete.
    for case in [
        "rbcd-descriptor-without-dacl",
        "rbcd-allow-then-deny",
        "rbcd-empty-dacl",
    ] {
        let snap =
            ldif_snapshot(&root.join(case).join("input.ldif"), BuildOptions::default()).unwrap();
        assert!(snap.meta.gaps.is_empty(), "{case}: {:#?}", snap.meta.gaps);
    }
}
