//! One fixture per rule: a case where it fires and one where it must not, with the expected
//! findings (rule, object, target) written out here.

mod rules_support;

use hvaudit::config::Config;
use hvaudit::findings::ReadinessState;
use hvaudit::inventory::MigrationAuth;
use hvaudit::model::uac::{NOT_DELEGATED, TRUSTED_FOR_DELEGATION, TRUSTED_TO_AUTH_FOR_DELEGATION};
use rules_support::*;

/// Two 2022 hosts with protocol transition and full KCD both ways: nothing to report.
fn clean() -> Fx {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.mesh(&["HVA01", "HVA02"]);
    fx
}

#[test]
fn clean_pair_has_no_findings_and_is_ready() {
    let out = clean().audit(&Config::default(), None);
    assert_eq!(keys(&out), vec![]);
    assert!(out.complete);
    assert_eq!(out.readiness.len(), 1);
    let g = &out.readiness[0];
    assert_eq!(g.group, "all");
    assert_eq!(g.hosts, vec!["HVA01", "HVA02"]);
    assert_eq!(g.cells.len(), 2);
    // Nothing blocks; without an inventory the host settings are unknown, so not "ready".
    assert!(g.cells.iter().all(|c| c.state == ReadinessState::Unknown
        && !c.same_cluster
        && c.blocking_rules.is_empty()
        && c.unknown.iter().any(|u| u.contains("no host inventory"))));
    // With every host's settings known, the pair is ready under both name forms.
    let inv = inventory(vec![
        inv_row("HVA01", MigrationAuth::Kerberos),
        inv_row("HVA02", MigrationAuth::Kerberos),
    ]);
    let known = clean().audit(&Config::default(), Some(&inv));
    assert!(known.readiness[0].cells.iter().all(|c| c.ready
        && c.state == ReadinessState::Ready
        && c.ready_forms == vec!["netbios", "fqdn"]
        && c.unknown.is_empty()));
    let names: Vec<_> = out.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, vec!["HVA01", "HVA02"]);
    assert_eq!(out.hosts[0].os_generation, "2022");
    assert_eq!(
        out.hosts[0].reasons,
        vec![
            "SPN Microsoft Virtual System Migration Service/HVA01",
            "SPN Microsoft Virtual Console Service/HVA01"
        ]
    );
}

#[test]
fn hv001_unconstrained_on_host_not_on_dc() {
    let mut fx = clean();
    fx.comp("HVA01").uac.0 |= TRUSTED_FOR_DELEGATION;
    // A DC that is also a Hyper-V host keeps its unconstrained delegation without a finding.
    fx.comp("DC01").spns.push(format!("{MIG}/DC01"));
    let out = fx.audit(
        &cfg("[[group]]\nname = \"a\"\nhosts = [\"HVA01\", \"HVA02\"]\n"),
        None,
    );
    assert_eq!(keys(&out), vec![k("HV001", "HVA01", None)]);
    let f = &out.findings[0];
    assert_eq!(f.severity.as_str(), "critical");
    assert_eq!(
        f.remediation.as_deref(),
        Some(
            "# Replace unconstrained delegation on HVA01 with constrained delegation (see HV002/HV003), then restart the host.\n\
             Set-ADAccountControl -Identity 'CN=HVA01,OU=HyperV,OU=Servers,DC=corp,DC=example' -TrustedForDelegation $false"
        )
    );
    assert_eq!(
        f.evidence["userAccountControl"],
        "17305600 (WORKSTATION_TRUST_ACCOUNT, TRUSTED_FOR_DELEGATION, TRUSTED_TO_AUTH_FOR_DELEGATION)"
    );
    assert_eq!(f.group.as_deref(), Some("a"));
}

#[test]
fn hv002_missing_migration_delegation_one_per_pair() {
    let mut fx = clean();
    fx.comp("HVA01")
        .allowed_to_delegate_to
        .retain(|s| !s.starts_with(MIG));
    // Both hosts confirmed by the configuration: the script may grant delegation between them.
    let out = fx.audit(&cfg("extra_hyperv_hosts = [\"HVA01\", \"HVA02\"]\n"), None);
    assert_eq!(keys(&out), vec![k("HV002", "HVA01", Some("HVA02"))]);
    assert_eq!(
        out.findings[0].remediation.as_deref(),
        Some(
            "$have = @((Get-ADObject -Identity 'CN=HVA01,OU=HyperV,OU=Servers,DC=corp,DC=example' -Properties 'msDS-AllowedToDelegateTo').'msDS-AllowedToDelegateTo')\n\
             $add = @(@('Microsoft Virtual System Migration Service/HVA02', 'Microsoft Virtual System Migration Service/hva02.corp.example') | Where-Object { $have -notcontains $_ })\n\
             if ($add.Count -gt 0) { Set-ADObject -Identity 'CN=HVA01,OU=HyperV,OU=Servers,DC=corp,DC=example' -Add @{'msDS-AllowedToDelegateTo'=[string[]]$add} }\n\
             # Takes effect after HVA01 restarts."
        )
    );
    let cells = &out.readiness[0].cells;
    let a_to_b = cells.iter().find(|c| c.from == "HVA01").unwrap();
    assert_eq!(a_to_b.state, ReadinessState::Blocked);
    assert_eq!(a_to_b.blocking_rules, vec!["HV002"]);
    assert_eq!(
        cells.iter().find(|c| c.from == "HVA02").unwrap().state,
        ReadinessState::Unknown,
        "not blocked; host settings unknown without an inventory"
    );
}

#[test]
fn hv002_hv003_not_between_hosts_of_one_cluster() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    let out = fx.audit(
        &cfg("[[cluster]]\nname = \"CLA\"\nmembers = [\"HVA01\", \"hva02.corp.example\"]\n"),
        None,
    );
    assert_eq!(keys(&out), vec![]);
    assert!(
        out.readiness[0]
            .cells
            .iter()
            .all(|c| c.ready && c.same_cluster)
    );
}

#[test]
fn hv002_class_in_other_letter_case_counts() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.delegate(
        "HVA01",
        &[
            "MICROSOFT VIRTUAL SYSTEM MIGRATION SERVICE/hva02",
            "microsoft virtual system migration service/HVA02.CORP.EXAMPLE",
            "CIFS/Hva02",
            "Cifs/hva02.corp.example",
        ],
    );
    fx.kcd_full("HVA02", "HVA01");
    let out = fx.audit(&Config::default(), None);
    assert_eq!(keys(&out), vec![]);
}

#[test]
fn rbcd_naming_same_group_hosts_satisfies_hv002_hv003_hv005() {
    let mut fx = Fx::new();
    // No protocol transition and no KCD from HVA01: the RBCD on HVA02 covers the pair.
    fx.hv("HVA01", BUILD_2022, false);
    fx.hv("HVA02", BUILD_2022, true);
    fx.kcd_full("HVA02", "HVA01");
    let a = fx.csid("HVA01");
    fx.rbcd("HVA02", &[a]);
    let out = fx.audit(&Config::default(), None);
    assert_eq!(keys(&out), vec![]);
    assert!(
        out.readiness[0]
            .cells
            .iter()
            .all(|c| c.state == ReadinessState::Unknown && c.blocking_rules.is_empty())
    );
}

#[test]
fn hv003_missing_cifs_of_peer_and_storage() {
    let mut fx = clean();
    fx.computer("SOFS01");
    fx.comp("HVA02")
        .allowed_to_delegate_to
        .retain(|s| !s.starts_with("cifs/"));
    fx.delegate("HVA01", &["cifs/SOFS01", "cifs/sofs01.corp.example"]);
    let out = fx.audit(
        &cfg("[[group]]\nname = \"a\"\nname_glob = \"hva*\"\nstorage = [\"SOFS01\"]\n"),
        None,
    );
    assert_eq!(
        keys(&out),
        vec![
            k("HV003", "HVA02", Some("HVA01")),
            k("HV003", "HVA02", Some("SOFS01")),
        ]
    );
    let storage = out
        .findings
        .iter()
        .find(|f| f.target.as_deref() == Some("SOFS01"))
        .unwrap();
    assert_eq!(
        storage.message,
        "HVA02 cannot delegate to cifs on storage server SOFS01 of group a: live migration of virtual machines stored on it fails."
    );
    // The storage gap blocks every migration from HVA02.
    let cell = out.readiness[0]
        .cells
        .iter()
        .find(|c| c.from == "HVA02")
        .unwrap();
    assert_eq!(cell.blocking_rules, vec!["HV003", "HV003"]);
    assert!(
        out.readiness[0]
            .cells
            .iter()
            .find(|c| c.from == "HVA01")
            .unwrap()
            .blocking_rules
            .is_empty()
    );
}

#[test]
fn hv004_one_name_form_only() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.delegate(
        "HVA01",
        &[
            &format!("{MIG}/hva02.corp.example"),
            "cifs/HVA02",
            "cifs/hva02.corp.example",
        ],
    );
    fx.kcd_full("HVA02", "HVA01");
    let out = fx.audit(&Config::default(), None);
    assert_eq!(keys(&out), vec![k("HV004", "HVA01", Some("HVA02"))]);
    assert_eq!(
        out.findings[0].evidence["missing"],
        "Microsoft Virtual System Migration Service/HVA02"
    );
    // Addressed by FQDN the pair works; by NetBIOS name HV004 blocks it. Host settings are
    // unknown without an inventory, so the FQDN form is unknown, not ready.
    let inv = inventory(vec![
        inv_row("HVA01", MigrationAuth::Kerberos),
        inv_row("HVA02", MigrationAuth::Kerberos),
    ]);
    let known = fx.audit(&Config::default(), Some(&inv));
    let cell = known.readiness[0]
        .cells
        .iter()
        .find(|c| c.from == "HVA01")
        .unwrap();
    assert_eq!(cell.state, ReadinessState::Ready);
    assert_eq!(cell.ready_forms, vec!["fqdn"]);
    let netbios = cell.forms.iter().find(|f| f.form == "netbios").unwrap();
    assert_eq!(netbios.state, ReadinessState::Blocked);
    assert_eq!(netbios.blocking_rules, vec!["HV004"]);
    let cell = out.readiness[0]
        .cells
        .iter()
        .find(|c| c.from == "HVA01")
        .unwrap();
    assert_eq!(cell.state, ReadinessState::Unknown);
    let states: Vec<_> = cell
        .forms
        .iter()
        .map(|f| (f.form.as_str(), f.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("netbios", ReadinessState::Blocked),
            ("fqdn", ReadinessState::Unknown)
        ]
    );
}

#[test]
fn hv005_kerberos_only_on_2016_plus_not_on_2012r2() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, false);
    fx.hv("HVA02", BUILD_2022, true);
    fx.hv("HVOLD", BUILD_2012R2, false);
    fx.mesh(&["HVA01", "HVA02", "HVOLD"]);
    let out = fx.audit(&Config::default(), None);
    assert_eq!(keys(&out), vec![k("HV005", "HVA01", None)]);
    assert_eq!(out.findings[0].evidence["kcd_only_targets"], "HVA02, HVOLD");
    let blocked: Vec<_> = out.readiness[0]
        .cells
        .iter()
        .filter(|c| c.state == ReadinessState::Blocked)
        .map(|c| (c.from.as_str(), c.to.as_str()))
        .collect();
    assert_eq!(blocked, vec![("HVA01", "HVA02"), ("HVA01", "HVOLD")]);
}

#[test]
fn hv006_protocol_transition_on_2012r2_only() {
    let mut fx = Fx::new();
    fx.hv("HVOLD", BUILD_2012R2, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.mesh(&["HVOLD", "HVA02"]);
    let out = fx.audit(&Config::default(), None);
    assert_eq!(keys(&out), vec![k("HV006", "HVOLD", None)]);
}

#[test]
fn hv006_unknown_build_is_never_guessed() {
    let mut fx = clean();
    fx.comp("HVA01").operating_system_version = None;
    fx.comp("HVA01").uac.0 &= !TRUSTED_TO_AUTH_FOR_DELEGATION;
    let out = fx.audit(&Config::default(), None);
    // Neither HV005 (would need 2016+) nor HV006 (would need pre-2016).
    assert_eq!(keys(&out), vec![]);
    assert_eq!(out.hosts[0].os_generation, "unknown");
}

#[test]
fn hv007_hv008_hv009_classify_entries() {
    let mut fx = clean();
    fx.computer("WEB01");
    fx.computer("OLD01");
    fx.comp("OLD01").uac.0 |= 0x2;
    fx.delegate(
        "HVA01",
        &[
            "http/web01.corp.example",
            "cifs/dc01.corp.example",
            "LDAP/anything.corp.example",
            "cifs/gone01",
            "cifs/OLD01",
        ],
    );
    // Not a Hyper-V host: the HV entry rules do not look at it.
    fx.user("svc-sql");
    fx.acct("svc-sql").allowed_to_delegate_to = vec!["ldap/dc01.corp.example".into()];
    let out = fx.audit(&Config::default(), None);
    assert_eq!(
        keys(&out),
        vec![
            k("HV008", "HVA01", Some("cifs/dc01.corp.example")),
            k("HV008", "HVA01", Some("LDAP/anything.corp.example")),
            k("HV007", "HVA01", Some("http/web01.corp.example")),
            k("HV009", "HVA01", Some("cifs/gone01")),
            k("HV009", "HVA01", Some("cifs/OLD01")),
        ]
    );
    let f = out.findings.iter().find(|f| f.rule_id == "HV007").unwrap();
    assert_eq!(
        f.remediation.as_deref(),
        Some(
            "$have = @((Get-ADObject -Identity 'CN=HVA01,OU=HyperV,OU=Servers,DC=corp,DC=example' -Properties 'msDS-AllowedToDelegateTo').'msDS-AllowedToDelegateTo')\n\
             if ($have -contains 'http/web01.corp.example') { Set-ADObject -Identity 'CN=HVA01,OU=HyperV,OU=Servers,DC=corp,DC=example' -Remove @{'msDS-AllowedToDelegateTo'='http/web01.corp.example'} }"
        )
    );
    let stale = out
        .findings
        .iter()
        .find(|f| f.target.as_deref() == Some("cifs/OLD01"))
        .unwrap();
    assert_eq!(
        stale.message,
        "HVA01 delegates to cifs/OLD01, whose account OLD01 is disabled."
    );
}

#[test]
fn hv010_rbcd_trusting_more_than_the_group() {
    let mut fx = clean();
    fx.hv("HVB01", BUILD_2022, true);
    fx.mesh(&["HVA01", "HVA02", "HVB01"]);
    fx.user("eve");
    let eve = fx.acct("eve").sid.clone().unwrap();
    let a1 = fx.csid("HVA01");
    // HVA02: a same-group host and a user. HVB01 (other group): HVA01.
    fx.rbcd("HVA02", &[a1.clone(), eve]);
    fx.rbcd("HVB01", std::slice::from_ref(&a1));
    // HVA01: a group whose only member is HVA02 (same group) -> fine once expanded.
    let g = fx.group("HV-A-Hosts");
    fx.member(&g, "HVA02", &[], false);
    fx.rbcd("HVA01", &[g]);
    let out = fx.audit(
        &cfg("[[group]]\nname = \"a\"\nname_glob = \"HVA*\"\n[[group]]\nname = \"b\"\nhosts = [\"HVB01\"]\n"),
        None,
    );
    assert_eq!(
        keys(&out),
        vec![
            k("HV010", "HVA02", Some("eve")),
            k("HV010", "HVB01", Some("HVA01"))
        ]
    );
    assert_eq!(out.findings[0].evidence["other_trustees"], "eve");
    assert_eq!(out.findings[1].evidence["other_trustees"], "HVA01");
}

#[test]
fn hv010_everyone_is_broad() {
    let mut fx = clean();
    fx.rbcd("HVA02", &[hvaudit::model::Sid::parse("S-1-1-0").unwrap()]);
    let out = fx.audit(&Config::default(), None);
    assert_eq!(keys(&out), vec![k("HV010", "HVA02", Some("S-1-1-0"))]);
    assert!(
        out.findings[0].message.contains("S-1-1-0 (well_known)"),
        "{}",
        out.findings[0].message
    );
}

#[test]
fn hv011_hv012_credssp() {
    let fx = clean();
    let mut a = inv_row("HVA01", MigrationAuth::CredSSP);
    a.credential_guard_running = Some(true);
    let b = inv_row("hva02.corp.example", MigrationAuth::CredSSP);
    let inv = inventory(vec![a, b]);
    let out = fx.audit(&Config::default(), Some(&inv));
    assert_eq!(
        keys(&out),
        vec![
            k("HV012", "HVA01", None),
            k("HV011", "HVA01", None),
            k("HV011", "HVA02", None),
        ]
    );
    assert_eq!(
        out.findings[0].remediation.as_deref(),
        Some(
            "# Configure constrained delegation first (HV002/HV003), then:\nInvoke-Command -ComputerName 'hva01.corp.example' -ScriptBlock { Set-VMHost -VirtualMachineMigrationAuthenticationType Kerberos }"
        )
    );
    // Credential Guard with Kerberos is fine.
    let mut a = inv_row("HVA01", MigrationAuth::Kerberos);
    a.credential_guard_running = Some(true);
    let inv = inventory(vec![a, inv_row("HVA02", MigrationAuth::Kerberos)]);
    assert_eq!(keys(&fx.audit(&Config::default(), Some(&inv))), vec![]);
}

#[test]
fn hv013_kerberos_without_any_migration_delegation() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.kcd_full("HVA02", "HVA01");
    let inv = inventory(vec![
        inv_row("HVA01", MigrationAuth::Kerberos),
        inv_row("HVA02", MigrationAuth::Kerberos),
    ]);
    let out = fx.audit(&Config::default(), Some(&inv));
    assert_eq!(
        keys(&out),
        vec![
            k("HV002", "HVA01", Some("HVA02")),
            k("HV003", "HVA01", Some("HVA02")),
            k("HV013", "HVA01", None),
        ]
    );
}

#[test]
fn hv014_delegation_changed_after_last_boot() {
    let mut fx = clean();
    fx.comp("HVA01").delegation_changed = Some(t(2025, 5, 20, 9));
    fx.comp("HVA02").delegation_changed = Some(t(2025, 4, 20, 9));
    fx.comp("HVA02").uac_changed = Some(t(2025, 4, 30, 9));
    let inv = inventory(vec![
        inv_row("HVA01", MigrationAuth::Kerberos),
        inv_row("HVA02", MigrationAuth::Kerberos),
    ]);
    let out = fx.audit(&Config::default(), Some(&inv));
    assert_eq!(keys(&out), vec![k("HV014", "HVA01", None)]);
    assert_eq!(
        out.findings[0].message,
        "HVA01 last booted at 2025-05-01T00:00:00Z, before its delegation changed (msDS-AllowedToDelegateTo at 2025-05-20T09:00:00Z): the change takes effect only after a restart."
    );
}

#[test]
fn hv015_and_sc001_coverage_gaps() {
    let fx = clean();
    let mut err = inv_row("HVA01", MigrationAuth::Kerberos);
    err.error = Some("WinRM cannot complete the operation".into());
    err.authentication_type = None;
    let inv = inventory(vec![err, inv_row("HVZ99", MigrationAuth::Kerberos)]);
    let out = fx.audit(&Config::default(), Some(&inv));
    assert_eq!(
        keys(&out),
        vec![
            k("SC001", "corp.example", None),
            // HVA01 is confirmed by its inventory row; HVA02 only claims to be a host.
            k("HV021", "HVA02", None),
            k("HV015", "HVA01", None),
            k("HV015", "HVA02", None),
            k("HV015", "HVZ99", None),
        ]
    );
    assert!(!out.complete);
    let msgs: Vec<_> = out.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        msgs[2],
        "HVA01 could not be read by the inventory collector: WinRM cannot complete the operation"
    );
    assert_eq!(
        msgs[3],
        "HVA02 is a Hyper-V host in the directory but missing from the host inventory: its migration settings were not checked."
    );
    assert_eq!(
        msgs[4],
        "HVZ99 is in the host inventory but no computer account in the directory matches it."
    );
    // A complete inventory: nothing.
    let inv = inventory(vec![
        inv_row("HVA01", MigrationAuth::Kerberos),
        inv_row("HVA02", MigrationAuth::Kerberos),
    ]);
    let out = fx.audit(&Config::default(), Some(&inv));
    assert_eq!(keys(&out), vec![]);
    assert!(out.complete);
}

#[test]
fn sc001_directory_gap() {
    let mut fx = clean();
    fx.gap("msDS-AllowedToActOnBehalfOfOtherIdentity of CN=HVA01");
    let out = fx.audit(&Config::default(), None);
    assert_eq!(keys(&out), vec![k("SC001", "corp.example", None)]);
    assert_eq!(
        out.findings[0].message,
        "The scan is incomplete: 1 read(s) failed (msDS-AllowedToActOnBehalfOfOtherIdentity of CN=HVA01: insufficient access rights). Its findings cannot prove compliance."
    );
    assert!(!out.complete);
}

#[test]
fn hv016_migration_disabled_only_for_grouped_hosts() {
    let mut fx = clean();
    fx.hv("HVX01", BUILD_2022, true);
    let mut a = inv_row("HVA01", MigrationAuth::Kerberos);
    a.migration_enabled = Some(false);
    let mut x = inv_row("HVX01", MigrationAuth::Kerberos);
    x.migration_enabled = Some(false);
    let inv = inventory(vec![a, inv_row("HVA02", MigrationAuth::Kerberos), x]);
    let out = fx.audit(&cfg("[[group]]\nname = \"a\"\nou = \"OU=HyperV,OU=Servers,DC=corp,DC=example\"\nname_glob = \"HVA*\"\n"), Some(&inv));
    // HVX01 is in the OU too: give it no group by a narrower config below.
    assert_eq!(keys(&out).iter().filter(|x| x.0 == "HV016").count(), 2);
    let out = fx.audit(
        &cfg("[[group]]\nname = \"a\"\nname_glob = \"HVA*\"\n"),
        Some(&inv),
    );
    assert_eq!(keys(&out), vec![k("HV016", "HVA01", None)]);
    assert!(
        out.notes
            .contains(&"HVX01 matches no configured [[group]]".to_string())
    );
    assert!(
        out.readiness[0]
            .cells
            .iter()
            .all(|c| !c.ready && c.blocking_rules == vec!["HV016"])
    );
}

#[test]
fn hv017_operator_that_cannot_be_delegated() {
    let mut fx = clean();
    fx.user("svc-lm");
    fx.user("svc-lm2");
    fx.user("svc-ok");
    fx.acct("svc-lm").uac.0 |= NOT_DELEGATED;
    fx.member(&sid(525), "svc-lm2", &[], false);
    let out = fx.audit(
        &cfg("lm_operators = [\"SVC-LM\", \"svc-lm2\", \"svc-ok\"]\n"),
        None,
    );
    assert_eq!(
        keys(&out),
        vec![k("HV017", "svc-lm", None), k("HV017", "svc-lm2", None)]
    );
    // Not an operator: NOT_DELEGATED is simply good hygiene.
    assert_eq!(keys(&fx.audit(&Config::default(), None)), vec![]);
}

#[test]
fn pa001_privileged_accounts_found_by_sid_with_traps() {
    let mut fx = Fx::new();
    let da = sid(512);
    for u in ["alice", "bob", "carol", "dave", "erin", "frank", "grace"] {
        fx.user(u);
    }
    fx.user_with_sid("Administrator", sid(500));
    fx.user_with_sid("krbtgt", sid(502));
    fx.acct("krbtgt").admin_count = Some(1);
    fx.disable("krbtgt");
    fx.member(&da, "alice", &[], false);
    // primaryGroupID 512, listed by the collector as such.
    fx.acct("bob").primary_group_id = Some(512);
    fx.member(&da, "bob", &[], true);
    // Three levels of nesting.
    fx.member(
        &da,
        "carol",
        &["Tier0", "Tier0-Ops", "Tier0-Ops-Leaf"],
        false,
    );
    // Protected Users member: no PA001.
    fx.member(&da, "dave", &[], false);
    fx.member(&sid(525), "dave", &[], false);
    // Disabled: no PA001.
    fx.member(&da, "erin", &[], false);
    fx.disable("erin");
    // primaryGroupID 512 that the collector did not list: still privileged.
    fx.acct("frank").primary_group_id = Some(512);
    // NOT_DELEGATED: no PA001.
    fx.member(&da, "grace", &[], false);
    fx.acct("grace").uac.0 |= NOT_DELEGATED;
    // A computer in Domain Admins is not an account finding.
    fx.computer("SRV01");
    fx.member(&da, "SRV01", &[], false);
    // Backup Operators (builtin, by SID).
    let bo = hvaudit::model::Sid::parse("S-1-5-32-551").unwrap();
    fx.group_with_sid("Sicherungs-Operatoren", bo.clone());
    fx.user("henry");
    fx.member(&bo, "henry", &[], false);

    let out = fx.audit(&Config::default(), None);
    assert_eq!(
        keys(&out),
        vec![
            k("PA001", "Administrator", None),
            k("PA001", "alice", None),
            k("PA001", "bob", None),
            k("PA001", "carol", None),
            k("PA001", "frank", None),
            k("PA001", "henry", None),
        ]
    );
    let ev = |name: &str| {
        out.findings
            .iter()
            .find(|f| f.object == name)
            .unwrap()
            .evidence["privileged_via"]
            .clone()
    };
    assert_eq!(ev("Administrator"), "built-in Administrator (RID 500)");
    assert_eq!(ev("bob"), "Domänen-Admins (primary group)");
    assert_eq!(
        ev("carol"),
        "Domänen-Admins via Tier0 > Tier0-Ops > Tier0-Ops-Leaf"
    );
    assert_eq!(ev("frank"), "Domänen-Admins (primaryGroupID 512)");
    assert_eq!(ev("henry"), "Sicherungs-Operatoren");
    assert_eq!(
        out.findings[1].remediation.as_deref(),
        Some(
            "Set-ADAccountControl -Identity 'CN=alice,OU=Users,DC=corp,DC=example' -AccountNotDelegated $true"
        )
    );
}

#[test]
fn pa001_extra_privileged_group_from_config() {
    let mut fx = Fx::new();
    let g = fx.group("Hyper-V-Admins");
    fx.user("ivan");
    fx.member(&g, "ivan", &[], false);
    assert_eq!(keys(&fx.audit(&Config::default(), None)), vec![]);
    let out = fx.audit(
        &cfg(&format!("extra_privileged_groups = [\"{g}\"]\n")),
        None,
    );
    assert_eq!(keys(&out), vec![k("PA001", "ivan", None)]);
}

#[test]
fn pa002_former_admin_with_admincount() {
    let mut fx = Fx::new();
    fx.user("old-admin");
    fx.acct("old-admin").admin_count = Some(1);
    fx.user("old-admin-ok");
    fx.acct("old-admin-ok").admin_count = Some(1);
    fx.acct("old-admin-ok").uac.0 |= NOT_DELEGATED;
    fx.user("current");
    fx.acct("current").admin_count = Some(1);
    fx.member(&sid(512), "current", &[], false);
    let out = fx.audit(&Config::default(), None);
    assert_eq!(
        keys(&out),
        vec![k("PA001", "current", None), k("PA002", "old-admin", None)]
    );
}

#[test]
fn hv005_ignores_kerberos_only_kcd_to_cluster_peers() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, false);
    fx.hv("HVA02", BUILD_2022, true);
    fx.mesh(&["HVA01", "HVA02"]);
    let out = fx.audit(
        &cfg("[[cluster]]\nname = \"CLA\"\nmembers = [\"HVA01\", \"HVA02\"]\n"),
        None,
    );
    assert_eq!(keys(&out), vec![]);
}

/// HVA02's RBCD allows group HV-Hosts (HVA01 a member) and holds a deny ACE for HVA01 at
/// `deny_at` in the DACL.
fn rbcd_group_allow_and_member_deny(deny_at: usize) -> Vec<(String, String, Option<String>)> {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.kcd_full("HVA02", "HVA01");
    let g = fx.group("HV-Hosts");
    fx.member(&g, "HVA01", &[], false);
    let a1 = fx.csid("HVA01");
    fx.rbcd("HVA02", &[g]);
    fx.comp("HVA02").rbcd.as_mut().unwrap().trustees.insert(
        deny_at,
        hvaudit::model::RbcdTrustee {
            sid: a1,
            ace_type: "deny".into(),
            access_mask: 0xF01FF,
            ace_flags: 0,
            object_type: None,
        },
    );
    keys(&fx.audit(&Config::default(), None))
}

#[test]
fn rbcd_deny_ace_before_a_group_allow_wins() {
    assert_eq!(
        rbcd_group_allow_and_member_deny(0),
        vec![
            k("HV002", "HVA01", Some("HVA02")),
            k("HV003", "HVA01", Some("HVA02")),
        ]
    );
}

#[test]
fn rbcd_deny_ace_after_a_group_allow_comes_too_late() {
    // The access check stops at the first ACE that decides (MS-DTYP 2.5.3.2): the group's
    // allow has already granted HVA01 the right when the deny is reached.
    assert_eq!(rbcd_group_allow_and_member_deny(1), vec![]);
}
