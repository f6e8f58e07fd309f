//! The first screen of the reports on the bundled example: which rules passed, which could not
//! be evaluated and why (the `checks` section), the summary per category and the fix-first
//! list, as findings.json gives them.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `hvaudit audit` of the example with `extra` arguments; the parsed findings.json.
fn report(extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["audit", "--ldif", "examples/corp.ldif", "--format", "json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", dir.path().to_str().unwrap()]);
    let o = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .current_dir(root())
        .args(&args)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(1 | 3)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(dir.path().join("findings.json")).unwrap()).unwrap()
}

fn by_status(r: &Value, status: &str) -> Vec<String> {
    r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| c["rule_id"].as_str().unwrap().to_string())
        .collect()
}

fn check<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule_id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

#[test]
fn without_inventory_the_inventory_rules_are_not_evaluated() {
    let r = report(&["--config", "examples/hvaudit.toml"]);
    let mut ne = by_status(&r, "not_evaluated");
    ne.sort();
    assert_eq!(ne, ["HV011", "HV012", "HV013", "HV014", "HV015", "HV016"]);
    assert!(
        check(&r, "HV012")["reason"]
            .as_str()
            .unwrap()
            .contains("needs the host inventory (--hosts)")
    );
    // SC001 reads the directory's gaps as well: evaluated (and passed) without an inventory.
    assert_eq!(check(&r, "SC001")["status"], "passed");
    assert_eq!(check(&r, "HV018")["status"], "passed");
    assert_eq!(
        check(&r, "HV018")["checked"],
        "230 delegation values on Hyper-V hosts"
    );
    assert!(check(&r, "HV018").get("reason").is_none());
}

#[test]
fn with_inventory_every_rule_is_evaluated_and_disabled_ones_say_so() {
    let r = report(&[
        "--hosts",
        "examples/hosts.csv",
        "--config",
        "tests/fixtures/report/disable-hv018.toml",
    ]);
    assert_eq!(by_status(&r, "not_evaluated"), ["HV018"]);
    assert!(
        check(&r, "HV018")["reason"]
            .as_str()
            .unwrap()
            .contains("disabled in the configuration")
    );
    assert_eq!(by_status(&r, "passed"), ["HV020", "HV019", "HV021"]);
    assert_eq!(check(&r, "HV001")["status"], "failed");
    assert_eq!(check(&r, "HV002")["findings"], 6);
    // Every rule once, failed ones first by severity then count.
    let checks = r["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 24);
    let failed: Vec<&str> = checks
        .iter()
        .take_while(|c| c["status"] == "failed")
        .map(|c| c["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(&failed[..3], ["HV001", "HV008", "PA001"]);
    // Summary per category: worst severity and count.
    let cats = r["summary"]["by_category"].as_array().unwrap();
    assert_eq!(cats.len(), 5);
    assert_eq!(cats[0]["category"], "delegation_hygiene");
    assert_eq!(cats[0]["worst"], "critical");
    assert_eq!(cats[3]["category"], "host_settings");
    assert_eq!(cats[3]["worst"], "high");
    // Fix first: critical ones, then the high finding that unblocks most pairs.
    let ff = r["fix_first"].as_array().unwrap();
    assert_eq!(ff[0]["rule_id"], "HV001");
    assert_eq!(ff[0]["exposes"], 4);
    assert_eq!(ff[2]["rule_id"], "HV005");
    assert_eq!(ff[2]["unblocks"], 5);
    let first_medium = ff.iter().find(|x| x["severity"] == "medium").unwrap();
    assert_eq!(first_medium["rule_id"], "HV016");
    assert_eq!(first_medium["unblocks"], 10);
}

/// The hosts view of the example, from findings.json and hosts.csv: the same rows.
#[test]
fn hosts_view_of_the_example() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .current_dir(root())
        .args([
            "audit",
            "--ldif",
            "examples/corp.ldif",
            "--hosts",
            "examples/hosts.csv",
            "--config",
            "examples/hvaudit.toml",
            "--format",
            "csv,json",
            "--out",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let r: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("findings.json")).unwrap()).unwrap();
    let hosts = r["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 12);
    let h = |name: &str| hosts.iter().find(|h| h["name"] == name).unwrap();
    // HVL06 delegates to none of its 5 peers (HV002 x5, HV013).
    assert_eq!(
        (
            h("HVL06")["peers_covered"].as_u64(),
            h("HVL06")["peers"].as_u64()
        ),
        (Some(0), Some(5))
    );
    assert_eq!(h("HVL06")["findings"]["medium"], 6);
    // HVP05/HVP06 share a cluster: 4 peers need delegation.
    assert_eq!(h("HVP06")["peers"], 4);
    assert_eq!(h("HVP06")["cluster"], "CLPROD1");
    // Inventory: HVL04 unreachable, HVL02 without a row; unknown settings are null.
    assert_eq!(h("HVL04")["inventory"], "error");
    assert_eq!(h("HVL04")["authentication_type"], Value::Null);
    assert_eq!(h("HVL02")["inventory"], "missing");
    assert_eq!(h("HVP02")["authentication_type"], "CredSSP");
    assert_eq!(h("HVP02")["credential_guard"], true);
    assert_eq!(h("HVL05")["migration_enabled"], false);
    assert_eq!(h("HVL02")["protocol_transition"], false);
    assert_eq!(h("HVP01")["can_migrate_to"], 5);
    assert_eq!(h("HVL05")["can_migrate_to"], 0);
    assert_eq!(h("HVL05")["blocked_to"], 5);

    let csv = std::fs::read_to_string(dir.path().join("hosts.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.len(), 28);
    let col = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let hvp06: Vec<&str> = lines
        .clone()
        .find(|l| l.starts_with("HVP06,"))
        .unwrap()
        .split(',')
        .collect();
    // The delegation changed after the last boot (HV014): a reboot is pending.
    assert_eq!(hvp06[col("reboot_pending")], "true");
    assert_eq!(hvp06[col("delegation_changed")], "2026-11-16T15:47:11Z");
    let hvl04: Vec<&str> = lines
        .find(|l| l.starts_with("HVL04,"))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(hvl04[col("inventory")], "error");
    assert_eq!(hvl04[col("authentication_type")], "");
    assert_eq!(hvl04[col("reboot_pending")], "");
    assert!(csv.contains("\r\n"), "RFC 4180 line ends");
}
