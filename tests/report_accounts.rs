//! Report views of a handcrafted snapshot: delegation inventory, privileged accounts, diff.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use hvaudit::analysis::{AccountFacts, Analysis};
use hvaudit::config::Config;
use hvaudit::findings::{Finding, Scope, Severity, Status};
use hvaudit::model::uac::*;
use hvaudit::model::*;
use hvaudit::report::{
    AccountClass, DelegationRow, DelegationType, PrivilegedRow, delegation_inventory,
    diff_findings, privileged_accounts,
};

const DOMAIN_SID: &str = "S-1-5-21-1-2-3";

fn sid(rid: u32) -> Option<Sid> {
    Some(Sid::parse(DOMAIN_SID).unwrap().with_rid(rid))
}

fn computer(
    name: &str,
    rid: u32,
    uac: u32,
    kcd: &[&str],
    rbcd: Option<Vec<RbcdTrustee>>,
) -> Computer {
    Computer {
        dn: format!("CN={name},OU=Hosts,DC=corp,DC=example"),
        sam_account_name: format!("{name}$"),
        dns_host_name: Some(format!("{}.corp.example", name.to_lowercase())),
        sid: sid(rid),
        uac: Uac(uac),
        operating_system: None,
        operating_system_version: Some("10.0 (20348)".into()),
        spns: vec![],
        allowed_to_delegate_to: kcd.iter().map(|s| s.to_string()).collect(),
        rbcd: rbcd.map(|trustees| Rbcd {
            trustees,
            no_dacl: false,
            opaque: vec![],
        }),
        when_changed: None,
        delegation_changed: None,
        uac_changed: None,
        hyperv_scp: false,
        creator_sid: None,
        owner_sid: None,
    }
}

fn account(name: &str, rid: u32, kind: AccountKind, uac: u32, kcd: &[&str]) -> Account {
    Account {
        dn: format!("CN={name},CN=Users,DC=corp,DC=example"),
        kind,
        sam_account_name: name.into(),
        sid: sid(rid),
        uac: Uac(uac),
        admin_count: None,
        primary_group_id: Some(513),
        spns: vec![],
        allowed_to_delegate_to: kcd.iter().map(|s| s.to_string()).collect(),
    }
}

fn member(dn: &str, kind: PrincipalKind, via: &[&str], by_primary_group: bool) -> EffectiveMember {
    EffectiveMember {
        dn: dn.into(),
        sid: None,
        kind,
        via_group: via.last().map(|s| s.to_string()),
        by_primary_group,
    }
}

fn trustee(s: Option<Sid>, ace_type: &str) -> RbcdTrustee {
    RbcdTrustee {
        sid: s.unwrap(),
        ace_type: ace_type.into(),
        access_mask: 0xf01ff,
        ace_flags: 0,
        object_type: None,
    }
}

fn snapshot() -> Snapshot {
    let users = |n: &str| format!("CN={n},CN=Users,DC=corp,DC=example");
    Snapshot {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        meta: ScanMeta {
            tool_version: "0.1.0".into(),
            source_kind: "ldif".into(),
            source: "fixture.ldif".into(),
            bind_identity: None,
            collected_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            reads: vec![],
            gaps: vec![],
            tls_verification_disabled: false,
            connection: None,
        },
        domain: Domain {
            dn: "DC=corp,DC=example".into(),
            dns_name: "corp.example".into(),
            netbios_name: Some("CORP".into()),
            sid: Sid::parse(DOMAIN_SID).ok(),
            functional_level: Some(7),
            domain_controllers: vec![],
        },
        computers: vec![
            computer(
                "DC1",
                1000,
                SERVER_TRUST_ACCOUNT | TRUSTED_FOR_DELEGATION,
                &[],
                None,
            ),
            computer(
                "HV01",
                1101,
                WORKSTATION_TRUST_ACCOUNT | TRUSTED_TO_AUTH_FOR_DELEGATION,
                &[
                    "Microsoft Virtual System Migration Service/HV02",
                    "cifs/HV02",
                ],
                None,
            ),
            computer(
                "HV02",
                1102,
                WORKSTATION_TRUST_ACCOUNT,
                &["Microsoft Virtual System Migration Service/HV01"],
                Some(vec![
                    trustee(sid(1101), "allow"),
                    trustee(sid(4242), "allow"),
                    trustee(sid(1103), "deny"),
                ]),
            ),
            computer(
                "HV03",
                1103,
                WORKSTATION_TRUST_ACCOUNT | TRUSTED_TO_AUTH_FOR_DELEGATION | ACCOUNTDISABLE,
                &[],
                None,
            ),
            computer("PLAIN", 1104, WORKSTATION_TRUST_ACCOUNT, &[], None),
        ],
        accounts: vec![
            account("Administrator", 500, AccountKind::User, NORMAL_ACCOUNT, &[]),
            account(
                "krbtgt",
                502,
                AccountKind::User,
                NORMAL_ACCOUNT | ACCOUNTDISABLE,
                &[],
            ),
            account("alice", 1201, AccountKind::User, NORMAL_ACCOUNT, &[]),
            account("bob", 1202, AccountKind::User, NORMAL_ACCOUNT, &[]),
            account(
                "carol",
                1203,
                AccountKind::User,
                NORMAL_ACCOUNT | NOT_DELEGATED,
                &[],
            ),
            account(
                "svc-sql",
                1204,
                AccountKind::User,
                NORMAL_ACCOUNT,
                &["MSSQLSvc/db1:1433"],
            ),
            account(
                "gmsa-web$",
                1205,
                AccountKind::GroupManagedServiceAccount,
                WORKSTATION_TRUST_ACCOUNT | TRUSTED_FOR_DELEGATION,
                &[],
            ),
        ],
        groups: vec![
            Group {
                dn: "CN=Renamed Admins,CN=Users,DC=corp,DC=example".into(),
                sid: sid(512),
                sam_account_name: "Renamed Admins".into(),
                reasons: vec!["privileged".into()],
                direct_members: vec![],
                effective_members: vec![
                    member(&users("alice"), PrincipalKind::User, &[], false),
                    member(
                        &users("bob"),
                        PrincipalKind::User,
                        &["CN=Tier0\\, Ops,OU=Groups,DC=corp,DC=example"],
                        false,
                    ),
                    member(&users("carol"), PrincipalKind::User, &[], true),
                    member(&users("krbtgt"), PrincipalKind::User, &[], false),
                    member(
                        "CN=HV01,OU=Hosts,DC=corp,DC=example",
                        PrincipalKind::Computer,
                        &[],
                        false,
                    ),
                ],
            },
            Group {
                dn: "CN=Protected Users,CN=Users,DC=corp,DC=example".into(),
                sid: sid(525),
                sam_account_name: "Protected Users".into(),
                reasons: vec!["protected_users".into()],
                direct_members: vec![],
                effective_members: vec![member(&users("bob"), PrincipalKind::User, &[], false)],
            },
        ],
    }
}

fn row(
    account: &str,
    kind: AccountClass,
    t: DelegationType,
    targets: &[&str],
    pt: bool,
) -> DelegationRow {
    DelegationRow {
        account: account.into(),
        dn: if kind == AccountClass::Computer {
            format!(
                "CN={},OU=Hosts,DC=corp,DC=example",
                account.trim_end_matches('$')
            )
        } else {
            format!("CN={account},CN=Users,DC=corp,DC=example")
        },
        kind,
        dc: false,
        enabled: true,
        delegation_type: t,
        targets: targets.iter().map(|s| s.to_string()).collect(),
        protocol_transition: pt,
    }
}

#[test]
fn delegation_inventory_lists_every_delegating_account() {
    use AccountClass::*;
    use DelegationType::*;
    let rows = delegation_inventory(&snapshot());
    let expected = vec![
        DelegationRow {
            dc: true,
            ..row("DC1$", Computer, Unconstrained, &[], false)
        },
        row(
            "HV01$",
            Computer,
            ConstrainedProtocolTransition,
            &[
                "Microsoft Virtual System Migration Service/HV02",
                "cifs/HV02",
            ],
            true,
        ),
        row(
            "HV02$",
            Computer,
            Constrained,
            &["Microsoft Virtual System Migration Service/HV01"],
            false,
        ),
        row(
            "HV02$",
            Computer,
            Rbcd,
            &["HV01$", "S-1-5-21-1-2-3-4242", "deny HV03$"],
            false,
        ),
        DelegationRow {
            enabled: false,
            ..row("HV03$", Computer, ProtocolTransitionOnly, &[], true)
        },
        row("svc-sql", User, Constrained, &["MSSQLSvc/db1:1433"], false),
        row("gmsa-web$", Gmsa, Unconstrained, &[], false),
    ];
    assert_eq!(rows, expected);
}

/// What PA001 judges, as the audit returns it.
fn facts(snap: &Snapshot, config: &Config) -> Vec<AccountFacts> {
    Analysis::build(snap, None, config).accounts
}

fn users(n: &str) -> String {
    format!("CN={n},CN=Users,DC=corp,DC=example")
}

#[test]
fn privileged_accounts_show_path_and_protection() {
    let snap = snapshot();
    let rows = privileged_accounts(&snap, &facts(&snap, &Config::default()));
    let p = |name: &str, via: &[&str], nd: bool, pu: bool| PrivilegedRow {
        account: name.into(),
        dn: users(name),
        enabled: true,
        via: via.iter().map(|s| s.to_string()).collect(),
        not_delegated: nd,
        protected_users: pu,
        protected: nd || pu,
    };
    // krbtgt and the computer HV01 are members too, and left out.
    assert_eq!(
        rows,
        vec![
            p(
                "Administrator",
                &["built-in Administrator (RID 500)"],
                false,
                false
            ),
            p("alice", &["Renamed Admins"], false, false),
            p("bob", &["Renamed Admins via Tier0\\, Ops"], false, true),
            p("carol", &["Renamed Admins (primary group)"], true, false),
        ]
    );
}

/// The table and PA001 share one source: a group made privileged by `extra_privileged_groups`
/// lists its members in the table exactly when the configuration names it.
#[test]
fn a_configured_privileged_group_counts_in_the_table() {
    let mut snap = snapshot();
    snap.accounts.push(account(
        "dave",
        1210,
        AccountKind::User,
        NORMAL_ACCOUNT,
        &[],
    ));
    snap.groups.push(Group {
        dn: "CN=Hyper-V Operators,CN=Users,DC=corp,DC=example".into(),
        sid: sid(1300),
        sam_account_name: "Hyper-V Operators".into(),
        reasons: vec!["configured".into()],
        direct_members: vec![],
        effective_members: vec![member(&users("dave"), PrincipalKind::User, &[], false)],
    });
    let config = Config::from_toml_str(
        "extra_privileged_groups = [\"S-1-5-21-1-2-3-1300\"]\n",
        "hvaudit.toml",
    )
    .unwrap();
    let rows = privileged_accounts(&snap, &facts(&snap, &config));
    let dave = rows
        .iter()
        .find(|r| r.account == "dave")
        .expect("dave listed");
    assert_eq!(dave.via, vec!["Hyper-V Operators".to_string()]);
    assert!(!dave.protected);
    let plain = privileged_accounts(&snap, &facts(&snap, &Config::default()));
    assert!(plain.iter().all(|r| r.account != "dave"));
    assert_eq!(plain.len(), 4);
}

fn finding(rule: &str, object: &str, target: Option<&str>, status: Status) -> Finding {
    Finding {
        rule_id: rule.into(),
        severity: Severity::Medium,
        title: rule.into(),
        scope: Scope::HostPair,
        object: object.into(),
        object_dn: None,
        target: target.map(String::from),
        group: None,
        message: String::new(),
        evidence: BTreeMap::new(),
        evidence_lists: BTreeMap::new(),
        remediation: None,
        status,
        suppression: None,
        first_seen: None,
    }
}

#[test]
fn diff_marks_existing_and_lists_resolved() {
    let old = vec![
        finding("HV002", "HV01", Some("HV02"), Status::Open),
        finding("HV002", "HV01", Some("HV03"), Status::Open),
        finding("PA001", "alice", None, Status::Open),
    ];
    let mut current = vec![
        // Same identity in other letter case: unchanged.
        finding("HV002", "hv01", Some("hv02"), Status::Open),
        finding("HV005", "HV01", None, Status::Open),
        finding("PA001", "alice", None, Status::Suppressed),
    ];
    let d = diff_findings("old.json", &old, &mut current, &[], &[]);
    assert_eq!(d.previous, "old.json");
    assert_eq!((d.new, d.unchanged), (1, 2));
    assert_eq!(d.resolved, vec![old[1].clone()]);
    assert_eq!(current[0].status, Status::Existing);
    assert_eq!(current[1].status, Status::Open);
    assert_eq!(current[2].status, Status::Suppressed);
}

#[test]
fn report_from_snapshot_carries_inventory_and_completeness() {
    let snap = snapshot();
    let mut r = hvaudit::report::ReportData::from_snapshot(
        &snap,
        &facts(&snap, &Config::default()),
        "2025.1",
    );
    assert!(r.complete);
    assert_eq!(r.sources, vec!["fixture.ldif".to_string()]);
    assert_eq!(r.ruleset_version, "2025.1");
    assert_eq!(r.delegations.len(), 7);
    assert_eq!(r.privileged.len(), 4);
    assert!(r.findings.is_empty() && r.readiness.is_empty());
    r.add_gap(Gap::new("inventory row HV09", "unreachable"));
    assert!(!r.complete);
    assert_eq!(r.gaps.len(), 1);
}
