//! A handcrafted report with hostile directory values, shared by tests/report_outputs.rs and
//! examples/render_fixture_report.rs (which feeds the browser test). Counts the tests rely on
//! are documented next to the data that produces them.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use hvaudit::findings::{
    Finding, GroupReadiness, ReadinessCell, ReadinessState, Scope, Severity, Status,
};
use hvaudit::model::{Domain, DomainController, Gap, ReadRecord, ScanMeta};
use hvaudit::report::checks::{Category, Check, CheckStatus, category_of, sort_checks};
use hvaudit::report::{
    AccountClass, DelegationRow, DelegationType, DiffSummary, HostRow, InventoryStatus,
    PrivilegedRow, ReportData, RuleDoc,
};

pub const XSS_SCRIPT: &str = "<script>alert(1)</script>";
pub const XSS_IMG: &str = "\"><img src=x onerror=alert(1)>";
pub const HYPERLINK: &str = "=HYPERLINK(\"http://x\",\"y\")";
pub const UNICODE: &str = "Ünïcødé-主机";
pub const ANSI: &str = "adm\u{1b}[31mred\u{1b}]0;pwned\u{7}\u{0}\u{85}ctl";
/// Bidirectional controls (RLO ... PDF, RLI ... PDI) that would show `cod.exe` reversed.
pub const BIDI: &str = "delegates to a DC \u{202e}cod.exe\u{202c} \u{2067}x\u{2069}";
/// [`BIDI`] as the HTML report shows it: every control by name, in stored order.
pub const BIDI_SHOWN: &str = "delegates to a DC [U+202E]cod.exe[U+202C] [U+2067]x[U+2069]";

/// 64 KiB of name: reports must neither choke on it nor let it swallow the page.
pub fn long_name() -> String {
    "L".repeat(64 * 1024)
}

fn f(rule: &str, sev: Severity, object: &str, target: Option<&str>, message: &str) -> Finding {
    Finding {
        rule_id: rule.to_string(),
        severity: sev,
        title: format!("{rule} title"),
        scope: Scope::Host,
        object: object.to_string(),
        object_dn: Some(format!("CN={object},OU=Hyper-V,DC=corp,DC=example")),
        target: target.map(str::to_string),
        group: Some("Cluster-A".to_string()),
        message: message.to_string(),
        evidence: BTreeMap::from([(
            "userAccountControl".to_string(),
            "0x1001000 (WORKSTATION_TRUST_ACCOUNT, TRUSTED_TO_AUTH_FOR_DELEGATION)".to_string(),
        )]),
        evidence_lists: BTreeMap::new(),
        remediation: Some(format!(
            "Set-ADAccountControl -Identity '{}$' -TrustedToAuthForDelegation $true",
            object.replace('\'', "''")
        )),
        status: Status::Open,
        suppression: None,
        first_seen: None,
    }
}

/// The ten hostile findings. Severities: critical 2, high 3, medium 4, low 1, info 0.
pub fn hostile_findings() -> Vec<Finding> {
    let mut v = vec![
        f("HV001", Severity::Critical, XSS_SCRIPT, None, XSS_SCRIPT),
        f(
            "HV008",
            Severity::Critical,
            XSS_IMG,
            Some("ldap/dc1.corp.example"),
            BIDI,
        ),
        f("HV005", Severity::High, HYPERLINK, None, HYPERLINK),
        f("HV002", Severity::Medium, "+cmd", Some("-1+2"), "@SUM(A1)"),
        f(
            "HV003",
            Severity::Medium,
            "@SUM(A1)",
            Some("\tTAB-host"),
            "tab",
        ),
        f("HV009", Severity::Medium, "\rCR-host", None, "\rcarriage"),
        f("HV004", Severity::Low, &long_name(), None, "long name"),
        f(
            "HV007",
            Severity::Medium,
            UNICODE,
            Some("http/ünï.corp.example"),
            UNICODE,
        ),
        f("PA001", Severity::High, ANSI, None, ANSI),
        f(
            "SC001",
            Severity::High,
            "scan",
            None,
            "the scan is incomplete",
        ),
    ];
    v[0].evidence.insert("payload".into(), XSS_IMG.into());
    v[0].remediation = Some(format!("# {XSS_SCRIPT}\nSet-ADAccountControl -Identity x"));
    v[8].evidence.insert("name".into(), ANSI.into());
    v
}

/// Generated finding `i`: severity by `i % 5` (critical, high, medium, low, info); i = 3 and
/// i = 4 are suppressed. With 40 of them the report holds 50 findings: critical 10, high 11,
/// medium 12, low 9 (1 suppressed), info 8 (1 suppressed).
pub fn generated_finding(i: usize) -> Finding {
    let (rule, sev) = match i % 5 {
        0 => ("HV008", Severity::Critical),
        1 => ("HV005", Severity::High),
        2 => ("HV002", Severity::Medium),
        3 => ("HV006", Severity::Low),
        _ => ("HV015", Severity::Info),
    };
    let host = format!("HOST-{:04}", i % 500);
    let peer = format!("HOST-{:04}", (i + 1) % 500);
    let mut x = f(
        rule,
        sev,
        &host,
        Some(&peer),
        &format!("{host} finding number {i} about {peer}"),
    );
    if i == 3 || i == 4 {
        x.status = Status::Suppressed;
        x.suppression = Some(format!(
            "Accepted risk <b>{i}</b> until 2099-01-01 (owner: ops)"
        ));
    }
    x
}

fn cell(from: &str, to: &str, same_cluster: bool, blocking: &[(&str, &str)]) -> ReadinessCell {
    let state = if blocking.is_empty() {
        ReadinessState::Ready
    } else {
        ReadinessState::Blocked
    };
    ReadinessCell {
        from: from.into(),
        to: to.into(),
        ready: blocking.is_empty(),
        state,
        ready_forms: if blocking.is_empty() {
            vec!["netbios".into(), "fqdn".into()]
        } else {
            Vec::new()
        },
        same_cluster,
        blocking_rules: blocking.iter().map(|(r, _)| r.to_string()).collect(),
        reasons: blocking.iter().map(|(_, m)| m.to_string()).collect(),
        unknown: Vec::new(),
        forms: Vec::new(),
    }
}

/// Cluster-A: 5 hosts. HV01/HV02 share a cluster. Every pair into HV03 is blocked by HV002,
/// pairs from the hostile-named host by HV005: 7 blocked pairs of 20.
pub fn small_group() -> GroupReadiness {
    let hosts = ["HV01", "HV02", "HV03", "<b>HV04</b>", UNICODE];
    let mut cells = Vec::new();
    for from in hosts {
        for to in hosts {
            if from == to {
                continue;
            }
            let same = matches!((from, to), ("HV01", "HV02") | ("HV02", "HV01"));
            let mut b = Vec::new();
            if to == "HV03" {
                b.push((
                    "HV002",
                    "lacks Microsoft Virtual System Migration Service/HV03",
                ));
            }
            if from == "<b>HV04</b>" {
                b.push((
                    "HV005",
                    "Kerberos only on 2016+ <img src=x onerror=alert(2)>",
                ));
            }
            let mut c = cell(from, to, same, &b);
            // HV02 -> UNICODE: nothing blocks it, but HV02's settings are unknown.
            if from == "HV02" && to == UNICODE {
                c.state = ReadinessState::Unknown;
                c.ready = false;
                c.ready_forms.clear();
                c.unknown = vec![
                    "host settings unknown: the inventory collector could not read HV02".into(),
                ];
            }
            // HV01 -> HV02 is in one cluster; HV02 -> HV01 works by NetBIOS name only.
            if from == "HV02" && to == "HV01" {
                c.same_cluster = false;
                c.ready_forms = vec!["netbios".into()];
                c.forms = vec![
                    hvaudit::findings::FormReadiness {
                        form: "netbios".into(),
                        name: Some("HV01".into()),
                        state: ReadinessState::Ready,
                        blocking_rules: Vec::new(),
                        unknown: Vec::new(),
                    },
                    hvaudit::findings::FormReadiness {
                        form: "fqdn".into(),
                        name: Some("hv01.corp.example".into()),
                        state: ReadinessState::Blocked,
                        blocking_rules: vec!["HV004".into()],
                        unknown: Vec::new(),
                    },
                ];
                c.blocking_rules = vec!["HV004".into()];
                c.reasons = vec!["HV02 delegates to HV01 under one name form only".into()];
            }
            cells.push(c);
        }
    }
    GroupReadiness {
        group: "Cluster-A".into(),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        cells,
    }
}

/// 201 hosts: above the grid limit. Pairs from BIG-000 are blocked: 200 blocked pairs.
/// Cluster-B: 30 hosts, every pair ready: the group the "blocked or unknown only" filter
/// hides, and one whose matrix is collapsed (over `MATRIX_OPEN_MAX_HOSTS`) until opened.
pub fn medium_group() -> GroupReadiness {
    let hosts: Vec<String> = (0..30).map(|i| format!("MID-{i:02}")).collect();
    let mut cells = Vec::new();
    for from in &hosts {
        for to in &hosts {
            if from != to {
                cells.push(cell(from, to, false, &[]));
            }
        }
    }
    GroupReadiness {
        group: "Cluster-B".into(),
        hosts,
        cells,
    }
}

pub fn big_group() -> GroupReadiness {
    let hosts: Vec<String> = (0..201).map(|i| format!("BIG-{i:03}")).collect();
    let mut cells = Vec::new();
    for from in &hosts {
        for to in &hosts {
            if from != to {
                let b: &[(&str, &str)] = if from == "BIG-000" {
                    &[("HV002", "missing migration SPN")]
                } else {
                    &[]
                };
                cells.push(cell(from, to, false, b));
            }
        }
    }
    GroupReadiness {
        group: "Big".into(),
        hosts,
        cells,
    }
}

fn rule(id: &str, sev: Severity) -> RuleDoc {
    RuleDoc {
        id: id.into(),
        title: format!("{id} title"),
        severity: sev,
        rationale: format!("Why {id} matters. <i>not markup</i>"),
        references: vec!["https://learn.microsoft.com/windows-server/virtualization/hyper-v/deploy/set-up-hosts-for-live-migration-without-failover-clustering".into()],
    }
}

/// The checks of the fixture: each rule with findings failed (counted from `findings`), plus
/// HV018 and HV019 passed and HV011 and HV012 not evaluated (no inventory). In report order:
/// the failed ones by severity and count, then HV012, HV011, then HV018, HV019.
pub fn fixture_checks(findings: &[Finding]) -> Vec<Check> {
    let mut by_rule: BTreeMap<&str, (Severity, usize, usize)> = BTreeMap::new();
    for f in findings {
        let e = by_rule.entry(&f.rule_id).or_insert((f.severity, 0, 0));
        if f.status == Status::Suppressed {
            e.2 += 1;
        } else {
            e.1 += 1;
        }
    }
    let mut v: Vec<Check> = by_rule
        .into_iter()
        .map(|(id, (severity, n, sup))| Check {
            rule_id: id.into(),
            title: format!("{id} title"),
            severity,
            category: category_of(id, Scope::Host),
            status: CheckStatus::Failed,
            findings: n,
            suppressed: sup,
            checked: "7 Hyper-V hosts".into(),
            reason: None,
        })
        .collect();
    let other = |id: &str, severity, category, status, reason: Option<&str>| Check {
        rule_id: id.into(),
        title: format!("{id} title"),
        severity,
        category,
        status,
        findings: 0,
        suppressed: 0,
        checked: "7 Hyper-V hosts".into(),
        reason: reason.map(str::to_string),
    };
    let no_inv = "needs the host inventory (--hosts), which was not given: the hosts' migration settings are unknown";
    v.push(other(
        "HV018",
        Severity::Medium,
        Category::DelegationHygiene,
        CheckStatus::Passed,
        None,
    ));
    v.push(other(
        "HV019",
        Severity::Medium,
        Category::DelegationHygiene,
        CheckStatus::Passed,
        None,
    ));
    v.push(other(
        "HV011",
        Severity::Medium,
        Category::HostSettings,
        CheckStatus::NotEvaluated,
        Some(no_inv),
    ));
    v.push(other(
        "HV012",
        Severity::High,
        Category::HostSettings,
        CheckStatus::NotEvaluated,
        Some(no_inv),
    ));
    sort_checks(&mut v);
    v
}

/// The hosts view of Cluster-A's five hosts (as [`small_group`] has them), in name order:
/// HV01 read from the inventory, with 3 of 4 peers covered and a reboot pending; HV02 with
/// an unreachable inventory row; HV03 an unconfirmed candidate; the hostile names with no
/// inventory row. Finding counts by host are given here, not derived.
pub fn fixture_hosts() -> Vec<HostRow> {
    let sev = |c: usize, h: usize, m: usize| {
        BTreeMap::from([
            (Severity::Critical, c),
            (Severity::High, h),
            (Severity::Medium, m),
            (Severity::Low, 0),
            (Severity::Info, 0),
        ])
    };
    let t = |d: u32| Utc.with_ymd_and_hms(2025, 3, d, 6, 0, 0).unwrap();
    let row = |name: &str| HostRow {
        name: name.into(),
        fqdn: Some(format!("{}.corp.example", name.to_lowercase())),
        group: Some("Cluster-A".into()),
        cluster: None,
        os: "2022".into(),
        os_build: Some(20348),
        confirmed: Some(true),
        in_directory: true,
        enabled: true,
        inventory: InventoryStatus::Missing,
        migration_enabled: None,
        authentication_type: None,
        credential_guard: None,
        protocol_transition: Some(true),
        peers: 4,
        peers_covered: 4,
        last_boot: None,
        delegation_changed: Some(t(1)),
        findings: sev(0, 0, 0),
        can_migrate_to: 3,
        can_migrate_from: 3,
        blocked_to: 1,
        unknown_to: 0,
    };
    let mut hv01 = row("HV01");
    hv01.cluster = Some("CL1".into());
    hv01.inventory = InventoryStatus::Read;
    hv01.migration_enabled = Some(true);
    hv01.authentication_type = Some("Kerberos".into());
    hv01.credential_guard = Some(false);
    hv01.peers = 3;
    hv01.peers_covered = 2;
    hv01.last_boot = Some(t(1));
    hv01.delegation_changed = Some(t(2));
    hv01.findings = sev(1, 0, 2);
    let mut hv02 = row("HV02");
    hv02.cluster = Some("CL1".into());
    hv02.inventory = InventoryStatus::Error;
    let mut hv03 = row("HV03");
    hv03.confirmed = Some(false);
    hv03.can_migrate_from = 0;
    let mut hostile = row("<b>HV04</b>");
    hostile.fqdn = Some(XSS_IMG.into());
    hostile.findings = sev(0, 1, 0);
    hostile.can_migrate_to = 0;
    hostile.blocked_to = 4;
    let uni = row(UNICODE);
    vec![hv01, hv02, hv03, hostile, uni]
}

/// A report with the ten hostile findings plus `generated` generated ones.
pub fn fixture_report(generated: usize) -> ReportData {
    let mut findings = hostile_findings();
    findings.extend((0..generated).map(generated_finding));
    let checks = fixture_checks(&findings);
    let gaps = vec![
        Gap::new(
            "msDS-AllowedToActOnBehalfOfOtherIdentity on CN=HV03",
            "insufficient access rights <script>alert(3)</script>",
        ),
        Gap::new("inventory row HV05", "WinRM unreachable"),
    ];
    ReportData {
        meta: ScanMeta {
            tool_version: "0.1.0".into(),
            source_kind: "ldap".into(),
            source: "ldaps://dc1.corp.example:636".into(),
            bind_identity: Some("CORP\\auditor".into()),
            collected_at: Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53).unwrap(),
            reads: vec![ReadRecord {
                what: "computers".into(),
                base: "DC=corp,DC=example".into(),
                filter: "(objectCategory=computer)".into(),
                entries: 42,
                pages: 1,
            }],
            gaps: gaps.clone(),
            tls_verification_disabled: false,
            connection: None,
        },
        domain: Domain {
            dn: "DC=corp,DC=example".into(),
            dns_name: "corp.example".into(),
            netbios_name: Some("CORP".into()),
            sid: None,
            functional_level: Some(7),
            domain_controllers: vec![DomainController {
                sam_account_name: "DC1$".into(),
                dns_host_name: Some("dc1.corp.example".into()),
                dn: "CN=DC1,OU=Domain Controllers,DC=corp,DC=example".into(),
                read_only: false,
            }],
        },
        complete: false,
        gaps,
        tool_version: "0.1.0".into(),
        ruleset_version: "2025.1".into(),
        sources: vec![
            "ldaps://dc1.corp.example:636".into(),
            "inventory.csv".into(),
            "hvaudit.toml".into(),
        ],
        findings,
        readiness: vec![small_group(), big_group(), medium_group()],
        delegations: vec![
            DelegationRow {
                account: "DC1$".into(),
                dn: "CN=DC1,OU=Domain Controllers,DC=corp,DC=example".into(),
                kind: AccountClass::Computer,
                dc: true,
                enabled: true,
                delegation_type: DelegationType::Unconstrained,
                targets: vec![],
                protocol_transition: false,
            },
            DelegationRow {
                account: XSS_IMG.into(),
                dn: "CN=HV01,DC=corp,DC=example".into(),
                kind: AccountClass::Computer,
                dc: false,
                enabled: true,
                delegation_type: DelegationType::ConstrainedProtocolTransition,
                targets: vec![
                    "Microsoft Virtual System Migration Service/HV02".into(),
                    XSS_SCRIPT.into(),
                ],
                protocol_transition: true,
            },
            // More targets than the page lists unfolded.
            DelegationRow {
                account: "HV03$".into(),
                dn: "CN=HV03,DC=corp,DC=example".into(),
                kind: AccountClass::Computer,
                dc: false,
                enabled: true,
                delegation_type: DelegationType::ConstrainedProtocolTransition,
                targets: (1..=11)
                    .map(|i| format!("cifs/HV{i:02}"))
                    .chain([XSS_IMG.to_string()])
                    .collect(),
                protocol_transition: true,
            },
        ],
        privileged: vec![
            PrivilegedRow {
                account: "Administrator".into(),
                dn: "CN=Administrator,CN=Users,DC=corp,DC=example".into(),
                enabled: true,
                via: vec!["RID 500".into(), "Domain Admins".into()],
                not_delegated: true,
                protected_users: false,
                protected: true,
            },
            PrivilegedRow {
                account: ANSI.into(),
                dn: "CN=adm,DC=corp,DC=example".into(),
                enabled: true,
                via: vec!["Domain Admins > Tier0 <Ops>".into()],
                not_delegated: false,
                protected_users: false,
                protected: false,
            },
        ],
        rules: vec![
            rule("HV001", Severity::Critical),
            rule("HV002", Severity::Medium),
            rule("HV005", Severity::High),
            rule("HV008", Severity::Critical),
            rule("PA001", Severity::High),
        ],
        suppression_notes: vec!["suppression for HV006 on HOST-0099 expired 2024-01-01".into()],
        diff: Some(DiffSummary {
            previous: "previous/findings.json".into(),
            new: 3,
            unchanged: 47,
            resolved: vec![f("HV013", Severity::Medium, "OLD-HOST", None, "fixed")],
            // Its rule (an inventory rule) did not run this time: not resolved.
            no_longer_evaluated: vec![f(
                "HV012",
                Severity::High,
                "HV05",
                None,
                "CredSSP while Credential Guard runs",
            )],
        }),
        checks,
        hosts: fixture_hosts(),
        export: None,
    }
}
