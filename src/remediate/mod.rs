//! The remediation script: one reviewable PowerShell script holding the `remediation` snippet
//! of every open finding, in an order that keeps live migration working at every step, each
//! change gated by `ShouldProcess` (`ConfirmImpact = 'High'`) so `-WhatIf` and `-Confirm`
//! work. hvaudit only writes it; an admin reviews and runs it. The layout and the reasons for
//! it are in `docs/remediation.md`.
//!
//! - [`plan`] cuts each finding's snippet into changes and gives each its phase: additions
//!   (missing delegation, protocol transition) before removals (unconstrained delegation, DC
//!   services, stale, malformed and other-domain values) on the same object, host-side settings
//!   (`Set-VMHost` over WinRM) after every directory change. A change that removes a protection
//!   (HV017) is left commented out unless its rule is named in
//!   [`RemediationMeta::allow_weakening`].
//! - `render` writes the script: header (`header`: where it was written, scope, counts, order),
//!   backup of the attributes it touches, the AD phase with one `try`/`catch` per object, the
//!   host phase with one per host, the manual steps, and a summary that exits 1 on failure.
//!
//! Everything from the directory is hostile: values reach the script only through
//! [`ps_quote`] (inside code, single-quoted literals only) or [`ps_comment`] (inside `#`
//! comments). The script holds no double-quoted (expandable) string at all.
//!
//! A value that was not valid UTF-8 in the directory reaches hvaudit with U+FFFD in place of
//! the bad bytes (the snapshot builder records it as a gap). Its text is not the stored one, so
//! writing or removing it would touch a different value: [`ps_quote`] never turns a string
//! holding U+FFFD into a literal, and a change that would need one is written as comments
//! explaining how to make it by hand.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::findings::Finding;
use crate::rules::RuleSet;

mod header;
pub mod plan;
mod render;

pub use plan::{Phase, weakening_rules};

/// What the script header says about where it came from, and what the run was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct RemediationMeta {
    pub tool_version: String,
    pub domain: String,
    pub scan_time: DateTime<Utc>,
    /// Ids (upper case) of the rules whose fix changes a host's delegation
    /// (`changes_delegation = true` in the rule file): the script lists their hosts for a
    /// restart (or a ticket purge) before live migration sees the change.
    pub delegation_rules: BTreeSet<String>,
    /// Hosts that only claim to be Hyper-V hosts (see [`crate::audit::HostSummary::confirmed`]),
    /// one line each (`NAME: why left out; how to confirm it`): the script grants them no
    /// delegation and no protocol transition, and lists them in a section of its own.
    pub left_out_candidates: Vec<String>,
    /// The file the script is written to, as the header names it (`None`: not written to a
    /// file, e.g. in tests; the header then says so).
    pub out_path: Option<String>,
    /// `remediate --host` and `--rule`: which changes the script holds.
    pub scope: Scope,
    /// Ids (upper case) of the rules whose protection-weakening fix is written enabled
    /// (`remediate --allow-weakening ID`); any other such fix is written commented out.
    pub allow_weakening: BTreeSet<String>,
    /// Every Hyper-V host: its sAMAccountName without `$` and the name WinRM reaches it by
    /// (its FQDN, else that name). The host phase reads each host's prior settings through it.
    pub hosts: Vec<ScopeHost>,
}

/// What `remediate --host` and `--rule` limit the script to. Empty lists mean everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// `--host`: only changes on these hosts and changes on other objects that name one of
    /// them as target or in their evidence (a peer's delegation to it, a peer's HV005 that
    /// blocks migrations to it: both directions of every pair).
    pub hosts: Vec<ScopeHost>,
    /// `--rule`: only findings of these rules (ids upper case).
    pub rules: BTreeSet<String>,
}

/// A host as `--host` and the host phase know it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeHost {
    /// sAMAccountName without `$`, as findings name the host.
    pub name: String,
    /// dNSHostName, when the directory has one.
    pub fqdn: Option<String>,
}

impl ScopeHost {
    /// Does `s` name this host (its name or FQDN, case-insensitively)?
    pub fn is_named(&self, s: &str) -> bool {
        s.eq_ignore_ascii_case(&self.name)
            || self
                .fqdn
                .as_deref()
                .is_some_and(|f| s.eq_ignore_ascii_case(f))
    }
}

impl RemediationMeta {
    /// Metadata naming this build of hvaudit; which rules change delegation comes from
    /// `rules` (each rule's `changes_delegation`). No scope, no weakening allowed, no file.
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
            out_path: None,
            scope: Scope::default(),
            allow_weakening: BTreeSet::new(),
            hosts: Vec::new(),
        }
    }
}

/// The whole script for `findings` (see the module documentation for its layout).
/// Suppressed findings and findings outside [`RemediationMeta::scope`] are left out; findings
/// without an automatic fix are listed as manual steps. Objects come in case-insensitive name
/// order, findings in input order within an object.
pub fn script(findings: &[Finding], meta: &RemediationMeta) -> String {
    let plan = plan::plan(findings, meta);
    render::render(&plan, meta)
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
pub(crate) fn ps_literal(s: &str) -> String {
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
