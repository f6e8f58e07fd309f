//! The rule catalogue against the Samba fixture directory: what an admin's real directory, set
//! up with samba-tool, produces. The expected findings come from the fixture plan
//! (tests/harness/gen_fixtures.py), written out here.

use std::collections::BTreeMap;

use serde_json::Value;

use super::collect::hvaudit;
use super::samba_dc::TestDc;

const CONFIG: &str = r#"
lm_operators = ["svc-lm"]

[[group]]
name = "a"
name_glob = "HVA*"

[[group]]
name = "b"
name_glob = "HVB*"
"#;

/// Scan the DC (collect + audit + reports) and return findings.json.
fn scan(dc: &TestDc) -> (Option<i32>, Value) {
    let cfg = dc.dir.join("rules-test.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let out = dc.dir.join("rules-scan");
    let o = hvaudit(
        dc,
        &[
            "scan",
            "--server",
            &dc.url,
            "--user",
            &dc.user,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let code = o.status.code();
    assert!(
        out.join("findings.json").exists(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    (code, v)
}

pub fn rules_on_samba_fixtures(dc: &TestDc) {
    let (code, v) = scan(dc);
    assert_eq!(v["complete"], true, "{}", v["gaps"]);
    assert_eq!(code, Some(1), "critical findings, complete scan");
    let findings = v["findings"].as_array().unwrap();

    // PA001 is checked by count below (1,600 bulk members of BigGroup); the rest one by one.
    let mut got: Vec<String> = findings
        .iter()
        .filter(|f| !(f["rule_id"] == "PA001" && f["object"].as_str().unwrap().starts_with("bulk")))
        .map(|f| {
            format!(
                "{} {} {}",
                f["rule_id"].as_str().unwrap(),
                f["object"].as_str().unwrap(),
                f["target"].as_str().unwrap_or("-")
            )
        })
        .collect();
    got.sort();
    let mut expected: Vec<&str> = vec![
        // Group a: HVA01 is the clean reference host.
        "HV002 HVA02 HVA04",
        "HV003 HVA02 HVA04",
        "HV004 HVA03 HVA01",
        "HV004 HVA03 HVA02",
        "HV004 HVA03 HVA04",
        "HV005 HVA04 -",
        "HV010 HVA02 svc-backup",
        // Group b: HVB01 is 2012 R2 with Kerberos-only KCD (no HV005), missing HVB03.
        "HV002 HVB01 HVB03",
        "HV003 HVB01 HVB03",
        "HV002 HVB02 HVB01",
        "HV002 HVB02 HVB03",
        "HV003 HVB02 HVB01",
        "HV003 HVB02 HVB03",
        "HV007 HVB02 http/web01.lab.test",
        "HV008 HVB02 ldap/dc1.lab.test",
        "HV009 HVB02 cifs/OLDHV01",
        "HV009 HVB02 cifs/RETIRED01",
        "HV001 HVB03 -",
        "HV002 HVB03 HVB01",
        "HV002 HVB03 HVB02",
        "HV003 HVB03 HVB01",
        "HV003 HVB03 HVB02",
        // Accounts.
        "HV017 svc-lm -",
        "PA001 Administrator -",
        "PA001 bob.admin -",
        // carol.admin is protected only by Protected Users, which stops delegation only at
        // domain functional level 2012 R2 or later; Samba 4.17 provisions 2008 R2 (4).
        "PA001 carol.admin -",
        "PA001 erin.pg -",
        "PA001 frank.nested -",
        "PA002 stale.admin -",
    ];
    expected.sort();
    assert_eq!(got, expected);

    let bulk = findings
        .iter()
        .filter(|f| f["rule_id"] == "PA001" && f["object"].as_str().unwrap().starts_with("bulk"))
        .count();
    assert_eq!(
        bulk, 1600,
        "every BigGroup member is privileged through nesting"
    );

    // Hosts: found by SPN in any letter case, and HVB03 by its serviceConnectionPoint only.
    let report: Value = v.clone();
    let by_rule: BTreeMap<&str, usize> = findings.iter().fold(BTreeMap::new(), |mut m, f| {
        *m.entry(f["rule_id"].as_str().unwrap()).or_default() += 1;
        m
    });
    assert!(!by_rule.contains_key("SC001"));
    let readiness = report["readiness"].as_array().unwrap();
    let a = readiness.iter().find(|g| g["group"] == "a").unwrap();
    let hosts: Vec<&str> = a["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(hosts, vec!["HVA01", "HVA02", "HVA03", "HVA04"]);
    let b = readiness.iter().find(|g| g["group"] == "b").unwrap();
    assert!(b["hosts"].as_array().unwrap().iter().any(|h| h == "HVB03"));
}
