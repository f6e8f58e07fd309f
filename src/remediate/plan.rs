//! What the script changes, in which phase, and what it only lists.
//!
//! A rule's remediation is a PowerShell snippet (see `docs/rules.md`). Each snippet is cut into
//! changes by reading its lines: a line that calls a cmdlet that writes (`Set-ADObject`,
//! `Set-ADAccountControl`, `Invoke-Command`, ...) is a write, classified by its cmdlet and
//! parameters (outside quoted values, which are directory data); a comment leads the next
//! write; any other code line (`$have = @(...)`, a read) is set-up, repeated in front of every
//! later change of the same snippet so each change reads the state it acts on. HV018's snippet,
//! which adds the value it meant and removes the malformed one, so becomes one addition and
//! one removal, each in its own phase.
//!
//! A snippet holding a here-string stays whole: its lines are not PowerShell lines.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::{RemediationMeta, Scope, UNDECODABLE};
use crate::findings::{Finding, Status};
use crate::rules::RuleSet;

/// Rules whose finding says the host needs a restart for a change already made (HV014: its
/// delegation changed after its last boot): their hosts join the restart list.
pub const RESTART_RULES: &[&str] = &["HV014"];

/// When a change runs. Within one object's section: additions, then removals, then other
/// changes; host settings run in the host phase, after every directory change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Adds delegation or a protection: `-Add`, `-TrustedToAuthForDelegation $true`,
    /// `-AccountNotDelegated $true`, `Add-AD*`.
    Addition,
    /// Removes or narrows: `-Remove`, `-Clear`, `-Replace`, a flag set to `$false`,
    /// `Remove-AD*`, `-PrincipalsAllowedToDelegateToAccount`.
    Removal,
    /// A write the classification does not recognise (a site rule's snippet): after the
    /// removals, still before the host phase.
    Other,
    /// Host-side settings over WinRM (`Invoke-Command`, `Set-VMHost`, `Enable-VMMigration`).
    Host,
}

impl Phase {
    /// How the script's comments name the phase.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Addition => "addition",
            Phase::Removal => "removal",
            Phase::Other => "other change",
            Phase::Host => "host setting",
        }
    }
}

/// One change: the part of a finding's snippet that runs in one phase.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// The finding whose fix this is (the first, when several fixes are the same change).
    pub finding: &'a Finding,
    /// When it runs.
    pub phase: Phase,
    /// The PowerShell of the change: the snippet's comments and set-up lines, then its writes.
    pub code: String,
    /// Removes a protection (NOT_DELEGATED, Protected Users membership) and its rule is not in
    /// [`RemediationMeta::allow_weakening`]: written commented out, not counted as a change.
    pub weakening: bool,
    /// Removes a protection (or may), whether or not `--allow-weakening` enabled it: an
    /// enabled one still carries the trade-off, in the header and in its prompt.
    pub weakens: bool,
    /// Changes the host's delegation (its rule has `changes_delegation`, not a host setting).
    pub changes_delegation: bool,
    /// Removes unconstrained delegation: tickets already captured stay in the host's memory
    /// until it restarts, so a ticket purge is not enough.
    pub needs_restart: bool,
    /// Other findings whose fix is this very change (same phase, same code on the same
    /// object, e.g. HV011 and HV012 both set Kerberos): written once.
    pub also: Vec<&'a Finding>,
}

impl Change<'_> {
    /// Written enabled, inside `ShouldProcess`.
    pub fn enabled(&self) -> bool {
        !self.weakening
    }
}

/// Everything the script does to one object (host or account).
#[derive(Debug, Clone)]
pub struct ObjectPlan<'a> {
    /// What the script tracks the object by (its DN when known, else its name).
    pub key: String,
    /// The object's name, first spelling seen.
    pub name: String,
    /// Its DN, when known and decoded exactly: the backup reads it.
    pub dn: Option<String>,
    /// In phase order (stable within a phase).
    pub changes: Vec<Change<'a>>,
    /// Findings whose change would need a value that was not valid UTF-8: comments only.
    pub refused: Vec<&'a Finding>,
}

impl ObjectPlan<'_> {
    /// Changes of the directory phase (everything but host settings).
    pub fn ad_changes(&self) -> impl Iterator<Item = &Change<'_>> {
        self.changes.iter().filter(|c| c.phase != Phase::Host)
    }
    /// Host settings.
    pub fn host_changes(&self) -> impl Iterator<Item = &Change<'_>> {
        self.changes.iter().filter(|c| c.phase == Phase::Host)
    }
}

/// The whole plan of a script.
#[derive(Debug, Clone, Default)]
pub struct Plan<'a> {
    /// In case-insensitive name order.
    pub objects: Vec<ObjectPlan<'a>>,
    /// Open findings in scope with no automatic fix (no remediation, or only comments).
    pub manual: Vec<&'a Finding>,
    /// Open findings in scope of a rule in [`RESTART_RULES`].
    pub restart_flagged: Vec<&'a Finding>,
    /// Suppressed findings in scope.
    pub suppressed: usize,
}

impl Plan<'_> {
    /// Every change, in object order.
    pub fn changes(&self) -> impl Iterator<Item = &Change<'_>> {
        self.objects.iter().flat_map(|o| o.changes.iter())
    }
    /// Changes written enabled in `phase`.
    pub fn count(&self, phase: Phase) -> usize {
        self.changes()
            .filter(|c| c.enabled() && c.phase == phase)
            .count()
    }
    /// Changes written enabled (each one `ShouldProcess` block).
    pub fn enabled(&self) -> usize {
        self.changes().filter(|c| c.enabled()).count()
    }
    /// Protection-weakening changes written commented out.
    pub fn weakening_left_out(&self) -> usize {
        self.changes().filter(|c| !c.enabled()).count()
    }
    /// Findings whose change needs an undecodable value.
    pub fn refused(&self) -> usize {
        self.objects.iter().map(|o| o.refused.len()).sum()
    }
}

/// Is `f` inside the scope given with `--host` and `--rule`? A finding involves a host when
/// its object is the host, its target names it (a peer name, an account name, or the host
/// part of an SPN such as `cifs/hv01.corp.example`), or one item of an evidence value names it
/// (HV005 has no target, but its `kcd_only_targets` lists the peers whose migrations it
/// blocks: its fix is part of onboarding each of them).
pub fn in_scope(f: &Finding, scope: &Scope) -> bool {
    if !scope.rules.is_empty() && !scope.rules.contains(&f.rule_id.to_ascii_uppercase()) {
        return false;
    }
    if scope.hosts.is_empty() {
        return true;
    }
    let target_host = f.target.as_deref().map(|t| {
        let rest = t.split_once('/').map_or(t, |(_, r)| r);
        rest.split([':', '/']).next().unwrap_or(rest)
    });
    // Evidence lists are joined with ", " (`TypedEvidence`); `;` too, to be safe.
    let evidence_names = || {
        f.evidence
            .values()
            .flat_map(|v| v.split([',', ';']))
            .map(str::trim)
    };
    scope.hosts.iter().any(|h| {
        h.is_named(&f.object)
            || f.target.as_deref().is_some_and(|t| h.is_named(t))
            || target_host.is_some_and(|t| h.is_named(t))
            || evidence_names().any(|n| h.is_named(n))
    })
}

/// The plan for `findings` under `meta`'s scope and weakening allowance.
pub fn plan<'a>(findings: &'a [Finding], meta: &RemediationMeta) -> Plan<'a> {
    let mut out = Plan::default();
    let mut by_object: BTreeMap<(String, String), ObjectPlan<'a>> = BTreeMap::new();
    for f in findings.iter().filter(|f| in_scope(f, &meta.scope)) {
        if f.status == Status::Suppressed {
            out.suppressed += 1;
            continue;
        }
        if RESTART_RULES
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&f.rule_id))
        {
            out.restart_flagged.push(f);
        }
        let snippet = f.remediation.as_deref().unwrap_or("");
        let refused = snippet.contains(UNDECODABLE);
        let parts = if refused { Vec::new() } else { split(snippet) };
        if !refused && parts.is_empty() {
            out.manual.push(f);
            continue;
        }
        let dn = f
            .object_dn
            .clone()
            .filter(|d| !d.is_empty() && !d.contains('\u{FFFD}'));
        let key = dn.clone().unwrap_or_else(|| f.object.clone());
        let obj = by_object
            .entry((f.object.to_lowercase(), key.to_lowercase()))
            .or_insert_with(|| ObjectPlan {
                key,
                name: f.object.clone(),
                dn,
                changes: Vec::new(),
                refused: Vec::new(),
            });
        if refused {
            obj.refused.push(f);
            continue;
        }
        let rule = f.rule_id.to_ascii_uppercase();
        for p in parts {
            obj.changes.push(Change {
                finding: f,
                phase: p.phase,
                code: p.lines.join("\n"),
                weakening: p.weakening && !meta.allow_weakening.contains(&rule),
                weakens: p.weakening,
                changes_delegation: p.phase != Phase::Host && meta.delegation_rules.contains(&rule),
                needs_restart: p.restart,
                also: Vec::new(),
            });
        }
    }
    out.objects = by_object.into_values().collect();
    for o in &mut out.objects {
        dedup(&mut o.changes);
    }
    for o in &mut out.objects {
        // Stable: findings keep their input order within a phase.
        o.changes.sort_by_key(|c| c.phase);
    }
    out
}

/// Folds a change whose code (comments aside) repeats an earlier one of the same phase into
/// it: running the same write twice asks twice and counts twice for one effect. Linear in the
/// number of changes (an object may hold thousands of values).
fn dedup<'a>(changes: &mut Vec<Change<'a>>) {
    let code = |c: &Change| -> String {
        c.code
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut first: HashMap<(Phase, bool, String), usize> = HashMap::with_capacity(changes.len());
    let mut kept: Vec<Change<'a>> = Vec::with_capacity(changes.len());
    for c in changes.drain(..) {
        match first.entry((c.phase, c.weakening, code(&c))) {
            Entry::Occupied(e) => {
                let k = &mut kept[*e.get()];
                k.also.push(c.finding);
                k.changes_delegation |= c.changes_delegation;
                k.needs_restart |= c.needs_restart;
            }
            Entry::Vacant(e) => {
                e.insert(kept.len());
                kept.push(c);
            }
        }
    }
    *changes = kept;
}

/// Ids (upper case) of the rules whose remediation removes a protection (NOT_DELEGATED,
/// Protected Users membership), read from each rule's template: those `remediate
/// --allow-weakening` accepts.
pub fn weakening_rules(rules: &RuleSet) -> Vec<String> {
    rules
        .rules()
        .iter()
        .filter(|r| {
            r.remediation.as_deref().is_some_and(|t| {
                logical_lines(t)
                    .iter()
                    .any(|l| classify(&l.text).is_some_and(|k| k.weakening))
            })
        })
        .map(|r| r.id.to_ascii_uppercase())
        .collect()
}

/// Rules whose remediation passes `-Confirm` or `-WhatIf` to a cmdlet, in any spelling (an
/// abbreviation such as `-Conf:$false`, the aliases `-cf` / `-wi`, an en or em dash for the
/// hyphen, a backtick continuation): `(rule id, the line)`. Such a switch overrides the
/// script's `ConfirmImpact = 'High'` prompt or its `-WhatIf` dry run for that change, so
/// `remediate` refuses the rule (a usage error naming it).
pub fn confirm_overrides(rules: &RuleSet) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in rules.rules() {
        let Some(t) = r.remediation.as_deref() else {
            continue;
        };
        for l in logical_lines(t) {
            if overrides_confirm(&code_words(&l.text)) {
                out.push((r.id.clone(), l.text.trim().to_owned()));
            }
        }
    }
    out
}

/// Does a line (its code words) set `-Confirm` or `-WhatIf`, in any spelling PowerShell
/// accepts: a prefix of the name (three characters at least, `-c` alone being ambiguous
/// with `-Clear` and `-Credential`) or the aliases `-cf` and `-wi`?
fn overrides_confirm(words: &[String]) -> bool {
    words.iter().any(|w| {
        let name = param_name(w);
        name == Some("cf")
            || name == Some("wi")
            || name.is_some_and(|n| {
                n.len() >= 2 && ("confirm".starts_with(n) || "whatif".starts_with(n))
            })
    })
}

/// The name of a parameter word (`-name` or `-name:value`), without the dash; `None` for a
/// word that is not a parameter.
fn param_name(w: &str) -> Option<&str> {
    let rest = w.strip_prefix('-')?;
    let name = rest.split(':').next().unwrap_or(rest);
    (!name.is_empty() && name.starts_with(|c: char| c.is_ascii_alphabetic())).then_some(name)
}

/// One PowerShell statement line of a snippet: physical lines joined where one ends with a
/// backtick (a line continuation), so a parameter on the next line is classified with its
/// cmdlet.
struct LogicalLine<'a> {
    /// The physical lines, as written.
    lines: Vec<&'a str>,
    /// Them joined with the continuation backticks turned into spaces: what is classified.
    text: String,
}

fn logical_lines(snippet: &str) -> Vec<LogicalLine<'_>> {
    let mut out: Vec<LogicalLine> = Vec::new();
    let mut open = false;
    for l in snippet.lines() {
        let continued = !l.trim_start().starts_with('#') && l.trim_end().ends_with('`');
        let piece = if continued {
            l.trim_end().trim_end_matches('`')
        } else {
            l
        };
        match out.last_mut() {
            Some(last) if open => {
                last.lines.push(l);
                last.text.push(' ');
                last.text.push_str(piece);
            }
            _ => out.push(LogicalLine {
                lines: vec![l],
                text: piece.to_owned(),
            }),
        }
        open = continued;
    }
    out
}

/// A piece of a snippet that runs in one phase.
#[derive(Debug)]
struct Part {
    phase: Phase,
    weakening: bool,
    restart: bool,
    lines: Vec<String>,
}

/// What a write line does.
#[derive(Debug, Clone, Copy)]
struct WriteKind {
    phase: Phase,
    weakening: bool,
    restart: bool,
}

/// Cuts a snippet into changes (see the module documentation). Empty when it holds no code.
fn split(snippet: &str) -> Vec<Part> {
    let snippet = snippet.replace("\r\n", "\n");
    let lines: Vec<&str> = snippet.trim_end().lines().collect();
    let logical = logical_lines(snippet.trim_end());
    let is_code = |l: &&str| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    };
    if !lines.iter().any(is_code) {
        return Vec::new();
    }
    let whole = |lines: &[&str]| {
        let kinds: Vec<WriteKind> = logical_lines(&lines.join("\n"))
            .iter()
            .filter_map(|l| classify(&l.text))
            .collect();
        vec![Part {
            phase: kinds.iter().map(|k| k.phase).max().unwrap_or(Phase::Other),
            weakening: kinds.iter().any(|k| k.weakening),
            restart: kinds.iter().any(|k| k.restart),
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }]
    };
    if snippet.contains("@'") || snippet.contains("@\"") {
        return whole(&lines);
    }
    let mut parts: Vec<Part> = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    let mut setup: Vec<String> = Vec::new();
    for ll in &logical {
        let t = ll.text.trim();
        if t.is_empty() {
            continue;
        }
        let physical = || ll.lines.iter().map(|l| l.to_string());
        if t.starts_with('#') {
            comments.extend(physical());
            continue;
        }
        let Some(k) = classify(&ll.text) else {
            // Before the first write: set-up every part repeats. After one: part of it.
            match parts.last_mut() {
                Some(p) => {
                    p.lines.append(&mut comments);
                    p.lines.extend(physical());
                }
                None => setup.extend(physical()),
            }
            continue;
        };
        match parts.last_mut() {
            Some(p) if p.phase == k.phase && p.weakening == k.weakening => {
                p.lines.append(&mut comments);
                p.lines.extend(physical());
                p.restart |= k.restart;
            }
            _ => {
                let mut body = std::mem::take(&mut comments);
                body.extend(setup.iter().cloned());
                body.extend(physical());
                parts.push(Part {
                    phase: k.phase,
                    weakening: k.weakening,
                    restart: k.restart,
                    lines: body,
                });
            }
        }
    }
    match parts.last_mut() {
        Some(p) => p.lines.append(&mut comments),
        // Code, but no write this classification knows: one change, after the removals.
        None => return whole(&lines),
    }
    parts
}

/// The code of a line outside its single-quoted literals (directory values) and its comment,
/// lower case, with the separators that glue parameters to values turned into spaces.
fn code_words(line: &str) -> Vec<String> {
    let quote = |c: char| matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}');
    let mut code = String::new();
    let mut chars = line.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        if quote(c) {
            // Skip to the closing quote; a doubled quote is an escaped one.
            while let Some(d) = chars.next() {
                if quote(d) {
                    if chars.peek().is_some_and(|&e| quote(e)) {
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
            code.push(' ');
            prev = ' ';
            continue;
        }
        if c == '#' && prev.is_whitespace() {
            break;
        }
        // PowerShell reads an en dash, em dash or horizontal bar as the hyphen of a
        // parameter (`–AccountNotDelegated`): so must the classification.
        let c = if matches!(c, '\u{2013}' | '\u{2014}' | '\u{2015}') {
            '-'
        } else {
            c
        };
        code.push(if "(){};|,=@[]".contains(c) { ' ' } else { c });
        prev = c;
    }
    code.to_lowercase()
        .replace(":$", " $")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

const WRITE_VERBS: &[&str] = &[
    "set",
    "add",
    "remove",
    "clear",
    "new",
    "move",
    "rename",
    "enable",
    "disable",
    "restart",
    "stop",
    "start",
    "unlock",
    "grant",
    "revoke",
    "reset",
    "install",
    "uninstall",
    "invoke",
    "suspend",
    "resume",
];

/// The write a line makes, if it calls a cmdlet that writes.
fn classify(line: &str) -> Option<WriteKind> {
    let t = line.trim_start();
    if t.starts_with('#') {
        return None;
    }
    let w = code_words(line);
    let is_write = |s: &str| {
        s.split_once('-').is_some_and(|(verb, noun)| {
            WRITE_VERBS.contains(&verb) && noun.starts_with(|c: char| c.is_ascii_alphabetic())
        })
    };
    if !w.iter().any(|s| is_write(s)) {
        return None;
    }
    // A parameter as PowerShell binds it: any unambiguous prefix of its name, any case
    // (`-AccountNotDeleg`); `value` is what follows it (`-x:$false` was split into two words).
    let is_param = |word: &str, full: &str| {
        param_name(word).is_some_and(|n| n.len() >= 2 && full.starts_with(n))
    };
    let value_of = |full: &str| -> Option<&str> {
        w.iter()
            .position(|x| is_param(x, full))
            .map(|i| w.get(i + 1).map_or("", String::as_str))
    };
    let has_param = |full: &str| w.iter().any(|x| is_param(x, full));
    let truthy = |v: &str| matches!(v, "$true" | "1");
    let followed_by = |full: &str, value: &str| value_of(full).is_some_and(|v| v == value);
    let has = |s: &str| w.iter().any(|x| x == s);
    let starts = |p: &str| w.iter().any(|x| x.starts_with(p));
    let lower = line.to_lowercase();
    let remove = has_param("remove")
        || has("$false")
        || starts("remove-ad")
        || has_param("clear")
        || has_param("replace")
        || has_param("principalsallowedtodelegatetoaccount");
    // Removes a protection, or may: NOT_DELEGATED set to anything but true, a removal that
    // names Protected Users (by name or RID 525, whichever cmdlet or attribute it goes
    // through), or a raw rewrite of userAccountControl, which can clear NOT_DELEGATED and
    // which hvaudit cannot read as safe.
    let weakening = value_of("accountnotdelegated").is_some_and(|v| !truthy(v))
        || (remove && (lower.contains("-525") || lower.contains("protected users")))
        || (lower.contains("useraccountcontrol")
            && (has_param("replace") || has_param("clear") || has_param("remove")));
    let restart = followed_by("trustedfordelegation", "$false");
    let host =
        has("invoke-command") || starts("set-vm") || starts("enable-vm") || starts("disable-vm");
    let add = has_param("add")
        || starts("add-ad")
        || followed_by("trustedtoauthfordelegation", "$true")
        || followed_by("accountnotdelegated", "$true");
    let phase = if host {
        Phase::Host
    } else if weakening || remove {
        Phase::Removal
    } else if add {
        Phase::Addition
    } else {
        Phase::Other
    };
    Some(WriteKind {
        phase,
        weakening,
        restart,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phases(snippet: &str) -> Vec<(Phase, bool)> {
        split(snippet)
            .iter()
            .map(|p| (p.phase, p.weakening))
            .collect()
    }

    #[test]
    fn hv018_splits_into_an_addition_then_a_removal_each_with_the_read() {
        let s = "$have = @((Get-ADObject -Identity 'CN=a' -Properties 'x').'x')\n\
                 if ($have -notcontains 'cifs/b') { Set-ADObject -Identity 'CN=a' -Add @{'x'='cifs/b'} }\n\
                 if ($have -ccontains 'cifs/b:445') { Set-ADObject -Identity 'CN=a' -Remove @{'x'='cifs/b:445'} }\n\
                 # Takes effect after a restarts.";
        let parts = split(s);
        assert_eq!(
            parts.iter().map(|p| p.phase).collect::<Vec<_>>(),
            [Phase::Addition, Phase::Removal]
        );
        assert!(parts.iter().all(|p| p.lines[0].starts_with("$have =")));
        assert_eq!(
            parts[1].lines.last().unwrap(),
            "# Takes effect after a restarts."
        );
    }

    #[test]
    fn values_do_not_decide_the_phase() {
        // A value spelling a parameter is data, not code.
        assert_eq!(
            phases("Set-ADObject -Identity 'x -Add $true' -Remove @{'a'='-Add'}"),
            [(Phase::Removal, false)]
        );
        assert_eq!(
            phases("Set-ADAccountControl -Identity 'x $false' -TrustedToAuthForDelegation $true"),
            [(Phase::Addition, false)]
        );
    }

    #[test]
    fn classes_of_the_builtin_fixes() {
        assert_eq!(
            phases("Set-ADAccountControl -Identity 'h' -TrustedForDelegation $false"),
            [(Phase::Removal, false)]
        );
        assert!(
            split("Set-ADAccountControl -Identity 'h' -TrustedForDelegation:$false")[0].restart
        );
        assert_eq!(
            phases(
                "Invoke-Command -ComputerName 'h' -ScriptBlock { Set-VMHost -VirtualMachineMigrationAuthenticationType Kerberos }"
            ),
            [(Phase::Host, false)]
        );
        assert_eq!(
            phases(
                "# why\nSet-ADAccountControl -Identity 'u' -AccountNotDelegated $false\nRemove-ADGroupMember -Identity ((Get-ADDomain).DomainSID.Value + '-525') -Members 'u'"
            ),
            [(Phase::Removal, true)]
        );
        assert_eq!(
            phases("Set-ADAccountControl -Identity 'u' -AccountNotDelegated $true"),
            [(Phase::Addition, false)]
        );
        // Comments only: a manual step. Unknown code: one change after the removals.
        assert!(split("# Restart-Computer -ComputerName 'h'\n").is_empty());
        assert_eq!(phases("Fix-It"), [(Phase::Other, false)]);
    }
}
