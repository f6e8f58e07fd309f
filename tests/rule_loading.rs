//! Rule files: malformed rules are errors with file, line and reason; `--rules DIR` adds and
//! overrides; the configuration disables rules and overrides severities.

mod rules_support;

use hvaudit::config::Config;
use hvaudit::rules::RuleSet;
use rules_support::*;

fn load_err(text: &str) -> String {
    let mut set = RuleSet::builtin().unwrap();
    set.add_text(text, "custom.toml").unwrap_err().to_string()
}

const GOOD: &str = r#"
[[rule]]
id = "X001"
title = "Hosts named like test machines"
severity = "low"
scope = "host"
condition = 'host.name is startingwith("HVA0")'
message = "{{ host.name }} looks like a test machine"
rationale = "test"
"#;

#[test]
fn malformed_rules_name_file_line_and_reason() {
    // Condition that does not compile: line of the condition.
    let e = load_err(&GOOD.replace(
        r#"condition = 'host.name is startingwith("HVA0")'"#,
        "condition = 'host.name ==== 1'",
    ));
    assert!(
        e.starts_with("custom.toml:7: rule X001: condition does not compile: syntax error"),
        "{e}"
    );

    // A template that does not compile, inside a multi-line string: the line of the error.
    let e = load_err(&GOOD.replace(
        r#"message = "{{ host.name }} looks like a test machine""#,
        "message = '''\nfirst line\n{% if host.name %}unclosed\n'''",
    ));
    assert!(
        e.starts_with("custom.toml:10: rule X001: message does not compile"),
        "{e}"
    );

    // An undocumented variable (typo) is caught at load time.
    let e = load_err(&GOOD.replace("host.name is", "host.nmae is"));
    assert_eq!(
        e,
        "custom.toml:7: rule X001: condition: unknown variable 'host.nmae' (see docs/rules.md)"
    );
    // A variable of another scope.
    let e = load_err(&GOOD.replace("host.name is", "pair.kind is"));
    assert_eq!(
        e,
        "custom.toml:7: rule X001: condition: unknown variable 'pair' (this scope sees: scan, host)"
    );
    // `check` only exists in `blocks`.
    let e = load_err(&GOOD.replace("host.name is", "check.from is"));
    assert!(e.contains("unknown variable 'check'"), "{e}");

    // Unknown field, bad severity, bad scope.
    let e = load_err(&format!("{GOOD}remedation = \"x\"\n"));
    assert!(
        e.starts_with("custom.toml:10:") && e.contains("remedation"),
        "{e}"
    );
    let e = load_err(&GOOD.replace("\"low\"", "\"urgent\""));
    assert_eq!(
        e,
        "custom.toml:5: rule X001: severity 'urgent' is not one of critical, high, medium, low, info"
    );
    let e = load_err(&GOOD.replace("\"host\"", "\"vm\""));
    assert!(e.starts_with("custom.toml:6: rule X001: scope 'vm'"), "{e}");
    // Missing required field.
    let e = load_err(&GOOD.replace("rationale = \"test\"\n", ""));
    assert!(
        e.starts_with("custom.toml:2:") && e.contains("rationale"),
        "{e}"
    );
}

#[test]
fn catalogue_fields_are_checked() {
    let e = load_err(&format!("{GOOD}changes_delegation = true\n"));
    assert_eq!(
        e,
        "custom.toml:10: rule X001: changes_delegation = true needs a remediation"
    );
    let e = load_err(&format!("{GOOD}summary = \"\"\"\ntwo\nlines\"\"\"\n"));
    assert_eq!(
        e,
        "custom.toml:10: rule X001: summary must be one line of text"
    );
    let e = load_err(&format!("{GOOD}changes_delegation = \"yes\"\n"));
    assert!(e.starts_with("custom.toml:10:"), "{e}");
    let mut set = RuleSet::builtin().unwrap();
    set.add_text(
        &format!("{GOOD}remediation = \"x\"\nchanges_delegation = true\nsummary = \"s\"\n"),
        "custom.toml",
    )
    .unwrap();
    let r = set.get("X001").unwrap();
    assert!(r.changes_delegation);
    assert_eq!(r.summary.as_deref(), Some("s"));
    assert!(set.get("HV002").unwrap().changes_delegation);
    assert!(!set.get("HV010").unwrap().changes_delegation);
}

#[test]
fn duplicate_ids_are_errors() {
    let e = load_err(&format!("{GOOD}{GOOD}"));
    assert_eq!(
        e,
        "custom.toml:12: rule id X001 is defined twice in this file"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
    std::fs::write(dir.path().join("b.toml"), GOOD).unwrap();
    let mut set = RuleSet::builtin().unwrap();
    let e = set.add_dir(dir.path()).unwrap_err();
    assert!(e.message.contains("already defined at"), "{e}");
    assert!(e.file.ends_with("b.toml"));
    assert_eq!(e.line, Some(2));
}

#[test]
fn rules_dir_adds_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("custom.toml"), GOOD).unwrap();
    // Same id as a built-in: replaces it (here: HV001 also fires on DCs).
    std::fs::write(
        dir.path().join("hv001.toml"),
        r#"
[[rule]]
id = "HV001"
title = "Unconstrained delegation on any Hyper-V host"
severity = "high"
scope = "host"
condition = "host.unconstrained"
message = "{{ host.name }} has unconstrained delegation"
rationale = "site policy"
"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let set = RuleSet::load(Some(dir.path())).unwrap();
    assert_eq!(set.rules().len(), 25);
    assert_eq!(set.get("HV001").unwrap().severity.as_str(), "high");

    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.hv("HVA02", BUILD_2022, true);
    fx.mesh(&["HVA01", "HVA02"]);
    fx.comp("DC01").spns.push(format!("{MIG}/DC01"));
    let out = fx.audit_with(
        &cfg("[[group]]\nname = \"a\"\nhosts = [\"HVA01\", \"HVA02\"]\n"),
        None,
        &set,
    );
    assert_eq!(
        keys(&out),
        vec![
            k("HV001", "DC01", None),
            k("X001", "HVA01", None),
            k("X001", "HVA02", None),
        ]
    );
    assert_eq!(out.findings[0].message, "DC01 has unconstrained delegation");
}

#[test]
fn config_disables_and_overrides_severity() {
    let mut fx = Fx::new();
    fx.hv("HVOLD", BUILD_2012R2, true);
    fx.computer("WEB01");
    fx.delegate("HVOLD", &["http/web01"]);
    let config = Config::from_toml_str(
        "[rules]\ndisable = [\"HV006\"]\n[rules.severity]\nHV007 = \"low\"\n",
        "hvaudit.toml",
    )
    .unwrap();
    let mut set = RuleSet::builtin().unwrap();
    let before = fx.audit_with(&config, None, &set);
    assert_eq!(
        keys(&before),
        vec![
            k("HV007", "HVOLD", Some("http/web01")),
            k("HV006", "HVOLD", None)
        ]
    );
    set.apply_config(&config.rules, &config.source).unwrap();
    let after = fx.audit_with(&config, None, &set);
    assert_eq!(keys(&after), vec![k("HV007", "HVOLD", Some("http/web01"))]);
    assert_eq!(after.findings[0].severity.as_str(), "low");
    assert!(
        set.explain("HV007")
            .unwrap()
            .starts_with("HV007 (low, default medium)")
    );

    let bad = Config::from_toml_str("[rules]\n\ndisable = [\"HV999\"]\n", "hvaudit.toml").unwrap();
    let e = RuleSet::builtin()
        .unwrap()
        .apply_config(&bad.rules, &bad.source)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "hvaudit.toml:3: [rules] names rule HV999, which does not exist"
    );
}

#[test]
fn runtime_errors_are_reported_not_silent() {
    let mut set = RuleSet::builtin().unwrap();
    set.add_text(
        r#"
[[rule]]
id = "X002"
title = "t"
severity = "low"
scope = "host"
condition = "host.name.no_such_method()"
message = "m"
rationale = "r"
"#,
        "x.toml",
    )
    .unwrap();
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    let out = hvaudit::audit::run_audit(&fx.snap, None, &Config::default(), &set, now()).unwrap();
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].rule_id, "X002");
    assert_eq!(out.errors[0].object, "HVA01");
}

#[test]
fn hostile_directory_values_stay_quoted_in_powershell() {
    let mut fx = Fx::new();
    let c = fx.hv("HVA01", BUILD_2022, true);
    fx.snap.computers[c].dn =
        "CN=HV'A01\u{2019}; Remove-Item C:\\ -Recurse #,OU=HyperV,DC=corp,DC=example".into();
    fx.hv("HVA02", BUILD_2022, true);
    fx.kcd_full("HVA02", "HVA01");
    fx.delegate("HVA01", &["http/x'); Invoke-Expression('calc"]);
    let out = fx.audit(&Config::default(), None);
    let rem: Vec<&str> = out
        .findings
        .iter()
        .filter_map(|f| f.remediation.as_deref())
        .collect();
    let dn =
        "'CN=HV''A01\u{2019}\u{2019}; Remove-Item C:\\ -Recurse #,OU=HyperV,DC=corp,DC=example'";
    let value = "'http/x''); Invoke-Expression(''calc'";
    let expected = format!(
        "$have = @((Get-ADObject -Identity {dn} -Properties 'msDS-AllowedToDelegateTo').PSObject.Properties['msDS-AllowedToDelegateTo'] | Where-Object {{ $null -ne $_ }} | ForEach-Object {{ $_.Value }})\n\
         if ($have -ccontains {value}) {{ Set-ADObject -Identity {dn} -Remove @{{'msDS-AllowedToDelegateTo'={value}}} }}\n\
         # Takes effect after HVA01 restarts. Or, without a restart: klist -li 0x3e7 purge on it (elevated) drops the tickets it cached before the change."
    );
    assert!(rem.contains(&expected.as_str()), "{rem:#?}");
}

#[test]
fn the_documented_example_rule_works() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md")).unwrap();
    let start = doc.find("```toml\n[[rule]]\nid = \"SITE001\"").unwrap() + "```toml\n".len();
    let text = &doc[start..start + doc[start..].find("```").unwrap()];
    let mut set = RuleSet::builtin().unwrap();
    set.add_text(text, "docs/rules.md").unwrap();
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    let c = fx.hv("HVA02", BUILD_2022, true);
    fx.snap.computers[c].dn = "CN=HVA02,OU=Elsewhere,DC=corp,DC=example".into();
    fx.mesh(&["HVA01", "HVA02"]);
    let out = fx.audit_with(&Config::default(), None, &set);
    assert_eq!(keys(&out), vec![k("SITE001", "HVA02", None)]);
    assert_eq!(
        out.findings[0].remediation.as_deref(),
        Some(
            "Move-ADObject -Identity 'CN=HVA02,OU=Elsewhere,DC=corp,DC=example' -TargetPath 'OU=HyperV,OU=Servers,DC=corp,DC=example'"
        )
    );
}

/// Verdicts are remembered by the fields a condition reads (`src/rules/memo.rs`). Entries
/// that agree on every other field must still be told apart when a condition reads a field
/// through a test, a filter or a slice (a subscript, `entry[...]`, reads the whole entry and
/// turns remembering off for the scope).
#[test]
fn remembered_verdicts_follow_every_way_a_condition_reads_a_field() {
    let mut set = RuleSet::builtin().unwrap();
    let rule = |id: &str, condition: &str| {
        format!(
            "[[rule]]\nid = \"{id}\"\ntitle = \"t\"\nseverity = \"info\"\n\
             scope = \"delegation_entry\"\ncondition = '{condition}'\n\
             message = \"{{{{ entry.value }}}}\"\nrationale = \"r\"\n"
        )
    };
    let text = [
        rule("X101", r#"entry.value is startingwith("cifs/")"#),
        rule("X102", r#"entry.value is endingwith(".corp.example")"#),
        rule("X103", r#"(entry.value|lower)[:4] == "http""#),
    ]
    .join("\n");
    set.add_text(&text, "custom.toml").unwrap();
    let mut fx = Fx::new();
    fx.hv("HVA01", BUILD_2022, true);
    fx.computer("WEB01");
    fx.delegate(
        "HVA01",
        &[
            "cifs/web01",
            "CIFS/web01.corp.example",
            "HTTP/web01",
            "http/web02",
            "ldap/web01.corp.example",
        ],
    );
    let out = fx.audit_with(&Config::default(), None, &set);
    let mut got: Vec<(String, String)> = out
        .findings
        .iter()
        .filter(|f| f.rule_id.starts_with("X1"))
        .map(|f| (f.rule_id.clone(), f.message.clone()))
        .collect();
    got.sort();
    let want: Vec<(String, String)> = [
        ("X101", "cifs/web01"),
        ("X102", "CIFS/web01.corp.example"),
        ("X102", "ldap/web01.corp.example"),
        ("X103", "HTTP/web01"),
        ("X103", "http/web02"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
}
