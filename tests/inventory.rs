//! Ingestion of what `powershell/Get-HvAuditInventory.ps1` and hand-made exports produce.

mod rules_support;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use hvaudit::inventory::{
    HostInventory, InventoryError, InventoryHost, Location, MigrationAuth, load_inventory,
    parse_csv, parse_json,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inventory")
        .join(name)
}

fn load(name: &str) -> HostInventory {
    load_inventory(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The error message with the fixture directory removed, so tests read like the user sees it.
fn load_err(name: &str) -> (InventoryError, String) {
    let err = load_inventory(&fixture(name)).expect_err(name);
    let dir = format!(
        "{}/",
        fixture("").display().to_string().trim_end_matches('/')
    );
    let message = err.to_string().replace(&dir, "");
    (err, message)
}

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

const UNREACHABLE: &str = "Connecting to remote server HV03 failed with the following error \
    message : WinRM cannot complete the operation. Verify that the specified computer name is \
    valid, that the computer is accessible over the network, and that a firewall exception for \
    the WinRM service is enabled and allows access from this computer. For more information, see \
    the about_Remote_Troubleshooting Help topic.";

fn export_csv_hosts() -> Vec<InventoryHost> {
    vec![
        InventoryHost {
            computer_name: "HV01".into(),
            migration_enabled: Some(true),
            authentication_type: Some(MigrationAuth::Kerberos),
            performance_option: Some("Compression".into()),
            use_any_network: Some(false),
            maximum_migrations: Some(2),
            credential_guard_running: Some(true),
            last_boot: Some(utc("2026-11-20T05:12:00Z")),
            cluster_name: Some("CL-PROD".into()),
            error: None,
        },
        InventoryHost {
            computer_name: "hv02.contoso.com".into(),
            migration_enabled: Some(true),
            authentication_type: Some(MigrationAuth::CredSSP),
            performance_option: Some("SMB".into()),
            use_any_network: Some(true),
            maximum_migrations: Some(4),
            credential_guard_running: Some(false),
            last_boot: Some(utc("2026-10-03T02:05:31.5Z")),
            cluster_name: None,
            error: None,
        },
        InventoryHost {
            computer_name: "HV03".into(),
            error: Some(UNREACHABLE.into()),
            ..Default::default()
        },
        InventoryHost {
            computer_name: "HV04".into(),
            migration_enabled: Some(false),
            authentication_type: Some(MigrationAuth::Kerberos),
            performance_option: Some("TCPIP".into()),
            use_any_network: Some(false),
            maximum_migrations: Some(2),
            credential_guard_running: Some(false),
            last_boot: Some(utc("2026-11-01T00:00:00Z")),
            cluster_name: None,
            error: Some(
                "Get-VMHost: The term \"Get-VMHost\" is not recognized; settings read from WMI"
                    .into(),
            ),
        },
    ]
}

#[test]
fn export_csv_with_bom_quotes_and_crlf() {
    let inv = load("export-csv.csv");
    assert_eq!(inv.source, fixture("export-csv.csv").display().to_string());
    assert_eq!(inv.hosts, export_csv_hosts());
}

#[test]
fn export_csv_type_line_is_skipped() {
    assert_eq!(load("export-csv-type-line.csv").hosts, export_csv_hosts());
}

#[test]
fn reordered_lowercase_columns_and_unknown_column() {
    let inv = load("reordered.csv");
    assert_eq!(
        inv.hosts,
        vec![
            InventoryHost {
                computer_name: "HV10".into(),
                migration_enabled: Some(true),
                authentication_type: Some(MigrationAuth::Kerberos),
                maximum_migrations: Some(8),
                last_boot: Some(utc("2026-11-20T05:12:00Z")),
                ..Default::default()
            },
            InventoryHost {
                computer_name: "HV11".into(),
                migration_enabled: Some(false),
                authentication_type: Some(MigrationAuth::CredSSP),
                // No offset: taken as UTC.
                last_boot: Some(utc("2026-11-20T05:12:00Z")),
                ..Default::default()
            },
            InventoryHost {
                computer_name: "HV12".into(),
                ..Default::default()
            },
        ]
    );
}

#[test]
fn convertto_json_windows_powershell() {
    let inv = load("convertto-json-ps51.json");
    assert_eq!(
        inv.hosts,
        vec![
            InventoryHost {
                computer_name: "HV01".into(),
                migration_enabled: Some(true),
                authentication_type: Some(MigrationAuth::Kerberos),
                performance_option: Some("Compression".into()),
                use_any_network: Some(false),
                maximum_migrations: Some(2),
                credential_guard_running: Some(true),
                last_boot: Some(utc("2023-11-14T22:13:20Z")),
                cluster_name: Some("CL-PROD".into()),
                error: None,
            },
            InventoryHost {
                computer_name: "HV02".into(),
                migration_enabled: Some(false),
                authentication_type: Some(MigrationAuth::CredSSP),
                performance_option: Some("TCPIP".into()),
                use_any_network: Some(true),
                maximum_migrations: Some(3),
                credential_guard_running: Some(false),
                last_boot: Some(utc("2026-11-20T05:12:00Z")),
                cluster_name: None,
                error: None,
            },
            InventoryHost {
                computer_name: "HV03".into(),
                error: Some(
                    "Access is denied. The user 'CONTOSO\\auditor' lacks rights on HV03.".into()
                ),
                ..Default::default()
            },
        ]
    );
}

#[test]
fn convertto_json_single_object() {
    assert_eq!(
        load("single-object.json").hosts,
        vec![InventoryHost {
            computer_name: "HV20".into(),
            migration_enabled: Some(true),
            authentication_type: Some(MigrationAuth::Kerberos),
            performance_option: Some("SMB".into()),
            use_any_network: Some(false),
            maximum_migrations: Some(2),
            credential_guard_running: Some(true),
            last_boot: Some(utc("2026-11-20T05:12:00Z")),
            cluster_name: None,
            error: None,
        }]
    );
}

#[test]
fn utf16_hosts_wrapper_and_datetime_object() {
    assert_eq!(
        load("out-file-utf16.json").hosts,
        vec![InventoryHost {
            computer_name: "HV30".into(),
            migration_enabled: Some(true),
            last_boot: Some(utc("2023-11-14T22:13:20Z")),
            ..Default::default()
        }]
    );
}

#[test]
fn format_is_sniffed_without_a_known_extension() {
    let dir = tempfile::tempdir().unwrap();
    for (source, copy) in [
        ("single-object.json", "hosts.txt"),
        ("export-csv.csv", "hosts"),
        ("convertto-json-ps51.json", "hosts.JSON"),
    ] {
        let path = dir.path().join(copy);
        std::fs::copy(fixture(source), &path).unwrap();
        let want = load(source).hosts;
        assert_eq!(load_inventory(&path).unwrap().hosts, want, "{copy}");
    }
    // A .csv extension wins over content that looks like JSON.
    let path = dir.path().join("looks-like.csv");
    std::fs::write(&path, "[1]\n").unwrap();
    assert_eq!(
        load_inventory(&path).unwrap_err().to_string(),
        format!(
            "{}: header has no ComputerName column (expected a header line of PowerShell \
             property names such as ComputerName,VirtualMachineMigrationEnabled,...)",
            path.display()
        )
    );
}

#[test]
fn csv_malformed_bool_names_row_line_and_column() {
    let (err, message) = load_err("bad-bool.csv");
    assert_eq!(
        message,
        "bad-bool.csv: row 3 (line 5), column VirtualMachineMigrationEnabled: expected True or \
         False, found 'yes'"
    );
    assert!(matches!(
        err,
        InventoryError::Value {
            at: Location::Row { row: 3, line: 5 },
            field: "VirtualMachineMigrationEnabled",
            ..
        }
    ));
}

#[test]
fn csv_line_numbers_count_multiline_values() {
    let (_, message) = load_err("multiline-then-bad-date.csv");
    assert_eq!(
        message,
        "multiline-then-bad-date.csv: row 2 (line 4), column LastBootUpTime: '03/04/2026 \
         6:12:00 AM' is ambiguous: 3/4 could be day/month or month/day; write the date as ISO \
         8601 (yyyy-MM-ddTHH:mm:ss, e.g. with ToString('o'))"
    );
}

#[test]
fn csv_line_numbers_skip_blank_crlf_lines() {
    let text = "ComputerName,UseAnyNetworkForMigration\r\n\r\nHV01,True\r\n\r\n\r\nHV02,maybe\r\n";
    assert_eq!(
        parse_csv(text.as_bytes(), "t.csv").unwrap_err().to_string(),
        "t.csv: row 2 (line 6), column UseAnyNetworkForMigration: expected True or False, \
         found 'maybe'"
    );
    let text = "#TYPE x\r\nComputerName\r\nHV01\r\nHV02,extra\r\n";
    assert_eq!(
        parse_csv(text.as_bytes(), "t.csv").unwrap_err().to_string(),
        "t.csv: line 4: 2 fields where the header has 1"
    );
}

#[test]
fn csv_duplicate_host_names_both_rows() {
    let (err, message) = load_err("duplicate.csv");
    assert_eq!(
        message,
        "duplicate.csv: row 3 (line 4) and row 1 (line 2) both describe host 'hv01'"
    );
    assert!(matches!(err, InventoryError::Duplicate { .. }));
}

#[test]
fn csv_layout_errors() {
    assert_eq!(
        load_err("no-computername.csv").1,
        "no-computername.csv: header has no ComputerName column (expected a header line of \
         PowerShell property names such as ComputerName,VirtualMachineMigrationEnabled,...)"
    );
    assert_eq!(
        load_err("empty-computername.csv").1,
        "empty-computername.csv: row 2 (line 3), column ComputerName: ComputerName is empty"
    );
    assert_eq!(
        load_err("unequal.csv").1,
        "unequal.csv: line 3: 3 fields where the header has 2"
    );
    assert_eq!(
        load_err("duplicate-column.csv").1,
        "duplicate-column.csv: header names column ComputerName twice (columns 1 and 3)"
    );
}

#[test]
fn csv_every_typed_column_rejects_garbage() {
    let cases = [
        (
            "VirtualMachineMigrationEnabled",
            "1",
            "expected True or False, found '1'",
        ),
        (
            "UseAnyNetworkForMigration",
            "yes",
            "expected True or False, found 'yes'",
        ),
        (
            "CredentialGuardRunning",
            "on",
            "expected True or False, found 'on'",
        ),
        (
            "VirtualMachineMigrationAuthenticationType",
            "NTLM",
            "expected CredSSP, Kerberos, 0 or 1, found 'NTLM'",
        ),
        (
            "VirtualMachineMigrationPerformanceOption",
            "1",
            "expected TCPIP, Compression or SMB, found '1'",
        ),
        (
            "MaximumVirtualMachineMigrations",
            "-1",
            "expected a whole number, found '-1'",
        ),
        (
            "MaximumVirtualMachineMigrations",
            "2.5",
            "expected a whole number, found '2.5'",
        ),
    ];
    for (column, value, expected) in cases {
        let text = format!("ComputerName,{column}\nHV01,{value}\n");
        let err = parse_csv(text.as_bytes(), "t.csv").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("t.csv: row 1 (line 2), column {column}: {expected}")
        );
    }
}

#[test]
fn csv_control_characters_in_values_are_escaped_in_errors() {
    let err = parse_csv(
        "ComputerName,UseAnyNetworkForMigration\nHV01,\u{1b}[2J\n".as_bytes(),
        "t.csv",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv: row 1 (line 2), column UseAnyNetworkForMigration: expected True or False, \
         found '\\u{1b}[2J'"
    );
}

#[test]
fn csv_header_only_and_empty_inputs() {
    assert_eq!(
        parse_csv("\u{feff}ComputerName,Error\r\n".as_bytes(), "t.csv")
            .unwrap()
            .hosts,
        vec![]
    );
    assert!(matches!(
        parse_csv("".as_bytes(), "t.csv"),
        Err(InventoryError::Layout { .. })
    ));
    // Not UTF-8 and no byte-order mark: the ANSI code page (Windows-1252)...
    assert_eq!(
        parse_csv(&b"ComputerName\nHV\xff01\n"[..], "t.csv")
            .unwrap()
            .hosts[0]
            .computer_name,
        "HV\u{ff}01"
    );
    // ...but a byte-order mark is believed: what it contradicts is an encoding error.
    assert_eq!(
        parse_csv(&b"\xEF\xBB\xBFComputerName\nHV\xff01\n"[..], "t.csv")
            .unwrap_err()
            .to_string(),
        "t.csv: line 2: not valid UTF-8 although the byte-order mark says UTF-8"
    );
}

#[test]
fn json_errors_name_element_and_property() {
    assert_eq!(
        load_err("bad-auth.json").1,
        "bad-auth.json: element [1], property VirtualMachineMigrationAuthenticationType: \
         expected CredSSP, Kerberos, 0 or 1, found 'NTLM'"
    );
    assert_eq!(
        load_err("bad-type.json").1,
        "bad-type.json: element [0], property MaximumVirtualMachineMigrations: expected a whole \
         number, found a boolean"
    );
    assert_eq!(
        load_err("bad-date.json").1,
        "bad-date.json: element [0], property LastBootUpTime: expected /Date(milliseconds)/ \
         with a whole number, found '/Date(soon)/'"
    );
    assert_eq!(
        load_err("duplicate.json").1,
        "duplicate.json: element [2] and element [0] both describe host 'hv01'"
    );
    assert_eq!(
        load_err("not-object.json").1,
        "not-object.json: element [1]: expected a host object, found a number"
    );
    assert_eq!(
        load_err("missing-computername.json").1,
        "missing-computername.json: element [1]: no ComputerName property"
    );
    assert_eq!(
        load_err("duplicate-property.json").1,
        "duplicate-property.json: element [0]: property Error given twice (as 'Error' and \
         'error')"
    );
    let (err, message) = load_err("syntax-error.json");
    assert_eq!(
        message,
        "syntax-error.json: line 2, column 27: trailing comma"
    );
    assert!(matches!(
        err,
        InventoryError::JsonSyntax {
            line: 2,
            column: 27,
            ..
        }
    ));
}

#[test]
fn json_top_level_shapes() {
    assert_eq!(
        parse_json("[]", "t.json").unwrap().hosts,
        Vec::<InventoryHost>::new()
    );
    assert_eq!(
        parse_json(r#"{"Hosts": {"ComputerName": "HV01"}}"#, "t.json")
            .unwrap()
            .hosts,
        vec![InventoryHost {
            computer_name: "HV01".into(),
            ..Default::default()
        }]
    );
    assert_eq!(
        parse_json(r#""HV01""#, "t.json").unwrap_err().to_string(),
        "t.json: expected an array of host objects, one host object or {\"hosts\": [...]}, \
         found a string"
    );
    assert_eq!(
        parse_json(r#"{"hosts": 3}"#, "t.json")
            .unwrap_err()
            .to_string(),
        "t.json: property hosts: expected an array of host objects, found a number"
    );
    assert_eq!(
        parse_json(r#"[{"ComputerName": 7}]"#, "t.json")
            .unwrap_err()
            .to_string(),
        "t.json: element [0], property ComputerName: expected a string, found a number"
    );
    assert_eq!(
        parse_json(r#"[{"ComputerName": null}]"#, "t.json")
            .unwrap_err()
            .to_string(),
        "t.json: element [0], property ComputerName: ComputerName is empty"
    );
    assert_eq!(
        parse_json(
            r#"[{"ComputerName": "HV01", "UseAnyNetworkForMigration": 1}]"#,
            "t.json"
        )
        .unwrap_err()
        .to_string(),
        "t.json: element [0], property UseAnyNetworkForMigration: expected true, false or a \
         \"True\"/\"False\" string, found a number"
    );
    // Deeply nested input is refused by the parser's depth limit, not by a stack overflow.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(
        parse_json(&deep, "t.json"),
        Err(InventoryError::JsonSyntax { .. })
    ));
}

#[test]
fn host_lookup_by_name() {
    let inv = load("export-csv.csv");
    assert_eq!(inv.host("hv01").unwrap().computer_name, "HV01");
    assert_eq!(inv.host("HV01.contoso.com").unwrap().computer_name, "HV01");
    assert_eq!(inv.host("HV02").unwrap().computer_name, "hv02.contoso.com");
    assert!(inv.host("HV09").is_none());

    let ambiguous = parse_csv(
        "ComputerName\nhv01.contoso.com\nhv01.fabrikam.com\n".as_bytes(),
        "t.csv",
    )
    .unwrap();
    assert!(ambiguous.host("HV01").is_none());
    assert_eq!(
        ambiguous.host("hv01.fabrikam.com").unwrap().computer_name,
        "hv01.fabrikam.com"
    );
}

#[test]
fn unreadable_file_names_it() {
    let err = load_inventory(Path::new("/nonexistent/hosts.csv")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/hosts.csv: cannot read: "),
        "{err}"
    );
}

#[test]
fn minimal_example_from_the_docs() {
    let text = "ComputerName,VirtualMachineMigrationAuthenticationType,CredentialGuardRunning\n\
                hv01.contoso.com,Kerberos,True\n\
                hv02.contoso.com,CredSSP,False\n";
    assert_eq!(
        parse_csv(text.as_bytes(), "hosts.csv").unwrap().hosts,
        vec![
            InventoryHost {
                computer_name: "hv01.contoso.com".into(),
                authentication_type: Some(MigrationAuth::Kerberos),
                credential_guard_running: Some(true),
                ..Default::default()
            },
            InventoryHost {
                computer_name: "hv02.contoso.com".into(),
                authentication_type: Some(MigrationAuth::CredSSP),
                credential_guard_running: Some(false),
                ..Default::default()
            },
        ]
    );
}

/// Truncated and corrupted fixtures must give an error or a result, never a panic.
#[test]
fn mangled_fixtures_never_panic() {
    let dir = fixture("");
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .chain(std::fs::read_dir(dir.join("variants")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let mut inputs: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
        for _ in 0..200 {
            let mut b = bytes.clone();
            let i = (next() % b.len() as u64) as usize;
            b[i] = b"\",\r\n{}[]:\\\0\xff#"[(next() % 13) as usize];
            inputs.push(b);
        }
        for input in inputs {
            let _ = parse_csv(input.as_slice(), "m.csv");
            let _ = parse_json(&String::from_utf8_lossy(&input), "m.json");
        }
    }
}

/// What every file under `variants/` holds (see `variants/gen_variants.py`).
fn variant_hosts() -> Vec<InventoryHost> {
    vec![
        InventoryHost {
            computer_name: "HV01".into(),
            migration_enabled: Some(true),
            authentication_type: Some(MigrationAuth::Kerberos),
            performance_option: Some("Compression".into()),
            use_any_network: Some(false),
            maximum_migrations: Some(2),
            credential_guard_running: Some(true),
            last_boot: Some(utc("2026-11-20T05:12:00Z")),
            cluster_name: Some("CL-MÜNCHEN".into()),
            error: None,
        },
        InventoryHost {
            computer_name: "hv02.contoso.com".into(),
            migration_enabled: Some(false),
            authentication_type: Some(MigrationAuth::CredSSP),
            performance_option: Some("SMB".into()),
            use_any_network: Some(true),
            maximum_migrations: Some(4),
            credential_guard_running: Some(false),
            last_boot: Some(utc("2026-10-23T17:05:00Z")),
            cluster_name: None,
            error: None,
        },
        InventoryHost {
            computer_name: "HV03".into(),
            error: Some(
                "Connecting to remote server HV03 failed: \"Access is denied\", code 5; see \
                 about_Remote_Troubleshooting"
                    .into(),
            ),
            ..Default::default()
        },
    ]
}

#[test]
fn every_export_variant_reads_as_the_plain_one() {
    let plain = load("variants/plain.csv").hosts;
    assert_eq!(plain, variant_hosts());
    for name in [
        "ps51-utf8-type.csv",
        "ps51-unicode.csv",
        "ps51-useculture-de.csv",
        "ps7-useculture-en-us.csv",
        "excel-de.csv",
        "excel-unicode-text.txt",
        "convertto-json-ps7.json",
    ] {
        assert_eq!(load(&format!("variants/{name}")).hosts, plain, "{name}");
    }
}

#[test]
fn a_date_whose_day_and_month_cannot_be_told_is_refused_with_row_and_column() {
    let (err, message) = load_err("variants/ambiguous-date.csv");
    assert!(matches!(err, InventoryError::Value { .. }), "{err:?}");
    assert!(
        message.starts_with(
            "variants/ambiguous-date.csv: row 2 (line 3), column LastBootUpTime: \
             '03/04/2026 05:12:00' is ambiguous"
        ),
        "{message}"
    );
}

#[test]
fn an_unknown_separator_is_named_not_reported_as_a_missing_column() {
    let (err, message) = load_err("variants/colon-separated.csv");
    assert!(matches!(err, InventoryError::Layout { .. }), "{err:?}");
    assert!(
        message.contains("the header names ComputerName, but its columns are not separated")
            && message.contains("':'"),
        "{message}"
    );
}

/// `check_against` resolves every row the way the audit does (own name, FQDN, first label of an
/// FQDN in this domain, trailing `$` or `.`, any case) and refuses two rows naming one computer;
/// rows naming no computer, or different computers, pass.
#[test]
fn rows_resolving_to_one_computer_conflict_by_every_name_form() {
    let mut fx = rules_support::Fx::new();
    for (name, dns) in [
        ("HV01", "hyperv-01.corp.example"),
        ("HV02", "hyperv-02.corp.example"),
        ("HÉ03", "hyperv-03.corp.example"),
    ] {
        let c = fx.computer(name);
        fx.snap.computers[c].dns_host_name = Some(dns.into());
    }
    let csv = |rows: &[&str]| {
        let mut text = String::from("ComputerName\n");
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        parse_csv(text.as_bytes(), "hosts.csv").unwrap()
    };
    // Names the inventory parser cannot tell apart (different first labels), one computer.
    for (a, b) in [
        ("HV01", "hyperv-01.corp.example"),
        ("HV01$", "HYPERV-01.corp.example."),
        // Through the first label of an FQDN in this domain (hv02 = HV02$).
        ("hv02.corp.example", "hyperv-02.corp.example"),
        ("hé03", "hyperv-03.corp.example"),
    ] {
        let err = csv(&[a, b]).check_against(&fx.snap).unwrap_err();
        assert!(
            matches!(err, InventoryError::SameHost { .. }),
            "{a} / {b}: {err}"
        );
    }
    for rows in [
        &["HV01", "HV02", "hé03"][..],
        &["hv02.other.example", "hyperv-02.corp.example"],
        &["HV99", "hyperv-99.corp.example", "HV01"],
    ] {
        assert!(csv(rows).check_against(&fx.snap).is_ok(), "{rows:?}");
    }
}
