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
    assert_eq!(by_status(&r, "passed"), ["HV019"]);
    assert_eq!(check(&r, "HV001")["status"], "failed");
    assert_eq!(check(&r, "HV002")["findings"], 6);
    // Every rule once, failed ones first by severity then count.
    let checks = r["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 22);
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
