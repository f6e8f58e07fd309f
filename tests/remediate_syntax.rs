//! The remediation scripts and the PowerShell collector, checked on a real PowerShell syntax
//! tree (the tree-sitter PowerShell grammar): no PowerShell runs on these machines, so what a
//! reviewer would check by reading is checked on the parse.
//!
//! Every script the tests can generate is checked: the example's, every field case's
//! (`tests/fixtures/field/`), every rule fixture's (`tests/rules/`), the hostile fixture's, and
//! scoped ones (`--host`, `--rule`, `--allow-weakening`). For each:
//! - it parses with no ERROR or MISSING node;
//! - every AD or host write cmdlet sits in the then-block of `if ($PSCmdlet.ShouldProcess(..))`;
//! - no `-Confirm:` argument anywhere, and no double-quoted (expanding) string at all;
//! - per object, additions precede removals precede other changes, and every host setting
//!   comes after every directory change;
//! - every directory value (from the input LDIF) occurs only inside single-quoted literals
//!   and comments;
//! - the header's counts equal the `ShouldProcess` blocks of the tree, and the counts and the
//!   restart list follow from the findings of the same inputs (`audit` → findings.json);
//! - each change block is inside a per-object try/catch that records the failure and goes on,
//!   and the summary and `exit 1` follow them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;
use tree_sitter::{Node, Parser, Tree};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn parse(src: &str) -> Tree {
    let mut p = Parser::new();
    p.set_language(&tree_sitter_powershell::LANGUAGE.into())
        .unwrap();
    p.parse(src, None).unwrap()
}

fn walk<'t>(n: Node<'t>, out: &mut Vec<Node<'t>>) {
    out.push(n);
    let mut c = n.walk();
    for ch in n.children(&mut c) {
        walk(ch, out);
    }
}

fn nodes(t: &Tree) -> Vec<Node<'_>> {
    let mut v = Vec::new();
    walk(t.root_node(), &mut v);
    v
}

fn text<'s>(n: Node<'_>, src: &'s str) -> &'s str {
    &src[n.byte_range()]
}

/// No ERROR and no MISSING node; names the first ones by line and column.
fn assert_parses(name: &str, src: &str, t: &Tree) {
    let bad: Vec<String> = nodes(t)
        .into_iter()
        .filter(|n| n.is_error() || n.is_missing())
        .take(5)
        .map(|n| {
            let p = n.start_position();
            let line = src.lines().nth(p.row).unwrap_or("");
            format!("{} at {}:{}: {line}", n.kind(), p.row + 1, p.column + 1)
        })
        .collect();
    assert!(bad.is_empty(), "{name}: parse errors:\n{}", bad.join("\n"));
}

/// Cmdlets that change the directory or a host: the ActiveDirectory module's writes, Hyper-V's
/// `Set-VM*`, every `Enable-*` / `Disable-*`, and restarts.
const WRITE_PREFIXES: &[&str] = &[
    "set-ad",
    "add-ad",
    "remove-ad",
    "clear-ad",
    "new-ad",
    "move-ad",
    "rename-ad",
    "unlock-ad",
    "reset-ad",
    "set-vm",
    "enable-",
    "disable-",
    "restart-computer",
    "stop-computer",
    "restart-service",
];

fn command_name<'s>(n: Node<'_>, src: &'s str) -> Option<&'s str> {
    n.child_by_field_name("command_name").map(|c| text(c, src))
}

fn is_write(n: Node<'_>, src: &str) -> bool {
    n.kind() == "command"
        && command_name(n, src).is_some_and(|c| {
            let c = c.to_ascii_lowercase();
            WRITE_PREFIXES.iter().any(|p| c.starts_with(p))
        })
}

/// The `if ($PSCmdlet.ShouldProcess(...))` whose then-block holds `n`, if any.
fn should_process_if<'t>(n: Node<'t>, src: &str) -> Option<Node<'t>> {
    let mut cur = n;
    while let Some(p) = cur.parent() {
        if p.kind() == "if_statement" && cur.kind() == "statement_block" {
            let cond = p.child_by_field_name("condition").map(|c| text(c, src));
            if cond.is_some_and(|c| c.contains("$PSCmdlet.ShouldProcess(")) {
                return Some(p);
            }
        }
        cur = p;
    }
    None
}

/// The first argument of the ShouldProcess call: the object the change is on.
fn should_process_target(if_node: Node<'_>, src: &str) -> String {
    let cond = text(if_node.child_by_field_name("condition").unwrap(), src);
    let rest = &cond[cond.find("ShouldProcess(").unwrap() + "ShouldProcess(".len()..];
    // The target is a single-quoted literal (or a concatenation); up to the top-level comma.
    let mut depth = 0;
    let mut in_q = false;
    for (i, c) in rest.char_indices() {
        match c {
            '\'' => in_q = !in_q,
            '(' if !in_q => depth += 1,
            ')' if !in_q => depth -= 1,
            ',' if !in_q && depth == 0 => return rest[..i].to_string(),
            _ => {}
        }
    }
    panic!("no target in {cond}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Addition,
    Removal,
    Other,
    Host,
}

/// What a write command does, read from its name, parameters and their arguments.
fn class(n: Node<'_>, src: &str) -> Class {
    let name = command_name(n, src).unwrap().to_ascii_lowercase();
    if name.starts_with("set-vm") || name.starts_with("enable-vm") || name.starts_with("disable-vm")
    {
        return Class::Host;
    }
    let mut words: Vec<String> = Vec::new();
    if let Some(el) = n.child_by_field_name("command_elements") {
        let mut c = el.walk();
        for ch in el.children(&mut c) {
            if ch.kind() != "command_argument_sep" {
                words.push(text(ch, src).to_ascii_lowercase());
            }
        }
    }
    let param_value = |p: &str, v: &str| {
        words.windows(2).any(|w| w[0] == p && w[1] == v)
            || words.iter().any(|w| *w == format!("{p}:{v}"))
    };
    let has = |p: &str| words.iter().any(|w| w == p);
    if has("-remove")
        || has("-clear")
        || has("-replace")
        || has("-principalsallowedtodelegatetoaccount")
        || words
            .iter()
            .any(|w| w == "$false" || w.ends_with(":$false"))
        || name.starts_with("remove-ad")
    {
        Class::Removal
    } else if has("-add")
        || name.starts_with("add-ad")
        || param_value("-trustedtoauthfordelegation", "$true")
        || param_value("-accountnotdelegated", "$true")
    {
        Class::Addition
    } else {
        Class::Other
    }
}

/// Reads the header line `# N change(s) on M object(s): A addition(s), R removal(s), O other
/// change(s), H host setting(s).` and the line after it.
fn header_counts(src: &str) -> (usize, [usize; 4], usize, usize) {
    let line = src
        .lines()
        .find(|l| l.starts_with("# ") && l.contains(" change(s) on "))
        .expect("counts line");
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let next = src
        .lines()
        .find(|l| l.starts_with("# Not changed by this script:"))
        .expect("left-out line");
    let left: Vec<usize> = next
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (
        nums[0],
        [nums[2], nums[3], nums[4], nums[5]],
        left[0],
        left[1],
    )
}

/// Every check that needs only the script and the directory values.
/// A `Get-AD*` command other than `Get-ADDomain` (whose result is a typed object whose
/// properties always exist).
fn is_ad_read(n: Node<'_>, src: &str) -> bool {
    n.kind() == "command"
        && command_name(n, src).is_some_and(|c| {
            let c = c.to_ascii_lowercase();
            c.starts_with("get-ad") && c != "get-addomain"
        })
}

/// Does the expression `n` evaluate to a `Get-AD*` result: the command itself, or it in
/// parentheses (`(Get-ADObject ...)`), or a variable assigned one? Wrappers with one child
/// (the grammar's precedence levels, parentheses, a one-command pipeline) are seen through.
fn is_ad_result(n: Node<'_>, src: &str, vars: &BTreeSet<String>) -> bool {
    match n.kind() {
        "variable" => vars.contains(&text(n, src).to_ascii_lowercase()),
        "command" => is_ad_read(n, src),
        _ => {
            let mut c = n.walk();
            let children: Vec<Node> = n.named_children(&mut c).collect();
            children.len() == 1 && is_ad_result(children[0], src, vars)
        }
    }
}

/// Member accesses of an attribute on a `Get-AD*` result (`(Get-ADObject ...).'attr'`,
/// `$o.attr` after `$o = Get-ADComputer ...`), as `line: text`. The ActiveDirectory module
/// leaves out of its result an attribute that has no value, and under `Set-StrictMode
/// -Version Latest` reading a property that does not exist throws (PropertyNotFoundStrict):
/// on a host with no delegation yet, every addition would fail. `.PSObject` is the guarded way
/// (`.PSObject.Properties['attr']` is `$null` when absent).
fn unguarded_attribute_reads(all: &[Node<'_>], src: &str) -> Vec<String> {
    let mut vars = BTreeSet::new();
    for n in all {
        if n.kind() == "assignment_expression"
            && let (Some(left), Some(value)) = (n.named_child(0), n.child_by_field_name("value"))
            && is_ad_result(value, src, &BTreeSet::new())
        {
            vars.insert(text(left, src).trim().to_ascii_lowercase());
        }
    }
    all.iter()
        .filter(|n| n.kind() == "member_access")
        .filter(|n| {
            let (Some(obj), Some(member)) = (n.named_child(0), n.named_child(1)) else {
                return false;
            };
            !text(member, src).eq_ignore_ascii_case("PSObject") && is_ad_result(obj, src, &vars)
        })
        .map(|n| format!("{}: {}", n.start_position().row + 1, text(*n, src)))
        .collect()
}

/// What a `ShouldProcess` block does: the latest phase of the writes it gates.
fn class_of_block(b: Node<'_>, src: &str) -> Class {
    let mut inner = Vec::new();
    walk(b, &mut inner);
    inner
        .into_iter()
        .filter(|w| is_write(*w, src) && should_process_if(*w, src) == Some(b))
        .map(|w| class(w, src))
        .max()
        .unwrap_or(Class::Other)
}

fn check_script(name: &str, src: &str, values: &BTreeSet<String>) {
    let src = src.trim_start_matches('\u{feff}');
    let t = parse(src);
    assert_parses(name, src, &t);
    let all = nodes(&t);

    // No -Confirm override, and no expanding string anywhere.
    for n in &all {
        if n.kind() == "command_parameter" {
            // Any spelling PowerShell binds to -Confirm: a dash PowerShell reads as `-`, a
            // prefix of the name, or its alias -cf.
            let p: String = text(*n, src)
                .chars()
                .map(|c| {
                    if matches!(c, '\u{2013}' | '\u{2014}' | '\u{2015}') {
                        '-'
                    } else {
                        c
                    }
                })
                .collect::<String>()
                .to_ascii_lowercase();
            let name = p.trim_start_matches('-').split(':').next().unwrap_or("");
            assert!(
                !(name == "cf" || (name.len() >= 2 && "confirm".starts_with(name))),
                "{name}: {} at line {}",
                text(*n, src),
                n.start_position().row + 1
            );
        }
        assert!(
            !n.kind().starts_with("expandable_"),
            "{name}: double-quoted string at line {}: {}",
            n.start_position().row + 1,
            text(*n, src)
        );
    }
    assert!(
        !src.to_ascii_lowercase().contains("-confirm:$false"),
        "{name}"
    );

    // The fixes' restart advice agrees with the summary's: the delegation changes they make
    // take effect after a restart or a purge of the computer's tickets.
    for l in src.lines().filter(|l| l.contains("# Takes effect after")) {
        assert!(
            l.contains("klist -li 0x3e7 purge"),
            "{name}: restart advice contradicts the summary's purge: {l}"
        );
    }

    // No attribute read that throws on an absent value (see `unguarded_attribute_reads`).
    let unguarded = unguarded_attribute_reads(&all, src);
    assert!(
        unguarded.is_empty(),
        "{name}: attribute read off a Get-AD* result, which throws under Set-StrictMode when \
         the attribute has no value: {unguarded:#?}"
    );

    // Every write inside ShouldProcess; per object additions < removals < other; host last.
    let writes: Vec<Node> = all.iter().copied().filter(|n| is_write(*n, src)).collect();
    let mut per_object: BTreeMap<String, Vec<(Class, usize)>> = BTreeMap::new();
    let mut last_ad = 0;
    let mut first_host = usize::MAX;
    for w in &writes {
        let gate = should_process_if(*w, src).unwrap_or_else(|| {
            panic!(
                "{name}: write outside ShouldProcess at line {}: {}",
                w.start_position().row + 1,
                text(*w, src)
            )
        });
        let c = class(*w, src);
        let line = w.start_position().row + 1;
        per_object
            .entry(should_process_target(gate, src).to_lowercase())
            .or_default()
            .push((c, line));
        if c == Class::Host {
            first_host = first_host.min(w.start_byte());
        } else {
            last_ad = last_ad.max(w.start_byte());
        }
    }
    for (obj, seq) in &per_object {
        for pair in seq.windows(2) {
            assert!(
                pair[0].0 <= pair[1].0,
                "{name}: on {obj}, a {:?} (line {}) comes before a {:?} (line {})",
                pair[0].0,
                pair[0].1,
                pair[1].0,
                pair[1].1
            );
        }
    }
    assert!(
        first_host == usize::MAX || first_host > last_ad,
        "{name}: a host setting runs before an AD change"
    );

    // The header counts the ShouldProcess blocks, by what their writes do.
    let blocks: Vec<Node> = all
        .iter()
        .copied()
        .filter(|n| {
            n.kind() == "if_statement"
                && n.child_by_field_name("condition")
                    .is_some_and(|c| text(c, src).contains("$PSCmdlet.ShouldProcess("))
        })
        .collect();
    let (changes, by_class, _, _) = header_counts(src);
    assert_eq!(
        changes,
        blocks.len(),
        "{name}: header count vs ShouldProcess blocks"
    );
    let mut counted = [0usize; 4];
    for b in &blocks {
        let inner: Vec<Node> = writes
            .iter()
            .copied()
            .filter(|w| should_process_if(*w, src) == Some(*b))
            .collect();
        let c = inner
            .iter()
            .map(|w| class(*w, src))
            .max()
            .unwrap_or(Class::Other);
        counted[c as usize] += 1;
    }
    assert_eq!(by_class, counted, "{name}: header counts per phase");

    // Structure: each block in a try whose catch records the failure and goes on.
    for b in &blocks {
        let mut cur = *b;
        let try_node = loop {
            cur = cur
                .parent()
                .unwrap_or_else(|| panic!("{name}: block not in a try"));
            if cur.kind() == "try_statement" {
                break cur;
            }
        };
        let catch = (0..try_node.child_count())
            .filter_map(|i| try_node.child(i as u32))
            .find(|c| c.kind() == "catch_clauses")
            .unwrap_or_else(|| {
                panic!(
                    "{name}: the try around line {} has no catch",
                    b.start_position().row + 1
                )
            });
        let body = text(catch, src).to_ascii_lowercase();
        assert!(
            body.contains("$hvauditfailed.add("),
            "{name}: catch records nothing"
        );
        for stop in ["throw", "exit", "return", "break"] {
            assert!(
                !body
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|w| w == stop),
                "{name}: catch stops the script with {stop}"
            );
        }
        // That try is the object's own: it is not the script-wide try (which has no catch).
        let outer = try_node.parent().and_then(|p| {
            let mut c = p;
            loop {
                if c.kind() == "try_statement" {
                    return Some(c);
                }
                c = c.parent()?;
            }
        });
        let outer = outer.unwrap_or_else(|| panic!("{name}: no script-wide try/finally"));
        assert!(
            !(0..outer.child_count())
                .filter_map(|i| outer.child(i as u32))
                .any(|c| c.kind() == "catch_clauses"),
            "{name}: the script-wide try catches (and would hide) failures"
        );
    }
    // A change declined at a -Confirm prompt stops its object: its if goes on under -WhatIf
    // (which only lists), and otherwise marks the object declined and throws to the object's
    // catch, which then skips the object's later changes without counting a failure; a host
    // setting's host phase is skipped when its object was declined in the AD phase.
    for b in &blocks {
        let line = b.start_position().row + 1;
        let kids: Vec<Node> = (0..b.child_count())
            .filter_map(|i| b.child(i as u32))
            .collect();
        assert!(
            kids.iter().any(|k| k.kind() == "elseif_clauses"
                && text(*k, src).contains("elseif ($WhatIfPreference)")),
            "{name}: the change at line {line} has no -WhatIf branch"
        );
        let declined = kids
            .iter()
            .find(|k| k.kind() == "else_clause")
            .map(|k| text(*k, src))
            .unwrap_or_else(|| panic!("{name}: the change at line {line} has no declined branch"));
        let key = declined
            .split("$hvauditDeclinedObjects[")
            .nth(1)
            .and_then(|r| r.split("] = $true").next())
            .unwrap_or_else(|| panic!("{name}: a declined change at line {line} marks nothing"));
        assert!(
            declined
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == "throw"),
            "{name}: a declined change at line {line} does not stop its object"
        );
        let try_node = enclosing_try(*b).expect("checked above");
        let catch = (0..try_node.child_count())
            .filter_map(|i| try_node.child(i as u32))
            .find(|c| c.kind() == "catch_clauses")
            .map(|c| text(c, src))
            .unwrap_or_default();
        let guard = format!("$hvauditDeclinedObjects.ContainsKey({key})");
        let (Some(g), Some(f)) = (catch.find(&guard), catch.find("$hvauditFailed.Add(")) else {
            panic!(
                "{name}: the catch of line {line} does not tell a declined change from a failure"
            );
        };
        assert!(g < f, "{name}: line {line}");
        if class_of_block(*b, src) == Class::Host {
            let mut cur = try_node;
            let gate = loop {
                cur = cur.parent().expect("a host guard");
                if cur.kind() == "if_statement" {
                    break cur;
                }
            };
            let cond = gate
                .child_by_field_name("condition")
                .map(|c| text(c, src))
                .unwrap_or_default();
            assert!(
                cond.contains(&guard),
                "{name}: the host settings at line {line} run after their object was declined"
            );
        }
    }
    if !blocks.is_empty() {
        // The summary runs in the script-wide finally, and a failure means exit 1.
        let fin = all
            .iter()
            .find(|n| n.kind() == "finally_clause")
            .unwrap_or_else(|| panic!("{name}: no finally"));
        let f = text(*fin, src);
        for c in [
            "$hvauditSucceeded.Count",
            "$hvauditFailed.Count",
            "$hvauditSkipped.Count",
        ] {
            assert!(f.contains(c), "{name}: summary lacks {c}");
        }
        assert!(
            src.contains("\nif ($hvauditFailed.Count -gt 0) { exit 1 }\n"),
            "{name}"
        );
        assert!(
            src.contains("\n$ErrorActionPreference = 'Stop'\n"),
            "{name}"
        );
        assert!(
            src.contains("Start-Transcript") && f.contains("Stop-Transcript"),
            "{name}"
        );
        assert!(
            src.contains("[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]"),
            "{name}"
        );
    }

    // No control character (a newline included) inside a single-quoted literal: legal
    // PowerShell, but the script would read differently from what runs. Such values are
    // concatenations naming the character (`[char]0x000A`).
    for n in &all {
        if n.kind() == "verbatim_string_characters" {
            assert!(
                !text(*n, src).chars().any(char::is_control),
                "{name}: control character in the literal at line {}",
                n.start_position().row + 1
            );
        }
    }

    // Directory values only inside single-quoted literals and comments.
    let safe: Vec<std::ops::Range<usize>> = all
        .iter()
        .filter(|n| {
            matches!(
                n.kind(),
                "verbatim_string_characters" | "verbatim_here_string_characters" | "comment"
            )
        })
        .map(|n| n.byte_range())
        .collect();
    for v in values {
        for (at, _) in src.match_indices(v.as_str()) {
            let end = at + v.len();
            assert!(
                safe.iter().any(|r| r.start <= at && end <= r.end),
                "{name}: directory value {v:?} outside a literal or comment at line {}",
                src[..at].lines().count()
            );
        }
    }
}

/// The values of an LDIF file (folded lines joined, base64 decoded), at least 4 bytes long.
fn ldif_values(path: &Path) -> BTreeSet<String> {
    let raw = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
    let mut lines: Vec<String> = Vec::new();
    for l in text.split('\n') {
        match (l.strip_prefix(' '), lines.last_mut()) {
            (Some(rest), Some(prev)) => prev.push_str(rest),
            _ => lines.push(l.to_string()),
        }
    }
    let mut out = BTreeSet::new();
    for l in lines {
        if l.starts_with('#') {
            continue;
        }
        let v = if let Some((_, b64)) = l.split_once(":: ") {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
        } else {
            l.split_once(": ").map(|(_, v)| v.to_string())
        };
        if let Some(v) = v.filter(|v| v.len() >= 4) {
            out.insert(v.trim_end_matches('$').to_string());
        }
    }
    out
}

fn hvaudit(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .env("HVAUDIT_TODAY", "2026-11-30")
        .output()
        .unwrap()
}

/// An input set: one LDIF and the inventory and configuration beside it.
#[derive(Debug, Clone)]
struct Case {
    name: String,
    ldif: PathBuf,
    args: Vec<String>,
}

fn case_in(dir: &Path, ldif: &Path) -> Case {
    let mut args = vec!["--ldif".to_string(), ldif.display().to_string()];
    if dir.join("hosts.csv").exists() {
        args.extend([
            "--hosts".into(),
            dir.join("hosts.csv").display().to_string(),
        ]);
    }
    for c in ["hvaudit.toml", "confirm-hosts.toml"] {
        if dir.join(c).exists() {
            args.extend(["--config".into(), dir.join(c).display().to_string()]);
            break;
        }
    }
    Case {
        name: format!(
            "{}/{}",
            dir.file_name().unwrap().to_string_lossy(),
            ldif.file_name().unwrap().to_string_lossy()
        ),
        ldif: ldif.to_path_buf(),
        args,
    }
}

fn cases_under(dir: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let mut ldifs: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "ldif"))
            .collect();
        ldifs.sort();
        out.extend(ldifs.iter().map(|l| case_in(&d, l)));
    }
    out
}

fn example() -> Case {
    let ex = root().join("examples");
    Case {
        name: "example".into(),
        ldif: ex.join("corp.ldif"),
        args: vec![
            "--ldif".into(),
            ex.join("corp.ldif").display().to_string(),
            "--hosts".into(),
            ex.join("hosts.csv").display().to_string(),
            "--config".into(),
            ex.join("hvaudit.toml").display().to_string(),
        ],
    }
}

/// Runs `remediate` (with `extra` flags) and `audit` on a case: the script and the findings,
/// or None when the inputs are refused (exit 2).
fn generate(case: &Case, extra: &[&str], tmp: &Path) -> Option<(String, Vec<Value>)> {
    let slug: String = case
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let ps1 = tmp.join(format!("{slug}-{}.ps1", extra.join("_").replace('-', "")));
    let mut args = vec!["remediate".to_string()];
    args.extend(case.args.iter().cloned());
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--out".into(), ps1.display().to_string()]);
    let o = hvaudit(&args);
    if o.status.code() == Some(2) {
        return None;
    }
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{}: remediate exit {:?}: {}",
        case.name,
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    let script = std::fs::read_to_string(&ps1).unwrap();
    let out = tmp.join(format!("{slug}-audit"));
    let mut args = vec!["audit".to_string()];
    args.extend(case.args.iter().cloned());
    args.extend([
        "--format".into(),
        "json".into(),
        "--out".into(),
        out.display().to_string(),
    ]);
    let o = hvaudit(&args);
    assert!(o.status.code() != Some(2), "{}: audit refused", case.name);
    let j: Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    let findings = j["findings"].as_array().unwrap().clone();
    Some((script, findings))
}

/// Has code besides comments, and no value that was not valid UTF-8.
fn automatic(f: &Value) -> bool {
    let r = f["remediation"].as_str().unwrap_or("");
    r.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    }) && !r.contains("not valid UTF-8 in the directory")
}

fn open(f: &Value) -> bool {
    f["status"].as_str() != Some("suppressed")
}

/// The counts and the restart list of an unscoped script, from the findings.
fn check_against_findings(name: &str, src: &str, findings: &[Value]) {
    let rules = hvaudit::rules::RuleSet::builtin().unwrap();
    let delegation: BTreeSet<String> = rules
        .rules()
        .iter()
        .filter(|r| r.changes_delegation)
        .map(|r| r.id.clone())
        .collect();
    let (_, _, suppressed, manual) = header_counts(src);
    assert_eq!(
        suppressed,
        findings.iter().filter(|f| !open(f)).count(),
        "{name}: suppressed"
    );
    assert_eq!(
        manual,
        findings.iter().filter(|f| open(f) && !automatic(f)).count(),
        "{name}: findings without an automatic fix"
    );
    // Every host whose delegation the script changes, and every host HV014 flags.
    let weakens = |f: &Value| f["rule_id"] == "HV017";
    let mut want: BTreeSet<String> = findings
        .iter()
        .filter(|f| open(f) && automatic(f) && !weakens(f))
        .filter(|f| delegation.contains(f["rule_id"].as_str().unwrap()))
        .map(|f| shown(f["object"].as_str().unwrap()))
        .collect();
    want.extend(
        findings
            .iter()
            .filter(|f| open(f) && f["rule_id"] == "HV014")
            .map(|f| shown(f["object"].as_str().unwrap())),
    );
    let got: BTreeSet<String> = restart_list(src)
        .into_iter()
        .map(|(h, _)| h.to_lowercase())
        .collect();
    assert_eq!(got, want, "{name}: restart list");
}

/// A name as a comment line shows it (control characters made inert), lower case.
fn shown(name: &str) -> String {
    hvaudit::remediate::ps_comment(name).to_lowercase()
}

/// The restart list of the summary: `(host, what to do)`.
fn restart_list(src: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut on = false;
    for l in src.lines() {
        if l.starts_with("    # Hosts to restart, or whose computer tickets to purge") {
            on = true;
            continue;
        }
        if on {
            if let Some(item) = l.strip_prefix("    #   ") {
                // The host's name may hold ": " itself: split where the step starts.
                let at = item
                    .rfind(": restart")
                    .or_else(|| item.rfind(": klist"))
                    .unwrap();
                out.push((item[..at].to_string(), item[at + 2..].to_string()));
            } else if !l.starts_with("    # ") {
                break;
            }
        }
    }
    out
}

#[test]
fn the_example_script_passes_every_check() {
    let tmp = tempfile::tempdir().unwrap();
    let case = example();
    let values = ldif_values(&case.ldif);
    let (script, findings) = generate(&case, &[], tmp.path()).unwrap();
    check_script("example", &script, &values);
    check_against_findings("example", &script, &findings);
    // The example exercises each phase, the restart and the purge, and HV014.
    let (_, by_class, _, _) = header_counts(script.trim_start_matches('\u{feff}'));
    assert!(
        by_class[0] > 0 && by_class[1] > 0 && by_class[3] > 0,
        "{by_class:?}"
    );
    let list = restart_list(&script);
    assert!(
        list.iter()
            .any(|(h, w)| h == "HVL01" && w.starts_with("restart")),
        "{list:?}"
    );
    assert!(
        list.iter()
            .any(|(h, w)| h == "HVP06" && w.contains("HV014")),
        "{list:?}"
    );
    assert!(
        list.iter()
            .any(|(_, w)| w.starts_with("klist -li 0x3e7 purge")),
        "{list:?}"
    );
    // The header names the file it was written to.
    let line = script
        .lines()
        .find(|l| l.starts_with("# Written to: "))
        .unwrap();
    assert!(line.ends_with("example-.ps1"), "{line}");
}

#[test]
fn every_field_case_script_passes_every_check() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = cases_under(&root().join("tests/fixtures/field"));
    let mut checked = 0;
    for case in &cases {
        let values = ldif_values(&case.ldif);
        if let Some((script, findings)) = generate(case, &[], tmp.path()) {
            check_script(&case.name, &script, &values);
            check_against_findings(&case.name, &script, &findings);
            checked += 1;
        }
    }
    // The refused ones are the ingest cases that must fail (duplicate DNs and the like).
    assert!(
        checked >= 40,
        "only {checked} of {} field cases gave a script",
        cases.len()
    );
}

#[test]
fn every_rule_fixture_script_passes_every_check() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = cases_under(&root().join("tests/rules"));
    assert!(cases.len() >= 20);
    for case in &cases {
        let values = ldif_values(&case.ldif);
        let (script, findings) =
            generate(case, &[], tmp.path()).unwrap_or_else(|| panic!("{}: refused", case.name));
        check_script(&case.name, &script, &values);
        check_against_findings(&case.name, &script, &findings);
    }
}

#[test]
fn the_hostile_fixture_script_passes_every_check() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = root().join("tests/fixtures/hostile");
    let mut case = case_in(&dir, &dir.join("hostile.ldif"));
    case.name = "hostile".into();
    let values = ldif_values(&case.ldif);
    let (script, findings) = generate(&case, &[], tmp.path()).unwrap();
    check_script("hostile", &script, &values);
    check_against_findings("hostile", &script, &findings);
}

#[test]
fn scoped_scripts_pass_every_check() {
    let tmp = tempfile::tempdir().unwrap();
    let case = example();
    let values = ldif_values(&case.ldif);
    for extra in [
        &["--host", "HVP02"][..],
        &["--host", "hvl06.corp.example", "--host", "HVL01"],
        &["--rule", "HV002", "--rule", "hv011"],
        &["--allow-weakening", "HV017"],
        &["--host", "HVP02", "--rule", "HV012"],
    ] {
        let (script, _) = generate(&case, extra, tmp.path()).unwrap();
        check_script(&format!("example {extra:?}"), &script, &values);
    }
    // HVL02's HV005 blocks migrations to HVL01 (check --from HVL02 --to HVL01 is NO-GO by
    // it): onboarding HVL01 includes it, though the finding has no target.
    let (script, _) = generate(&case, &["--host", "HVL01"], tmp.path()).unwrap();
    check_script("example --host HVL01", &script, &values);
    assert!(
        script.contains("$PSCmdlet.ShouldProcess('HVL02', 'HV005: "),
        "{script}"
    );
}

/// The rules of the enabled changes on each object, per phase, read from the tree: each
/// `ShouldProcess` block's target, the rule id that starts its action, and the class of its
/// writes.
fn changes_by_object(src: &str) -> BTreeMap<String, Vec<(String, Class)>> {
    let t = parse(src);
    let all = nodes(&t);
    let mut out: BTreeMap<String, Vec<(String, Class)>> = BTreeMap::new();
    for b in all.iter().filter(|n| {
        n.kind() == "if_statement"
            && n.child_by_field_name("condition")
                .is_some_and(|c| text(c, src).contains("$PSCmdlet.ShouldProcess("))
    }) {
        let target = should_process_target(*b, src);
        let cond = text(b.child_by_field_name("condition").unwrap(), src);
        let action =
            &cond[cond.find("ShouldProcess(").unwrap() + "ShouldProcess(".len() + target.len()..];
        let rule = action
            .trim_start_matches([',', ' ', '\''])
            .split(':')
            .next()
            .unwrap()
            .to_string();
        let class = all
            .iter()
            .filter(|w| is_write(**w, src) && should_process_if(**w, src) == Some(*b))
            .map(|w| class(*w, src))
            .max()
            .unwrap_or(Class::Other);
        out.entry(target.trim_matches('\'').to_string())
            .or_default()
            .push((rule, class));
    }
    out
}

/// A fixture made for the script: one host needing additions, removals and a host setting, an
/// LM operator whose fix would weaken two protections. Its expected.toml says, per object, which
/// rules' changes the script writes in each phase.
#[test]
fn the_order_and_protections_fixture_gives_what_its_expected_toml_says() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = root().join("tests/fixtures/remediate/order-and-protections");
    let case = case_in(&dir, &dir.join("input.ldif"));
    let values = ldif_values(&case.ldif);
    let expected: toml::Table =
        toml::from_str(&std::fs::read_to_string(dir.join("expected.toml")).unwrap()).unwrap();
    let list = |obj: &toml::Table, key: &str| -> BTreeSet<String> {
        obj.get(key)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    for allow in [false, true] {
        let extra: &[&str] = if allow {
            &["--allow-weakening", "HV017"]
        } else {
            &[]
        };
        let (script, findings) = generate(&case, extra, tmp.path()).unwrap();
        check_script(&case.name, &script, &values);
        if !allow {
            check_against_findings(&case.name, &script, &findings);
        }
        let src = script.trim_start_matches('\u{feff}');
        let got = changes_by_object(src);
        for (name, obj) in &expected {
            let obj = obj.as_table().unwrap();
            let phase = |c: Class| -> BTreeSet<String> {
                got.get(name)
                    .map(|v| {
                        v.iter()
                            .filter(|(_, k)| *k == c)
                            .map(|(r, _)| r.clone())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let removals = if allow && obj.contains_key("removals_when_allowed") {
                list(obj, "removals_when_allowed")
            } else {
                list(obj, "removals")
            };
            assert_eq!(
                phase(Class::Addition),
                list(obj, "additions"),
                "{name} additions"
            );
            assert_eq!(
                phase(Class::Removal),
                removals,
                "{name} removals (allow {allow})"
            );
            assert_eq!(
                phase(Class::Host),
                list(obj, "host_settings"),
                "{name} host settings"
            );
            for rule in list(obj, "commented_out") {
                // Left out: the change is only in comments, under the trade-off.
                let marker = format!("# {rule} (");
                let at = src
                    .find(&marker)
                    .unwrap_or_else(|| panic!("{rule} not in the script"));
                let left_out =
                    src[at..].find("# LEFT COMMENTED OUT: this change weakens a protection");
                assert_eq!(left_out.is_some(), !allow, "{name} {rule} (allow {allow})");
            }
            if let Some(step) = obj.get("restart").and_then(|v| v.as_str()) {
                let l = restart_list(&script);
                assert!(
                    l.iter().any(|(h, w)| h == name && w.starts_with(step)),
                    "{name}: {l:?}"
                );
            }
        }
        // The Protected Users removal never carries -Confirm and names the group by SID.
        assert!(src.contains("Remove-ADGroupMember -Identity ((Get-ADDomain).DomainSID.Value + '-525') -Members 'CN=svc-lm,OU=Service Accounts,DC=corp,DC=example'"));
    }
}

/// The nearest `try` statement around `n`.
fn enclosing_try(n: Node<'_>) -> Option<Node<'_>> {
    let mut c = n.parent()?;
    loop {
        if c.kind() == "try_statement" {
            return Some(c);
        }
        c = c.parent()?;
    }
}

/// One unreachable host (its `Invoke-Command` throws, reading its settings or changing them)
/// leaves the other hosts and every directory change done: shown on the structure of the
/// example's script, where several hosts get host settings.
#[test]
fn one_unreachable_host_leaves_the_others_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let (script, _) = generate(&example(), &[], tmp.path()).unwrap();
    let src = script.trim_start_matches('\u{feff}');
    let t = parse(src);
    let all = nodes(&t);
    let remote: Vec<Node> = all
        .iter()
        .copied()
        .filter(|n| {
            n.kind() == "command"
                && command_name(*n, src).is_some_and(|c| c.eq_ignore_ascii_case("Invoke-Command"))
        })
        .collect();
    // Per host: the try around each of its WinRM calls, reads and changes alike.
    let mut per_host: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for n in &remote {
        let computer = text(*n, src)
            .split("-ComputerName ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap()
            .to_lowercase();
        let t = enclosing_try(*n)
            .unwrap_or_else(|| panic!("WinRM call outside a try: {}", text(*n, src)));
        per_host.entry(computer).or_default().insert(t.id());
        // Its catch records the failure and lets the script go on.
        let catch = (0..t.child_count())
            .filter_map(|i| t.child(i as u32))
            .find(|c| c.kind() == "catch_clauses")
            .expect("a catch");
        let body = text(catch, src);
        assert!(body.contains("$hvauditFailed.Add("), "{body}");
        assert!(!body.contains("throw") && !body.contains("exit"), "{body}");
        // That try is the host's own, directly in the script-wide try/finally.
        let outer = enclosing_try(t).expect("script-wide try");
        assert!(enclosing_try(outer).is_none());
        assert!(
            (0..outer.child_count())
                .filter_map(|i| outer.child(i as u32))
                .any(|c| c.kind() == "finally_clause")
        );
    }
    assert!(
        per_host.len() >= 3,
        "the example changes several hosts: {per_host:?}"
    );
    // One try per host: no try holds two hosts' calls.
    let mut seen: BTreeMap<usize, &String> = BTreeMap::new();
    for (host, tries) in &per_host {
        assert_eq!(tries.len(), 1, "{host}: its calls are in one try");
        for id in tries {
            if let Some(other) = seen.insert(*id, host) {
                panic!("{host} and {other} share a try: one failing would skip the other");
            }
        }
    }
    // Every directory change comes before the first WinRM call: an unreachable host cannot
    // keep an AD change from being made.
    let first_remote = remote.iter().map(|n| n.start_byte()).min().unwrap();
    assert!(
        all.iter()
            .filter(|n| is_write(**n, src) && class(**n, src) != Class::Host)
            .all(|n| n.end_byte() < first_remote)
    );
    // A host is skipped only when its own AD section failed or was not backed up.
    for line in src
        .lines()
        .filter(|l| l.starts_with("if ($hvauditFailedObjects.ContainsKey("))
    {
        assert!(
            line.contains("-or $hvauditNotBackedUp.ContainsKey("),
            "{line}"
        );
    }
}

/// The PowerShell collector parses too (found by name: it may move between folders).
#[test]
fn the_collector_parses() {
    fn find(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let f = e.file_name();
            if p.is_dir() {
                if f != "target" && f != ".git" {
                    find(&p, name, out);
                }
            } else if f == name {
                out.push(p);
            }
        }
    }
    let mut found = Vec::new();
    find(&root(), "Get-HvAuditInventory.ps1", &mut found);
    assert_eq!(found.len(), 1, "{found:?}");
    let src = std::fs::read_to_string(&found[0]).unwrap();
    let src = src.trim_start_matches('\u{feff}');
    assert_parses("collector", src, &parse(src));
}

/// The checks catch what they are for: a broken script fails them.
#[test]
fn the_checks_fail_on_broken_scripts() {
    let values = BTreeSet::from(["CN=HV01,DC=t".to_string()]);
    let ok = |s: &str| std::panic::catch_unwind(|| check_script("probe", s, &values)).is_ok();
    let head = "# 1 change(s) on 1 object(s): 1 addition(s), 0 removal(s), 0 other change(s), 0 host setting(s).\n\
                # Not changed by this script: 0 suppressed finding(s); 0 finding(s) without an automatic fix\n\
                [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]\nparam()\n\
                $ErrorActionPreference = 'Stop'\nStart-Transcript -Path 'x'\n";
    let tail = "} finally { Write-Host ($hvauditSucceeded.Count + $hvauditFailed.Count + $hvauditSkipped.Count); Stop-Transcript }\n\
                if ($hvauditFailed.Count -gt 0) { exit 1 }\n";
    let body = |inner: &str| {
        format!(
            "{head}try {{\ntry {{\nif ($PSCmdlet.ShouldProcess('HV01', 'a')) {{\n{inner}\n}} elseif ($WhatIfPreference) {{ $hvauditSkipped.Add('a') }} else {{ $hvauditDeclinedObjects['k'] = $true; throw 'declined' }}\n}} catch {{ if ($hvauditDeclinedObjects.ContainsKey('k')) {{ }} else {{ $hvauditFailed.Add('x') }} }}\n{tail}"
        )
    };
    let good = body("Set-ADObject -Identity 'CN=HV01,DC=t' -Add @{'a'='b'}");
    assert!(ok(&good), "the probe itself must pass");
    // A write outside ShouldProcess.
    assert!(!ok(&good.replace(
        "try {\ntry {",
        "try {\nSet-ADObject -Identity 'x' -Clear 'a'\ntry {"
    )));
    // -Confirm override.
    assert!(!ok(&body(
        "Set-ADObject -Identity 'CN=HV01,DC=t' -Add @{'a'='b'} -Confirm:$false"
    )));
    // A directory value in a double-quoted string, or bare.
    assert!(!ok(&body(
        "Set-ADObject -Identity \"CN=HV01,DC=t\" -Add @{'a'='b'}"
    )));
    assert!(!ok(&body(
        "Set-ADObject -Identity CN=HV01,DC=t -Add @{'a'='b'}"
    )));
    // A removal before an addition on one object.
    let two = good
        .replace("1 change(s)", "2 change(s)")
        .replace("1 addition(s), 0 removal(s)", "1 addition(s), 1 removal(s)")
        .replace(
            "if ($PSCmdlet",
            "if ($PSCmdlet.ShouldProcess('HV01', 'r')) {\nSet-ADObject -Identity 'x' -Remove @{'a'='c'}\n}\nif ($PSCmdlet",
        );
    assert!(!ok(&two));
    // A catch that stops the script.
    assert!(!ok(&good.replace(
        "$hvauditFailed.Add('x')",
        "$hvauditFailed.Add('x'); throw"
    )));
    // An attribute read that throws when the attribute has no value (Set-StrictMode).
    for read in [
        "$have = @((Get-ADObject -Identity 'CN=HV01,DC=t' -Properties 'a-b').'a-b')",
        "$o = Get-ADComputer -Identity 'CN=HV01,DC=t' -Properties 'a'\n$have = $o.a",
        "$o = (Get-ADUser -Identity 'CN=HV01,DC=t')\n$have = @($o.'a')",
    ] {
        assert!(
            !ok(&body(&format!(
                "{read}\nSet-ADObject -Identity 'CN=HV01,DC=t' -Add @{{'a'='b'}}"
            ))),
            "{read}"
        );
    }
    assert!(ok(&body(
        "$have = @((Get-ADObject -Identity 'CN=HV01,DC=t' -Properties 'a').PSObject.Properties['a'] | Where-Object { $null -ne $_ } | ForEach-Object { $_.Value })\nSet-ADObject -Identity 'CN=HV01,DC=t' -Add @{'a'='b'}"
    )));
    // A declined change that lets its object's later changes run, or is counted as a failure.
    assert!(!ok(
        &good.replace("throw 'declined'", "$hvauditSkipped.Add('a')")
    ));
    assert!(!ok(&good.replace(
        " elseif ($WhatIfPreference) { $hvauditSkipped.Add('a') }",
        ""
    )));
    assert!(!ok(&good.replace(
        "if ($hvauditDeclinedObjects.ContainsKey('k')) { } else { $hvauditFailed.Add('x') }",
        "$hvauditFailed.Add('x')"
    )));
    // A parse error.
    assert!(!ok(&body("Set-ADObject -Identity 'x' -Add @{'a'='b'")));
    // A header that counts a change that is not there.
    assert!(!ok(&good.replace("# 1 change(s)", "# 2 change(s)")));
}

/// The example's LM operator svc-lm with a site rule (`--rules DIR`) whose fix is `fix`.
fn site_rule_script(fix: &str, n: usize, tmp: &Path) -> (Option<String>, std::process::Output) {
    let dir = tmp.join(format!("rules-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    let rule = format!(
        r#"[[rule]]
id = "SITE01"
title = "Site: operator must be delegable"
severity = "medium"
scope = "account"
summary = "site rule"
condition = "account.is_lm_operator and account.enabled and account.not_delegated"
message = "{{{{ account.name }}}} is NOT_DELEGATED."
rationale = "site"
remediation = '''
{fix}
'''
references = []
"#
    );
    std::fs::write(dir.join("site.toml"), rule).unwrap();
    let ps1 = dir.join("fix.ps1");
    let mut args = vec!["remediate".to_string()];
    args.extend(example().args);
    for a in [
        "--rules",
        &dir.display().to_string(),
        "--rule",
        "SITE01",
        "--out",
        &ps1.display().to_string(),
    ] {
        args.push(a.to_owned());
    }
    let o = hvaudit(&args);
    (std::fs::read_to_string(&ps1).ok(), o)
}

/// A site rule's fix that removes a protection in a spelling PowerShell accepts (an en or em
/// dash or a horizontal bar for the hyphen, an abbreviated parameter, a raw
/// userAccountControl rewrite, another cmdlet removing Protected Users membership, a backtick
/// continuation) is written commented out, never enabled; one that passes -Confirm (or
/// -WhatIf) in any spelling is refused with a usage error naming the rule, and no script is
/// written.
#[test]
fn site_rules_cannot_bypass_the_protections_or_the_prompt() {
    let tmp = tempfile::tempdir().unwrap();
    let id = "{{ account.dn|ps_quote }}";
    let weakening = [
        format!("Set-ADAccountControl -Identity {id} \u{2013}AccountNotDelegated $false"),
        format!("Set-ADAccountControl -Identity {id} \u{2014}AccountNotDelegated:$false"),
        format!("Set-ADAccountControl -Identity {id} \u{2015}accountnotdelegated 0"),
        format!("Set-ADAccountControl -Identity {id} -AccountNotDeleg:$false"),
        format!("Set-ADUser -Identity {id} -Replace @{{userAccountControl=512}}"),
        format!("Set-ADObject -Identity {id} -Rep @{{'userAccountControl'=512}}"),
        format!("Remove-ADPrincipalGroupMembership -Identity {id} -MemberOf 'Protected Users'"),
        format!("Set-ADGroup -Identity 'Protected Users' -Remove @{{member={id}}}"),
        format!("Set-ADAccountControl -Identity {id} `\n    -AccountNotDelegated $false"),
    ];
    for (n, fix) in weakening.iter().enumerate() {
        let (script, o) = site_rule_script(fix, n, tmp.path());
        let script = script
            .unwrap_or_else(|| panic!("{fix}: no script: {}", String::from_utf8_lossy(&o.stderr)));
        check_script(&format!("site rule {fix}"), &script, &BTreeSet::new());
        assert!(
            !script.contains("$PSCmdlet.ShouldProcess('svc-lm'"),
            "{fix}: enabled:\n{script}"
        );
        assert!(script.contains("# LEFT COMMENTED OUT"), "{fix}");
    }
    let confirm = [
        format!("Set-ADAccountControl -Identity {id} -AccountNotDelegated $true -Confirm:$false"),
        format!(
            "Set-ADAccountControl -Identity {id} -AccountNotDelegated $true \u{2013}Confirm:$false"
        ),
        format!("Set-ADAccountControl -Identity {id} -AccountNotDelegated $true -Conf:$false"),
        format!("Set-ADAccountControl -Identity {id} -AccountNotDelegated $true -cf:$false"),
        format!(
            "Set-ADAccountControl -Identity {id} -AccountNotDelegated $true `\n  -CONFIRM:$false"
        ),
        format!("Set-ADAccountControl -Identity {id} -AccountNotDelegated $true -WhatIf:$false"),
    ];
    for (n, fix) in confirm.iter().enumerate() {
        let (script, o) = site_rule_script(fix, 100 + n, tmp.path());
        assert_eq!(o.status.code(), Some(2), "{fix}");
        assert!(script.is_none(), "{fix}: a script was written");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("rule SITE01") && err.contains("-Confirm"),
            "{fix}: {err}"
        );
    }
}
