//! Rule behaviour that a data fixture cannot express. Each rule's own fixture (where it fires,
//! a near miss where it must not, its findings, evidence and `check` verdicts) is a folder of
//! `tests/rules/<ID>/`, run by `tests/rule_fixtures.rs`. What stays here asserts what the
//! fixture format does not show: the readiness matrix cell by cell and name form, the hosts
//! summary and notes of the outcome, and snapshots built in code where an LDIF would hide the
//! point (ACE order in an RBCD descriptor, a gap only a live DC reports, SIDs and
//! primaryGroupIDs of the privileged closure).

mod rules_support;

use hvaudit::config::Config;
use hvaudit::findings::ReadinessState;
use hvaudit::inventory::MigrationAuth;
use hvaudit::model::uac::{NOT_DELEGATED, TRUSTED_TO_AUTH_FOR_DELEGATION};
use rules_support::*;

/// Two 2022 hosts with protocol transition and full KCD both ways: nothing to report.
fn clean() -> Fx {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.mesh(&["HVA01", "HVA02"]);
    fx
}

// Kept here: the readiness matrix cell by cell and name form, and the hosts summary.
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

// Kept here: every matrix cell of a cluster is ready and marked same_cluster.
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

// Kept here: the whole audit (every rule at once) is silent; a fixture is exact per rule.
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

// Kept here: three rules at once, and the matrix cells left undecided only by host settings.
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

// Kept here: the hosts summary's os_generation, and neither HV005 nor HV006.
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

// Kept here: a gap only a live DC reports (a read denied), with its exact message.
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

// Kept here: the outcome's notes and every matrix cell blocked by HV016.
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

// Kept here: SIDs, localized group names and primaryGroupIDs set one by one in code.
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

// Kept here: a configured group SID known only after the snapshot is built.
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

// Kept here: the whole audit (every rule at once) is silent.
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

// Kept here (both deny tests): ACE order inside one descriptor, built in code.
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
