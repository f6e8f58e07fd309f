//! `check_pair` (go / no-go for one migration) and the analysis facts it relies on: groups,
//! clusters, host discovery.

mod rules_support;

use hvaudit::analysis::Analysis;
use hvaudit::audit::{CheckError, check_pair};
use hvaudit::config::Config;
use hvaudit::findings::ReadinessState;
use hvaudit::inventory::{HostInventory, MigrationAuth};
use hvaudit::model::uac::NOT_DELEGATED;
use hvaudit::rules::RuleSet;
use rules_support::*;

/// A check with every computer's host settings known (Kerberos, migration enabled, no
/// Credential Guard): the verdict then rests on the directory alone.
fn check(
    fx: &Fx,
    config: &Config,
    from: &str,
    to: &str,
    op: Option<&str>,
) -> Result<hvaudit::audit::PairCheck, CheckError> {
    let inv = full_inventory(fx);
    check_with(fx, Some(&inv), config, from, to, op)
}

fn full_inventory(fx: &Fx) -> HostInventory {
    inventory(
        fx.snap
            .computers
            .iter()
            .filter(|c| c.spns.iter().any(|s| s.starts_with(MIG)))
            .map(|c| {
                inv_row(
                    c.sam_account_name.trim_end_matches('$'),
                    MigrationAuth::Kerberos,
                )
            })
            .collect(),
    )
}

fn check_with(
    fx: &Fx,
    inv: Option<&HostInventory>,
    config: &Config,
    from: &str,
    to: &str,
    op: Option<&str>,
) -> Result<hvaudit::audit::PairCheck, CheckError> {
    let rules = RuleSet::builtin().unwrap();
    check_pair(&fx.snap, inv, config, &rules, now(), from, to, op)
}

fn three() -> Fx {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, false);
    fx.hv("HVA02", BUILD_2022, true);
    fx.hv("HVB01", BUILD_2022, true);
    fx.mesh(&["HVA01", "HVA02"]);
    fx
}

#[test]
fn check_lists_every_blocking_reason_with_its_fix() {
    let fx = three();
    // HVA01 -> HVA02: Kerberos-only on 2022 (HV005).
    let c = check(&fx, &Config::default(), "hva01.CORP.example", "hva02", None).unwrap();
    assert_eq!((c.from.as_str(), c.to.as_str()), ("HVA01", "HVA02"));
    assert!(!c.ready);
    let ids: Vec<_> = c.reasons.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(ids, vec!["HV005"]);
    assert_eq!(
        c.reasons[0].remediation.as_deref(),
        Some(
            "Set-ADAccountControl -Identity 'CN=HVA01,OU=HyperV,OU=Servers,DC=corp,DC=example' -TrustedToAuthForDelegation $true\n# Takes effect after HVA01 restarts. Or, without a restart: klist -li 0x3e7 purge on it (elevated) drops the tickets it cached before the change."
        )
    );
    // HVA02 -> HVB01: no delegation at all.
    let c = check(&fx, &Config::default(), "HVA02", "HVB01", None).unwrap();
    let ids: Vec<_> = c.reasons.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(ids, vec!["HV002", "HV003"]);
    // HVA02 -> HVA01: go.
    let c = check(&fx, &Config::default(), "HVA02$", "HVA01", None).unwrap();
    assert!(c.ready && c.reasons.is_empty() && c.complete);
}

#[test]
fn check_across_groups_still_evaluates_the_pair() {
    let fx = three();
    let config = cfg(
        "[[group]]\nname = \"a\"\nname_glob = \"HVA*\"\n[[group]]\nname = \"b\"\nname_glob = \"HVB*\"\n",
    );
    let c = check(&fx, &config, "HVA02", "HVB01", None).unwrap();
    let ids: Vec<_> = c.reasons.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(ids, vec!["HV002", "HV003"]);
}

#[test]
fn same_cluster_is_ready_without_kcd() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    let inv = inventory(vec![
        {
            let mut r = inv_row("HVA01", MigrationAuth::Kerberos);
            r.cluster_name = Some("CLA".into());
            r
        },
        {
            let mut r = inv_row("HVA02", MigrationAuth::Kerberos);
            r.cluster_name = Some("cla".into());
            r
        },
    ]);
    let rules = RuleSet::builtin().unwrap();
    let c = check_pair(
        &fx.snap,
        Some(&inv),
        &Config::default(),
        &rules,
        now(),
        "HVA01",
        "HVA02",
        None,
    )
    .unwrap();
    assert!(c.ready && c.same_cluster);
    let out = fx.audit(&Config::default(), Some(&inv));
    assert_eq!(keys(&out), vec![]);
}

#[test]
fn operator_that_cannot_be_delegated_blocks_only_its_checks() {
    let mut fx = three();
    fx.comp("HVA01").uac.0 |= hvaudit::model::uac::TRUSTED_TO_AUTH_FOR_DELEGATION;
    fx.user("adm-tier0");
    fx.acct("adm-tier0").uac.0 |= NOT_DELEGATED;
    fx.user("svc-lm");
    let c = check(&fx, &Config::default(), "HVA01", "HVA02", Some("ADM-TIER0")).unwrap();
    assert!(!c.ready);
    assert_eq!(c.operator.as_deref(), Some("adm-tier0"));
    let ids: Vec<_> = c.reasons.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(ids, vec!["HV017"]);
    let c = check(&fx, &Config::default(), "HVA01", "HVA02", Some("svc-lm")).unwrap();
    assert!(c.ready);
    let c = check(&fx, &Config::default(), "HVA01", "HVA02", None).unwrap();
    assert!(c.ready);
}

#[test]
fn check_errors() {
    let fx = three();
    let cfg0 = Config::default();
    assert!(matches!(
        check(&fx, &cfg0, "HVZ99", "HVA01", None),
        Err(CheckError::UnknownHost(n)) if n == "HVZ99"
    ));
    // A computer that is not a Hyper-V host.
    assert!(matches!(
        check(&fx, &cfg0, "HVA01", "DC01", None),
        Err(CheckError::UnknownHost(_))
    ));
    assert!(matches!(
        check(&fx, &cfg0, "HVA01", "hva01.corp.example", None),
        Err(CheckError::SameHost(_))
    ));
    assert!(matches!(
        check(&fx, &cfg0, "HVA01", "HVA02", Some("nobody")),
        Err(CheckError::UnknownOperator(_))
    ));
}

#[test]
fn discovery_records_why_each_host_was_recognised() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    let s = fx.computer("HVSCP");
    fx.snap.computers[s].hyperv_scp = true;
    fx.computer("HVCFG");
    fx.computer("HVINV");
    let r = fx.computer("HVREP");
    fx.snap.computers[r]
        .spns
        .push("hyper-v replica service/hvrep.corp.example".into());
    // Guests are not hosts.
    fx.computer("VM01");
    let config = cfg("extra_hyperv_hosts = [\"hvcfg.corp.example\", \"NOPE01\"]\n");
    let inv = inventory(vec![inv_row("HVINV", MigrationAuth::Kerberos)]);
    let a = Analysis::build(&fx.snap, Some(&inv), &config);
    let got: Vec<(String, Vec<String>)> = a
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.reasons.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "HVA01".to_string(),
                vec![
                    "SPN Microsoft Virtual System Migration Service/HVA01".to_string(),
                    "SPN Microsoft Virtual Console Service/HVA01".to_string()
                ]
            ),
            (
                "HVCFG".into(),
                vec!["configuration (extra_hyperv_hosts)".into()]
            ),
            ("HVINV".into(), vec!["host inventory".into()]),
            (
                "HVREP".into(),
                vec!["SPN hyper-v replica service/hvrep.corp.example".into()]
            ),
            (
                "HVSCP".into(),
                vec!["serviceConnectionPoint CN=Microsoft Hyper-V".into()]
            ),
        ]
    );
    assert!(a.notes.contains(
        &"extra_hyperv_hosts names 'NOPE01', which is not a computer in the directory".to_string()
    ));
}

#[test]
fn groups_by_ou_glob_and_list_first_match_wins() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.hv("HVB01", BUILD_2022, true);
    let c = fx.hv("HVC01", BUILD_2022, true);
    fx.snap.computers[c].dn = "CN=HVC01,OU=HyperV-C,OU=Servers,DC=corp,DC=example".into();
    let config = cfg(
        "[[group]]\nname = \"c\"\nou = \"ou=hyperv-c,ou=servers,dc=corp,dc=example\"\n\
         [[group]]\nname = \"a\"\nname_glob = \"hva*\"\n\
         [[group]]\nname = \"b\"\nhosts = [\"hvb01.corp.example\", \"HVA02\"]\n",
    );
    let a = Analysis::build(&fx.snap, None, &config);
    let groups: Vec<(String, Vec<String>)> = a
        .groups
        .iter()
        .map(|g| {
            (
                g.name.clone(),
                g.hosts.iter().map(|h| a.hosts[*h].name.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            ("c".to_string(), vec!["HVC01".to_string()]),
            ("a".into(), vec!["HVA01".into(), "HVA02".into()]),
            ("b".into(), vec!["HVB01".into()]),
        ]
    );
    assert!(
        a.notes
            .contains(&"HVA02 matches groups a and b; a is used".to_string())
    );
    // Readiness stays inside groups: 1*0 + 2*1 + 1*0 cells.
    let out = fx.audit(&config, None);
    let cells: usize = out.readiness.iter().map(|g| g.cells.len()).sum();
    assert_eq!(cells, 2);
}

/// Enough groups that the audit splits them over threads (on a machine with more than one
/// CPU): readiness must still come out per group, in group order, with each group's own
/// blocked pair and nothing leaking between groups.
#[test]
fn many_groups_keep_their_order_and_their_own_blockers() {
    const GROUPS: usize = 40;
    let mut fx = Fx::new();
    let mut config_text = String::new();
    for g in 0..GROUPS {
        let names: Vec<String> = (0..3).map(|h| format!("G{g:02}H{h}")).collect();
        for n in &names {
            fx.hv(n, BUILD_2022, true);
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        fx.mesh(&refs);
        // Host 0 of group g loses its delegation to host (g % 2) + 1.
        let gone = &names[g % 2 + 1];
        let keep: Vec<String> = fx.comp(&names[0]).allowed_to_delegate_to.clone();
        fx.comp(&names[0]).allowed_to_delegate_to = keep
            .into_iter()
            .filter(|s| !s.to_lowercase().contains(&gone.to_lowercase()))
            .collect();
        config_text.push_str(&format!(
            "[[group]]\nname = \"g{g:02}\"\nname_glob = \"g{g:02}h*\"\n"
        ));
    }
    let config = cfg(&config_text);
    let out = fx.audit(&config, None);
    assert_eq!(out.readiness.len(), GROUPS);
    for (g, r) in out.readiness.iter().enumerate() {
        assert_eq!(r.group, format!("g{g:02}"));
        assert_eq!(r.cells.len(), 6, "group {g}");
        let blocked: Vec<(&str, &str)> = r
            .cells
            .iter()
            .filter(|c| c.state == ReadinessState::Blocked)
            .map(|c| (c.from.as_str(), c.to.as_str()))
            .collect();
        let (from, to) = (format!("G{g:02}H0"), format!("G{g:02}H{}", g % 2 + 1));
        assert_eq!(blocked, vec![(from.as_str(), to.as_str())], "group {g}");
    }
    let hv002: Vec<(&str, &str)> = out
        .findings
        .iter()
        .filter(|f| f.rule_id == "HV002")
        .map(|f| (f.object.as_str(), f.target.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(hv002.len(), GROUPS, "{hv002:?}");
}

/// Three states: blocked by any known fact, ready only when everything deciding it is known.
#[test]
fn check_is_unknown_when_host_settings_are_not_known() {
    let fx = three();
    let cfg0 = Config::default();
    // HVA02 -> HVA01 is clean in the directory.
    let c = check(&fx, &cfg0, "HVA02", "HVA01", None).unwrap();
    assert_eq!(c.state, ReadinessState::Ready);
    // No inventory: nothing blocks, but the verdict is UNKNOWN and says why.
    let c = check_with(&fx, None, &cfg0, "HVA02", "HVA01", None).unwrap();
    assert_eq!(c.state, ReadinessState::Unknown);
    assert!(!c.ready && c.reasons.is_empty());
    assert!(
        c.unknown.iter().any(|u| u.contains("no host inventory")),
        "{:?}",
        c.unknown
    );
    // A known block still decides without the inventory: NO-GO, not UNKNOWN.
    let c = check_with(&fx, None, &cfg0, "HVA02", "HVB01", None).unwrap();
    assert_eq!(c.state, ReadinessState::Blocked);
    // The destination's row is missing, or the collector could not read the source.
    let mut inv = full_inventory(&fx);
    inv.hosts.retain(|h| h.computer_name != "HVA01");
    let c = check_with(&fx, Some(&inv), &cfg0, "HVA02", "HVA01", None).unwrap();
    assert_eq!(c.state, ReadinessState::Unknown);
    assert!(
        c.unknown.iter().any(|u| u.contains("no row for HVA01")),
        "{:?}",
        c.unknown
    );
    let mut inv = full_inventory(&fx);
    for h in &mut inv.hosts {
        if h.computer_name == "HVA02" {
            h.error = Some("WinRM cannot complete the operation".into());
        }
    }
    let c = check_with(&fx, Some(&inv), &cfg0, "HVA02", "HVA01", None).unwrap();
    assert_eq!(c.state, ReadinessState::Unknown);
    assert!(c.unknown.iter().any(|u| u.contains("could not read HVA02")));
    // An empty authentication-type column is unknown too.
    let mut inv = full_inventory(&fx);
    for h in &mut inv.hosts {
        if h.computer_name == "HVA02" {
            h.authentication_type = None;
        }
    }
    let c = check_with(&fx, Some(&inv), &cfg0, "HVA02", "HVA01", None).unwrap();
    assert_eq!(c.state, ReadinessState::Unknown);
}

#[test]
fn only_gaps_touching_the_pair_make_it_unknown() {
    let mut fx = three();
    fx.computer("FILE01");
    fx.gap_on(
        "CN=FILE01,OU=Servers,DC=corp,DC=example",
        "msDS-AllowedToDelegateTo of CN=FILE01,OU=Servers,DC=corp,DC=example",
    );
    let cfg0 = Config::default();
    let c = check(&fx, &cfg0, "HVA02", "HVA01", None).unwrap();
    assert_eq!(c.state, ReadinessState::Ready, "{:?}", c.unknown);
    assert!(!c.complete, "the scan as a whole is still incomplete");
    fx.gap_on(
        "CN=HVA02,OU=HyperV,OU=Servers,DC=corp,DC=example",
        "msDS-AllowedToDelegateTo of CN=HVA02,OU=HyperV,OU=Servers,DC=corp,DC=example",
    );
    let c = check(&fx, &cfg0, "HVA02", "HVA01", None).unwrap();
    assert_eq!(c.state, ReadinessState::Unknown);
    assert!(c.unknown.iter().any(|u| u.contains("CN=HVA02")));
    // The object comes from the gap's field, never from its text: a DN that reads like an
    // aggregated gap ("... object(s) ...") still touches only its own object.
    let mut fx = three();
    fx.gap_on(
        "CN=Sales object(s),OU=Servers,DC=corp,DC=example",
        "msDS-AllowedToDelegateTo of CN=Sales object(s),OU=Servers,DC=corp,DC=example",
    );
    let c = check(&fx, &cfg0, "HVA02", "HVA01", None).unwrap();
    assert_eq!(c.state, ReadinessState::Ready, "{:?}", c.unknown);
    // A gap that names no single object may hide anything.
    let mut fx = three();
    fx.gap("search of OU=Servers,DC=corp,DC=example");
    let c = check(&fx, &cfg0, "HVA02", "HVA01", None).unwrap();
    assert_eq!(c.state, ReadinessState::Unknown);
}

#[test]
fn check_decides_for_the_name_form_given() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    // NetBIOS-only delegation from HVA01 to HVA02.
    fx.delegate("HVA01", &[&format!("{MIG}/HVA02"), "cifs/HVA02"]);
    let cfg0 = Config::default();
    let c = check(&fx, &cfg0, "HVA01", "HVA02", None).unwrap();
    assert_eq!(
        (c.state, c.form.as_str()),
        (ReadinessState::Ready, "netbios")
    );
    let c = check(&fx, &cfg0, "HVA01", "hva02.corp.example", None).unwrap();
    assert_eq!(
        (c.state, c.form.as_str()),
        (ReadinessState::Blocked, "fqdn")
    );
    let ids: Vec<_> = c.reasons.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(ids, vec!["HV004"]);
    // FQDN-only: the mirror image.
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.delegate(
        "HVA01",
        &[
            &format!("{MIG}/hva02.corp.example"),
            "cifs/hva02.corp.example",
        ],
    );
    let c = check(&fx, &cfg0, "HVA01", "HVA02", None).unwrap();
    assert_eq!(c.state, ReadinessState::Blocked);
    let c = check(&fx, &cfg0, "HVA01", "HVA02.corp.example", None).unwrap();
    assert_eq!(c.state, ReadinessState::Ready);
    // The matrix shows the same per form.
    let inv = full_inventory(&fx);
    let out = fx.audit(&cfg0, Some(&inv));
    let cell = out.readiness[0]
        .cells
        .iter()
        .find(|c| c.from == "HVA01")
        .unwrap();
    assert_eq!(cell.ready_forms, vec!["fqdn"]);
    // Addressed by its CN (which differs from the sAMAccountName), neither form counts.
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.kcd_full("HVA01", "HVA02");
    fx.comp("HVA02").dn = "CN=hyperv-a02,OU=HyperV,OU=Servers,DC=corp,DC=example".into();
    let c = check(&fx, &cfg0, "HVA01", "hyperv-a02", None).unwrap();
    assert_eq!((c.state, c.form.as_str()), (ReadinessState::Blocked, "cn"));
    assert!(
        c.reasons[0].message.contains("hyperv-a02"),
        "{}",
        c.reasons[0].message
    );
}

#[test]
fn fqdn_form_of_a_host_without_dns_host_name_is_unknown() {
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.mesh(&["HVA01", "HVA02"]);
    fx.comp("HVA02").dns_host_name = None;
    let inv = full_inventory(&fx);
    let out = fx.audit(&Config::default(), Some(&inv));
    let cell = out.readiness[0]
        .cells
        .iter()
        .find(|c| c.from == "HVA01")
        .unwrap();
    assert_eq!(cell.ready_forms, vec!["netbios"]);
    let fqdn = cell.forms.iter().find(|f| f.form == "fqdn").unwrap();
    assert_eq!(fqdn.state, ReadinessState::Unknown);
    assert!(fqdn.unknown[0].contains("no dNSHostName"));
}

#[test]
fn hosts_outside_the_domain_are_named_as_such() {
    let fx = three();
    let e = check(&fx, &Config::default(), "HVA01", "hv09.other.example", None).unwrap_err();
    assert!(matches!(e, CheckError::OutsideDomain(..)), "{e}");
    assert!(e.to_string().contains("outside this directory"));
    // A delegation value naming such a host: HV019, not stale.
    let mut fx = three();
    fx.delegate(
        "HVA01",
        &[&format!("{MIG}/hv09.other.example"), "cifs/HV09"],
    );
    let out = fx.audit(&Config::default(), None);
    let got: Vec<_> = keys(&out)
        .into_iter()
        .filter(|k| {
            k.2.as_deref()
                .is_some_and(|t| t.to_lowercase().contains("hv09"))
        })
        .collect();
    assert_eq!(
        got,
        vec![
            k("HV009", "HVA01", Some("cifs/HV09")),
            k("HV019", "HVA01", Some(&format!("{MIG}/hv09.other.example"))),
        ]
    );
}

#[test]
fn configured_names_that_select_no_host_are_noted_with_the_reason() {
    let mut fx = three();
    fx.computer("FILE01");
    let config = cfg(
        "[[group]]\nname = \"a\"\nhosts = [\"HVA01\", \"hv09.fabrikam.example\", \"FILE01\", \"GONE01\"]\n",
    );
    let a = Analysis::build(&fx.snap, None, &config);
    let notes = a.notes.join("\n");
    assert!(
        notes.contains("'hv09.fabrikam.example', a host outside the audited domain corp.example"),
        "{notes}"
    );
    assert!(
        notes.contains("'FILE01', a computer that is not a Hyper-V host"),
        "{notes}"
    );
    assert!(
        notes.contains("'GONE01', which is not a computer in the directory"),
        "{notes}"
    );
    assert!(!notes.contains("'HVA01'"), "{notes}");
}
