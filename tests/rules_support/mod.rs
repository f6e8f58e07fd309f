//! Small snapshots built in code for rule tests. Every value a test relies on is set here or in
//! the test itself; nothing is computed by the code under test.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use hvaudit::audit::{AuditOutcome, run_audit};
use hvaudit::config::Config;
use hvaudit::inventory::{HostInventory, InventoryHost, MigrationAuth};
use hvaudit::model::uac::{
    ACCOUNTDISABLE, NORMAL_ACCOUNT, SERVER_TRUST_ACCOUNT, TRUSTED_TO_AUTH_FOR_DELEGATION,
    WORKSTATION_TRUST_ACCOUNT,
};
use hvaudit::model::{
    Account, AccountKind, Computer, Domain, DomainController, EffectiveMember, Gap, Group,
    PrincipalKind, Rbcd, RbcdTrustee, ScanMeta, Sid, Snapshot, Uac,
};
use hvaudit::rules::RuleSet;

pub const DOMAIN_SID: &str = "S-1-5-21-1000-2000-3000";
pub const MIG: &str = "Microsoft Virtual System Migration Service";
pub const BUILD_2012R2: u32 = 9600;
pub const BUILD_2022: u32 = 20348;

pub fn t(y: i32, mo: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, 0, 0).unwrap()
}

pub fn now() -> DateTime<Utc> {
    t(2025, 6, 1, 12)
}

pub fn sid(rid: u32) -> Sid {
    Sid::parse(&format!("{DOMAIN_SID}-{rid}")).unwrap()
}

pub struct Fx {
    pub snap: Snapshot,
    next_rid: u32,
}

impl Default for Fx {
    fn default() -> Self {
        Fx::new()
    }
}

impl Fx {
    /// A domain with one DC (DC01), an empty Domain Admins group under another name and an
    /// empty Protected Users group.
    pub fn new() -> Fx {
        let mut fx = Fx {
            snap: Snapshot {
                schema_version: 1,
                meta: ScanMeta {
                    tool_version: "test".into(),
                    source_kind: "ldif".into(),
                    source: "test".into(),
                    bind_identity: None,
                    collected_at: t(2025, 6, 1, 10),
                    reads: vec![],
                    gaps: vec![],
                    tls_verification_disabled: false,
                    connection: None,
                },
                domain: Domain {
                    dn: "DC=corp,DC=example".into(),
                    dns_name: "corp.example".into(),
                    netbios_name: Some("CORP".into()),
                    sid: Some(Sid::parse(DOMAIN_SID).unwrap()),
                    functional_level: Some(7),
                    domain_controllers: vec![DomainController {
                        sam_account_name: "DC01$".into(),
                        dns_host_name: Some("dc01.corp.example".into()),
                        dn: "CN=DC01,OU=Domain Controllers,DC=corp,DC=example".into(),
                        read_only: false,
                    }],
                },
                computers: vec![],
                accounts: vec![],
                groups: vec![],
            },
            next_rid: 1100,
        };
        let dc = fx.computer_in("DC01", "OU=Domain Controllers,DC=corp,DC=example");
        fx.snap.computers[dc].uac = Uac(SERVER_TRUST_ACCOUNT | 0x80000);
        // Renamed on purpose: found by SID only.
        fx.group_with_sid("Domänen-Admins", sid(512));
        fx.group_with_sid("Protected Users", sid(525));
        fx
    }

    fn rid(&mut self) -> u32 {
        self.next_rid += 1;
        self.next_rid
    }

    pub fn computer_in(&mut self, name: &str, ou: &str) -> usize {
        let rid = self.rid();
        self.snap.computers.push(Computer {
            dn: format!("CN={name},{ou}"),
            sam_account_name: format!("{name}$"),
            dns_host_name: Some(format!("{}.corp.example", name.to_lowercase())),
            sid: Some(sid(rid)),
            uac: Uac(WORKSTATION_TRUST_ACCOUNT),
            operating_system: Some("Windows Server".into()),
            operating_system_version: None,
            spns: vec![
                format!("HOST/{name}"),
                format!("HOST/{}.corp.example", name.to_lowercase()),
            ],
            allowed_to_delegate_to: vec![],
            rbcd: None,
            when_changed: None,
            delegation_changed: None,
            uac_changed: None,
            hyperv_scp: false,
            creator_sid: None,
            owner_sid: None,
        });
        self.snap.computers.len() - 1
    }

    pub fn computer(&mut self, name: &str) -> usize {
        self.computer_in(name, "OU=Servers,DC=corp,DC=example")
    }

    /// A Hyper-V host (migration and console SPNs) on the given build, with protocol
    /// transition when `pt`.
    pub fn hv(&mut self, name: &str, build: u32, pt: bool) -> usize {
        let c = self.computer_in(name, "OU=HyperV,OU=Servers,DC=corp,DC=example");
        let comp = &mut self.snap.computers[c];
        comp.operating_system_version = Some(format!("10.0 ({build})"));
        comp.spns.push(format!("{MIG}/{name}"));
        comp.spns
            .push(format!("{MIG}/{}.corp.example", name.to_lowercase()));
        comp.spns
            .push(format!("Microsoft Virtual Console Service/{name}"));
        if pt {
            comp.uac.0 |= TRUSTED_TO_AUTH_FOR_DELEGATION;
        }
        c
    }

    pub fn idx(&self, name: &str) -> usize {
        self.snap
            .computers
            .iter()
            .position(|c| c.sam_account_name.eq_ignore_ascii_case(&format!("{name}$")))
            .unwrap_or_else(|| panic!("no computer {name}"))
    }

    pub fn comp(&mut self, name: &str) -> &mut Computer {
        let i = self.idx(name);
        &mut self.snap.computers[i]
    }

    pub fn delegate(&mut self, from: &str, spns: &[&str]) {
        self.comp(from)
            .allowed_to_delegate_to
            .extend(spns.iter().map(|s| s.to_string()));
    }

    /// Migration service and cifs of `to`, both name forms.
    pub fn kcd_full(&mut self, from: &str, to: &str) {
        let fq = format!("{}.corp.example", to.to_lowercase());
        self.delegate(
            from,
            &[
                &format!("{MIG}/{to}"),
                &format!("{MIG}/{fq}"),
                &format!("cifs/{to}"),
                &format!("cifs/{fq}"),
            ],
        );
    }

    /// Full mesh of full KCD between the named hosts.
    pub fn mesh(&mut self, hosts: &[&str]) {
        for a in hosts {
            for b in hosts {
                if a != b {
                    self.kcd_full(a, b);
                }
            }
        }
    }

    pub fn rbcd(&mut self, on: &str, allow: &[Sid]) {
        self.comp(on).rbcd = Some(Rbcd {
            trustees: allow
                .iter()
                .map(|s| RbcdTrustee {
                    sid: s.clone(),
                    ace_type: "allow".into(),
                    access_mask: 0xF01FF,
                    ace_flags: 0,
                    object_type: None,
                })
                .collect(),
            no_dacl: false,
            opaque: vec![],
        });
    }

    pub fn csid(&self, name: &str) -> Sid {
        self.snap.computers[self.idx(name)].sid.clone().unwrap()
    }

    pub fn user(&mut self, name: &str) -> usize {
        let rid = self.rid();
        self.user_with_sid(name, sid(rid))
    }

    pub fn user_with_sid(&mut self, name: &str, s: Sid) -> usize {
        self.snap.accounts.push(Account {
            dn: format!("CN={name},OU=Users,DC=corp,DC=example"),
            kind: AccountKind::User,
            sam_account_name: name.into(),
            sid: Some(s),
            uac: Uac(NORMAL_ACCOUNT),
            admin_count: None,
            primary_group_id: Some(513),
            spns: vec![],
            allowed_to_delegate_to: vec![],
        });
        self.snap.accounts.len() - 1
    }

    pub fn acct(&mut self, name: &str) -> &mut Account {
        let i = self
            .snap
            .accounts
            .iter()
            .position(|a| a.sam_account_name == name)
            .unwrap_or_else(|| panic!("no account {name}"));
        &mut self.snap.accounts[i]
    }

    pub fn disable(&mut self, name: &str) {
        self.acct(name).uac.0 |= ACCOUNTDISABLE;
    }

    pub fn group_with_sid(&mut self, name: &str, s: Sid) -> usize {
        self.snap.groups.push(Group {
            dn: format!("CN={name},OU=Groups,DC=corp,DC=example"),
            sid: Some(s),
            sam_account_name: name.into(),
            reasons: vec!["privileged".into()],
            direct_members: vec![],
            effective_members: vec![],
        });
        self.snap.groups.len() - 1
    }

    pub fn group(&mut self, name: &str) -> Sid {
        let rid = self.rid();
        self.group_with_sid(name, sid(rid));
        sid(rid)
    }

    /// Adds an effective member (an account or computer, by name) to the group with SID `g`.
    pub fn member(&mut self, g: &Sid, who: &str, via: &[&str], by_primary_group: bool) {
        let (dn, s, kind) = if let Some(a) = self
            .snap
            .accounts
            .iter()
            .find(|a| a.sam_account_name == who)
        {
            (a.dn.clone(), a.sid.clone(), PrincipalKind::User)
        } else {
            let c = &self.snap.computers[self.idx(who)];
            (c.dn.clone(), c.sid.clone(), PrincipalKind::Computer)
        };
        let group = self
            .snap
            .groups
            .iter_mut()
            .find(|x| x.sid.as_ref() == Some(g))
            .expect("group");
        if via.is_empty() && !by_primary_group {
            group.direct_members.push(dn.clone());
        }
        // As the collector lists them: each nested group on the path is itself an effective
        // member, found through the one before it.
        let path: Vec<String> = via
            .iter()
            .map(|v| format!("CN={v},OU=Groups,DC=corp,DC=example"))
            .collect();
        for (k, nested) in path.iter().enumerate() {
            if !group.effective_members.iter().any(|m| &m.dn == nested) {
                group.effective_members.push(EffectiveMember {
                    dn: nested.clone(),
                    sid: None,
                    kind: PrincipalKind::Group,
                    via_group: k.checked_sub(1).map(|p| path[p].clone()),
                    by_primary_group: false,
                });
            }
        }
        group.effective_members.push(EffectiveMember {
            dn,
            sid: s,
            kind,
            via_group: path.last().cloned(),
            by_primary_group,
        });
    }

    /// A gap about no single object (a failed search, the domain).
    pub fn gap(&mut self, what: &str) {
        self.snap
            .meta
            .gaps
            .push(Gap::new(what, "insufficient access rights"));
    }

    /// A gap about the object `dn`, as the collector records an attribute it could not read.
    pub fn gap_on(&mut self, dn: &str, what: &str) {
        self.snap
            .meta
            .gaps
            .push(Gap::on(dn, what, "insufficient access rights"));
    }

    pub fn audit(&self, config: &Config, inv: Option<&HostInventory>) -> AuditOutcome {
        let rules = RuleSet::builtin().unwrap();
        self.audit_with(config, inv, &rules)
    }

    pub fn audit_with(
        &self,
        config: &Config,
        inv: Option<&HostInventory>,
        rules: &RuleSet,
    ) -> AuditOutcome {
        let out = run_audit(&self.snap, inv, config, rules, now()).unwrap();
        assert!(out.errors.is_empty(), "rule errors: {:#?}", out.errors);
        out
    }
}

pub fn cfg(text: &str) -> Config {
    Config::from_toml_str(text, "test.toml").unwrap()
}

pub fn inv_row(name: &str, auth: MigrationAuth) -> InventoryHost {
    InventoryHost {
        computer_name: name.into(),
        migration_enabled: Some(true),
        authentication_type: Some(auth),
        performance_option: Some("Compression".into()),
        use_any_network: Some(true),
        maximum_migrations: Some(2),
        credential_guard_running: Some(false),
        last_boot: Some(t(2025, 5, 1, 0)),
        cluster_name: None,
        error: None,
    }
}

pub fn inventory(rows: Vec<InventoryHost>) -> HostInventory {
    HostInventory {
        source: "hosts.csv".into(),
        hosts: rows,
        locations: Vec::new(),
    }
}

/// (rule, object, target) of every finding, in outcome order.
pub fn keys(out: &AuditOutcome) -> Vec<(String, String, Option<String>)> {
    out.findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.object.clone(), f.target.clone()))
        .collect()
}

/// (object, target) of the findings of one rule, sorted.
pub fn of(out: &AuditOutcome, rule: &str) -> Vec<(String, Option<String>)> {
    let mut v: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.rule_id == rule)
        .map(|f| (f.object.clone(), f.target.clone()))
        .collect();
    v.sort();
    v
}

pub fn k(rule: &str, object: &str, target: Option<&str>) -> (String, String, Option<String>) {
    (rule.into(), object.into(), target.map(str::to_string))
}

pub fn ot(object: &str, target: Option<&str>) -> (String, Option<String>) {
    (object.into(), target.map(str::to_string))
}
