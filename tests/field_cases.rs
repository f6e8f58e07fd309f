//! Field cases as data: every `tests/fixtures/field/<case>/case.toml` is run by this one test.
//! A case holds its inputs and what is right about them: the findings of the rules it is about,
//! the exit code, `check` verdicts, and what the remediation script must (not) do. Adding a case
//! needs no Rust.
//!
//! ```toml
//! about = "why this case exists"
//! [[run]]
//! ldif = "input.ldif"            # relative to the case folder
//! hosts = "hosts.csv"            # optional inventory
//! config = "hvaudit.toml"        # optional
//! exit = 0                       # optional: audit's exit code
//! rules = ["HV002", "HV018"]     # the findings of these rules, exactly:
//! findings = ["HV002 HV01 HV02"] # "RULE object target" (target `-` when none)
//! removed_once = ["cifs/HV02:445"] # optional: the script removes each exactly once
//! [[run.check]]
//! from = "HV01"
//! to = "hv02.contoso.com"
//! operator = "svc-lm"            # optional
//! verdict = "NO-GO"              # GO, NO-GO or UNKNOWN; the exit code follows (0, 1, 3)
//! reasons = ["HV003"]            # optional: the blocking rule ids, exactly
//! stdout = ["addressed by FQDN"] # optional: substrings of the output
//! ```
//! A check whose `verdict` is `error` expects exit 2 and `stderr` substrings instead.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[allow(dead_code, reason = "documentation for the reader of the case")]
    about: String,
    run: Vec<Run>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Run {
    ldif: String,
    hosts: Option<String>,
    config: Option<String>,
    exit: Option<i32>,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    findings: Vec<String>,
    #[serde(default)]
    removed_once: Vec<String>,
    #[serde(default)]
    check: Vec<Check>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    from: String,
    to: String,
    operator: Option<String>,
    verdict: String,
    reasons: Option<Vec<String>>,
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    stderr: Vec<String>,
}

fn field_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/field")
}

fn hvaudit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run hvaudit")
}

fn inputs(run: &Run) -> Vec<String> {
    let mut v = vec!["--ldif".to_string(), run.ldif.clone()];
    if let Some(h) = &run.hosts {
        v.extend(["--hosts".to_string(), h.clone()]);
    }
    if let Some(c) = &run.config {
        v.extend(["--config".to_string(), c.clone()]);
    }
    v
}

/// The PowerShell literal hvaudit writes for a plain value (no control characters).
fn ps_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn run_case(name: &str, dir: &Path, case: &Case) -> Vec<String> {
    let mut errors = Vec::new();
    for (i, run) in case.run.iter().enumerate() {
        let at = format!("{name} run {i} ({})", run.ldif);
        let out = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = vec!["audit".into()];
        args.extend(inputs(run));
        args.extend([
            "--out".into(),
            out.path().display().to_string(),
            "--format".into(),
            "json".into(),
        ]);
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = hvaudit(dir, &args_ref);
        if let Some(code) = run.exit
            && o.status.code() != Some(code)
        {
            errors.push(format!(
                "{at}: audit exit {:?}, expected {code}: {}",
                o.status.code(),
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        let Ok(bytes) = std::fs::read(out.path().join("findings.json")) else {
            errors.push(format!(
                "{at}: no findings.json: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
            continue;
        };
        let j: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let rules: BTreeSet<&str> = run.rules.iter().map(String::as_str).collect();
        let got: BTreeSet<String> = j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| rules.contains(f["rule_id"].as_str().unwrap()))
            .map(|f| {
                format!(
                    "{} {} {}",
                    f["rule_id"].as_str().unwrap(),
                    f["object"].as_str().unwrap(),
                    f["target"].as_str().unwrap_or("-")
                )
            })
            .collect();
        let want: BTreeSet<String> = run.findings.iter().cloned().collect();
        if got != want {
            errors.push(format!(
                "{at}: findings of {:?}\n  unexpected: {:?}\n  missing: {:?}",
                run.rules,
                got.difference(&want).collect::<Vec<_>>(),
                want.difference(&got).collect::<Vec<_>>()
            ));
        }
        // One finding per (rule, object, target): a set would hide duplicates.
        let all: Vec<String> = j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {} {}", f["rule_id"], f["object"], f["target"]))
            .collect();
        let distinct: BTreeSet<&String> = all.iter().collect();
        if distinct.len() != all.len() {
            errors.push(format!("{at}: a finding is reported twice"));
        }
        if !run.removed_once.is_empty() {
            let script = out.path().join("fix.ps1");
            let mut args: Vec<String> = vec!["remediate".into()];
            args.extend(inputs(run));
            args.extend(["--out".into(), script.display().to_string()]);
            let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = hvaudit(dir, &args_ref);
            let text = std::fs::read_to_string(&script).unwrap_or_else(|_| {
                panic!("{at}: no script: {}", String::from_utf8_lossy(&o.stderr))
            });
            for v in &run.removed_once {
                let needle = format!("-Remove @{{'msDS-AllowedToDelegateTo'={}}}", ps_literal(v));
                let n = text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with('#') && l.contains(&needle))
                    .count();
                if n != 1 {
                    errors.push(format!(
                        "{at}: the script removes {v:?} {n} times, not once"
                    ));
                }
            }
        }
        for c in &run.check {
            let mut args: Vec<String> = vec!["check".into()];
            args.extend(inputs(run));
            args.extend(["--from".into(), c.from.clone(), "--to".into(), c.to.clone()]);
            if let Some(op) = &c.operator {
                args.extend(["--operator".into(), op.clone()]);
            }
            let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = hvaudit(dir, &args_ref);
            let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
            let what = format!("{at}: check {} -> {}", c.from, c.to);
            let code = match c.verdict.as_str() {
                "GO" => 0,
                "NO-GO" => 1,
                "UNKNOWN" => 3,
                "error" => 2,
                other => panic!("{what}: unknown verdict {other}"),
            };
            if o.status.code() != Some(code) {
                errors.push(format!(
                    "{what}: exit {:?}, expected {code} ({})\n{stdout}{stderr}",
                    o.status.code(),
                    c.verdict
                ));
            }
            if c.verdict != "error" && !stdout.starts_with(&format!("{}: ", c.verdict)) {
                errors.push(format!("{what}: expected {}:\n{stdout}", c.verdict));
            }
            if let Some(reasons) = &c.reasons {
                let got: Vec<&str> = stdout
                    .lines()
                    .filter_map(|l| l.strip_prefix("  ["))
                    .filter_map(|l| l.split_whitespace().nth(1))
                    .collect();
                if got != *reasons {
                    errors.push(format!("{what}: reasons {got:?}, expected {reasons:?}"));
                }
            }
            for s in &c.stdout {
                if !stdout.contains(s.as_str()) {
                    errors.push(format!("{what}: stdout lacks {s:?}:\n{stdout}"));
                }
            }
            for s in &c.stderr {
                if !stderr.contains(s.as_str()) {
                    errors.push(format!("{what}: stderr lacks {s:?}:\n{stderr}"));
                }
            }
        }
    }
    errors
}

#[test]
fn every_field_case_gives_what_its_case_toml_says() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(field_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.toml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "only {} cases found", cases.len());
    let mut errors = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(dir.join("case.toml")).unwrap();
        let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}/case.toml: {e}"));
        errors.extend(run_case(&name, dir, &case));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}
