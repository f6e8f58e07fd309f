//! Measures rule evaluation on a large synthetic directory (no timing assertions: run it with
//! `cargo run --release --example bench_rules [ACCOUNTS] [HOSTS]` and read the numbers).

use std::time::Instant;

use chrono::Utc;
use hvaudit::audit::run_audit;
use hvaudit::config::Config;
use hvaudit::model::{
    Account, AccountKind, Computer, Domain, EffectiveMember, Group, PrincipalKind, ScanMeta, Sid,
    Snapshot, Uac,
};
use hvaudit::rules::RuleSet;

fn main() {
    let mut args = std::env::args().skip(1);
    let n_accounts: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let n_hosts: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    // `mesh`: every host delegates to every other (no pair findings, many entries).
    let mesh = args.next().is_some_and(|a| a == "mesh");
    let dom = "S-1-5-21-1-2-3";
    let sid = |rid: u32| Sid::parse(&format!("{dom}-{rid}")).unwrap();
    let mut snap = Snapshot {
        schema_version: 1,
        meta: ScanMeta {
            tool_version: "bench".into(),
            source_kind: "ldif".into(),
            source: "synthetic".into(),
            bind_identity: None,
            collected_at: Utc::now(),
            reads: vec![],
            gaps: vec![],
            tls_verification_disabled: false,
            connection: None,
        },
        domain: Domain {
            dn: "DC=corp,DC=example".into(),
            dns_name: "corp.example".into(),
            sid: Some(Sid::parse(dom).unwrap()),
            ..Domain::default()
        },
        computers: vec![],
        accounts: vec![],
        groups: vec![],
    };
    for h in 0..n_hosts {
        let name = format!("HV{h:04}");
        let peer = format!("HV{:04}", (h + 1) % n_hosts);
        snap.computers.push(Computer {
            dn: format!("CN={name},OU=HyperV,DC=corp,DC=example"),
            sam_account_name: format!("{name}$"),
            dns_host_name: Some(format!("{}.corp.example", name.to_lowercase())),
            sid: Some(sid(10_000 + h)),
            uac: Uac(0x1000 | 0x1000000),
            operating_system: None,
            operating_system_version: Some("10.0 (20348)".into()),
            spns: vec![format!("Microsoft Virtual System Migration Service/{name}")],
            allowed_to_delegate_to: if mesh {
                (0..n_hosts)
                    .filter(|p| *p != h)
                    .flat_map(|p| {
                        [
                            format!("Microsoft Virtual System Migration Service/HV{p:04}"),
                            format!("cifs/HV{p:04}"),
                        ]
                    })
                    .collect()
            } else {
                vec![
                    format!("Microsoft Virtual System Migration Service/{peer}"),
                    format!("cifs/{peer}"),
                    "http/web01".into(),
                ]
            },
            rbcd: None,
            when_changed: None,
            delegation_changed: None,
            uac_changed: None,
            hyperv_scp: false,
            creator_sid: None,
            owner_sid: None,
        });
    }
    let mut da = Group {
        dn: "CN=Domain Admins,DC=corp,DC=example".into(),
        sid: Some(sid(512)),
        sam_account_name: "Domain Admins".into(),
        reasons: vec![],
        direct_members: vec![],
        effective_members: vec![],
    };
    for i in 0..n_accounts {
        let dn = format!("CN=user{i},OU=Users,DC=corp,DC=example");
        if i % 100 == 0 {
            da.effective_members.push(EffectiveMember {
                dn: dn.clone(),
                sid: Some(sid(100_000 + i)),
                kind: PrincipalKind::User,
                via_group: None,
                by_primary_group: false,
            });
        }
        snap.accounts.push(Account {
            dn,
            kind: AccountKind::User,
            sam_account_name: format!("user{i}"),
            sid: Some(sid(100_000 + i)),
            uac: Uac(0x200),
            admin_count: (i % 50 == 0).then_some(1),
            primary_group_id: Some(513),
            spns: vec![],
            allowed_to_delegate_to: vec![],
        });
    }
    snap.groups.push(da);

    let config = Config::default();
    let t = Instant::now();
    let a = hvaudit::analysis::Analysis::build(&snap, None, &config);
    println!("analysis: {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let v: Vec<_> = hvaudit::analysis::AccountIdx::range(snap.accounts.len())
        .map(|i| hvaudit::rules::model::to_value(hvaudit::rules::model::account_view(&a, i, false)))
        .collect();
    println!(
        "account views: {:.3} s ({})",
        t.elapsed().as_secs_f64(),
        v.len()
    );
    drop(v);
    let rules = RuleSet::builtin().expect("built-in rules");
    let t = Instant::now();
    let out = run_audit(&snap, None, &config, &rules, Utc::now()).expect("audit");
    let total = t.elapsed();
    let pairs = n_hosts as u64 * (n_hosts as u64 - 1);
    println!(
        "{} accounts, {} hosts ({} ordered pairs, {} delegation entries): {} findings in {:.3} s",
        n_accounts,
        n_hosts,
        pairs,
        snap.computers
            .iter()
            .map(|c| c.allowed_to_delegate_to.len())
            .sum::<usize>(),
        out.findings.len(),
        total.as_secs_f64()
    );
    println!("rule errors: {}", out.errors.len());
}
