//! findings.json for tools: every finding's stable `id` (the same in the next scan and for a
//! re-ordered directory export, different between findings), typed evidence, `first_seen`
//! with `--previous`, and `--format ndjson`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod common {
    pub mod cli;
}

use common::cli::{hvaudit, root};
use hvaudit::findings::{Finding, Scope, Severity, Status};
use serde_json::Value;

/// Audits `ldif` with the example's inventory and config into `out`; returns findings.json.
fn audit(ldif: &Path, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "audit",
        "--ldif",
        ldif.to_str().unwrap(),
        "--hosts",
        "examples/hosts.csv",
        "--config",
        "examples/hvaudit.toml",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = hvaudit(&args);
    assert!(
        matches!(o.status.code(), Some(0 | 1 | 3)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap()
}

/// `rule|object|target` -> id, for every finding of a report.
fn ids(report: &Value) -> BTreeMap<String, String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let key = format!("{}|{}|{}", f["rule_id"], f["object"], f["target"]);
            (
                key,
                f["id"].as_str().expect("every finding has an id").into(),
            )
        })
        .collect()
}

/// The example LDIF with its entries in reverse order (the directory returns objects in no
/// promised order).
fn reversed_ldif(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/corp.ldif")).unwrap();
    let mut entries: Vec<&str> = text
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .collect();
    entries.reverse();
    let path = dir.join("reversed.ldif");
    std::fs::write(&path, entries.join("\n\n") + "\n").unwrap();
    path
}

#[test]
fn ids_are_stable_across_scans_and_input_order_and_unique() {
    let dir = tempfile::tempdir().unwrap();
    let ldif = root().join("examples/corp.ldif");
    let first = ids(&audit(&ldif, &dir.path().join("a"), &[]));
    let second = ids(&audit(&ldif, &dir.path().join("b"), &[]));
    let reordered = ids(&audit(
        &reversed_ldif(dir.path()),
        &dir.path().join("c"),
        &[],
    ));
    assert!(first.len() > 10, "the example plants many findings");
    assert_eq!(
        first, second,
        "the next scan gives each finding the same id"
    );
    assert_eq!(first, reordered, "a re-ordered export gives the same ids");
    let distinct: BTreeSet<&String> = first.values().collect();
    assert_eq!(
        distinct.len(),
        first.len(),
        "different findings, different ids"
    );
    for id in first.values() {
        assert!(
            id.len() == 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{id}"
        );
    }
}

fn finding(rule: &str, object: &str, dn: Option<&str>, target: Option<&str>) -> Finding {
    Finding {
        rule_id: rule.into(),
        severity: Severity::High,
        title: "t".into(),
        scope: Scope::Host,
        object: object.into(),
        object_dn: dn.map(str::to_string),
        target: target.map(str::to_string),
        group: None,
        message: "m".into(),
        evidence: BTreeMap::new(),
        evidence_lists: BTreeMap::new(),
        remediation: None,
        status: Status::Open,
        suppression: None,
        first_seen: None,
    }
}

#[test]
fn id_follows_rule_object_dn_and_target_only() {
    let base = finding(
        "HV002",
        "HV01",
        Some("CN=HV01,OU=Hyper-V,DC=corp,DC=example"),
        Some("cifs/hv02"),
    );
    // The DN as the directory compares it: case, spaces after commas, escaped characters.
    let respelled = finding(
        "HV002",
        "HV01",
        Some("cn=hv01, ou=hyper-v,DC=Corp,DC=Example"),
        Some("CIFS/HV02"),
    );
    assert_eq!(base.id(), respelled.id());
    let mut reworded = base.clone();
    reworded.message = "another message".into();
    reworded.severity = Severity::Low;
    reworded.evidence.insert("x".into(), "1".into());
    assert_eq!(
        base.id(),
        reworded.id(),
        "message, severity and evidence are not identity"
    );
    for other in [
        finding(
            "HV003",
            "HV01",
            base.object_dn.as_deref(),
            Some("cifs/hv02"),
        ),
        finding(
            "HV002",
            "HV01",
            Some("CN=HV01,OU=Other,DC=corp,DC=example"),
            Some("cifs/hv02"),
        ),
        finding(
            "HV002",
            "HV01",
            base.object_dn.as_deref(),
            Some("cifs/hv03"),
        ),
        finding("HV002", "HV01", base.object_dn.as_deref(), None),
        finding("HV002", "HV01", None, Some("cifs/hv02")),
    ] {
        assert_ne!(base.id(), other.id(), "{other:?}");
    }
    // Without a DN the name is the key, case-insensitively.
    assert_eq!(
        finding("SC001", "corp.example", None, None).id(),
        finding("SC001", "CORP.example", None, None).id()
    );
}

#[test]
fn evidence_is_typed_in_json_and_reads_back() {
    let mut f = finding("HV005", "HV01", None, None);
    for (k, v) in [
        ("bool", "true"),
        ("ps_bool", "False"),
        ("int", "17305600"),
        ("negative", "-5"),
        ("leading_zero", "007"),
        ("plus", "+1"),
        ("hex", "0x1000000"),
        ("huge", "99999999999999999999"),
        ("text", "4096 (WORKSTATION_TRUST_ACCOUNT)"),
        ("empty", ""),
    ] {
        f.evidence.insert(k.into(), v.into());
    }
    let v = serde_json::to_value(&f).unwrap();
    let ev = &v["evidence"];
    assert_eq!(ev["bool"], Value::Bool(true));
    assert_eq!(ev["ps_bool"], Value::Bool(false));
    assert_eq!(ev["int"], Value::from(17305600));
    assert_eq!(ev["negative"], Value::from(-5));
    for k in ["leading_zero", "plus", "hex", "huge", "text", "empty"] {
        assert!(ev[k].is_string(), "{k} stays text: {}", ev[k]);
    }
    assert_eq!(v["id"], Value::String(f.id()));
    assert!(
        v.get("first_seen").is_none(),
        "no first_seen without --previous"
    );
    let back: Finding = serde_json::from_value(v).unwrap();
    let mut expected = f.evidence.clone();
    expected.insert("ps_bool".into(), "false".into());
    assert_eq!(back.evidence, expected);
}

#[test]
fn first_seen_is_carried_by_id_else_this_scan() {
    let dir = tempfile::tempdir().unwrap();
    let ldif = root().join("examples/corp.ldif");
    let first = audit(&ldif, &dir.path().join("a"), &[]);
    assert!(
        first["findings"][0].get("first_seen").is_none(),
        "no first_seen without --previous"
    );
    // The previous report: one finding first seen long ago, one with no first_seen (an older
    // report: its scan time counts), one removed (new in the next scan).
    let mut prev = first.clone();
    let list = prev["findings"].as_array_mut().unwrap();
    list[0]["first_seen"] = Value::String("2020-01-02T03:04:05Z".into());
    let removed = list.remove(2);
    // Shuffle what is left: matching is by id, not position.
    list.reverse();
    prev["meta"]["collected_at"] = Value::String("2024-05-06T07:08:09Z".into());
    let prev_path = dir.path().join("prev.json");
    std::fs::write(&prev_path, serde_json::to_vec(&prev).unwrap()).unwrap();

    let next = audit(
        &ldif,
        &dir.path().join("b"),
        &["--previous", prev_path.to_str().unwrap()],
    );
    let now = next["meta"]["collected_at"].as_str().unwrap();
    let by_id: BTreeMap<&str, &Value> = next["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), &f["first_seen"]))
        .collect();
    let id = |f: &Value| f["id"].as_str().unwrap().to_string();
    assert_eq!(
        by_id[id(&first["findings"][0]).as_str()],
        "2020-01-02T03:04:05Z"
    );
    assert_eq!(
        by_id[id(&first["findings"][1]).as_str()],
        "2024-05-06T07:08:09Z"
    );
    assert_eq!(by_id[id(&removed).as_str()].as_str(), Some(now));
    let statuses: Vec<&str> = next["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == removed["id"])
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["open"], "the removed one is new again");
}

#[test]
fn ndjson_writes_one_finding_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let ldif = root().join("examples/corp.ldif");
    let out = dir.path().join("o");
    let report = audit(&ldif, &out, &["--format", "json,ndjson"]);
    let text = std::fs::read_to_string(out.join("findings.ndjson")).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line one JSON object"))
        .collect();
    assert_eq!(lines, *report["findings"].as_array().unwrap());
    assert!(
        !out.join("report.html").exists(),
        "only the formats asked for"
    );
}
