//! The terminal summary printed after a scan: completeness, severity counts, top rules and
//! readiness per group. Every directory value goes through [`terminal_safe`] first.

use std::io::{self, IsTerminal, Write};

use comfy_table::{Cell, Color, Table, presets};

use crate::findings::{ReadinessState, Severity};

use super::text::{terminal_safe, truncate};
use super::{ReportData, SEVERITIES_DESC};

/// Longest value printed in a table cell; the full text is in the HTML/CSV/JSON reports.
const MAX_CELL: usize = 60;
const TOP_RULES: usize = 10;
const MAX_GAPS: usize = 10;

/// Colour only on a terminal, and never when `NO_COLOR` is set (no-color.org).
pub fn color_wanted(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Writes the summary. `color` should be true only when `w` is a terminal
/// (`std::io::IsTerminal`); without it the output has no escape sequences at all.
pub fn write_summary<W: Write>(w: &mut W, data: &ReportData, color: bool) -> io::Result<()> {
    let s = |v: &str| truncate(&terminal_safe(v), MAX_CELL);
    writeln!(
        w,
        "hvaudit {} (rules {}): domain {}, source {}, collected {}",
        s(&data.tool_version),
        s(&data.ruleset_version),
        s(&data.domain.dns_name),
        s(&data.meta.source),
        data.meta.collected_at.format("%Y-%m-%d %H:%M:%S UTC"),
    )?;
    if !data.complete {
        let head = format!(
            "INCOMPLETE SCAN (SC001): {} gap(s); findings cannot prove compliance",
            data.gaps.len()
        );
        if color {
            writeln!(w, "\u{1b}[1;31m{head}\u{1b}[0m")?;
        } else {
            writeln!(w, "{head}")?;
        }
        for g in data.gaps.iter().take(MAX_GAPS) {
            writeln!(w, "  - {}: {}", s(&g.what), s(&g.reason))?;
        }
        if data.gaps.len() > MAX_GAPS {
            writeln!(w, "  ... and {} more", data.gaps.len() - MAX_GAPS)?;
        }
    }

    let summary = data.summary();
    let mut t = new_table(color);
    t.set_header(vec!["Severity", "Findings"]);
    for sev in SEVERITIES_DESC {
        let n = summary.by_severity.get(&sev).copied().unwrap_or(0);
        t.add_row(vec![severity_cell(sev, color), Cell::new(n)]);
    }
    t.add_row(vec![Cell::new("suppressed"), Cell::new(summary.suppressed)]);
    writeln!(w, "{t}")?;

    if !summary.by_rule.is_empty() {
        let mut t = new_table(color);
        t.set_header(vec!["Rule", "Severity", "Title", "Findings", "Suppressed"]);
        for r in summary.by_rule.iter().take(TOP_RULES) {
            t.add_row(vec![
                Cell::new(s(&r.rule_id)),
                severity_cell(r.severity, color),
                Cell::new(s(&r.title)),
                Cell::new(r.count),
                Cell::new(r.suppressed),
            ]);
        }
        writeln!(w, "Top rules")?;
        writeln!(w, "{t}")?;
    }

    if !data.readiness.is_empty() {
        let mut t = new_table(color);
        t.set_header(vec![
            "Group",
            "Hosts",
            "Ready pairs",
            "Blocked pairs",
            "Unknown pairs",
        ]);
        for g in &data.readiness {
            let count = |st: ReadinessState| g.cells.iter().filter(|c| c.state == st).count();
            let blocked = count(ReadinessState::Blocked);
            let unknown = count(ReadinessState::Unknown);
            t.add_row(vec![
                Cell::new(s(&g.group)),
                Cell::new(g.hosts.len()),
                Cell::new(count(ReadinessState::Ready)),
                if color && blocked > 0 {
                    Cell::new(blocked).fg(Color::Red)
                } else {
                    Cell::new(blocked)
                },
                if color && unknown > 0 {
                    Cell::new(unknown).fg(Color::Yellow)
                } else {
                    Cell::new(unknown)
                },
            ]);
        }
        writeln!(w, "Live-migration readiness")?;
        writeln!(w, "{t}")?;
    }

    for note in &data.suppression_notes {
        writeln!(w, "suppression: {}", s(note))?;
    }
    if let Some(d) = &data.diff {
        writeln!(
            w,
            "compared with {}: {} new, {} unchanged, {} resolved",
            s(&d.previous),
            d.new,
            d.unchanged,
            d.resolved.len()
        )?;
    }
    Ok(())
}

fn new_table(color: bool) -> Table {
    let mut t = Table::new();
    if color {
        t.load_style(presets::UTF8_FULL_CONDENSED).enforce_styling();
    } else {
        // Plain ASCII for logs and pipes, and no styling even if the environment asks for it.
        t.load_style(presets::ASCII_FULL_CONDENSED).force_no_tty();
    }
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
