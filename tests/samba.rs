//! Integration tests against one real Samba AD DC (see tests/common/samba.rs).
//! harness = false: provisioning costs ~20 s, so `main` starts the DC once, runs every test in
//! `TESTS` against it and stops it. Add a test by writing `fn name(dc: &TestDc)` and one line in
//! `TESTS`. `cargo test --test samba -- WORD` runs only tests whose name contains WORD.

#[path = "common/samba.rs"]
#[allow(dead_code)] // shared with other test binaries, each using a subset
mod samba_dc;

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;

use samba_dc::TestDc;

#[path = "samba/candidates.rs"]
mod candidates;
#[path = "samba/collect.rs"]
mod collect;
#[path = "samba/connect.rs"]
mod connect;
#[path = "samba/faults.rs"]
mod faults;
#[cfg(feature = "kerberos")]
#[path = "samba/kerberos.rs"]
mod kerberos;
#[path = "samba/proxy.rs"]
mod proxy;
#[path = "samba/readonly.rs"]
mod readonly;
#[path = "samba/recorder.rs"]
mod recorder;
#[path = "samba/rules.rs"]
mod rules;

type Test = (&'static str, fn(&TestDc));

const TESTS: &[Test] = &[
    ("collect_ldaps_snapshot", collect::collect_ldaps_snapshot),
    ("collect_starttls", collect::collect_starttls),
    (
        "ldif_export_agrees_with_ldap",
        collect::ldif_export_agrees_with_ldap,
    ),
    (
        "collect_failures_are_one_line",
        collect::collect_failures_are_one_line,
    ),
    ("rules_on_samba_fixtures", rules::rules_on_samba_fixtures),
    ("fault_cut_mid_search", faults::fault_cut_mid_search),
    ("fault_stall_mid_search", faults::fault_stall_mid_search),
    (
        "fault_stall_in_tls_handshake",
        faults::fault_stall_in_tls_handshake,
    ),
    (
        "fault_reset_in_tls_handshake",
        faults::fault_reset_in_tls_handshake,
    ),
    (
        "bind_locked_and_disabled_accounts",
        faults::bind_locked_and_disabled_accounts,
    ),
    (
        "bind_stronger_auth_required_maps_to_fix",
        faults::bind_stronger_auth_required_maps_to_fix,
    ),
    (
        "tls_cert_for_another_name",
        faults::tls_cert_for_another_name,
    ),
    (
        "dns_name_that_does_not_resolve",
        faults::dns_name_that_does_not_resolve,
    ),
    (
        "base_dn_outside_the_domain",
        faults::base_dn_outside_the_domain,
    ),
    (
        "ordinary_user_cannot_read_is_a_gap",
        faults::ordinary_user_cannot_read_is_a_gap,
    ),
    (
        "readonly_scan_sends_only_reads",
        readonly::readonly_scan_sends_only_reads,
    ),
    (
        "readonly_recorder_refuses_writes",
        readonly::readonly_recorder_refuses_writes,
    ),
    (
        "secrets_absent_from_verbose_outputs",
        readonly::secrets_absent_from_verbose_outputs,
    ),
    (
        "insecure_skip_verify_is_loud_and_recorded",
        readonly::insecure_skip_verify_is_loud_and_recorded,
    ),
    ("fixture_paging_workstations", fixture_paging_workstations),
    ("fixture_big_group_range", fixture_big_group_range),
    ("fixture_rid_512_renamed", fixture_rid_512_renamed),
    (
        "fixture_protocol_transition_flags",
        fixture_protocol_transition_flags,
    ),
    ("fixture_hva01_delegation", fixture_hva01_delegation),
    ("fixture_partial_meshes", fixture_partial_meshes),
    ("fixture_hvb02_odd_targets", fixture_hvb02_odd_targets),
    ("fixture_hva02_rbcd", fixture_hva02_rbcd),
    ("fixture_hvb03_scp_only", fixture_hvb03_scp_only),
    ("fixture_hyperv_spns_and_os", fixture_hyperv_spns_and_os),
    ("fixture_privileged_users", fixture_privileged_users),
    ("fixture_dc_spns", fixture_dc_spns),
    ("transport_binds", transport_binds),
    (
        "transport_rustls_trusts_lab_ca",
        transport_rustls_trusts_lab_ca,
    ),
    // Adds (then removes) an OU, a user and a computer: after the tests that count objects.
    (
        "maq_computer_claiming_hyperv_is_excluded",
        candidates::maq_computer_claiming_hyperv_is_excluded,
    ),
    (
        "dns_srv_discovery_skips_dead_dc",
        connect::dns_srv_discovery_skips_dead_dc,
    ),
    #[cfg(feature = "kerberos")]
    ("kerberos_sealed_scan", connect::kerberos_sealed_scan),
    // Only in a `--features kerberos` build: `cargo test --features kerberos --test samba`.
    #[cfg(feature = "kerberos")]
    (
        "kerberos_collect_matches_simple_bind",
        kerberos::kerberos_collect_matches_simple_bind,
    ),
    #[cfg(feature = "kerberos")]
    ("kerberos_client_keytab", kerberos::kerberos_client_keytab),
    #[cfg(feature = "kerberos")]
    (
        "kerberos_failures_are_one_line",
        kerberos::kerberos_failures_are_one_line,
    ),
];

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let selected: Vec<&Test> = TESTS
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    if selected.is_empty() {
        return;
    }

    let started = std::time::Instant::now();
    let dc = TestDc::start();
    println!("test DC up at {} after {:.1?}", dc.url, started.elapsed());

    let mut failed = Vec::new();
    for (name, test) in &selected {
        let ok = catch_unwind(AssertUnwindSafe(|| test(&dc))).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed.push(*name);
        }
    }
    dc.stop();
    drop(dc);

    println!(
        "\ntest result: {}. {} passed; {} failed; finished in {:.1?}",
        if failed.is_empty() { "ok" } else { "FAILED" },
        selected.len() - failed.len(),
        failed.len(),
        started.elapsed()
    );
    if !failed.is_empty() {
        println!("failures: {}", failed.join(", "));
        std::process::exit(1);
    }
}

// Fixed DNs of the fixtures (tests/harness/gen_fixtures.py).
const HYPERV: &str = "OU=HyperV,OU=Servers,DC=lab,DC=test";
const ADMINS: &str = "OU=Admins,DC=lab,DC=test";

fn host_dn(name: &str) -> String {
    format!("CN={name},{HYPERV}")
}

fn uac(dc: &TestDc, dn: &str) -> u32 {
    dc.read(dn, &["userAccountControl"])
        .one("userAccountControl")
        .parse()
        .expect("numeric userAccountControl")
}

fn delegate_to(dc: &TestDc, host: &str) -> BTreeSet<String> {
    dc.read(&host_dn(host), &["msDS-AllowedToDelegateTo"])
        .get("msDS-AllowedToDelegateTo")
        .into_iter()
        .collect()
}

fn set(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|s| s.to_string()).collect()
}

/// The domain SID as text, from the extended-DN control (string form) on the domain head.
fn domain_sid(dc: &TestDc) -> String {
    let e = dc.ldapsearch(
        &dc.base_dn,
        "base",
        "(objectClass=*)",
        &["1.1"],
        &["-E", "1.2.840.113556.1.4.529=::MAMCAQE="],
    );
    assert_eq!(e.len(), 1);
    let dn = &e[0].dn;
    let start = dn.find("<SID=").expect("extended DN carries the SID") + 5;
    let end = start + dn[start..].find('>').unwrap();
    dn[start..end].to_string()
}

fn fixture_paging_workstations(dc: &TestDc) {
    // Above the 1,000-entry page limit AD enforces: only paged searches see them all.
    let ws = dc.ldapsearch(
        "OU=Workstations,DC=lab,DC=test",
        "one",
        "(objectClass=computer)",
        &["1.1"],
        &[],
    );
    assert_eq!(ws.len(), 1100);
    let all = dc.ldapsearch(&dc.base_dn, "sub", "(objectClass=computer)", &["1.1"], &[]);
    // 1,100 workstations + 7 Hyper-V hosts + FS01, WEB01, OLDHV01 + the DC.
    assert_eq!(all.len(), 1111);
}

fn fixture_big_group_range(dc: &TestDc) {
    let dn = "CN=BigGroup,OU=Groups,DC=lab,DC=test";
    let g = dc.read(dn, &["member"]);
    let members = g.get("member");
    assert_eq!(members.len(), 1600);
    assert!(members.contains(&"CN=bulk1600,OU=Bulk,DC=lab,DC=test".to_string()));
    // Range retrieval past MaxValRange (1,500): the last chunk is named `member;range=1500-*`.
    let tail = dc.read(dn, &["member;range=1500-*"]);
    assert_eq!(
        tail.get("member;range=1500-*").len(),
        100,
        "{:?}",
        tail.attrs.keys()
    );
    let first = dc.read(dn, &["member;range=0-1499"]);
    assert_eq!(first.get("member;range=0-1499").len(), 1500);
    // BigGroup sits directly in the RID-512 group.
    let da = dc.read(&format!("<SID={}-512>", domain_sid(dc)), &["member"]);
    assert!(
        da.get("member")
            .contains(&"CN=BigGroup,OU=Groups,DC=lab,DC=test".to_string())
    );
}

fn fixture_rid_512_renamed(dc: &TestDc) {
    let sid = domain_sid(dc);
    assert!(sid.starts_with("S-1-5-21-"), "{sid}");
    let g = dc.read(&format!("<SID={sid}-512>"), &["cn", "sAMAccountName"]);
    assert_eq!(g.one("cn"), "Domänen-Admins");
    assert_eq!(g.one("sAMAccountName"), "Domänen-Admins");
    assert_eq!(g.dn, "CN=Domänen-Admins,CN=Users,DC=lab,DC=test");
    let old = dc.ldapsearch(
        &dc.base_dn,
        "sub",
        "(sAMAccountName=Domain Admins)",
        &["1.1"],
        &[],
    );
    assert!(old.is_empty(), "{old:?}");
}

const TRUSTED_FOR_DELEGATION: u32 = 0x80000;
const NOT_DELEGATED: u32 = 0x100000;
const TRUSTED_TO_AUTH_FOR_DELEGATION: u32 = 0x1000000;
const ACCOUNTDISABLE: u32 = 0x2;

fn fixture_protocol_transition_flags(dc: &TestDc) {
    for (host, pt) in [
        ("HVA01", true),
        ("HVA02", true),
        ("HVA03", true),
        ("HVA04", false),
        ("HVB01", false),
        ("HVB02", true),
        ("HVB03", false),
    ] {
        let u = uac(dc, &host_dn(host));
        assert_eq!(
            u & TRUSTED_TO_AUTH_FOR_DELEGATION != 0,
            pt,
            "{host}: {u:#x}"
        );
        assert_eq!(
            u & TRUSTED_FOR_DELEGATION != 0,
            host == "HVB03",
            "{host}: {u:#x}"
        );
    }
}

fn fixture_hva01_delegation(dc: &TestDc) {
    let m = "Microsoft Virtual System Migration Service";
    let mut want = BTreeSet::new();
    for h in ["HVA02", "HVA03", "HVA04"] {
        want.insert(format!("{m}/{h}"));
        want.insert(format!("{m}/{h}.lab.test"));
        want.insert(format!("cifs/{h}"));
        want.insert(format!("cifs/{h}.lab.test"));
    }
    assert_eq!(delegate_to(dc, "HVA01"), want);
}

fn fixture_partial_meshes(dc: &TestDc) {
    let hva02 = delegate_to(dc, "HVA02");
    assert_eq!(hva02.len(), 8, "{hva02:?}");
    assert!(hva02.iter().all(|s| !s.contains("HVA04")), "{hva02:?}");
    let hva03 = delegate_to(dc, "HVA03");
    let cifs: BTreeSet<String> = hva03
        .iter()
        .filter(|s| s.starts_with("cifs/"))
        .cloned()
        .collect();
    assert_eq!(cifs, set(&["cifs/HVA01", "cifs/HVA02", "cifs/HVA04"]));
    assert_eq!(hva03.len(), 9, "{hva03:?}");
    assert_eq!(delegate_to(dc, "HVA04").len(), 12);
    assert_eq!(
        delegate_to(dc, "HVB01"),
        set(&[
            "Microsoft Virtual System Migration Service/HVB02",
            "Microsoft Virtual System Migration Service/HVB02.lab.test",
            "cifs/HVB02",
            "cifs/HVB02.lab.test",
        ])
    );
    assert!(delegate_to(dc, "HVB03").is_empty());
}

fn fixture_hvb02_odd_targets(dc: &TestDc) {
    assert_eq!(
        delegate_to(dc, "HVB02"),
        set(&[
            "ldap/dc1.lab.test",
            "http/web01.lab.test",
            "cifs/RETIRED01",
            "cifs/OLDHV01",
        ])
    );
    let none = dc.ldapsearch(
        &dc.base_dn,
        "sub",
        "(sAMAccountName=RETIRED01$)",
        &["1.1"],
        &[],
    );
    assert!(none.is_empty());
    let old = uac(dc, "CN=OLDHV01,OU=Servers,DC=lab,DC=test");
    assert_ne!(old & ACCOUNTDISABLE, 0, "{old:#x}");
}

fn fixture_hva02_rbcd(dc: &TestDc) {
    let sd = dc.read(
        &host_dn("HVA02"),
        &["msDS-AllowedToActOnBehalfOfOtherIdentity"],
    );
    let sd = sd.get_bin("msDS-AllowedToActOnBehalfOfOtherIdentity");
    assert_eq!(sd.len(), 1);
    let sd = &sd[0];
    // Self-relative security descriptor, revision 1; its DACL names both trustees' SIDs.
    assert_eq!(sd[0], 1);
    for trustee in [host_dn("HVA01"), format!("CN=svc-backup,{ADMINS}")] {
        let sid = dc
            .read(&trustee, &["objectSid"])
            .get_bin("objectSid")
            .remove(0);
        assert!(
            sd.windows(sid.len()).any(|w| w == sid.as_slice()),
            "RBCD descriptor lacks the SID of {trustee}"
        );
    }
    let other = dc.read(
        &host_dn("HVA01"),
        &["msDS-AllowedToActOnBehalfOfOtherIdentity"],
    );
    assert!(other.attrs.is_empty(), "{other:?}");
}

fn fixture_hvb03_scp_only(dc: &TestDc) {
    let scp = dc.ldapsearch(
        &host_dn("HVB03"),
        "one",
        "(objectClass=serviceConnectionPoint)",
        &["cn"],
        &[],
    );
    assert_eq!(scp.len(), 1);
    assert_eq!(scp[0].one("cn"), "Microsoft Hyper-V");
    let spns = dc
        .read(&host_dn("HVB03"), &["servicePrincipalName"])
        .get("servicePrincipalName");
    assert!(!spns.is_empty());
    assert!(
        spns.iter()
            .all(|s| !s.to_lowercase().starts_with("microsoft virtual")),
        "{spns:?}"
    );
}

fn fixture_hyperv_spns_and_os(dc: &TestDc) {
    let hosts = dc.ldapsearch(
        &dc.base_dn,
        "sub",
        "(servicePrincipalName=Microsoft Virtual Console Service/*)",
        &["cn"],
        &[],
    );
    let names: BTreeSet<String> = hosts.iter().map(|e| e.one("cn")).collect();
    assert_eq!(
        names,
        set(&["HVA01", "HVA02", "HVA03", "HVA04", "HVB01", "HVB02"])
    );

    let hva04 = dc
        .read(&host_dn("HVA04"), &["servicePrincipalName"])
        .get("servicePrincipalName");
    assert!(hva04.contains(&"microsoft virtual system migration service/HVA04".to_string()));
    let hva01 = dc
        .read(&host_dn("HVA01"), &["servicePrincipalName"])
        .get("servicePrincipalName");
    assert!(hva01.contains(&"Hyper-V Replica Service/HVA01.lab.test".to_string()));

    for (host, version) in [
        ("HVA01", "10.0 (20348)"),
        ("HVA04", "10.0 (20348)"),
        ("HVB01", "6.3 (9600)"),
        ("HVB02", "10.0 (17763)"),
        ("HVB03", "10.0 (17763)"),
    ] {
        let e = dc.read(&host_dn(host), &["operatingSystemVersion", "dNSHostName"]);
        assert_eq!(e.one("operatingSystemVersion"), version, "{host}");
        assert_eq!(e.one("dNSHostName"), format!("{host}.lab.test"));
    }
}

fn fixture_privileged_users(dc: &TestDc) {
    let sid = domain_sid(dc);
    let da = dc
        .read(&format!("<SID={sid}-512>"), &["distinguishedName"])
        .dn;
    let user = |sam: &str| format!("CN={sam},{ADMINS}");

    assert_ne!(uac(dc, &user("alice.admin")) & NOT_DELEGATED, 0);
    assert_eq!(uac(dc, &user("bob.admin")) & NOT_DELEGATED, 0);
    assert_ne!(uac(dc, &user("dave.disabled")) & ACCOUNTDISABLE, 0);
    assert_ne!(uac(dc, &user("svc-lm")) & NOT_DELEGATED, 0);

    let pu = dc
        .read(&format!("<SID={sid}-525>"), &["member"])
        .get("member");
    assert_eq!(pu, vec![user("carol.admin")]);

    // erin: Domain Admins only as primary group; Domain Users became an explicit membership.
    let erin = dc.read(&user("erin.pg"), &["primaryGroupID", "memberOf"]);
    assert_eq!(erin.one("primaryGroupID"), "512");
    assert_eq!(
        erin.get("memberOf"),
        vec!["CN=Domain Users,CN=Users,DC=lab,DC=test"]
    );

    let direct: BTreeSet<String> = dc
        .read(&da, &["member"])
        .get("member")
        .into_iter()
        .collect();
    let want: BTreeSet<String> = ["alice.admin", "bob.admin", "carol.admin", "dave.disabled"]
        .iter()
        .map(|u| user(u))
        .chain(
            ["Tier0-L1", "BigGroup"]
                .iter()
                .map(|g| format!("CN={g},OU=Groups,DC=lab,DC=test")),
        )
        .chain(["CN=Administrator,CN=Users,DC=lab,DC=test".to_string()])
        .collect();
    assert_eq!(direct, want);

    // frank reaches Domain Admins only through three nested groups.
    let chain = dc.ldapsearch(
        ADMINS,
        "one",
        &format!("(memberOf:1.2.840.113556.1.4.1941:={da})"),
        &["sAMAccountName"],
        &[],
    );
    let names: BTreeSet<String> = chain.iter().map(|e| e.one("sAMAccountName")).collect();
    assert!(names.contains("frank.nested"), "{names:?}");
    assert!(!names.contains("stale.admin"), "{names:?}");
    let frank = dc
        .read(&user("frank.nested"), &["memberOf"])
        .get("memberOf");
    assert_eq!(frank, vec!["CN=Tier0-L3,OU=Groups,DC=lab,DC=test"]);

    let stale = dc.read(&user("stale.admin"), &["adminCount", "memberOf"]);
    assert_eq!(stale.one("adminCount"), "1");
    assert!(stale.get("memberOf").is_empty());
}

fn fixture_dc_spns(dc: &TestDc) {
    let dcs = dc.ldapsearch(
        "OU=Domain Controllers,DC=lab,DC=test",
        "one",
        "(objectClass=computer)",
        &["servicePrincipalName", "userAccountControl"],
        &[],
    );
    assert_eq!(dcs.len(), 1);
    let spns = dcs[0].get("servicePrincipalName");
    for want in [
        "ldap/dc1.lab.test",
        "HOST/dc1.lab.test/lab.test",
        "RestrictedKrbHost/DC1",
    ] {
        assert!(spns.iter().any(|s| s == want), "DC lacks {want}: {spns:?}");
    }
    assert_ne!(
        dcs[0].one("userAccountControl").parse::<u32>().unwrap() & 0x2000,
        0
    );
}

fn ldap_bind(dc: &TestDc, url: &str, starttls: bool) -> std::process::Output {
    let mut cmd = Command::new("ldapsearch");
    cmd.env("LDAPTLS_CACERT", &dc.ca_file)
        .args(["-LLL", "-x", "-H", url, "-D", &dc.user])
        .arg("-y")
        .arg(dc.password_file());
    if starttls {
        cmd.arg("-ZZ");
    }
    cmd.args(["-s", "base", "-b", "", "dnsHostName"]);
    cmd.output().expect("running ldapsearch")
}

fn transport_binds(dc: &TestDc) {
    let tls = ldap_bind(dc, &dc.url, false);
    assert!(
        tls.status.success(),
        "{}",
        String::from_utf8_lossy(&tls.stderr)
    );
    assert!(String::from_utf8_lossy(&tls.stdout).contains("dnsHostName: dc1.lab.test"));
    let st = ldap_bind(dc, &dc.starttls_url, true);
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    // Like an enforcing Windows DC: no simple bind in clear text.
    let plain = ldap_bind(dc, &dc.starttls_url, false);
    assert!(!plain.status.success());
    assert!(
        String::from_utf8_lossy(&plain.stderr).contains("Strong(er) authentication required"),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    // The KDC answers on the same IP through the generated krb5.conf.
    let ccache = dc.dir.join("test.ccache");
    let kinit = Command::new("kinit")
        .env("KRB5_CONFIG", &dc.krb5_config)
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .arg(format!("administrator@{}", dc.realm))
        .stdin(std::fs::File::open(dc.password_file()).unwrap())
        .output()
        .expect("running kinit (install krb5-user)");
    assert!(
        kinit.status.success(),
        "{}",
        String::from_utf8_lossy(&kinit.stderr)
    );
}

/// The lab CA and server certificate pass rustls/webpki (stricter than OpenSSL), as ldap3 uses
/// them, for LDAPS and StartTLS; a store without the lab CA is refused.
fn transport_rustls_trusts_lab_ca(dc: &TestDc) {
    use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry};
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    use std::sync::Arc;

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&dc.ca_file).expect("reading the lab CA") {
        roots
            .add(cert.expect("PEM certificate"))
            .expect("adding the lab CA");
    }
    let config = |roots: rustls::RootCertStore| {
        Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    };
    for (url, starttls) in [(&dc.url, false), (&dc.starttls_url, true)] {
        let settings = LdapConnSettings::new()
            .set_config(config(roots.clone()))
            .set_starttls(starttls);
        let mut ldap = LdapConn::with_settings(settings, url).expect("TLS connection");
        ldap.simple_bind(&dc.user, &dc.password)
            .expect("bind")
            .success()
            .expect("bind result");
        let (rs, _) = ldap
            .search("", Scope::Base, "(objectClass=*)", vec!["dnsHostName"])
            .expect("rootDSE search")
            .success()
            .expect("rootDSE result");
        let e = SearchEntry::construct(rs.into_iter().next().expect("rootDSE"));
        assert_eq!(e.attrs["dnsHostName"], vec!["dc1.lab.test".to_string()]);
        ldap.unbind().expect("unbind");
    }
    let untrusted = LdapConnSettings::new().set_config(config(rustls::RootCertStore::empty()));
    let err = match LdapConn::with_settings(untrusted, &dc.url) {
        Ok(_) => panic!("an empty trust store must refuse the DC"),
        Err(e) => e,
    };
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
}
