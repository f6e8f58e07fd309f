//! The remediation script: order of the changes (additions, removals, host settings), gating,
//! protections left alone, manual steps, scope, the restart list, and hostile directory values
//! that must stay inert. The syntax-tree checks of whole generated scripts are in
//! `tests/remediate_syntax.rs`.

mod common;
mod rules_support;

use chrono::{TimeZone, Utc};
use common::{finding, with_remediation};
use hvaudit::findings::Status;
use hvaudit::remediate::{RemediationMeta, ps_quote, script};

fn meta() -> RemediationMeta {
    let rules = hvaudit::rules::RuleSet::builtin().unwrap();
    let mut m = RemediationMeta::new(
        "corp.example",
        Utc.with_ymd_and_hms(2026, 11, 20, 9, 30, 0).unwrap(),
        &rules,
    );
    m.tool_version = "0.1.0".into();
    m
}

const FIX_HV002: &str = "$o = Get-ADComputer -Identity 'HVP02' -Properties 'msDS-AllowedToDelegateTo'
if ($o.'msDS-AllowedToDelegateTo' -notcontains 'Microsoft Virtual System Migration Service/HVP04') {
    Set-ADObject -Identity $o.DistinguishedName -Add @{'msDS-AllowedToDelegateTo' = 'Microsoft Virtual System Migration Service/HVP04'}
}
";

const FIX_HV001: &str = "# Replace unconstrained delegation on HVP02 first.
Set-ADAccountControl -Identity 'CN=HVP02,OU=Prod,OU=HyperV,DC=corp,DC=example' -TrustedForDelegation $false
";

const FIX_HV011: &str = "Invoke-Command -ComputerName 'hvp02.corp.example' -ScriptBlock { Set-VMHost -VirtualMachineMigrationAuthenticationType Kerberos }\n";

const FIX_HV018: &str = "$have = @((Get-ADObject -Identity 'CN=HVP02,OU=Prod,OU=HyperV,DC=corp,DC=example' -Properties 'msDS-AllowedToDelegateTo').PSObject.Properties['msDS-AllowedToDelegateTo'] | Where-Object { $null -ne $_ } | ForEach-Object { $_.Value })
if ($have -notcontains 'cifs/HVP04') { Set-ADObject -Identity 'CN=HVP02,OU=Prod,OU=HyperV,DC=corp,DC=example' -Add @{'msDS-AllowedToDelegateTo'='cifs/HVP04'} }
if ($have -ccontains 'cifs/HVP04:445') { Set-ADObject -Identity 'CN=HVP02,OU=Prod,OU=HyperV,DC=corp,DC=example' -Remove @{'msDS-AllowedToDelegateTo'='cifs/HVP04:445'} }
# Takes effect after HVP02 restarts.
";

const FIX_HV017: &str =
    "# Prefer a dedicated non-privileged operator account. If svc-lm must start migrations:
Set-ADAccountControl -Identity 'CN=svc-lm,DC=corp,DC=example' -AccountNotDelegated $false
";

fn pos(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in\n{hay}"))
}

/// Code lines: not comments, not blank.
fn code(s: &str) -> Vec<&str> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The fixes come in input order (removal first, host setting in the middle), the script puts
/// the addition first, then the removals, and the host setting in the host phase at the end.
#[test]
fn additions_then_removals_then_host_settings() {
    let findings = vec![
        with_remediation(finding("HV001", "HVP02", None), FIX_HV001),
        with_remediation(finding("HV011", "HVP02", None), FIX_HV011),
        with_remediation(finding("HV018", "HVP02", Some("cifs/HVP04:445")), FIX_HV018),
        with_remediation(finding("HV002", "HVP02", Some("HVP04")), FIX_HV002),
    ];
    let got = script(&findings, &meta());
    let add_hv018 = pos(&got, "-Add @{'msDS-AllowedToDelegateTo'='cifs/HVP04'}");
    let add_hv002 = pos(
        &got,
        "-Add @{'msDS-AllowedToDelegateTo' = 'Microsoft Virtual",
    );
    let remove_unconstrained = pos(&got, "-TrustedForDelegation $false");
    let remove_malformed = pos(
        &got,
        "-Remove @{'msDS-AllowedToDelegateTo'='cifs/HVP04:445'}",
    );
    let host = pos(
        &got,
        "Set-VMHost -VirtualMachineMigrationAuthenticationType Kerberos",
    );
    assert!(
        add_hv018 < remove_unconstrained && add_hv002 < remove_unconstrained,
        "{got}"
    );
    assert!(
        add_hv018 < remove_malformed && add_hv002 < remove_malformed,
        "{got}"
    );
    assert!(
        remove_unconstrained < host && remove_malformed < host,
        "{got}"
    );
    assert!(pos(&got, "#endregion AD phase") < host, "{got}");
    // HV018's two parts are told apart in the prompt.
    for part in ["addition", "removal"] {
        let prompt =
            format!("ShouldProcess('HVP02', 'HV018: title of HV018 (cifs/HVP04:445) [{part}]')");
        assert!(got.contains(&prompt), "{prompt}\n{got}");
    }
    // HV018's read is repeated before its removal, which runs after other changes.
    let read = "$have = @((Get-ADObject -Identity 'CN=HVP02";
    assert_eq!(got.matches(read).count(), 2, "{got}");
    // The order is stated in the header and in the section.
    assert!(got.contains("additions first (missing delegation entries,"));
    assert!(got.contains("# Additions (before the removals below, which they make safe):"));
    assert!(got.contains("# Removals (after the additions above):"));
    assert!(got.contains(
        "# 5 change(s) on 1 object(s): 2 addition(s), 2 removal(s), 0 other change(s), 1 host setting(s).\n"
    ));
    // Each change is gated, its outcome recorded; the host phase skips a host whose AD
    // changes failed.
    assert_eq!(
        got.matches("if ($PSCmdlet.ShouldProcess('HVP02', ").count(),
        5
    );
    assert_eq!(
        got.matches("    $hvauditSucceeded.Add($hvauditStep)\n")
            .count(),
        5
    );
    assert!(got.contains(
        "if ($hvauditFailedObjects.ContainsKey('CN=HVP02,OU=Prod,OU=HyperV,DC=corp,DC=example')"
    ));
    // HV001 removed unconstrained delegation: a restart, not only a purge.
    assert!(
        got.contains("        $hvauditRestart.Add('HVP02')\n"),
        "{got}"
    );
    assert!(
        got.contains("    #   HVP02: restart: unconstrained delegation removed"),
        "{got}"
    );
}

#[test]
fn nothing_to_fix_gives_a_script_that_changes_nothing() {
    let mut s = with_remediation(finding("HV001", "HVL01", None), "Set-X");
    s.status = Status::Suppressed;
    let blank = with_remediation(finding("HV005", "HVL02", None), "  \n");
    let got = script(&[s, blank], &meta());
    assert!(got.contains(
        "# 0 change(s) on 0 object(s): 0 addition(s), 0 removal(s), 0 other change(s), 0 host setting(s).\n"
    ));
    assert!(got.contains("# Not changed by this script: 1 suppressed finding(s); 1 finding(s) without an automatic fix"));
    assert!(got.contains("# No directory change.\n"));
    assert!(got.contains("# No host setting to change.\n"));
    assert!(!got.contains("ShouldProcess("));
    // The finding without a fix is a manual step, not an empty block.
    assert!(
        got.contains("# HV005 (high) on HVL02: title of HV005\n"),
        "{got}"
    );
}

/// Comment-only fixes (HV013, HV014) are manual steps, not empty ShouldProcess blocks, and not
/// counted as changes; HV014's host is on the restart list.
#[test]
fn comment_only_fixes_are_manual_steps() {
    let fs = vec![
        with_remediation(
            finding("HV013", "HVL06", None),
            "# Add the delegations listed by HV002 for HVL06.\n",
        ),
        with_remediation(
            finding("HV014", "HVP06", None),
            "# Move or save the virtual machines on HVP06, then restart it:\n# Restart-Computer -ComputerName 'hvp06.corp.example'\n",
        ),
    ];
    let got = script(&fs, &meta());
    assert!(!got.contains("ShouldProcess("), "{got}");
    assert!(got.contains("# 0 change(s) on 0 object(s)"), "{got}");
    assert!(
        got.contains("2 finding(s) without an automatic fix"),
        "{got}"
    );
    let manual = &got[pos(&got, "#region Manual steps")..];
    assert!(manual.contains("# HV013 (high) on HVL06: title of HV013\n"));
    assert!(manual.contains("#   Restart-Computer -ComputerName 'hvp06.corp.example'\n"));
    assert!(
        got.contains(
            "    #   HVP06: restart: its delegation changed after its last boot (HV014)\n"
        ),
        "{got}"
    );
}

#[test]
fn weakening_a_protection_is_commented_out_unless_allowed() {
    let f = with_remediation(finding("HV017", "svc-lm", None), FIX_HV017);
    let got = script(std::slice::from_ref(&f), &meta());
    assert!(
        got.contains("# LEFT COMMENTED OUT: this change weakens a protection, or hvaudit"),
        "{got}"
    );
    assert!(got.contains("#     hvaudit remediate --allow-weakening HV017 ...\n"));
    assert!(
        got.contains("#     Set-ADAccountControl -Identity 'CN=svc-lm,DC=corp,DC=example' -AccountNotDelegated $false\n"),
        "{got}"
    );
    assert!(
        code(&got)
            .iter()
            .all(|l| !l.contains("AccountNotDelegated")),
        "{got}"
    );
    assert!(got.contains("# 0 change(s) on 0 object(s)"));
    assert!(got.contains("1 change(s) that would weaken a protection, left commented out"));
    assert!(
        got.contains("    # No change to any host's delegation and no host awaiting a restart.\n")
    );
    // Allowed explicitly: a gated change like any other.
    let mut m = meta();
    m.allow_weakening.insert("HV017".into());
    let got = script(&[f], &m);
    assert!(!got.contains("LEFT COMMENTED OUT"), "{got}");
    let gate = pos(&got, "if ($PSCmdlet.ShouldProcess('svc-lm', ");
    assert!(
        gate < pos(
            &got,
            "    Set-ADAccountControl -Identity 'CN=svc-lm,DC=corp,DC=example' -AccountNotDelegated $false\n"
        )
    );
    assert!(got.contains("# 1 change(s) on 1 object(s): 0 addition(s), 1 removal(s)"));
}

#[test]
fn one_change_fixing_two_findings_is_written_once() {
    let fs = vec![
        with_remediation(finding("HV012", "HVP02", None), FIX_HV011),
        with_remediation(finding("HV011", "HVP02", None), FIX_HV011),
    ];
    let got = script(&fs, &meta());
    assert_eq!(
        got.matches("Set-VMHost -VirtualMachineMigrationAuthenticationType Kerberos }\n")
            .count(),
        1,
        "{got}"
    );
    assert!(
        got.contains("ShouldProcess('HVP02', 'HV012: title of HV012; also HV011')"),
        "{got}"
    );
    assert!(got.contains("# 1 change(s) on 1 object(s)"), "{got}");
}

#[test]
fn reboot_list_names_each_delegation_host_once() {
    let fs = vec![
        with_remediation(finding("HV009", "HVL04", Some("cifs/HVL99")), "Fix-1"),
        with_remediation(finding("HV001", "HVL01", None), "Fix-2"),
        with_remediation(finding("HV009", "hvl04", Some("cifs/hvold01")), "Fix-3"),
        with_remediation(finding("HV011", "HVL03", None), "Fix-4"), // inventory, not delegation
        with_remediation(finding("PA001", "bob.adm", None), "Fix-5"),
    ];
    let got = script(&fs, &meta());
    let list = "    #   HVL01: klist -li 0x3e7 purge on it (elevated) suffices";
    assert!(got.contains(list), "{got}");
    assert_eq!(got.matches("    #   HVL04: klist").count(), 1, "{got}");
    assert_eq!(got.matches("$hvauditPurge.Add('HVL04')").count(), 2);
    assert_eq!(got.matches("$hvauditPurge.Add('HVL01')").count(), 1);
    assert!(!got.contains("Add('HVL03')"));
    assert!(!got.contains("Add('bob.adm')"));
    assert!(!got.contains("    #   HVL03:") && !got.contains("    #   bob.adm:"));
}

#[test]
fn here_string_snippets_are_not_indented() {
    let snippet = "$sddl = @'\nO:BA\n'@\nSet-Thing $sddl";
    let got = script(
        &[with_remediation(
            finding("HV010", "HVP01", Some("svc-deploy")),
            snippet,
        )],
        &meta(),
    );
    assert!(
        got.contains(
            "'HV010: title of HV010 (svc-deploy)')) {\n$sddl = @'\nO:BA\n'@\nSet-Thing $sddl\n"
        ),
        "{got}"
    );
}

/// `--host`: the host's own changes and its peers' changes naming it (both directions of
/// every pair), nothing else; `--rule` limits to rules; both in the header.
#[test]
fn scope_keeps_both_directions_of_a_host_and_the_rules_asked() {
    use hvaudit::remediate::ScopeHost;
    let fs = vec![
        with_remediation(
            finding("HV002", "HVNEW", Some("HVP02")),
            "Set-ADObject -Identity 'a' -Add @{}",
        ),
        with_remediation(
            finding("HV002", "HVP02", Some("HVNEW")),
            "Set-ADObject -Identity 'b' -Add @{}",
        ),
        with_remediation(
            finding("HV009", "HVP03", Some("cifs/hvnew.corp.example")),
            "Set-ADObject -Identity 'c' -Remove @{}",
        ),
        with_remediation(
            finding("HV002", "HVP02", Some("HVP03")),
            "Set-ADObject -Identity 'd' -Add @{}",
        ),
        with_remediation(
            finding("PA001", "bob.adm", None),
            "Set-ADAccountControl -Identity 'e' -AccountNotDelegated $true",
        ),
    ];
    let mut m = meta();
    m.scope.hosts.push(ScopeHost {
        name: "HVNEW".into(),
        fqdn: Some("hvnew.corp.example".into()),
    });
    let got = script(&fs, &m);
    for id in ["'a'", "'b'", "'c'"] {
        assert!(got.contains(&format!("-Identity {id}")), "{id}: {got}");
    }
    for id in ["'d'", "'e'"] {
        assert!(!got.contains(&format!("-Identity {id}")), "{id}: {got}");
    }
    assert!(
        got.contains(
            "# Scope: only host(s) HVNEW (changes on them and changes on other objects naming them"
        ),
        "{got}"
    );
    m.scope.rules.insert("HV009".into());
    let got = script(&fs, &m);
    assert!(
        got.contains("-Identity 'c'") && !got.contains("-Identity 'a'"),
        "{got}"
    );
    assert!(
        got.contains("; rule(s) HV009 (hvaudit remediate --host / --rule)."),
        "{got}"
    );
}

#[test]
fn header_names_the_file_written() {
    let mut m = meta();
    m.out_path = Some("/srv/audit/fix-2026-11.ps1".into());
    let got = script(&[], &m);
    assert!(got.contains("# Written to: /srv/audit/fix-2026-11.ps1\n"));
    assert!(got.contains("#     & '/srv/audit/fix-2026-11.ps1' -WhatIf\n"));
    assert!(!got.contains(".\\fix.ps1"));
}

const HOSTILE_QUOTE: &str = "x'; Remove-ADObject -Identity 'y";

#[test]
fn hostile_quote_in_object_stays_inside_the_literal() {
    let f = with_remediation(finding("HV001", HOSTILE_QUOTE, None), "Fix-It");
    let got = script(&[f], &meta());
    // Comments carry it verbatim (a quote is inert in a comment) ...
    assert!(got.contains("#region x'; Remove-ADObject -Identity 'y: additions, then removals\n"));
    assert!(got.contains("#endregion x'; Remove-ADObject -Identity 'y\n"));
    // ... code only as a literal with every quote doubled.
    assert!(got.contains(
        "if ($PSCmdlet.ShouldProcess('x''; Remove-ADObject -Identity ''y', 'HV001: title of HV001')) {\n"
    ));
    assert!(got.contains("    $hvauditPurge.Add('x''; Remove-ADObject -Identity ''y')\n"));
    // No line of code starts with the injected cmdlet.
    assert!(
        !got.lines()
            .any(|l| l.trim_start().starts_with("Remove-ADObject"))
    );
}

#[test]
fn hostile_newline_and_comment_close_stay_in_comments() {
    // A real newline, then text that would close a block comment.
    let name = "HVX\n#> evil";
    let mut f = with_remediation(
        finding("HV004", name, Some("cifs/a\r\nRemove-Item C:\\")),
        "Fix-It",
    );
    f.title = "t\n#> Stop-Computer".into();
    f.message = "m\r\nInvoke-Expression 'boom'".into();
    let got = script(&[f], &meta());
    assert!(got.contains("#region HVX # > evil: additions, then removals\n"));
    assert!(got.contains("# HV004 (high): t # > Stop-Computer\n"));
    assert!(got.contains("#   target: cifs/a  Remove-Item C:\\\n"));
    assert!(got.contains("#   m  Invoke-Expression 'boom'\n"));
    assert!(got.contains(
        "if ($PSCmdlet.ShouldProcess('HVX # > evil', 'HV004: t # > Stop-Computer (cifs/a  Remove-Item C:\\)')) {\n"
    ));
    // `#>` only where the exact DN is written: inside a single-quoted literal, where it is text.
    for l in got.lines().filter(|l| l.contains("#>")) {
        assert!(l.contains("[char]0x000A + '#> evil,OU=Prod"), "{l}");
    }
    // Every line carrying directory text is a comment or inside a literal.
    for bad in ["evil", "Stop-Computer", "Remove-Item", "Invoke-Expression"] {
        for line in got.lines().filter(|l| l.contains(bad)) {
            let t = line.trim_start();
            assert!(
                t.starts_with('#')
                    || t.starts_with("if ($PSCmdlet.ShouldProcess('")
                    || t.starts_with("$hvauditPurge.Add('")
                    || t.starts_with("$hvauditPending.Add('")
                    || t.starts_with("$hvauditStep = '")
                    // The exact DN, a concatenation of literals (backup and bookkeeping).
                    || t.contains("[char]0x000A + '#> evil,OU=Prod"),
                "{line}"
            );
        }
    }
}

#[test]
fn backtick_n_is_literal_text() {
    // PowerShell's escape sequence written out: inert in single quotes and comments.
    let f = with_remediation(finding("HV004", "HVX`n#> evil", None), "Fix-It");
    let got = script(&[f], &meta());
    assert!(got.contains("#region HVX`n# > evil: additions, then removals\n"));
    assert!(got.contains("ShouldProcess('HVX`n# > evil', "));
}

#[test]
fn typographic_quotes_are_doubled_too() {
    // PowerShell ends a single-quoted string at U+2019 as at an apostrophe.
    assert_eq!(
        ps_quote("x\u{2019}; Remove-ADObject y"),
        "'x\u{2019}\u{2019}; Remove-ADObject y'"
    );
    assert_eq!(
        ps_quote(HOSTILE_QUOTE),
        "'x''; Remove-ADObject -Identity ''y'"
    );
}

#[test]
fn header_values_from_the_directory_are_one_line() {
    let mut m = meta();
    m.domain = "corp.example\nRemove-ADObject x".into();
    let got = script(&[], &m);
    assert!(got.contains(
        "# Generated by hvaudit 0.1.0 for domain corp.example Remove-ADObject x from the scan"
    ));
}

#[test]
fn the_reboot_list_follows_each_rules_changes_delegation_field() {
    let mut rules = hvaudit::rules::RuleSet::builtin().unwrap();
    rules
        .add_text(
            r#"
[[rule]]
id = "SITE1"
title = "site rule"
severity = "low"
scope = "host"
changes_delegation = true
condition = "host.name"
message = "m"
rationale = "r"
remediation = "Set-X"
"#,
            "site.toml",
        )
        .unwrap();
    let m = RemediationMeta::new("corp.example", meta().scan_time, &rules);
    let got = script(
        &[
            with_remediation(finding("SITE1", "HVP07", None), "Set-X"),
            with_remediation(finding("PA001", "bob.adm", None), "Set-Y"),
        ],
        &m,
    );
    assert!(got.contains("    $hvauditPurge.Add('HVP07')\n"), "{got}");
    assert!(
        got.contains("    #   HVP07: klist -li 0x3e7 purge"),
        "{got}"
    );
    // PA001's entry does not say it changes delegation: no reboot for bob.adm.
    assert!(!got.contains("Add('bob.adm')"), "{got}");
    // Without the field the same finding asks for no reboot.
    let builtin = script(
        &[with_remediation(finding("SITE1", "HVP07", None), "Set-X")],
        &meta(),
    );
    assert!(
        builtin.contains("No change to any host's delegation"),
        "{builtin}"
    );
}

/// Unknown `--host`, `--rule` and `--allow-weakening` values are usage errors naming them,
/// and so is `--allow-weakening` for a rule whose fix weakens nothing.
#[test]
fn unknown_scope_values_are_usage_errors() {
    let ex = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fix.ps1");
    for (flag, value, says) in [
        ("--host", "HVNOPE", "--host HVNOPE: no Hyper-V host"),
        ("--rule", "HV999", "--rule HV999: no such rule"),
        (
            "--allow-weakening",
            "HV999",
            "--allow-weakening HV999: no such rule",
        ),
        (
            "--allow-weakening",
            "HV002",
            "--allow-weakening HV002: its fix removes no protection",
        ),
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_hvaudit"))
            .args([
                "remediate",
                "--ldif",
                &format!("{ex}corp.ldif"),
                "--hosts",
                &format!("{ex}hosts.csv"),
            ])
            .args([
                "--config",
                &format!("{ex}hvaudit.toml"),
                flag,
                value,
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(says), "{flag} {value}: {err}");
        assert!(!out.exists(), "{flag} {value}: a script was written");
    }
}

/// An object with thousands of fixes (a directory anyone can fill with values) is written in
/// time linear in their number: each change once, none folded into another by mistake.
#[test]
fn thousands_of_changes_on_one_object_stay_linear() {
    let n = 10_000;
    let fs: Vec<_> = (0..n)
        .map(|i| {
            let v = format!("cifs/old{i:05}");
            with_remediation(
                finding("HV009", "HVP02", Some(&v)),
                &format!(
                    "if ($have -contains '{v}') {{ Set-ADObject -Identity 'CN=HVP02' -Remove @{{'msDS-AllowedToDelegateTo'='{v}'}} }}"
                ),
            )
        })
        .collect();
    let start = std::time::Instant::now();
    let got = script(&fs, &meta());
    let took = start.elapsed();
    assert!(
        got.contains(&format!(
            "# {n} change(s) on 1 object(s): 0 addition(s), {n} removal(s)"
        )),
        "{}",
        &got[..2000]
    );
    // Quadratic folding or labelling would take minutes here.
    assert!(took.as_secs() < 20, "took {took:?}");
}

/// The hosts HV010's planned fix names in the new RBCD descriptor of its host.
fn hv010_keeps(fix: &str) -> Vec<String> {
    fix.split("Get-ADComputer -Identity '")
        .skip(1)
        .map(|p| p.split('\'').next().unwrap_or_default().to_owned())
        .collect()
}

/// HV010 on a host whose RBCD is open to a broad trustee that its same-group peers migrate
/// through: the fix must write, in the same step, a descriptor naming exactly those peers.
/// Checked on the planned post-fix state: the snapshot with HV03's RBCD replaced by what the
/// fix writes has no HV010 and every pair to HV03 still works (no HV002/HV003 to it).
#[test]
fn hv010_fix_keeps_the_peers_that_migrate_through_the_broad_rbcd() {
    use hvaudit::model::Sid;
    use rules_support::*;
    let config = cfg("[[group]]\nname = \"g\"\nou = \"OU=HyperV,OU=Servers,DC=corp,DC=example\"\n");
    for (trustee, want) in [
        // Everyone and Domain Computers cover every computer; Domain Users covers none.
        ("S-1-1-0".to_owned(), vec!["HVA01", "HVA02"]),
        (format!("{DOMAIN_SID}-515"), vec!["HVA01", "HVA02"]),
        (format!("{DOMAIN_SID}-513"), vec![]),
    ] {
        let mut fx = Fx::new();
        for h in ["HVA01", "HVA02", "HVA03"] {
            fx.hv(h, BUILD_2022, true);
        }
        fx.kcd_full("HVA01", "HVA02");
        fx.kcd_full("HVA02", "HVA01");
        fx.kcd_full("HVA03", "HVA01");
        fx.kcd_full("HVA03", "HVA02");
        fx.rbcd("HVA03", &[Sid::parse(&trustee).unwrap()]);
        let before = fx.audit(&config, None);
        let blocked_to_03 = |out: &hvaudit::audit::AuditOutcome| -> Vec<(String, Option<String>)> {
            let mut v = of(out, "HV002");
            v.extend(of(out, "HV003"));
            v.retain(|(_, t)| t.as_deref() == Some("HVA03"));
            v
        };
        let fix = before
            .findings
            .iter()
            .find(|f| f.rule_id == "HV010")
            .and_then(|f| f.remediation.clone())
            .unwrap_or_else(|| panic!("no HV010 fix for {trustee}: {:?}", keys(&before)));
        let keep = hv010_keeps(&fix);
        assert_eq!(keep, want, "{trustee}: {fix}");
        if keep.is_empty() {
            assert!(
                fix.contains("-PrincipalsAllowedToDelegateToAccount $null"),
                "{fix}"
            );
        }
        // Apply the planned descriptor: the peers that migrated through it still do.
        let sids: Vec<Sid> = keep.iter().map(|n| fx.csid(n)).collect();
        let had = blocked_to_03(&before);
        if sids.is_empty() {
            fx.comp("HVA03").rbcd = None;
        } else {
            fx.rbcd("HVA03", &sids);
        }
        let after = fx.audit(&config, None);
        assert_eq!(of(&after, "HV010"), vec![], "{trustee}");
        assert_eq!(blocked_to_03(&after), had, "{trustee}: {fix}");
    }
}

/// The branch of `script` that runs when `guard` (an `if` or `elseif` condition) holds: its
/// text up to the closing brace at the start of a line.
fn branch<'s>(script: &'s str, guard: &str) -> &'s str {
    let start = pos(script, guard);
    let rest = &script[start..];
    let end = rest.find("\n}").unwrap_or(rest.len());
    &rest[..end]
}

/// An object that could not be read for the backup is not changed, and that counts as a
/// failure (the script exits 1 when `$hvauditFailed` is not empty); its host settings are
/// skipped as "not backed up", not as "its AD changes failed".
#[test]
fn an_object_not_backed_up_fails_and_its_host_phase_says_why() {
    let findings = vec![
        with_remediation(finding("HV002", "HVP02", Some("HVP04")), FIX_HV002),
        with_remediation(finding("HV011", "HVP02", None), FIX_HV011),
    ];
    let got = script(&findings, &meta());
    let dn = "'CN=HVP02,OU=Prod,OU=HyperV,DC=corp,DC=example'";
    let ad = branch(
        &got,
        &format!("if ($hvauditNotBackedUp.ContainsKey({dn})) {{"),
    );
    assert!(ad.contains("$hvauditFailed.Add($hvauditRest"), "{ad}");
    assert!(!ad.contains("$hvauditSkipped.Add("), "{ad}");
    let host = branch(
        &got,
        &format!("elseif ($hvauditNotBackedUp.ContainsKey({dn})) {{"),
    );
    assert!(
        host.contains("(not backed up, so its AD changes were not made)"),
        "{host}"
    );
    assert!(!host.contains("its AD changes failed"), "{host}");
    assert!(got.contains("if ($hvauditFailed.Count -gt 0) { exit 1 }"));
}

/// `--host X` keeps a peer's HV005, which has no target but blocks migrations to X: its
/// evidence (`kcd_only_targets`) names X. Evidence naming other hosts only stays out.
#[test]
fn scope_keeps_a_peers_fix_whose_evidence_names_the_host() {
    use hvaudit::remediate::ScopeHost;
    let mut hv005 = with_remediation(
        finding("HV005", "HVL02", None),
        "Set-ADAccountControl -Identity 'pt' -TrustedToAuthForDelegation $true",
    );
    hv005
        .evidence
        .insert("kcd_only_targets".into(), "HVL03, HVL01, HVL04".into());
    let mut other = with_remediation(
        finding("HV005", "HVL05", None),
        "Set-ADAccountControl -Identity 'other' -TrustedToAuthForDelegation $true",
    );
    other
        .evidence
        .insert("kcd_only_targets".into(), "HVL03, HVL010".into());
    let fs = vec![hv005, other];
    let mut m = meta();
    m.scope.hosts.push(ScopeHost {
        name: "HVL01".into(),
        fqdn: Some("hvl01.corp.example".into()),
    });
    let got = script(&fs, &m);
    assert!(got.contains("-Identity 'pt'"), "{got}");
    assert!(!got.contains("-Identity 'other'"), "{got}");
}

/// `--allow-weakening HV017`: the header lists the weakening changes it enabled, the block
/// keeps its trade-off, and the prompt says what protection it removes.
#[test]
fn enabled_weakening_is_stated_in_the_header_the_block_and_the_prompt() {
    let f = with_remediation(finding("HV017", "svc-lm", None), FIX_HV017);
    let mut m = meta();
    m.allow_weakening.insert("HV017".into());
    let got = script(&[f], &m);
    let header = &got[..pos(&got, "#Requires")];
    assert!(
        header.contains("# PROTECTION-WEAKENING CHANGES ENABLED (--allow-weakening HV017)"),
        "{header}"
    );
    assert!(
        header.contains("#   svc-lm: HV017: title of HV017\n"),
        "{header}"
    );
    let trade_off = pos(
        &got,
        "# ENABLED BY --allow-weakening HV017: this change weakens",
    );
    let gate = pos(&got, "if ($PSCmdlet.ShouldProcess('svc-lm', ");
    assert!(trade_off < gate);
    assert!(got[trade_off..gate].contains("Prefer a dedicated, non-privileged operator"));
    assert!(
        got[gate..].starts_with(
            "if ($PSCmdlet.ShouldProcess('svc-lm', 'HV017: title of HV017 - REMOVES A PROTECTION of svc-lm: NOT_DELEGATED or Protected Users membership"
        ),
        "{}",
        &got[gate..]
    );
    // Not allowed: no such header line.
    let f = with_remediation(finding("HV017", "svc-lm", None), FIX_HV017);
    assert!(!script(&[f], &meta()).contains("CHANGES ENABLED"));
}

/// The undo instructions cover every attribute the backup saves (the ones the script can
/// change) and the host settings.
#[test]
fn undo_covers_every_attribute_the_script_can_change() {
    let findings = vec![with_remediation(
        finding("HV002", "HVP02", Some("HVP04")),
        FIX_HV002,
    )];
    let got = script(&findings, &meta());
    let undo = &got[pos(&got, "# Undo:")..pos(&got, "#Requires")];
    for attr in [
        "'msDS-AllowedToDelegateTo'",
        "userAccountControl",
        "'msDS-AllowedToActOnBehalfOfOtherIdentity'",
        "memberOf",
        "VirtualMachineMigrationAuthenticationType",
        "VirtualMachineMigrationEnabled",
    ] {
        assert!(undo.contains(attr), "{attr} not in the undo text:\n{undo}");
    }
    // The RBCD descriptor is saved in the form the undo writes back.
    assert!(got.contains("-NotePropertyName 'hvauditRbcdSddl'"));
}

/// The dry-run line quotes the output path as PowerShell reads a single-quoted string: every
/// quote kind doubled (U+2018..U+201B too), `#>` left as it is (the comment form splits it).
#[test]
fn the_dry_run_line_quotes_the_path_for_powershell() {
    let mut m = meta();
    m.out_path = Some("/tmp/rv/a\u{2019}b\u{2018}c\u{201a}d\u{201b}e'f #>.ps1".into());
    let got = script(&[], &m);
    assert!(
        got.contains(
            "#     & '/tmp/rv/a\u{2019}\u{2019}b\u{2018}\u{2018}c\u{201a}\u{201a}d\u{201b}\u{201b}e''f #>.ps1' -WhatIf\n"
        ),
        "{got}"
    );
    // A control character is named, never raw: the comment stays one line.
    m.out_path = Some("/tmp/x\ny.ps1".into());
    let got = script(&[], &m);
    assert!(
        got.contains("#     & ('/tmp/x' + [char]0x000A + 'y.ps1') -WhatIf\n"),
        "{got}"
    );
}

/// "after the additions above" only where there were additions on the object.
#[test]
fn removals_say_after_the_additions_only_when_there_were_some() {
    let only_removal = vec![with_remediation(finding("HV001", "HVP02", None), FIX_HV001)];
    let got = script(&only_removal, &meta());
    assert!(!got.contains("(after the additions above)"), "{got}");
    assert!(got.contains("        # Removals:\n"), "{got}");
    let both = vec![
        with_remediation(finding("HV001", "HVP02", None), FIX_HV001),
        with_remediation(finding("HV002", "HVP02", Some("HVP04")), FIX_HV002),
    ];
    let got = script(&both, &meta());
    assert!(
        got.contains("# Removals (after the additions above):"),
        "{got}"
    );
}
