//! The terminal summary printed after a scan: completeness and each gap once, severity
//! counts, the worst severity per category, the rules with findings (most severe first,
//! every critical and high one, "and N more rules"), the checks that passed or could not be
//! evaluated, what to fix first, readiness per group, the next steps and what the exit code
//! means. Tables use comfy-table's dynamic arrangement within the terminal width; every
//! other line is cut to it. Every directory value goes through [`terminal_safe`] first.

use std::io::{self, IsTerminal, Write};

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use unicode_width::UnicodeWidthChar;

use crate::findings::{ReadinessState, Severity};

use super::checks::CheckStatus;
use super::text::{terminal_safe, truncate};
use super::{ReportData, SEVERITIES_DESC};

/// Longest value printed in a table cell; the full text is in the HTML/CSV/JSON reports.
const MAX_CELL: usize = 60;
/// Rules with findings listed besides the critical and high ones (which are always listed).
const TOP_RULES: usize = 10;
const MAX_GAPS: usize = 10;
/// Longest gap subject printed (a DN and attribute fit; a hostile 10 MB value does not).
const MAX_GAP: usize = 300;
/// Fix-first entries printed.
const FIX_FIRST: usize = 5;
/// Groups listed in the readiness table (those with the most blocked and unknown pairs).
const MAX_GROUPS: usize = 10;
/// Width used when the output is not a terminal and `COLUMNS` is not set.
pub const DEFAULT_WIDTH: usize = 100;
/// Narrower than this, tables are laid out for this width anyway (cells wrap).
const MIN_WIDTH: usize = 40;

/// Colour only on a terminal, and never when `NO_COLOR` is set (no-color.org).
pub fn color_wanted(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The width to lay the summary out for: the terminal's when stdout is one, else `COLUMNS`,
/// else [`DEFAULT_WIDTH`].
pub fn terminal_width() -> usize {
    // comfy-table asks the terminal (stdout) for its size when it is one.
    if let Some(w) = Table::new().width()
        && w > 0
    {
        return usize::from(w);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w > 0)
        .unwrap_or(DEFAULT_WIDTH)
}

/// How [`write_summary_with`] lays out the summary and what it says at the end.
#[derive(Debug, Clone, Default)]
pub struct TerminalOptions {
    /// Escape sequences for colour; only when the output is a terminal.
    pub color: bool,
    /// Columns to fit in; None is [`DEFAULT_WIDTH`].
    pub width: Option<usize>,
    /// Where report.html was written, for the "next steps".
    pub report_html: Option<String>,
    /// The input flags as given (`--ldif corp.ldif --hosts hosts.csv ...`), for the
    /// `remediate` and `check` commands of the next steps.
    pub inputs: Option<String>,
    /// The exit code the run ends with and the `--fail-on` severity it was decided by (None:
    /// `--fail-on none`, findings never fail the run).
    pub exit: Option<(u8, Option<Severity>)>,
}

/// Writes the summary at [`DEFAULT_WIDTH`] without next steps. `color` should be true only
/// when `w` is a terminal (`std::io::IsTerminal`); without it the output has no escape
/// sequences at all.
pub fn write_summary<W: Write>(w: &mut W, data: &ReportData, color: bool) -> io::Result<()> {
    write_summary_with(
        w,
        data,
        &TerminalOptions {
            color,
            ..TerminalOptions::default()
        },
    )
}

/// Display width of `s` in terminal columns (wide CJK characters count two).
fn width_of(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `s` wrapped at spaces into lines of at most `width` columns; continuation lines are
/// indented two more than the first. A word longer than a line is cut into pieces.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let lead = s.len() - s.trim_start_matches(' ').len();
    let indent = " ".repeat((lead + 2).min(width / 2));
    let mut lines = Vec::new();
    let mut cur = " ".repeat(lead);
    let mut cur_w = lead;
    let start_w = |lines: &Vec<String>| if lines.is_empty() { lead } else { indent.len() };
    for word in s.trim_start_matches(' ').split(' ') {
        let ww = width_of(word);
        let fresh = cur_w == start_w(&lines);
        if !fresh && cur_w + 1 + ww > width {
            lines.push(std::mem::take(&mut cur));
            cur = indent.clone();
            cur_w = indent.len();
        }
        let fresh = cur_w == start_w(&lines);
        if !fresh {
            cur.push(' ');
            cur_w += 1;
        }
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if cur_w + cw > width {
                lines.push(std::mem::take(&mut cur));
                cur = indent.clone();
                cur_w = indent.len();
            }
            cur.push(c);
            cur_w += cw;
        }
    }
    lines.push(cur);
    lines
}

/// Writes the summary (see the module documentation) as `opts` says.
pub fn write_summary_with<W: Write>(
    w: &mut W,
    data: &ReportData,
    opts: &TerminalOptions,
) -> io::Result<()> {
    let color = opts.color;
    let width = opts.width.unwrap_or(DEFAULT_WIDTH).max(MIN_WIDTH);
    let s = |v: &str| truncate(&terminal_safe(v), MAX_CELL);
    // Lines wrap rather than cut: a cut command or path would be useless.
    let line = |w: &mut W, text: &str| -> io::Result<()> {
        for l in wrap(text, width) {
            writeln!(w, "{l}")?;
        }
        Ok(())
    };
    line(
        w,
        &format!(
            "hvaudit {} (rules {}): domain {}, source {}, collected {}",
            s(&data.tool_version),
            s(&data.ruleset_version),
            s(&data.domain.dns_name),
            s(&data.meta.source),
            data.meta.collected_at.format("%Y-%m-%d %H:%M:%S UTC"),
        ),
    )?;
    if let Some(e) = &data.export {
        line(w, &e.describe())?;
    }
    if !data.complete {
        let head = format!(
            "INCOMPLETE SCAN (SC001): {} gap(s); findings cannot prove compliance",
            data.gaps.len()
        );
        if color {
            for l in wrap(&head, width) {
                writeln!(w, "\u{1b}[1;31m{l}\u{1b}[0m")?;
            }
        } else {
            line(w, &head)?;
        }
        // Each gap once, even when the snapshot and the inventory report the same one.
        let mut seen = std::collections::HashSet::new();
        let gaps: Vec<_> = data
            .gaps
            .iter()
            .filter(|g| seen.insert((g.what.as_str(), g.reason.as_str())))
            .collect();
        for g in gaps.iter().take(MAX_GAPS) {
            // What could not be read is named whole (it wraps); a long reason is cut.
            line(
                w,
                &format!(
                    "  - {}: {}",
                    truncate(&terminal_safe(&g.what), MAX_GAP),
                    s(&g.reason)
                ),
            )?;
        }
        if gaps.len() > MAX_GAPS {
            line(
                w,
                &format!("  ... and {} more (see report.html)", gaps.len() - MAX_GAPS),
            )?;
        }
    }

    let summary = data.summary();
    let counts: Vec<String> = SEVERITIES_DESC
        .iter()
        .map(|sev| {
            format!(
                "{} {}",
                summary.by_severity.get(sev).copied().unwrap_or(0),
                sev.as_str()
            )
        })
        .collect();
    line(
        w,
        &format!(
            "Findings: {}; {} suppressed",
            counts.join(", "),
            summary.suppressed
        ),
    )?;

    let mut t = new_table(color, width);
    t.set_header(vec!["Category", "Worst", "Findings", "Suppressed"]);
    for c in &summary.by_category {
        t.add_row(vec![
            Cell::new(&c.label),
            match c.worst {
                Some(sev) => severity_cell(sev, color),
                None => Cell::new("none"),
            },
            Cell::new(c.count),
            Cell::new(c.suppressed),
        ]);
    }
    writeln!(w, "{t}")?;

    if !summary.by_rule.is_empty() {
        // Every critical and high rule, then the next ones up to TOP_RULES.
        let shown = summary
            .by_rule
            .iter()
            .enumerate()
            .take_while(|(i, r)| r.severity >= Severity::High || *i < TOP_RULES)
            .count();
        let mut t = new_table(color, width);
        t.set_header(vec!["Rule", "Severity", "Title", "Findings", "Suppressed"]);
        let causes = causes_per_rule(data);
        for r in &summary.by_rule[..shown] {
            // Findings of one cause count once: "1646 (1 cause)".
            let count = match causes.get(r.rule_id.as_str()) {
                Some(&n) if n < r.count => {
                    format!("{} ({n} cause{})", r.count, if n == 1 { "" } else { "s" })
                }
                _ => r.count.to_string(),
            };
            t.add_row(vec![
                Cell::new(s(&r.rule_id)),
                severity_cell(r.severity, color),
                // Titles are never cut: the table wraps them within the width.
                Cell::new(terminal_safe(&r.title)),
                Cell::new(count),
                Cell::new(r.suppressed),
            ]);
        }
        line(w, "Rules with findings, most severe first")?;
        writeln!(w, "{t}")?;
        let rest = summary.by_rule.len() - shown;
        if rest > 0 {
            let n: usize = summary.by_rule[shown..]
                .iter()
                .map(|r| r.count + r.suppressed)
                .sum();
            line(
                w,
                &format!(
                    "... and {rest} more rule{} with {n} finding{} (see report.html or findings.csv)",
                    if rest == 1 { "" } else { "s" },
                    if n == 1 { "" } else { "s" }
                ),
            )?;
        }
    }

    let checks = super::html::checks_or_rules(data);
    if !data.checks.is_empty() {
        let count = |st: CheckStatus| checks.iter().filter(|c| c.status == st).count();
        line(
            w,
            &format!(
                "Checks: {} failed, {} passed, {} not evaluated",
                count(CheckStatus::Failed),
                count(CheckStatus::Passed),
                count(CheckStatus::NotEvaluated)
            ),
        )?;
        // Not evaluated ones grouped by why, so "no inventory" is said once.
        let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
        for c in checks
            .iter()
            .filter(|c| c.status == CheckStatus::NotEvaluated)
        {
            let why = c.reason.as_deref().unwrap_or("");
            match reasons.iter_mut().find(|(r, _)| *r == why) {
                Some((_, ids)) => ids.push(&c.rule_id),
                None => reasons.push((why, vec![&c.rule_id])),
            }
        }
        for (why, ids) in &reasons {
            line(
                w,
                &format!(
                    "  not evaluated: {} ({})",
                    s(&ids.join(", ")),
                    terminal_safe(why)
                ),
            )?;
        }
        let mut passed: Vec<&str> = checks
            .iter()
            .filter(|c| c.status == CheckStatus::Passed)
            .map(|c| c.rule_id.as_str())
            .collect();
        passed.sort_unstable();
        if !passed.is_empty() {
            line(
                w,
                &format!("  passed: {}", terminal_safe(&passed.join(", "))),
            )?;
        }
    }

    let fix = data.fix_first();
    if !fix.is_empty() {
        line(w, "Fix first")?;
        for (i, x) in fix.iter().take(FIX_FIRST).enumerate() {
            let target = x
                .target
                .as_deref()
                .map(|t| format!(" -> {}", s(t)))
                .unwrap_or_default();
            let mut impact = Vec::new();
            if x.unblocks > 0 {
                impact.push(format!("unblocks {} pair(s)", x.unblocks));
            }
            if x.exposes > 0 {
                impact.push(format!("exposes {} privileged account(s)", x.exposes));
            }
            let impact = if impact.is_empty() {
                String::new()
            } else {
                format!(" [{}]", impact.join(", "))
            };
            let what = if x.cause.is_some() {
                format!("{} findings, one cause: {}", x.findings, s(&x.object))
            } else {
                s(&x.object)
            };
            line(
                w,
                &format!(
                    "  {}. {} {} {what}{target}{impact}",
                    i + 1,
                    x.severity.as_str(),
                    s(&x.rule_id),
                ),
            )?;
            line(w, &format!("     {}", terminal_safe(&x.fix)))?;
        }
    }

    if !data.readiness.is_empty() {
        let mut t = new_table(color, width);
        t.set_header(vec![
            "Group",
            "Hosts",
            "Ready pairs",
            "Blocked pairs",
            "Unknown pairs",
        ]);
        let mut groups: Vec<(&crate::findings::GroupReadiness, [usize; 3])> = data
            .readiness
            .iter()
            .map(|g| {
                let count = |st: ReadinessState| g.cells.iter().filter(|c| c.state == st).count();
                (
                    g,
                    [
                        count(ReadinessState::Ready),
                        count(ReadinessState::Blocked),
                        count(ReadinessState::Unknown),
                    ],
                )
            })
            .collect();
        if groups.len() > MAX_GROUPS {
            // The worst groups first when they do not all fit.
            groups.sort_by(|a, b| (b.1[1] + b.1[2]).cmp(&(a.1[1] + a.1[2])));
        }
        for (g, [ready, blocked, unknown]) in groups.iter().take(MAX_GROUPS) {
            t.add_row(vec![
                Cell::new(s(&g.group)),
                Cell::new(g.hosts.len()),
                Cell::new(ready),
                if color && *blocked > 0 {
                    Cell::new(blocked).fg(Color::Red)
                } else {
                    Cell::new(blocked)
                },
                if color && *unknown > 0 {
                    Cell::new(unknown).fg(Color::Yellow)
                } else {
                    Cell::new(unknown)
                },
            ]);
        }
        line(w, "Live-migration readiness")?;
        writeln!(w, "{t}")?;
        if groups.len() > MAX_GROUPS {
            line(
                w,
                &format!(
                    "... and {} more groups (see report.html or readiness.csv)",
                    groups.len() - MAX_GROUPS
                ),
            )?;
        }
    }

    for note in &data.suppression_notes {
        line(w, &format!("suppression: {}", s(note)))?;
    }
    if let Some(d) = &data.diff {
        line(
            w,
            &format!(
                "compared with {}: {} new, {} unchanged, {} resolved",
                s(&d.previous),
                d.new,
                d.unchanged,
                d.resolved.len()
            ),
        )?;
        if !d.no_longer_evaluated.is_empty() {
            line(
                w,
                &format!(
                    "{} previous finding(s) no longer evaluated (their rule did not run this time: not resolved)",
                    d.no_longer_evaluated.len()
                ),
            )?;
        }
    }

    if let Some((code, fail_on)) = opts.exit {
        let inputs = opts
            .inputs
            .as_deref()
            .map(terminal_safe)
            .unwrap_or_else(|| "<the same inputs>".to_string());
        line(w, "Next steps")?;
        if let Some(html) = &opts.report_html {
            line(
                w,
                &format!(
                    "  - open {} (summary, fix-first list, hosts, findings, readiness matrix)",
                    terminal_safe(html)
                ),
            )?;
        }
        line(
            w,
            &format!("  - review the fixes: hvaudit remediate {inputs} --out fix.ps1"),
        )?;
        line(
            w,
            &format!("  - check one migration: hvaudit check {inputs} --from HOST --to HOST"),
        )?;
        let meaning = match (code, fail_on) {
            (0, None) => "--fail-on none: findings never fail the run".to_string(),
            (0, Some(t)) => format!("no finding at or above --fail-on {}", t.as_str()),
            (1, Some(t)) => format!("findings at or above --fail-on {}", t.as_str()),
            (3, _) => "the scan is incomplete: nothing here proves compliance".to_string(),
            _ => "an error".to_string(),
        };
        line(w, &format!("Exit code {code}: {meaning}."))?;
    }
    Ok(())
}

/// Per rule, how many causes its open findings have: the findings of one shared cause
/// ([`super::causes`]) count once, every other finding once each.
fn causes_per_rule(data: &ReportData) -> std::collections::HashMap<&str, usize> {
    let mut seen = std::collections::HashSet::new();
    let mut n: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for f in data
        .findings
        .iter()
        .filter(|f| f.status != crate::findings::Status::Suppressed)
    {
        if f.cause_path().is_some() && !seen.insert((f.rule_id.as_str(), f.cause())) {
            continue;
        }
        *n.entry(f.rule_id.as_str()).or_default() += 1;
    }
    n
}

fn new_table(color: bool, width: usize) -> Table {
    let mut t = Table::new();
    if color {
        t.load_style(presets::UTF8_FULL_CONDENSED).enforce_styling();
    } else {
        // Plain ASCII for logs and pipes, and no styling even if the environment asks for it.
        t.load_style(presets::ASCII_FULL_CONDENSED).force_no_tty();
    }
    // Cells wrap so the table fits; titles are never cut when the width allows them.
    t.set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(u16::try_from(width).unwrap_or(u16::MAX));
    t
}

fn severity_cell(sev: Severity, color: bool) -> Cell {
    let c = Cell::new(sev.as_str());
    if !color {
        return c;
    }
    match sev {
        Severity::Critical => c.fg(Color::Magenta),
        Severity::High => c.fg(Color::Red),
        Severity::Medium => c.fg(Color::Yellow),
        Severity::Low => c.fg(Color::Cyan),
        Severity::Info => c,
    }
}

#[cfg(test)]
mod tests {
    use super::{width_of, wrap};

    #[test]
    fn wrap_fits_every_line_and_loses_nothing() {
        let text =
            "  - review the fixes: hvaudit remediate --ldif examples/corp.ldif --hosts h.csv";
        for width in [20, 40, 80] {
            let lines = wrap(text, width);
            assert!(lines.iter().all(|l| width_of(l) <= width), "{lines:?}");
            // Only spaces are added or dropped (a word longer than the line is split).
            let squeeze = |s: &str| s.split_whitespace().collect::<String>();
            assert_eq!(squeeze(&lines.concat()), squeeze(text));
        }
        assert_eq!(wrap("short", 80), ["short"]);
        // Wide characters count two columns; a word longer than the line is split.
        let lines = wrap(&"主".repeat(30), 20);
        assert!(lines.iter().all(|l| width_of(l) <= 20), "{lines:?}");
    }
}
