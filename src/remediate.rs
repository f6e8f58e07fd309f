//! The remediation script: one reviewable PowerShell script holding the `remediation` snippet
//! of every open finding, grouped per object, each change gated by `ShouldProcess` so `-WhatIf`
//! and `-Confirm` work. hvaudit only writes it; an admin reviews and runs it.
//!
//! Everything from the directory is hostile: values reach the script only through
//! [`ps_quote`] (inside code) or [`ps_comment`] (inside `#` comments).
//!
//! A value that was not valid UTF-8 in the directory reaches hvaudit with U+FFFD in place of
//! the bad bytes (the snapshot builder records it as a gap). Its text is not the stored one, so
//! writing or removing it would touch a different value: [`ps_quote`] never turns a string
//! holding U+FFFD into a literal, and a change that would need one is written as comments
//! explaining how to make it by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::findings::{Finding, Status};
use crate::rules::RuleSet;

/// What the script header says about where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RemediationMeta {
    pub tool_version: String,
    pub domain: String,
    pub scan_time: DateTime<Utc>,
    /// Ids (upper case) of the rules whose fix changes a host's delegation
    /// (`changes_delegation = true` in the rule file): the script lists their hosts for a
    /// reboot (or a ticket purge) before live migration sees the change.
    pub delegation_rules: BTreeSet<String>,
    /// Hosts that only claim to be Hyper-V hosts (see [`crate::audit::HostSummary::confirmed`]),
    /// one line each (`NAME: why left out; how to confirm it`): the script grants them no
    /// delegation and no protocol transition, and lists them in a section of its own.
    pub left_out_candidates: Vec<String>,
}

impl RemediationMeta {
    /// Metadata naming this build of hvaudit; which rules change delegation comes from
    /// `rules` (each rule's `changes_delegation`).
    pub fn new(domain: &str, scan_time: DateTime<Utc>, rules: &RuleSet) -> RemediationMeta {
        RemediationMeta {
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            domain: domain.to_owned(),
            scan_time,
            delegation_rules: rules
                .rules()
                .iter()
                .filter(|r| r.changes_delegation)
                .map(|r| r.id.to_ascii_uppercase())
                .collect(),
            left_out_candidates: Vec::new(),
        }
    }
}

/// A PowerShell string expression for `s`: a single-quoted literal. Inside one only quote
/// characters are special, and PowerShell counts the typographic quotes U+2018..U+201B as `'`
/// too; doubling any of them escapes it. `$`, backtick and newlines stay literal.
///
/// Control characters (ESC, BEL, CR, LF, ...) and bidirectional controls would sit raw in the
/// script, where a terminal showing it interprets them (`cat fix.ps1`) and a reviewer sees
/// reordered or hidden text. A value holding any becomes a parenthesised concatenation that
/// names them, `('a' + [char]0x001B + 'b')`: the same string to PowerShell, inert on screen.
///
/// A string holding U+FFFD (the replacement character, what a value that was not valid UTF-8
/// decodes to) becomes [`UNDECODABLE`], an expression that throws, never a literal: the text is
/// not the stored value, and [`script`] comments out every change that contains it.
///
/// A value that a spreadsheet would split into a cell starting a formula (`cifs/x;=1+1`; the
/// rule of `report::csv::neutralise`) is cut there into a concatenation too,
/// `('cifs/x;' + '=1+1')`: the findings CSV carries this code in its `remediation` column, and
/// the `'` it would otherwise insert before `=` would close the literal and turn the rest of
/// the value into PowerShell for whoever copies the cell.
pub fn ps_quote(s: &str) -> String {
    if s.contains('\u{FFFD}') {
        return UNDECODABLE.to_string();
    }
    ps_literal(s)
}

/// What [`ps_quote`] writes for a value that was not decoded exactly. It throws if run, so even
/// a change someone uncomments by hand writes nothing.
pub const UNDECODABLE: &str = "$(throw 'hvaudit: this value was not valid UTF-8 in the directory \
     and is not written: fix it by hand')";

/// The literal for `s`, U+FFFD included: only for text the script displays (ShouldProcess
/// prompts, the reboot list), never for a value it writes.
fn ps_literal(s: &str) -> String {
    use crate::report::csv::{is_cell_start_separator, is_formula_trigger};
    let mut parts: Vec<String> = Vec::new();
    let mut literal = String::new();
    let mut cell_start = false;
    for c in s.chars() {
        if needs_char_code(c) {
            // Start with a string literal so `+` concatenates rather than adds char codes.
            if parts.is_empty() || !literal.is_empty() {
                parts.push(quoted(&literal));
                literal.clear();
            }
            parts.push(format!("[char]0x{:04X}", c as u32));
            // The literal that follows opens with `'`: no spreadsheet cell starts a formula.
            cell_start = false;
            continue;
        }
        if cell_start && c != ' ' {
            if is_formula_trigger(c) && !literal.is_empty() {
                parts.push(quoted(&literal));
                literal.clear();
            }
            cell_start = false;
        }
        literal.push(c);
        if is_cell_start_separator(c) {
            cell_start = true;
        }
    }
    if parts.is_empty() {
        return quoted(&literal);
    }
    if !literal.is_empty() {
        parts.push(quoted(&literal));
    }
    format!("({})", parts.join(" + "))
}

/// Characters written as `[char]0xNNNN` rather than raw: C0/C1 controls, DEL, line and
/// paragraph separators, and the bidirectional controls.
fn needs_char_code(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Text safe on one `#` comment line: line breaks and other control characters become spaces
/// (a newline would end the comment and start code), `#>` and `<#` are split so the text
/// cannot close or open a block comment, and bidirectional controls are shown escaped so the
/// reviewer sees the characters in their real order.
pub fn ps_comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => out.push(' '),
            c => out.push(c),
        }
    }
    out.replace("#>", "# >").replace("<#", "< #")
}

/// The whole script. Suppressed findings and findings without remediation are left out.
/// Objects come in case-insensitive name order, findings in input order within an object.
pub fn script(findings: &[Finding], meta: &RemediationMeta) -> String {
    let fixable: Vec<&Finding> = findings.iter().filter(|f| is_fixable(f)).collect();
    let suppressed = findings
        .iter()
        .filter(|f| f.status == Status::Suppressed)
        .count();
    let refused = fixable.iter().filter(|f| writes_undecodable(f)).count();
    let manual = findings.len() - fixable.len() - suppressed;

    let mut by_object: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in &fixable {
        by_object
            .entry(f.object.to_lowercase())
            .or_default()
            .push(f);
    }

    // A UTF-8 BOM: Windows PowerShell 5.1 reads BOM-less scripts in the ANSI code page, which
    // would garble non-ASCII names both in the checks and in what gets written to AD.
    let mut s = String::from("\u{feff}");
    header(
        &mut s,
        meta,
        fixable.len() - refused,
        by_object.len(),
        suppressed,
        manual + refused,
    );
    left_out(&mut s, &meta.left_out_candidates);
    if by_object.is_empty() {
        s.push_str("# No open finding carries a remediation: nothing to change.\n");
        return s;
    }
    // try/finally: when a change fails half-way, the reboot reminder still names the hosts
    // already changed.
    s.push_str("try {\n\n");
    for group in by_object.values() {
        region(&mut s, group, meta);
    }
    s.push_str("} finally {\n");
    footer(&mut s, &fixable, meta);
    s.push_str("}\n");
    s
}

fn is_fixable(f: &Finding) -> bool {
    f.status != Status::Suppressed
        && f.remediation
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty())
}

/// The change would write or remove a value that was not decoded exactly (see [`ps_quote`]).
fn writes_undecodable(f: &Finding) -> bool {
    f.remediation
        .as_deref()
        .is_some_and(|r| r.contains(UNDECODABLE))
}

fn is_delegation_change(f: &Finding, meta: &RemediationMeta) -> bool {
    meta.delegation_rules
        .contains(&f.rule_id.to_ascii_uppercase())
}

fn header(
    s: &mut String,
    meta: &RemediationMeta,
    fixes: usize,
    objects: usize,
    suppressed: usize,
    manual: usize,
) {
    let _ = write!(
        s,
        "# hvaudit remediation script\n\
         # Generated by hvaudit {version} for domain {domain} from the scan of {time}.\n\
         # hvaudit never runs this script. Review every change, then dry-run it:\n\
         #     .\\fix.ps1 -WhatIf\n\
         # and run it with -Confirm to approve each change one by one.\n\
         # {fixes} change(s) on {objects} object(s). Left out: {suppressed} suppressed finding(s), \
         {manual} finding(s) without an automatic fix.\n\
         #Requires -Modules ActiveDirectory\n\
         \n\
         [CmdletBinding(SupportsShouldProcess)]\n\
         param()\n\
         \n\
         Set-StrictMode -Version Latest\n\
         $ErrorActionPreference = 'Stop'\n\
         # Hosts whose delegation was changed by this run, for the reboot reminder at the end.\n\
         $hvauditDelegationChanged = @()\n\
         \n",
        version = ps_comment(&meta.tool_version),
        domain = ps_comment(&meta.domain),
        time = meta.scan_time.format("%Y-%m-%d %H:%M:%S UTC"),
    );
}

/// The section naming the would-be hosts the script grants nothing (comments only).
fn left_out(s: &mut String, candidates: &[String]) {
    if candidates.is_empty() {
        return;
    }
    s.push_str(
        "#region Hyper-V host candidates left out\n\
         # These computers claim to be Hyper-V hosts (a Hyper-V SPN or serviceConnectionPoint,\n\
         # which whoever created or owns the account can write), but nothing an administrator\n\
         # controls confirms them. This script adds no delegation to or from them and no\n\
         # protocol transition; removals of dangerous settings on them are still below.\n",
    );
    for c in candidates {
        let _ = writeln!(s, "#   {}", ps_comment(c));
    }
    s.push_str("#endregion Hyper-V host candidates left out\n\n");
}

fn region(s: &mut String, group: &[&Finding], meta: &RemediationMeta) {
    // One spelling per object (the first), in comments and in what ShouldProcess displays.
    let name = ps_comment(&group[0].object);
    let _ = writeln!(s, "#region {name}");
    for f in group {
        let _ = writeln!(
            s,
            "# {} ({}): {}",
            ps_comment(&f.rule_id),
            f.severity.as_str(),
            ps_comment(&f.title)
        );
        if let Some(t) = &f.target {
            let _ = writeln!(s, "#   target: {}", ps_comment(t));
        }
        let _ = writeln!(s, "#   {}", ps_comment(&f.message));
        if writes_undecodable(f) {
            refused_change(s, f);
            continue;
        }
        // ShouldProcess arguments are only displayed, so they get the one-line comment form.
        let action = ps_comment(&format!("{}: {}", f.rule_id, f.title));
        let _ = writeln!(
            s,
            "if ($PSCmdlet.ShouldProcess({}, {})) {{",
            ps_literal(&name),
            ps_literal(&action)
        );
        push_snippet(s, f.remediation.as_deref().unwrap_or(""));
        if is_delegation_change(f, meta) {
            let _ = writeln!(s, "    $hvauditDelegationChanged += {}", ps_literal(&name));
        }
        s.push_str("}\n");
    }
    let _ = writeln!(s, "#endregion {name}\n");
}

/// A change that needs a value that was not valid UTF-8: only comments, saying why and how to
/// make it by hand, then the change itself commented out (its value stays [`UNDECODABLE`]).
fn refused_change(s: &mut String, f: &Finding) {
    s.push_str(
        "# NOT WRITTEN: this change needs a value that was not valid UTF-8 in the directory\n\
         # (hvaudit shows it with U+FFFD in place of the bad bytes). Its text is not the stored\n\
         # value, so writing or removing it would touch a different value than the one stored.\n\
         # Fix it by hand: look at the stored bytes of the attribute named in the message, e.g.\n\
         #     Get-ADObject -Identity '<DN>' -Properties * | Format-List\n\
         # or in ADSI Edit, remove or correct the value there, then scan again.\n\
         # The change hvaudit would otherwise make:\n",
    );
    for line in f.remediation.as_deref().unwrap_or("").trim_end().lines() {
        let _ = writeln!(s, "#     {}", ps_comment(line));
    }
}

/// Indents the snippet for readability, except when it holds a here-string: a here-string's
/// closing `'@` must start its line, so indenting would break it.
fn push_snippet(s: &mut String, snippet: &str) {
    let snippet = snippet.replace("\r\n", "\n");
    let indent = if snippet.contains("@'") || snippet.contains("@\"") {
        ""
    } else {
        "    "
    };
    for line in snippet.trim_end().lines() {
        if line.trim().is_empty() {
            s.push('\n');
        } else {
            let _ = writeln!(s, "{indent}{line}");
        }
    }
}

fn footer(s: &mut String, fixable: &[&Finding], meta: &RemediationMeta) {
    let mut hosts: BTreeMap<String, &str> = BTreeMap::new();
    for f in fixable
        .iter()
        .filter(|f| is_delegation_change(f, meta) && !writes_undecodable(f))
    {
        hosts.entry(f.object.to_lowercase()).or_insert(&f.object);
    }
    if hosts.is_empty() {
        s.push_str("    # No change to any host's delegation: no reboot needed.\n");
        return;
    }
    s.push_str(
        "    # Delegation changes take effect after the host reboots, or once its Kerberos\n\
         \x20   # tickets expire; to apply them sooner, purge the computer's tickets on the host:\n\
         \x20   #     klist purge -li 0x3e7\n\
         \x20   # Hosts whose delegation this script changes:\n",
    );
    for h in hosts.values() {
        let _ = writeln!(s, "    #     {}", ps_comment(h));
    }
    s.push_str(
        "    if ($hvauditDelegationChanged.Count -gt 0) {\n\
         \x20       $hvauditHosts = ($hvauditDelegationChanged | Sort-Object -Unique) -join ', '\n\
         \x20       Write-Warning \"Delegation changed on: $hvauditHosts. Reboot these hosts (or run \
         'klist purge -li 0x3e7' on each) before live migration relies on the change.\"\n\
         \x20   }\n",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_doubles_every_single_quote_kind() {
        assert_eq!(ps_quote("plain"), "'plain'");
        assert_eq!(ps_quote("o'brien"), "'o''brien'");
        assert_eq!(ps_quote("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
        assert_eq!(ps_quote("$env:x `n"), "'$env:x `n'");
        assert_eq!(ps_quote(""), "''");
        // Controls are named, never raw; the string PowerShell builds is the same.
        assert_eq!(
            ps_quote("a\x1b]0;t\x07b'c"),
            "('a' + [char]0x001B + ']0;t' + [char]0x0007 + 'b''c')"
        );
        assert_eq!(
            ps_quote("\rWrite-Host x"),
            "('' + [char]0x000D + 'Write-Host x')"
        );
        assert_eq!(ps_quote("x\n"), "('x' + [char]0x000A)");
        assert_eq!(
            ps_quote("\u{202e}\u{202e}"),
            "('' + [char]0x202E + [char]0x202E)"
        );
    }

    #[test]
    fn undecodable_values_never_become_literals() {
        assert_eq!(ps_quote("MSSQLSvc/sql\u{FFFD}(.t.example"), UNDECODABLE);
        assert_eq!(ps_quote(&["a", "\u{FFFD}"].concat()), UNDECODABLE);
        // Display text keeps the character.
        assert_eq!(ps_literal("HV\u{FFFD}03"), "'HV\u{FFFD}03'");
    }

    #[test]
    fn quote_splits_where_a_spreadsheet_would_start_a_formula() {
        // The same string to PowerShell; in a CSV cell every piece after `;` starts with `'`.
        assert_eq!(ps_quote("cifs/sql01;=1+1"), "('cifs/sql01;' + '=1+1')");
        assert_eq!(
            ps_quote("CN=HV03\\;=2+2,OU=HV,DC=t,DC=example"),
            "('CN=HV03\\;' + '=2+2,OU=HV,DC=t,DC=example')"
        );
        assert_eq!(ps_quote("a; -b|@c"), "('a; ' + '-b|' + '@c')");
        assert_eq!(ps_quote("a\t=1"), "('a' + [char]0x0009 + '=1')");
        // A trigger that starts the value is already inside the opening quote.
        assert_eq!(ps_quote("=1;b"), "'=1;b'");
        assert_eq!(ps_quote("a;b=c, d"), "'a;b=c, d'");
    }

    #[test]
    fn comment_is_one_inert_line() {
        assert_eq!(ps_comment("a\r\nb\u{2028}c"), "a  b c");
        assert_eq!(ps_comment("x #> y <# z"), "x # > y < # z");
        assert_eq!(ps_comment("ab\u{202e}cd"), "ab\\u{202e}cd");
    }
}
