//! Writes a [`Plan`] as the script. Layout (see `docs/remediation.md`): header, backup, AD
//! phase (one `try`/`catch` per object: additions, then removals), host phase (one per host),
//! manual steps, summary in `finally`, `exit 1` when anything failed.
//!
//! Directory values reach code only through [`ps_quote`] / [`ps_literal`] (single-quoted
//! literals) and comments only through [`ps_comment`]; the script holds no double-quoted
//! string, so nothing from the directory is ever expanded.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::header::{header, left_out};
use super::plan::{Change, ObjectPlan, Phase, Plan};
use super::{RemediationMeta, ps_comment, ps_literal, ps_quote};
use crate::findings::Finding;

/// Attributes the backup saves for every object the AD phase changes: all that the built-in
/// fixes write (the delegation list, userAccountControl's delegation bits, the RBCD
/// descriptor, group membership for Protected Users).
const BACKUP_ATTRIBUTES: &str = "'msDS-AllowedToDelegateTo', 'userAccountControl', \
     'msDS-AllowedToActOnBehalfOfOtherIdentity', 'memberOf'";

/// Host settings the host phase saves before changing a host.
const HOST_SETTINGS: &str = "ComputerName, VirtualMachineMigrationEnabled, \
     VirtualMachineMigrationAuthenticationType";

pub(super) fn render(plan: &Plan<'_>, meta: &RemediationMeta) -> String {
    // A UTF-8 BOM: Windows PowerShell 5.1 reads BOM-less scripts in the ANSI code page, which
    // would garble non-ASCII names both in the checks and in what gets written to AD.
    let mut s = String::from("\u{feff}");
    header(&mut s, plan, meta);
    left_out(&mut s, &meta.left_out_candidates);
    prelude(&mut s);
    s.push_str("try {\n\n");
    backup(&mut s, plan);
    s.push_str(
        "#region AD phase: per object, additions first, then removals\n\
         # Each object has its own try/catch: a failure stops that object's later changes (the\n\
         # removals its additions make safe) and the other objects go on.\n\n",
    );
    let ad: Vec<&ObjectPlan> = plan
        .objects
        .iter()
        .filter(|o| o.ad_changes().next().is_some() || !o.refused.is_empty())
        .collect();
    if ad.is_empty() {
        s.push_str("# No directory change.\n");
    }
    for o in ad {
        ad_section(&mut s, o);
    }
    s.push_str("#endregion AD phase\n\n");
    host_phase(&mut s, plan, meta);
    s.push_str("} finally {\n");
    summary(&mut s, plan);
    s.push_str("}\n");
    manual(&mut s, plan);
    s.push_str(
        "if ($hvauditFailed.Count -gt 0) { exit 1 }\n\
         exit 0\n",
    );
    s
}

fn prelude(s: &mut String) {
    s.push_str(
        "[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]\n\
         param()\n\
         \n\
         Set-StrictMode -Version Latest\n\
         $ErrorActionPreference = 'Stop'\n\
         $hvauditStamp = Get-Date -Format 'yyyyMMdd-HHmmss'\n\
         $hvauditBackup = Join-Path -Path $PSScriptRoot -ChildPath ('hvaudit-backup-' + $hvauditStamp + '.xml')\n\
         $hvauditHostBackup = Join-Path -Path $PSScriptRoot -ChildPath ('hvaudit-backup-' + $hvauditStamp + '-hosts.xml')\n\
         $hvauditSucceeded = [System.Collections.Generic.List[string]]::new()\n\
         $hvauditFailed = [System.Collections.Generic.List[string]]::new()\n\
         $hvauditSkipped = [System.Collections.Generic.List[string]]::new()\n\
         $hvauditPending = [System.Collections.Generic.List[string]]::new()\n\
         $hvauditStep = ''\n\
         # Objects that could not be backed up (not changed) and objects whose AD changes failed.\n\
         $hvauditNotBackedUp = @{}\n\
         $hvauditFailedObjects = @{}\n\
         # Changes declined at a -Confirm prompt, and their objects: like a failure, a declined\n\
         # change stops that object's later changes and its host settings.\n\
         $hvauditDeclined = [System.Collections.Generic.List[string]]::new()\n\
         $hvauditDeclinedObjects = @{}\n\
         # Hosts whose delegation this run changed: restart, or purge their tickets.\n\
         $hvauditRestart = [System.Collections.Generic.List[string]]::new()\n\
         $hvauditPurge = [System.Collections.Generic.List[string]]::new()\n\
         $hvauditHostPrior = [System.Collections.Generic.List[object]]::new()\n\
         # Recorded even under -WhatIf: the transcript is the record of what was shown or done.\n\
         Start-Transcript -Path (Join-Path -Path $PSScriptRoot -ChildPath ('hvaudit-transcript-' + $hvauditStamp + '.txt')) -WhatIf:$false\n\
         \n",
    );
}

fn backup(s: &mut String, plan: &Plan<'_>) {
    let dns: Vec<&str> = plan
        .objects
        .iter()
        .filter(|o| o.ad_changes().any(Change::enabled))
        .filter_map(|o| o.dn.as_deref())
        .collect();
    s.push_str("#region Backup: the prior values of every attribute the AD phase may change\n");
    if dns.is_empty() {
        s.push_str("# No directory object is changed: nothing to save.\n");
    } else {
        s.push_str("$hvauditBackupIdentities = @(\n");
        for dn in &dns {
            let _ = writeln!(s, "    {}", ps_quote(dn));
        }
        let _ = write!(
            s,
            ")\n\
             $hvauditSaved = [System.Collections.Generic.List[object]]::new()\n\
             foreach ($hvauditId in $hvauditBackupIdentities) {{\n\
             \x20   try {{\n\
             \x20       $hvauditObject = Get-ADObject -Identity $hvauditId -Properties {BACKUP_ATTRIBUTES}\n\
             \x20       # The RBCD descriptor as SDDL too: the form that can be written back.\n\
             \x20       $hvauditRbcd = $hvauditObject.PSObject.Properties['msDS-AllowedToActOnBehalfOfOtherIdentity']\n\
             \x20       $hvauditSddl = ''\n\
             \x20       if ($null -ne $hvauditRbcd -and $null -ne $hvauditRbcd.Value) {{ $hvauditSddl = $hvauditRbcd.Value.GetSecurityDescriptorSddlForm('All') }}\n\
             \x20       Add-Member -InputObject $hvauditObject -NotePropertyName 'hvauditRbcdSddl' -NotePropertyValue $hvauditSddl\n\
             \x20       $hvauditSaved.Add($hvauditObject)\n\
             \x20   }} catch {{\n\
             \x20       $hvauditNotBackedUp[$hvauditId] = $_.Exception.Message\n\
             \x20       Write-Warning ('Not backed up, so not changed: ' + $hvauditId + ': ' + $_.Exception.Message)\n\
             \x20   }}\n\
             }}\n\
             # The format Export-Clixml writes; written directly so that -WhatIf and -Confirm,\n\
             # which gate the changes, neither skip nor question the backup.\n\
             [System.IO.File]::WriteAllText($hvauditBackup, [System.Management.Automation.PSSerializer]::Serialize($hvauditSaved.ToArray(), 2), [System.Text.UTF8Encoding]::new($false))\n\
             Write-Host ('Prior values saved to ' + $hvauditBackup)\n"
        );
    }
    s.push_str("#endregion Backup\n\n");
}

/// What the summary and the prompts call a change: one line, display only.
fn step_label(c: &Change<'_>, name: &str, split: bool) -> String {
    let mut l = format!("{name}: {}", action(c));
    if split {
        let _ = write!(l, " [{}]", c.phase.label());
    }
    ps_comment(&l)
}

/// What the change does, as `ShouldProcess` shows it: rule, title, target, and the other
/// findings the same change fixes. One line, display only.
pub(super) fn action(c: &Change<'_>) -> String {
    let f = c.finding;
    let mut l = format!("{}: {}", f.rule_id, f.title);
    if let Some(t) = &f.target {
        let _ = write!(l, " ({t})");
    }
    for a in &c.also {
        let _ = write!(l, "; also {}", a.rule_id);
    }
    ps_comment(&l)
}

fn finding_comment(s: &mut String, f: &Finding, indent: &str) {
    let _ = writeln!(
        s,
        "{indent}# {} ({}): {}",
        ps_comment(&f.rule_id),
        f.severity.as_str(),
        ps_comment(&f.title)
    );
    if let Some(t) = &f.target {
        let _ = writeln!(s, "{indent}#   target: {}", ps_comment(t));
    }
    let _ = writeln!(s, "{indent}#   {}", ps_comment(&f.message));
}

/// Labels of `changes`, telling apart the pieces of one finding cut into several phases.
fn labels(changes: &[&Change<'_>], all: &[Change<'_>], name: &str) -> Vec<String> {
    // How many changes each finding was cut into (by address: one finding, one entry).
    let mut parts: std::collections::HashMap<*const Finding, usize> =
        std::collections::HashMap::with_capacity(all.len());
    for c in all {
        *parts.entry(std::ptr::from_ref(c.finding)).or_default() += 1;
    }
    changes
        .iter()
        .map(|c| {
            let split = parts
                .get(&std::ptr::from_ref(c.finding))
                .is_some_and(|n| *n > 1);
            step_label(c, name, split)
        })
        .collect()
}

fn ad_section(s: &mut String, o: &ObjectPlan<'_>) {
    let name = ps_comment(&o.name);
    let changes: Vec<&Change> = o.ad_changes().collect();
    let enabled: Vec<&Change> = changes.iter().copied().filter(|c| c.enabled()).collect();
    let labels = labels(&enabled, &o.changes, &name);
    let _ = writeln!(s, "#region {name}: additions, then removals");
    for f in &o.refused {
        finding_comment(s, f, "");
        refused_change(s, f);
    }
    if enabled.is_empty() {
        // Nothing runs: the left-out changes as comments, no try/catch around nothing.
        for c in &changes {
            finding_comment(s, c.finding, "");
            weakening_comment(s, c, "");
        }
        let _ = writeln!(s, "#endregion {name}\n");
        return;
    }
    s.push_str("$hvauditPending.Clear()\n");
    for l in &labels {
        let _ = writeln!(s, "$hvauditPending.Add({})", ps_literal(l));
    }
    let indent;
    if let Some(dn) = &o.dn {
        let _ = writeln!(
            s,
            "if ($hvauditNotBackedUp.ContainsKey({dn})) {{\n\
             \x20   # Not changed without its prior values saved: a failure, so the script exits 1.\n\
             \x20   foreach ($hvauditRest in $hvauditPending) {{ $hvauditFailed.Add($hvauditRest + ': not backed up, so not changed: ' + $hvauditNotBackedUp[{dn}]) }}\n\
             }} else {{",
            dn = ps_quote(dn)
        );
        indent = "    ";
    } else {
        indent = "";
    }
    let key = ps_quote(&o.key);
    let _ = writeln!(s, "{indent}try {{");
    let body = format!("{indent}    ");
    let mut phase = None;
    let mut i = 0;
    for c in &changes {
        if phase != Some(c.phase) {
            phase = Some(c.phase);
            let first = if c.phase == Phase::Removal
                && !changes.iter().any(|c| c.phase == Phase::Addition)
            {
                // No addition on this object: nothing "above" to come after.
                "# Removals:"
            } else {
                phase_comment(c.phase)
            };
            let _ = writeln!(s, "{body}{first}");
        }
        finding_comment(s, c.finding, &body);
        for a in &c.also {
            finding_comment(s, a, &body);
        }
        if !c.enabled() {
            weakening_comment(s, c, &body);
            continue;
        }
        if c.weakens {
            enabled_weakening_comment(s, c, &body);
        }
        let label = &labels[i];
        i += 1;
        change_block(s, c, &name, &key, label, &body);
    }
    let _ = writeln!(
        s,
        "{indent}}} catch {{\n\
         {indent}    if ($hvauditDeclinedObjects.ContainsKey({key})) {{\n\
         {indent}        foreach ($hvauditRest in $hvauditPending) {{ $hvauditSkipped.Add($hvauditRest + ' (an earlier change on this object was declined)') }}\n\
         {indent}    }} else {{\n\
         {indent}        $hvauditFailedObjects[{key}] = $true\n\
         {indent}        $hvauditFailed.Add($hvauditStep + ': ' + $_.Exception.Message)\n\
         {indent}        foreach ($hvauditRest in $hvauditPending) {{ $hvauditSkipped.Add($hvauditRest + ' (an earlier change on this object failed)') }}\n\
         {indent}        Write-Warning ('Failed, the other objects go on: ' + $hvauditStep + ': ' + $_.Exception.Message)\n\
         {indent}    }}\n\
         {indent}}}"
    );
    if o.dn.is_some() {
        s.push_str("}\n");
    }
    let _ = writeln!(s, "#endregion {name}\n");
}

fn phase_comment(p: Phase) -> &'static str {
    match p {
        Phase::Addition => "# Additions (before the removals below, which they make safe):",
        Phase::Removal => "# Removals (after the additions above):",
        Phase::Other => "# Other changes (after the additions and removals above):",
        Phase::Host => "# Host settings (after every AD change):",
    }
}

/// One change inside `ShouldProcess`, recording its outcome.
///
/// Declined at a `-Confirm` prompt (not under `-WhatIf`, which only lists), the change marks
/// its object (`key`) declined and throws to the object's `catch`: the later changes of the
/// object rely on it (removals on its additions, the host phase on its delegation), so they
/// are skipped as after a failure, and the host phase leaves the host alone.
fn change_block(s: &mut String, c: &Change<'_>, name: &str, key: &str, label: &str, indent: &str) {
    // The prompt says what the summary says, without the object it already names: the rule,
    // the finding, and which part when one fix is cut into several phases.
    let prefix = format!("{name}: ");
    let mut action = label
        .strip_prefix(&prefix)
        .map_or_else(|| action(c), str::to_owned);
    if c.weakens {
        // The prompt is where the admin decides: it says what is given up.
        let _ = write!(
            action,
            " - REMOVES A PROTECTION of {name}: NOT_DELEGATED or Protected Users membership; \
             its tickets can then be delegated by any host trusted for delegation"
        );
    }
    let label = ps_literal(label);
    let _ = writeln!(
        s,
        "{indent}$hvauditStep = {label}\n\
         {indent}$null = $hvauditPending.Remove($hvauditStep)\n\
         {indent}if ($PSCmdlet.ShouldProcess({}, {})) {{",
        ps_literal(name),
        ps_literal(&action)
    );
    push_snippet(s, &c.code, &format!("{indent}    "));
    if c.changes_delegation {
        let list = if c.needs_restart {
            "$hvauditRestart"
        } else {
            "$hvauditPurge"
        };
        let _ = writeln!(s, "{indent}    {list}.Add({})", ps_literal(name));
    }
    let _ = writeln!(
        s,
        "{indent}    $hvauditSucceeded.Add($hvauditStep)\n\
         {indent}}} elseif ($WhatIfPreference) {{\n\
         {indent}    $hvauditSkipped.Add($hvauditStep + ' (-WhatIf)')\n\
         {indent}}} else {{\n\
         {indent}    # Declined: what comes later on {name} relies on it, so it stops here.\n\
         {indent}    $hvauditDeclined.Add($hvauditStep)\n\
         {indent}    $hvauditDeclinedObjects[{key}] = $true\n\
         {indent}    throw 'hvaudit: declined at the prompt'\n\
         {indent}}}"
    );
}

/// A change that removes a protection, not allowed: the trade-off, then the change as comments.
fn weakening_comment(s: &mut String, c: &Change<'_>, indent: &str) {
    let id = ps_comment(&c.finding.rule_id);
    let _ = writeln!(
        s,
        "{indent}# LEFT COMMENTED OUT: this change weakens a protection, or hvaudit cannot tell that\n\
         {indent}# it does not (it clears NOT_DELEGATED, removes a Protected Users membership, or\n\
         {indent}# rewrites userAccountControl, which can clear NOT_DELEGATED). NOT_DELEGATED and\n\
         {indent}# Protected Users keep the account's tickets from being delegated, so a host that\n\
         {indent}# is compromised, or trusted for delegation, cannot act as this account. Removing\n\
         {indent}# it lets this account start remote Kerberos live migrations, and lets every host\n\
         {indent}# with delegation impersonate it. Prefer a dedicated, non-privileged operator\n\
         {indent}# account. To have hvaudit write this change enabled, run it again with\n\
         {indent}#     hvaudit remediate --allow-weakening {id} ...\n\
         {indent}# The change:"
    );
    for line in c.code.lines() {
        let _ = writeln!(s, "{indent}#     {}", ps_comment(line));
    }
}

/// The trade-off above a protection-weakening change that `--allow-weakening` enabled: the
/// reviewer still reads what it costs.
fn enabled_weakening_comment(s: &mut String, c: &Change<'_>, indent: &str) {
    let id = ps_comment(&c.finding.rule_id);
    let _ = writeln!(
        s,
        "{indent}# ENABLED BY --allow-weakening {id}: this change weakens a protection (or hvaudit\n\
         {indent}# cannot tell that it does not). NOT_DELEGATED and Protected Users keep the\n\
         {indent}# account's tickets from being delegated, so a host that is compromised, or trusted\n\
         {indent}# for delegation, cannot act as this account. Removing it lets this account start\n\
         {indent}# remote Kerberos live migrations, and lets every host with delegation impersonate\n\
         {indent}# it. Prefer a dedicated, non-privileged operator account."
    );
}

/// A change that needs a value that was not valid UTF-8: only comments, saying why and how to
/// make it by hand, then the change itself commented out (its value stays undecodable).
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
fn push_snippet(s: &mut String, snippet: &str, indent: &str) {
    let indent = if snippet.contains("@'") || snippet.contains("@\"") {
        ""
    } else {
        indent
    };
    for line in snippet.trim_end().lines() {
        if line.trim().is_empty() {
            s.push('\n');
        } else {
            let _ = writeln!(s, "{indent}{line}");
        }
    }
}

fn host_phase(s: &mut String, plan: &Plan<'_>, meta: &RemediationMeta) {
    s.push_str(
        "#region Host phase: host-side settings, after every AD change\n\
         # Each host has its own try/catch; a host whose AD changes failed keeps its settings.\n\n",
    );
    let hosts: Vec<&ObjectPlan> = plan
        .objects
        .iter()
        .filter(|o| o.host_changes().next().is_some())
        .collect();
    if hosts.is_empty() {
        s.push_str("# No host setting to change.\n");
    }
    for o in hosts {
        let name = ps_comment(&o.name);
        let changes: Vec<&Change> = o.host_changes().collect();
        let labels = labels(&changes, &o.changes, &name);
        let address = meta
            .hosts
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(&o.name))
            .map(|h| h.fqdn.clone().unwrap_or_else(|| h.name.clone()))
            .unwrap_or_else(|| o.name.clone());
        let key = ps_quote(&o.key);
        let _ = writeln!(
            s,
            "#region Host settings of {name}\n$hvauditPending.Clear()"
        );
        for l in &labels {
            let _ = writeln!(s, "$hvauditPending.Add({})", ps_literal(l));
        }
        let _ = writeln!(
            s,
            "if ($hvauditDeclinedObjects.ContainsKey({key})) {{\n\
             \x20   foreach ($hvauditRest in $hvauditPending) {{ $hvauditSkipped.Add($hvauditRest + ' (a change on this object was declined)') }}\n\
             }} elseif ($hvauditNotBackedUp.ContainsKey({key})) {{\n\
             \x20   foreach ($hvauditRest in $hvauditPending) {{ $hvauditSkipped.Add($hvauditRest + ' (not backed up, so its AD changes were not made)') }}\n\
             }} elseif ($hvauditFailedObjects.ContainsKey({key})) {{\n\
             \x20   foreach ($hvauditRest in $hvauditPending) {{ $hvauditSkipped.Add($hvauditRest + ' (its AD changes failed)') }}\n\
             }} else {{\n\
             \x20   try {{\n\
             \x20       $hvauditStep = {}\n\
             \x20       if (-not $WhatIfPreference) {{\n\
             \x20           $hvauditHostPrior.Add((Invoke-Command -ComputerName {} -ScriptBlock {{ Get-VMHost | Select-Object -Property {HOST_SETTINGS} }}))\n\
             \x20           [System.IO.File]::WriteAllText($hvauditHostBackup, [System.Management.Automation.PSSerializer]::Serialize($hvauditHostPrior.ToArray(), 2), [System.Text.UTF8Encoding]::new($false))\n\
             \x20       }}",
            ps_literal(&format!("{name}: reading its settings")),
            ps_quote(&address),
        );
        let _ = writeln!(s, "        {}", phase_comment(Phase::Host));
        for (c, label) in changes.iter().zip(&labels) {
            finding_comment(s, c.finding, "        ");
            for a in &c.also {
                finding_comment(s, a, "        ");
            }
            change_block(s, c, &name, &key, label, "        ");
        }
        let _ = writeln!(
            s,
            "    }} catch {{\n\
             \x20       if ($hvauditDeclinedObjects.ContainsKey({key})) {{\n\
             \x20           foreach ($hvauditRest in $hvauditPending) {{ $hvauditSkipped.Add($hvauditRest + ' (an earlier change on this host was declined)') }}\n\
             \x20       }} else {{\n\
             \x20           $hvauditFailed.Add($hvauditStep + ': ' + $_.Exception.Message)\n\
             \x20           foreach ($hvauditRest in $hvauditPending) {{ $hvauditSkipped.Add($hvauditRest + ' (an earlier change on this host failed)') }}\n\
             \x20           Write-Warning ('Failed, the other hosts go on: ' + $hvauditStep + ': ' + $_.Exception.Message)\n\
             \x20       }}\n\
             \x20   }}\n\
             }}\n\
             #endregion Host settings of {name}\n"
        );
    }
    s.push_str("#endregion Host phase\n\n");
}

/// The restart list: every host whose delegation the script changes and every host a rule of
/// [`super::plan::RESTART_RULES`] flags, with the lighter step where it suffices.
pub fn restart_list(plan: &Plan<'_>) -> BTreeMap<String, (String, &'static str)> {
    let mut hosts: BTreeMap<String, (String, &'static str)> = BTreeMap::new();
    for o in &plan.objects {
        let changed: Vec<&Change> = o
            .changes
            .iter()
            .filter(|c| c.enabled() && c.changes_delegation)
            .collect();
        if changed.is_empty() {
            continue;
        }
        let why = if changed.iter().any(|c| c.needs_restart) {
            "restart: unconstrained delegation removed; the tickets it already holds stay in its memory until it restarts"
        } else {
            "klist -li 0x3e7 purge on it (elevated) suffices: its delegation list or protocol transition changed, and the KDC checks both at each request; the purge drops the computer's tickets issued before"
        };
        hosts.insert(o.name.to_lowercase(), (o.name.clone(), why));
    }
    for f in &plan.restart_flagged {
        hosts.insert(
            f.object.to_lowercase(),
            (
                f.object.clone(),
                "restart: its delegation changed after its last boot (HV014)",
            ),
        );
    }
    hosts
}

fn summary(s: &mut String, plan: &Plan<'_>) {
    let hosts = restart_list(plan);
    s.push_str("    #region Summary\n");
    if hosts.is_empty() {
        s.push_str("    # No change to any host's delegation and no host awaiting a restart.\n");
    } else {
        s.push_str(
            "    # Hosts to restart, or whose computer tickets to purge, before live migration relies\n\
             \x20   # on the changes (the ones this run changed are also printed below). A restart\n\
             \x20   # always works; where a line says so, purging the computer account's tickets is\n\
             \x20   # the lighter step and suffices (the fixes' comments say the same):\n",
        );
        for (name, why) in hosts.values() {
            let _ = writeln!(s, "    #   {}: {why}", ps_comment(name));
        }
    }
    let flagged: Vec<String> = plan
        .restart_flagged
        .iter()
        .map(|f| ps_literal(&f.object))
        .collect();
    if !flagged.is_empty() {
        let _ = writeln!(
            s,
            "    Write-Warning ('Restart (HV014, delegation changed after the last boot): ' + (@({}) -join ', '))",
            flagged.join(", ")
        );
    }
    s.push_str(
        "    if ($hvauditRestart.Count -gt 0) {\n\
         \x20       Write-Warning ('Restart before live migration relies on the change (unconstrained delegation removed): ' + (($hvauditRestart | Sort-Object -Unique) -join ', '))\n\
         \x20   }\n\
         \x20   if ($hvauditPurge.Count -gt 0) {\n\
         \x20       Write-Warning ('Delegation changed; run klist -li 0x3e7 purge (elevated) on each, or restart: ' + (($hvauditPurge | Sort-Object -Unique) -join ', '))\n\
         \x20   }\n\
         \x20   Write-Host ('hvaudit: ' + $hvauditSucceeded.Count + ' change(s) succeeded, ' + $hvauditFailed.Count + ' failed, ' + $hvauditDeclined.Count + ' declined, ' + $hvauditSkipped.Count + ' skipped.')\n\
         \x20   foreach ($hvauditLine in $hvauditSucceeded) { Write-Host ('  done:    ' + $hvauditLine) }\n\
         \x20   foreach ($hvauditLine in $hvauditFailed) { Write-Warning ('  FAILED:  ' + $hvauditLine) }\n\
         \x20   foreach ($hvauditLine in $hvauditDeclined) { Write-Warning ('  DECLINED: ' + $hvauditLine + ' (like a failure, it stopped the later changes and host settings of its object)') }\n\
         \x20   foreach ($hvauditLine in $hvauditSkipped) { Write-Host ('  skipped: ' + $hvauditLine) }\n\
         \x20   Stop-Transcript\n\
         \x20   #endregion Summary\n",
    );
}

/// Findings without an automatic fix: comments only, after the code.
fn manual(s: &mut String, plan: &Plan<'_>) {
    s.push_str("\n#region Manual steps\n");
    if plan.manual.is_empty() {
        s.push_str("# None: every open finding in scope has an automatic fix above.\n");
    } else {
        s.push_str(
            "# These findings have no automatic fix (or none for this case): do what each says by\n\
             # hand. They are not counted as changes.\n",
        );
    }
    for f in &plan.manual {
        let _ = writeln!(
            s,
            "# {} ({}) on {}: {}",
            ps_comment(&f.rule_id),
            f.severity.as_str(),
            ps_comment(&f.object),
            ps_comment(&f.title)
        );
        if let Some(t) = &f.target {
            let _ = writeln!(s, "#   target: {}", ps_comment(t));
        }
        let _ = writeln!(s, "#   {}", ps_comment(&f.message));
        for line in f.remediation.as_deref().unwrap_or("").trim().lines() {
            let l = line.trim();
            if !l.is_empty() {
                let _ = writeln!(s, "#   {}", ps_comment(l.trim_start_matches('#').trim()));
            }
        }
    }
    s.push_str("#endregion Manual steps\n\n");
}
