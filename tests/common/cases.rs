//! Cases as data, shared by the field cases (`tests/fixtures/field/<case>/case.toml`, run by
//! `tests/field_cases.rs`) and the rule fixtures (`tests/rules/<ID>/expected.toml`, run by
//! `tests/rule_fixtures.rs`): one format, one runner. A case holds its inputs and what is
//! right about them: the findings of the rules it is about (exactly), the exit code, `check`
//! verdicts, and what the remediation script must (not) do. Adding a case needs no Rust.
//!
//! ```toml
//! about = "why this case exists"
//! [[run]]
//! ldif = "input.ldif"            # relative to the case folder
//! hosts = "hosts.csv"            # optional inventory
//! config = "hvaudit.toml"        # optional
//! exit = 0                       # optional: audit's exit code
//! stderr = ["input.ldif:69: "]   # optional: substrings of audit's stderr
//! writes_report = false          # optional: audit refuses the input and writes nothing
//! rules = ["HV002", "HV018"]     # the findings of these rules (`*`: of every rule), exactly:
//! findings = ["HV002 HV01 HV02"] # "RULE object target" (target `-` when none)
//! near_miss = ["HV03"]           # optional: objects of the input no finding of `rules` names
//! readiness = ["HV01 HV02 ready"] # optional: every readiness cell, "from to state", exactly
//! rbcd = ["HV01 HV03 covers"]    # optional: for every ordered pair whose destination has
//!                                # RBCD, "from to covers|does_not|unknown", exactly
//! gap = []                       # optional: every gap of the report, exactly (see run.gap)
//! removed_once = ["cifs/HV02:445"] # optional: the script removes each exactly once
//! remediate_exit = 0             # optional: remediate's exit code
//! script_has = ["#region"]       # optional: substrings the remediation script contains
//! script_lacks = ["cifs/X'"]     # optional: substrings it does not contain
//! [[run.gap]]                    # optional: a gap; given at all, the list is exact
//! what = "member of CN=G,DC=x"   # exactly
//! reason = "membership incomplete" # a substring
//! [[run.finding]]                # optional: a finding with more detail (also exact)
//! rule = "HV002"
//! object = "HV01"
//! target = "HV02"                # optional: none when absent
//! severity = "medium"            # optional
//! message = "cannot delegate"    # optional: a substring of the message
//! remediation = "Set-ADObject"   # optional: a substring of the remediation
//! group = "a"                    # optional: the finding's migration group
//! evidence = { same_cluster = "false" } # optional: these evidence values, exactly (a JSON
//!                                # boolean matches "true"/"True", a number its digits)
//! fixable = true                 # optional: whether it carries a remediation
//! [[run.check]]
//! from = "HV01"
//! to = "hv02.contoso.com"
//! operator = "svc-lm"            # optional
//! verdict = "NO-GO"              # GO, NO-GO or UNKNOWN; the exit code follows (0, 1, 3)
//! reasons = ["HV003"]            # optional: the blocking rule ids, exactly
//! stdout = ["addressed by FQDN"] # optional: substrings of the output
//! ```
//! A check whose `verdict` is `error` expects exit 2 and `stderr` substrings instead.
//!
//! hvaudit runs in the folder holding the case folders, with paths such as
//! `<case>/input.ldif`, so the messages it prints name the file as a user would see it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    #[allow(dead_code, reason = "documentation for the reader of the case")]
    pub about: String,
    pub run: Vec<Run>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub ldif: String,
    pub hosts: Option<String>,
    pub config: Option<String>,
    pub exit: Option<i32>,
    #[serde(default)]
    pub stderr: Vec<String>,
    #[serde(default = "yes")]
    pub writes_report: bool,
    #[serde(default)]
    pub rules: Vec<String>,
    #[serde(default)]
    pub findings: Vec<String>,
    #[serde(default)]
    pub finding: Vec<ExpectedFinding>,
    #[serde(default)]
    pub near_miss: Vec<String>,
    pub readiness: Option<Vec<String>>,
    pub rbcd: Option<Vec<String>>,
    pub gap: Option<Vec<ExpectedGap>>,
    #[serde(default)]
    pub removed_once: Vec<String>,
    pub remediate_exit: Option<i32>,
    #[serde(default)]
    pub script_has: Vec<String>,
    #[serde(default)]
    pub script_lacks: Vec<String>,
    #[serde(default)]
    pub check: Vec<Check>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedGap {
    pub what: String,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFinding {
    pub rule: String,
    pub object: String,
    pub target: Option<String>,
    pub severity: Option<String>,
    pub message: Option<String>,
    pub remediation: Option<String>,
    pub group: Option<String>,
    #[serde(default)]
    pub evidence: BTreeMap<String, String>,
    pub fixable: Option<bool>,
}

impl ExpectedFinding {
    fn key(&self) -> String {
        format!(
            "{} {} {}",
            self.rule,
            self.object,
            self.target.as_deref().unwrap_or("-")
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub from: String,
    pub to: String,
    pub operator: Option<String>,
    pub verdict: String,
    pub reasons: Option<Vec<String>>,
    #[serde(default)]
    pub stdout: Vec<String>,
    #[serde(default)]
    pub stderr: Vec<String>,
}

/// Every `<dir>/*/<file>` parsed, in folder order: (folder name, folder, case).
pub fn load_cases(dir: &Path, file: &str) -> Vec<(String, PathBuf, Case)> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join(file).is_file())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|d| {
            let name = d.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(d.join(file)).unwrap();
            let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}/{file}: {e}"));
            (name, d, case)
        })
        .collect()
}

fn hvaudit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run hvaudit")
}

/// The input flags of a run, with paths relative to the folder holding the case folders.
fn inputs(name: &str, run: &Run) -> Vec<String> {
    let mut v = vec!["--ldif".to_string(), format!("{name}/{}", run.ldif)];
    if let Some(h) = &run.hosts {
        v.extend(["--hosts".to_string(), format!("{name}/{h}")]);
    }
    if let Some(c) = &run.config {
        v.extend(["--config".to_string(), format!("{name}/{c}")]);
    }
    v
}

/// The PowerShell literal hvaudit writes for a plain value (no control characters).
fn ps_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn key_of(f: &serde_json::Value) -> String {
    format!(
        "{} {} {}",
        f["rule_id"].as_str().unwrap(),
        f["object"].as_str().unwrap(),
        f["target"].as_str().unwrap_or("-")
    )
}

/// True when the run's inputs hold an object of this name: a `sAMAccountName` in the LDIF
/// (computers with their `$`) or a row of the inventory. A near miss that is not in the input
/// would prove nothing.
fn in_inputs(dir: &Path, run: &Run, name: &str) -> bool {
    let ldif = std::fs::read_to_string(dir.join(&run.ldif)).unwrap_or_default();
    let n = name.to_ascii_lowercase();
    let in_ldif = ldif.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l == format!("samaccountname: {n}") || l == format!("samaccountname: {n}$")
    });
    let in_hosts = run.hosts.as_ref().is_some_and(|h| {
        std::fs::read_to_string(dir.join(h))
            .unwrap_or_default()
            .lines()
            .any(|l| {
                l.to_ascii_lowercase()
                    .trim_matches('"')
                    .starts_with(&format!("{n},"))
            })
    });
    in_ldif || in_hosts
}

/// Runs every run of a case; returns what is wrong (empty when the case holds).
pub fn run_case(name: &str, dir: &Path, case: &Case) -> Vec<String> {
    let mut errors = Vec::new();
    let parent = dir.parent().expect("a case folder has a parent");
    for (i, run) in case.run.iter().enumerate() {
        let at = format!("{name} run {i} ({})", run.ldif);
        let out = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = vec!["audit".into()];
        args.extend(inputs(name, run));
        args.extend([
            "--out".into(),
            out.path().display().to_string(),
            "--format".into(),
            "json".into(),
        ]);
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = hvaudit(parent, &args_ref);
        if let Some(code) = run.exit
            && o.status.code() != Some(code)
        {
            errors.push(format!(
                "{at}: audit exit {:?}, expected {code}: {}",
                o.status.code(),
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        let stderr = String::from_utf8_lossy(&o.stderr);
        for s in &run.stderr {
            if !stderr.contains(s.as_str()) {
                errors.push(format!("{at}: audit stderr lacks {s:?}: {stderr}"));
            }
        }
        if let Some(want) = &run.rbcd {
            errors.extend(rbcd_coverage(&at, dir, run, want));
        }
        if !run.writes_report {
            // The input is refused: nothing may be written.
            if out.path().join("findings.json").exists() {
                errors.push(format!("{at}: a report was written"));
            }
            continue;
        }
        let Ok(bytes) = std::fs::read(out.path().join("findings.json")) else {
            errors.push(format!(
                "{at}: no findings.json: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
            continue;
        };
        let j: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let all = j["findings"].as_array().unwrap();
        let rules: BTreeSet<&str> = run.rules.iter().map(String::as_str).collect();
        let mine: Vec<&serde_json::Value> = all
            .iter()
            .filter(|f| rules.contains("*") || rules.contains(f["rule_id"].as_str().unwrap()))
            .collect();
        let got: BTreeSet<String> = mine.iter().map(|f| key_of(f)).collect();
        let want: BTreeSet<String> = run
            .findings
            .iter()
            .cloned()
            .chain(run.finding.iter().map(ExpectedFinding::key))
            .collect();
        if got != want {
            errors.push(format!(
                "{at}: findings of {:?}\n  unexpected: {:?}\n  missing: {:?}",
                run.rules,
                got.difference(&want).collect::<Vec<_>>(),
                want.difference(&got).collect::<Vec<_>>()
            ));
        }
        for e in &run.finding {
            let Some(f) = mine.iter().find(|f| key_of(f) == e.key()) else {
                continue; // reported above
            };
            let what = format!("{at}: {}", e.key());
            if let Some(s) = &e.severity
                && f["severity"].as_str() != Some(s.as_str())
            {
                errors.push(format!("{what}: severity {}, expected {s}", f["severity"]));
            }
            if let Some(m) = &e.message
                && !f["message"].as_str().unwrap_or("").contains(m.as_str())
            {
                errors.push(format!("{what}: message lacks {m:?}: {}", f["message"]));
            }
            if let Some(r) = &e.remediation
                && !f["remediation"].as_str().unwrap_or("").contains(r.as_str())
            {
                errors.push(format!(
                    "{what}: remediation lacks {r:?}: {}",
                    f["remediation"]
                ));
            }
            if let Some(g) = &e.group
                && f["group"].as_str() != Some(g.as_str())
            {
                errors.push(format!("{what}: group {}, expected {g}", f["group"]));
            }
            if let Some(fix) = e.fixable
                && f["remediation"].is_string() != fix
            {
                errors.push(format!(
                    "{what}: remediation {}, expected fixable = {fix}",
                    f["remediation"]
                ));
            }
            for (k, v) in &e.evidence {
                // findings.json types booleans and integers (schema 2): `true` is the
                // expected "True" (any case), `1` the expected "1"; strings exactly.
                let actual = &f["evidence"][k];
                let same = match actual {
                    serde_json::Value::String(s) => s == v,
                    serde_json::Value::Bool(b) => v.eq_ignore_ascii_case(&b.to_string()),
                    serde_json::Value::Number(n) => n.to_string() == *v,
                    // A list (schema 3): its items joined with ", ", as the CSV shows it.
                    serde_json::Value::Array(items) => {
                        let items: Option<Vec<&str>> = items.iter().map(|i| i.as_str()).collect();
                        items.is_some_and(|i| i.join(", ") == *v)
                    }
                    _ => false,
                };
                if !same {
                    errors.push(format!(
                        "{what}: evidence {k} = {}, expected {v:?}",
                        f["evidence"][k]
                    ));
                }
            }
        }
        for n in &run.near_miss {
            if !in_inputs(dir, run, n) {
                errors.push(format!("{at}: near miss {n} is not in the inputs"));
            }
            if mine.iter().any(|f| {
                f["object"]
                    .as_str()
                    .is_some_and(|o| o.eq_ignore_ascii_case(n))
            }) {
                errors.push(format!(
                    "{at}: near miss {n} has a finding of {:?}",
                    run.rules
                ));
            }
        }
        // One finding per (rule, object, target): a set would hide duplicates.
        let keys: Vec<String> = all
            .iter()
            .map(|f| format!("{} {} {}", f["rule_id"], f["object"], f["target"]))
            .collect();
        let distinct: BTreeSet<&String> = keys.iter().collect();
        if distinct.len() != keys.len() {
            errors.push(format!("{at}: a finding is reported twice"));
        }
        if let Some(want) = &run.readiness {
            let got: BTreeSet<String> = j["readiness"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|g| g["cells"].as_array().unwrap().iter())
                .map(|c| {
                    format!(
                        "{} {} {}",
                        c["from"].as_str().unwrap(),
                        c["to"].as_str().unwrap(),
                        c["state"].as_str().unwrap()
                    )
                })
                .collect();
            let want: BTreeSet<String> = want.iter().cloned().collect();
            if got != want {
                errors.push(format!("{at}: readiness cells {got:?}, expected {want:?}"));
            }
        }
        if let Some(want) = &run.gap {
            let got = j["gaps"].as_array().unwrap();
            if got.len() != want.len() {
                errors.push(format!(
                    "{at}: {} gap(s), expected {}: {got:?}",
                    got.len(),
                    want.len()
                ));
            }
            for w in want {
                if !got.iter().any(|g| {
                    g["what"] == w.what.as_str()
                        && g["reason"]
                            .as_str()
                            .unwrap_or("")
                            .contains(w.reason.as_str())
                }) {
                    errors.push(format!(
                        "{at}: no gap {:?} ({:?}) in {got:?}",
                        w.what, w.reason
                    ));
                }
            }
            if j["complete"] != want.is_empty() {
                errors.push(format!(
                    "{at}: complete is {}, expected {}",
                    j["complete"],
                    want.is_empty()
                ));
            }
        }
        let remediates = !run.removed_once.is_empty()
            || run.remediate_exit.is_some()
            || !run.script_has.is_empty()
            || !run.script_lacks.is_empty();
        if remediates {
            let script = out.path().join("fix.ps1");
            let mut args: Vec<String> = vec!["remediate".into()];
            args.extend(inputs(name, run));
            args.extend(["--out".into(), script.display().to_string()]);
            let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = hvaudit(parent, &args_ref);
            if let Some(code) = run.remediate_exit
                && o.status.code() != Some(code)
            {
                errors.push(format!(
                    "{at}: remediate exit {:?}, expected {code}: {}",
                    o.status.code(),
                    String::from_utf8_lossy(&o.stderr)
                ));
            }
            let text = std::fs::read_to_string(&script).unwrap_or_else(|_| {
                panic!("{at}: no script: {}", String::from_utf8_lossy(&o.stderr))
            });
            for s in &run.script_has {
                if !text.contains(s.as_str()) {
                    errors.push(format!("{at}: the script lacks {s:?}"));
                }
            }
            for s in &run.script_lacks {
                if text.contains(s.as_str()) {
                    errors.push(format!("{at}: the script has {s:?}"));
                }
            }
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
            args.extend(inputs(name, run));
            args.extend(["--from".into(), c.from.clone(), "--to".into(), c.to.clone()]);
            if let Some(op) = &c.operator {
                args.extend(["--operator".into(), op.clone()]);
            }
            let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = hvaudit(parent, &args_ref);
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

/// The RBCD coverage the analysis finds for every ordered pair of hosts whose destination has
/// RBCD, against `want` ("from to covers|does_not|unknown"). Coverage is not an output of the
/// CLI, so this reads the run's inputs with the library as the CLI does.
fn rbcd_coverage(at: &str, dir: &Path, run: &Run, want: &[String]) -> Vec<String> {
    use hvaudit::analysis::{Analysis, HostIdx, RbcdCoverage};
    use hvaudit::collect::builder::BuildOptions;
    use hvaudit::config::Config;

    let config = match &run.config {
        Some(c) => Config::load(&dir.join(c)).unwrap(),
        None => Config::default(),
    };
    let build = BuildOptions {
        extra_group_sids: config.extra_privileged_groups.clone(),
    };
    let snap = hvaudit::collect::ldif_snapshot(&dir.join(&run.ldif), build).unwrap();
    let a = Analysis::build(&snap, None, &config);
    let mut errors = Vec::new();
    let mut got = BTreeSet::new();
    for to in HostIdx::range(a.hosts.len()).filter(|t| a.hosts[*t].rbcd.present) {
        for from in HostIdx::range(a.hosts.len()).filter(|f| *f != to) {
            let c = match a.rbcd_coverage(from, to) {
                RbcdCoverage::Covers => "covers",
                RbcdCoverage::DoesNot => "does_not",
                RbcdCoverage::Unknown => "unknown",
            };
            // `rbcd_covers` means known to cover: an undecidable descriptor is not coverage.
            if a.rbcd_covers(from, to) != (c == "covers") {
                errors.push(format!("{at}: rbcd_covers disagrees with rbcd_coverage"));
            }
            got.insert(format!("{} {} {c}", a.hosts[from].name, a.hosts[to].name));
        }
    }
    let want: BTreeSet<String> = want.iter().cloned().collect();
    if got != want {
        errors.push(format!("{at}: RBCD coverage {got:?}, expected {want:?}"));
    }
    errors
}
