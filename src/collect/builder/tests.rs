//! Unit tests of the builder: DN helpers, time parsing, group closure and the gaps it records.

use super::*;

#[test]
fn dn_helpers_respect_escaped_commas() {
    assert_eq!(
        parent_dn("CN=Smith\\, John,OU=Users,DC=corp,DC=example"),
        Some("OU=Users,DC=corp,DC=example")
    );
    assert_eq!(
        rdn_value("CN=Microsoft Hyper-V,CN=HV1,DC=x").as_deref(),
        Some("Microsoft Hyper-V")
    );
    assert_eq!(dns_name_of("DC=corp,DC=example"), "corp.example");
}

#[test]
fn generalized_time() {
    let t = parse_generalized_time("20261120101500.0Z").unwrap();
    assert_eq!(t.to_rfc3339(), "2026-11-20T10:15:00+00:00");
    assert!(parse_generalized_time("yesterday").is_none());
}

mod closure_tests {
    use chrono::Utc;

    use super::*;

    const DOM: &str = "S-1-5-21-1-2-3";

    fn principal(dn: &str, classes: &[&str], rid: u32, extra: &[(&str, &str)]) -> RawEntry {
        let mut e = RawEntry::new(dn);
        for c in classes {
            e.push("objectClass", c.as_bytes().to_vec());
        }
        let sid = Sid::parse(&format!("{DOM}-{rid}")).unwrap();
        e.push("objectSid", sid.to_bytes());
        e.push(
            "sAMAccountName",
            dn.as_bytes()[3..dn.find(',').unwrap()].to_vec(),
        );
        e.push("userAccountControl", b"512".to_vec());
        for (k, v) in extra {
            e.push(k, v.as_bytes().to_vec());
        }
        e
    }

    fn meta() -> ScanMeta {
        ScanMeta {
            tool_version: "t".into(),
            source_kind: "test".into(),
            source: "test".into(),
            bind_identity: None,
            collected_at: Utc::now(),
            reads: vec![],
            gaps: vec![],
            tls_verification_disabled: false,
            connection: None,
        }
    }

    #[test]
    fn resolves_nesting_primary_group_foreign_and_cycles() {
        let mut b = SnapshotBuilder::new(BuildOptions::default());
        let user = ["top", "person", "user"];
        let group = ["top", "group"];
        b.add(principal(
            "CN=Renamed Admins,CN=Users,DC=x",
            &group,
            512,
            &[
                ("member", "CN=L1,CN=Users,DC=x"),
                (
                    "member",
                    "CN=S-1-5-21-9-9-9-1104,CN=ForeignSecurityPrincipals,DC=x",
                ),
            ],
        ));
        b.add(principal(
            "CN=L1,CN=Users,DC=x",
            &group,
            1101,
            &[("member", "CN=L2,CN=Users,DC=x")],
        ));
        // L2 nests L1 again: a cycle AD allows.
        b.add(principal(
            "CN=L2,CN=Users,DC=x",
            &group,
            1102,
            &[
                ("member", "CN=deep,CN=Users,DC=x"),
                ("member", "CN=L1,CN=Users,DC=x"),
            ],
        ));
        b.add(principal(
            "CN=deep,CN=Users,DC=x",
            &user,
            1103,
            &[("primaryGroupID", "513")],
        ));
        b.add(principal(
            "CN=pg,CN=Users,DC=x",
            &user,
            1104,
            &[("primaryGroupID", "512")],
        ));
        let mut fsp = RawEntry::new("CN=S-1-5-21-9-9-9-1104,CN=ForeignSecurityPrincipals,DC=x");
        fsp.push("objectClass", b"foreignSecurityPrincipal".to_vec());
        b.add(fsp);
        let s = b.finish(meta());
        assert_eq!(s.domain.sid.as_ref().unwrap().to_string(), DOM);
        let da = s
            .groups
            .iter()
            .find(|g| g.sam_account_name == "Renamed Admins")
            .unwrap();
        assert_eq!(da.reasons, vec!["privileged"]);
        let paths = da.via_paths();
        let got: Vec<(String, PrincipalKind, usize, bool)> = da
            .effective_members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.dn.clone(), m.kind, paths.depth(i), m.by_primary_group))
            .collect();
        assert_eq!(
            paths.path(0),
            vec!["CN=L1,CN=Users,DC=x", "CN=L2,CN=Users,DC=x"]
        );
        assert_eq!(
            da.effective_members[0].via_group.as_deref(),
            Some("CN=L2,CN=Users,DC=x")
        );
        assert_eq!(
            got,
            vec![
                (
                    "CN=deep,CN=Users,DC=x".to_string(),
                    PrincipalKind::User,
                    2,
                    false
                ),
                (
                    "CN=L1,CN=Users,DC=x".to_string(),
                    PrincipalKind::Group,
                    0,
                    false
                ),
                (
                    "CN=L2,CN=Users,DC=x".to_string(),
                    PrincipalKind::Group,
                    1,
                    false
                ),
                (
                    "CN=pg,CN=Users,DC=x".to_string(),
                    PrincipalKind::User,
                    0,
                    true
                ),
                (
                    "CN=S-1-5-21-9-9-9-1104,CN=ForeignSecurityPrincipals,DC=x".to_string(),
                    PrincipalKind::Foreign,
                    0,
                    false
                ),
            ]
        );
        let fsp = da
            .effective_members
            .iter()
            .find(|m| m.kind == PrincipalKind::Foreign)
            .unwrap();
        assert_eq!(fsp.sid.as_ref().unwrap().to_string(), "S-1-5-21-9-9-9-1104");
        // Groups that are not privileged, configured or RBCD trustees are not kept.
        assert!(s.groups.iter().all(|g| g.sam_account_name != "L1"));
    }

    #[test]
    fn truncated_range_in_export_is_a_gap() {
        let mut b = SnapshotBuilder::new(BuildOptions::default());
        b.add(principal(
            "CN=G,CN=Users,DC=x",
            &["group"],
            512,
            &[("member;range=0-1499", "CN=a,DC=x")],
        ));
        let s = b.finish(meta());
        assert!(!s.is_complete());
        assert!(
            s.meta.gaps[0].reason.contains("0-1499"),
            "{:?}",
            s.meta.gaps
        );
    }

    #[test]
    fn missing_required_attributes_are_aggregated_gaps() {
        let mut b = SnapshotBuilder::new(BuildOptions::default());
        for i in 0..3 {
            let mut e = RawEntry::new(format!("CN=PC{i},DC=x"));
            e.push("objectClass", b"computer".to_vec());
            e.push("sAMAccountName", format!("PC{i}$").into_bytes());
            e.push("userAccountControl", b"4096".to_vec());
            b.add(e);
        }
        let s = b.finish(meta());
        let g: Vec<&str> = s.meta.gaps.iter().map(|g| g.what.as_str()).collect();
        assert!(
            g.iter().any(|w| w.starts_with("objectSid on 3 account(s)")),
            "{g:?}"
        );
    }
}
