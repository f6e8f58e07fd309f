//! `hvaudit collect` against the Samba DC: what the snapshot must hold, read the way an admin's
//! directory would be read. Expected values come from the fixture plan in tests/harness, not from
//! hvaudit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::samba_dc::TestDc;

/// Runs the hvaudit binary with the test password in the environment (never in argv).
pub fn hvaudit(dc: &TestDc, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .env("HVAUDIT_PASSWORD", &dc.password)
        .output()
        .expect("run hvaudit")
}

fn out_path(dc: &TestDc, name: &str) -> PathBuf {
    dc.dir.join(name)
}

fn collect_ldaps(dc: &TestDc, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "collect",
        "--server",
        &dc.url,
        "--user",
        &dc.user,
        "--ca-file",
        dc.ca_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = hvaudit(dc, &args);
    assert!(
        o.status.success(),
        "collect failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

fn computer<'a>(s: &'a Value, sam: &str) -> &'a Value {
    s["computers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["sam_account_name"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(sam)
        })
        .unwrap_or_else(|| panic!("{sam} not in snapshot"))
}

fn account_sid(s: &Value, sam: &str) -> String {
    s["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .chain(s["computers"].as_array().unwrap())
        .find(|a| a["sam_account_name"] == sam)
        .unwrap_or_else(|| panic!("{sam} not in snapshot"))["sid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn group_by_rid(s: &Value, rid: u32) -> &Value {
    let want = format!("{}-{rid}", s["domain"]["sid"].as_str().unwrap());
    s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["sid"] == want.as_str())
        .unwrap_or_else(|| panic!("no group with RID {rid}"))
}

fn member<'a>(g: &'a Value, cn: &str) -> Option<&'a Value> {
    let prefix = format!("cn={},", cn.to_ascii_lowercase());
    g["effective_members"].as_array().unwrap().iter().find(|m| {
        m["dn"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
            .starts_with(&prefix)
    })
}

/// Paging, range retrieval, lookup by SID, nesting, primary group, RBCD, SCP, replication
/// metadata: the whole snapshot from one LDAPS collection.
pub fn collect_ldaps_snapshot(dc: &TestDc) {
    let started = chrono::Utc::now() - chrono::Duration::hours(1);
    let s = collect_ldaps(
        dc,
        &out_path(dc, "snap-ldaps.json"),
        &["--page-size", "200", "--range-size", "100"],
    );
    assert_eq!(s["domain"]["dns_name"], "lab.test");
    assert_eq!(s["domain"]["netbios_name"], "LAB");
    assert_eq!(
        s["meta"]["gaps"].as_array().unwrap().len(),
        0,
        "{}",
        s["meta"]["gaps"]
    );
    let dcs: Vec<&str> = s["domain"]["domain_controllers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["sam_account_name"].as_str().unwrap())
        .collect();
    assert_eq!(dcs, vec!["DC1$"]);

    // Paging: 1,100 workstations + named hosts + DC; with 200 a page the main search needs
    // at least (1,111 + 1,600 users) / 200 pages. Samba would return them unpaged, so count
    // the pages hvaudit asked for.
    let computers = s["computers"].as_array().unwrap().len();
    assert!(computers >= 1111, "{computers} computers");
    let main = s["meta"]["reads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["what"].as_str().unwrap().starts_with("accounts"))
        .unwrap();
    let entries = main["entries"].as_u64().unwrap();
    assert!(entries > 2700, "{entries}");
    assert_eq!(main["pages"].as_u64().unwrap(), entries.div_ceil(200));

    // Range retrieval: BigGroup's 1,600 members read 100 at a time (16 ranged reads), all of
    // them effective members of Domain Admins through nesting.
    let ranged = s["meta"]["reads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["what"].as_str().unwrap().contains("CN=BigGroup"))
        .expect("a ranged read of BigGroup");
    assert_eq!(ranged["entries"], 1600);
    assert_eq!(ranged["pages"], 15, "ranges after the first one");
    let da = group_by_rid(&s, 512);
    assert_eq!(da["sam_account_name"], "Domänen-Admins");
    assert_eq!(da["reasons"], serde_json::json!(["privileged"]));
    let bulk = da["effective_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["dn"].as_str().unwrap().starts_with("CN=bulk"))
        .count();
    assert_eq!(bulk, 1600);

    // Three-level nesting and primaryGroupID membership.
    let frank = member(da, "frank.nested").expect("frank.nested in DA");
    // Three nested groups: frank's group, found through another, found through a third.
    let mut depth = 0;
    let mut at = frank.clone();
    while let Some(parent) = at["via_group"].as_str() {
        depth += 1;
        at = da["effective_members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["dn"].as_str().unwrap().eq_ignore_ascii_case(parent))
            .expect("via_group is an effective member")
            .clone();
        assert!(depth <= 3, "{frank}");
    }
    assert_eq!(depth, 3, "{frank}");
    let erin = member(da, "erin.pg").expect("erin.pg in DA");
    assert_eq!(erin["by_primary_group"], true);
    let pu = group_by_rid(&s, 525);
    assert!(member(pu, "carol.admin").is_some());
    assert!(member(pu, "bob.admin").is_none());

    // RBCD on HVA02 names HVA01$ and svc-backup by SID.
    let hva02 = computer(&s, "HVA02$");
    let trustees: Vec<&str> = hva02["rbcd"]["trustees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["sid"].as_str().unwrap())
        .collect();
    assert!(trustees.contains(&account_sid(&s, "HVA01$").as_str()));
    assert!(trustees.contains(&account_sid(&s, "svc-backup").as_str()));

    // SCP-only host, lower-case SPN class kept as written, protocol transition bits.
    assert_eq!(computer(&s, "HVB03$")["hyperv_scp"], true);
    assert_eq!(computer(&s, "HVA01$")["hyperv_scp"], false);
    assert!(
        computer(&s, "HVA04$")["spns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "microsoft virtual system migration service/HVA04")
    );
    let uac = |sam| computer(&s, sam)["uac"].as_u64().unwrap();
    assert_ne!(uac("HVA01$") & 0x1000000, 0);
    assert_eq!(uac("HVA04$") & 0x1000000, 0);
    assert_ne!(uac("HVB03$") & 0x80000, 0);

    // Replication metadata: the delegation was written during provisioning, minutes ago.
    let changed = computer(&s, "HVA01$")["delegation_changed"]
        .as_str()
        .unwrap();
    let changed = chrono::DateTime::parse_from_rfc3339(changed).unwrap();
    assert!(changed > started, "{changed}");
    assert!(computer(&s, "HVA01$")["uac_changed"].is_string());
    assert!(computer(&s, "DC1$")["delegation_changed"].is_null());
}

/// StartTLS on ldap:// gives the same directory.
pub fn collect_starttls(dc: &TestDc) {
    let out = out_path(dc, "snap-starttls.json");
    let o = hvaudit(
        dc,
        &[
            "collect",
            "--server",
            &dc.starttls_url,
            "--user",
            &dc.user,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    assert!(s["computers"].as_array().unwrap().len() >= 1111);
}

/// The same directory exported with ldapsearch and read with --ldif gives the same snapshot.
pub fn ldif_export_agrees_with_ldap(dc: &TestDc) {
    let mut snap = collect_ldaps(dc, &out_path(dc, "snap-agree.json"), &[]);
    let ldif = out_path(dc, "export.ldif");
    let attrs = [
        "objectClass",
        "sAMAccountName",
        "dNSHostName",
        "objectSid",
        "userAccountControl",
        "operatingSystem",
        "operatingSystemVersion",
        "servicePrincipalName",
        "msDS-AllowedToDelegateTo",
        "msDS-AllowedToActOnBehalfOfOtherIdentity",
        "whenChanged",
        "replPropertyMetaData",
        "primaryGroupID",
        "adminCount",
        "member",
        "msDS-Behavior-Version",
        "mS-DS-CreatorSID",
        "nETBIOSName",
        "nCName",
    ];
    let export = |base: &str, filter: &str| {
        let o = Command::new("ldapsearch")
            .args(["-LLL", "-H", &dc.url, "-D", &dc.user, "-y"])
            .arg(dc.password_file())
            .args(["-E", "pr=500/noprompt", "-b", base, filter])
            .args(attrs)
            .env("LDAPTLS_CACERT", &dc.ca_file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let mut text = export(
        &dc.base_dn,
        "(|(objectClass=user)(objectClass=group)(objectClass=foreignSecurityPrincipal)\
         (objectClass=domainDNS)(&(objectClass=serviceConnectionPoint)(cn=Microsoft Hyper-V)))",
    );
    text.extend(export(
        &format!("CN=Partitions,CN=Configuration,{}", dc.base_dn),
        "(&(objectClass=crossRef)(nETBIOSName=*))",
    ));
    std::fs::write(&ldif, text).unwrap();
    let out = out_path(dc, "snap-ldif.json");
    let o = hvaudit(
        dc,
        &[
            "collect",
            "--ldif",
            ldif.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let from_ldif: Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    // The LDAP scan reads each computer's owner from nTSecurityDescriptor (SD-flags: owner and
    // DACL); the README's export carries no descriptor. Every fixture computer has an owner.
    for c in snap["computers"].as_array_mut().unwrap() {
        let owner = c
            .as_object_mut()
            .unwrap()
            .remove("owner_sid")
            .unwrap_or_else(|| panic!("no owner read for {}", c["dn"]));
        assert!(owner.as_str().unwrap().starts_with("S-1-5-"), "{owner}");
    }
    for part in ["domain", "computers", "accounts", "groups"] {
        assert!(
            snap[part] == from_ldif[part],
            "LDAP and LDIF snapshots differ in {part}"
        );
    }
    assert!(snap["computers"].as_array().unwrap().len() >= 1111);
}

/// Bind and TLS failures: one line naming the cause, non-zero exit, no snapshot written.
pub fn collect_failures_are_one_line(dc: &TestDc) {
    let out = out_path(dc, "never.json");
    let run = |args: &[&str], password: &str| {
        Command::new(env!("CARGO_BIN_EXE_hvaudit"))
            .args(args)
            .env("HVAUDIT_PASSWORD", password)
            .output()
            .unwrap()
    };
    let base = |url: &str| -> Vec<String> {
        vec![
            "collect".into(),
            "--server".into(),
            url.into(),
            "--user".into(),
            dc.user.clone(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ]
    };
    let with_ca = |mut v: Vec<String>| {
        v.extend([
            "--ca-file".to_string(),
            dc.ca_file.to_str().unwrap().to_string(),
        ]);
        v
    };

    // (args, password, the cause, the fix)
    let cases: Vec<(Vec<String>, &str, &str, &str)> = vec![
        (
            with_ca(base(&dc.url)),
            "wrong-password",
            "invalidCredentials",
            "wrong user name or password",
        ),
        (
            base(&dc.url),
            &dc.password,
            "UnknownIssuer",
            "not trusted: pass --ca-file",
        ),
        (
            with_ca(base(&format!("ldaps://{}:1", dc.ip))),
            &dc.password,
            "refused",
            "nothing listens there",
        ),
    ];
    for (args, pw, expect, fix) in cases {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&refs, pw);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.contains(expect),
            "{args:?}: expected '{expect}' in: {err}"
        );
        assert!(err.contains(fix), "{args:?}: expected '{fix}' in: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(!err.contains(&dc.password), "password leaked: {err}");
        assert!(!out.exists(), "no snapshot after a failure");
    }
}
