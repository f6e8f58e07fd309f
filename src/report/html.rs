//! `report.html`: one self-contained page rendered with minijinja from
//! `report-templates/report.html.j2` (embedded; `--templates DIR` may override it and its
//! `report.css` / `report.js`). Autoescape is forced on for the page; the finding details
//! travel as a JSON blob that the page's script renders with textContent only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

use crate::findings::{GroupReadiness, ReadinessCell, ReadinessState, Status};
use crate::rules::lazy::View;

use super::checks::{Check, CheckStatus, FixItem, category_of};
use super::csv::status_str;
use super::text::is_bidi_control;
use super::{ReportData, ReportError, SEVERITIES_DESC, Summary};

const TEMPLATE: &str = include_str!("../../report-templates/report.html.j2");
const CSS: &str = include_str!("../../report-templates/report.css");
const JS: &str = include_str!("../../report-templates/report.js");
const TEMPLATE_NAME: &str = "report.html.j2";

/// Above this many hosts a group's matrix becomes a summary: a 200x200 grid is already 40,000
/// cells, and larger ones make the page unusable.
pub const MATRIX_MAX_HOSTS: usize = 200;
/// Above this many hosts a group's matrix is collapsed (`<details>`) and its cells are kept in
/// an inert `<template>` that the page renders only when the reader opens it: at 125 groups of
/// 16 hosts the page would otherwise lay out 30,000 cells before anyone looks at one.
pub const MATRIX_OPEN_MAX_HOSTS: usize = 12;
/// Width in pixels of a group's ready / blocked / unknown bar in the group index.
const BAR_WIDTH: usize = 120;
/// Findings rows shown before "Show more": Chromium lays out a 10,000-row table in seconds,
/// a 500-row one at once. Filters and search still cover every finding.
pub const PAGE_ROWS: usize = 500;
/// Blocked pairs listed in a group summary; the rest are in the CSV/JSON.
const MAX_BLOCKED_LISTED: usize = 2000;

/// Renders the report. `templates` overrides the embedded `report.html.j2`, `report.css` and
/// `report.js` with those files of that directory that exist.
pub fn render_html(
    data: &Arc<ReportData>,
    templates: Option<&Path>,
) -> Result<String, ReportError> {
    let mut out = Vec::new();
    write_html(&mut out, data, templates)?;
    String::from_utf8(out).map_err(|e| ReportError::Io {
        what: "HTML report".into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// [`render_html`] straight into `w`: a large domain's page is tens of megabytes before its
/// lazy parts are deflated (the `lazy` filter, [`lazy_template`]), which need not sit in
/// memory next to the data it was made from.
pub fn write_html<W: std::io::Write>(
    w: W,
    data: &Arc<ReportData>,
    templates: Option<&Path>,
) -> Result<(), ReportError> {
    let template = load(templates, TEMPLATE_NAME, TEMPLATE)?;
    let css = load(templates, "report.css", CSS)?;
    let js = load(templates, "report.js", JS)?;

    let mut env = Environment::new();
    // Explicit rather than relying on the file extension: the page is HTML whatever an
    // override template is called.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // Bidirectional controls in a directory value would reorder what the reader sees
    // ("Trojan Source"); the terminal drops them, the page shows them as `[U+202E]`.
    env.set_formatter(|out, state, value| {
        if !value.is_safe()
            && let Some(text) = value.as_str()
            && text.chars().any(is_bidi_control)
        {
            let shown = Value::from(bidi_visible(text));
            return minijinja::escape_formatter(out, state, &shown);
        }
        minijinja::escape_formatter(out, state, value)
    });
    // `{{ markup | lazy }}`: shown on demand, deflated when large.
    env.add_filter("lazy", |markup: Value| {
        let body = if markup.is_safe() {
            markup.as_str().unwrap_or_default().to_string()
        } else {
            // Plain text handed to the filter is escaped like any other output.
            minijinja::HtmlEscape(&markup.to_string()).to_string()
        };
        Value::from_safe_string(lazy_template(&body))
    });
    env.add_template_owned(TEMPLATE_NAME, template)?;

    let view = view(data);
    // `r.data` is the whole report, converted field by field as the template reads it: the
    // built-in page never reads `findings` or `readiness` (it uses `r.rows` and `r.groups`),
    // which for a large domain are 150,000 readiness cells.
    let r = minijinja::context! {
        data => View::value(Shared(Arc::clone(data))),
        ..Value::from(Serde(&view))
    };
    let ctx = minijinja::context! {
        r => r,
        css => Value::from_safe_string(css),
        js => Value::from_safe_string(js),
        data_json => Value::from_safe_string(script_json(&details(data))?),
    };
    env.get_template(TEMPLATE_NAME)?
        .render_captured_to(ctx, w)?;
    Ok(())
}

/// Opening tag of markup the page inserts only on demand (a collapsed matrix, the delegation
/// inventory of a large domain): inert until then, so it costs the browser nothing at load.
/// Lazy markup at least this long is sent deflated: at 2,000 hosts the delegation inventory
/// alone is 5 MB of markup (60 SPNs per host) and the 125 matrices 3 MB, which compress about
/// twenty-fold.
pub const LAZY_DEFLATE_MIN: usize = 16 * 1024;

/// `<template class="lazy">` holding `body` (markup of this page, already escaped), or, when
/// `body` is large, an empty one whose `data-z` is the base64 (RFC 4648) of its zlib stream
/// (RFC 1950), which the page's script inflates with the browser's
/// `DecompressionStream("deflate")` when the reader opens it. The fastest level: the content is
/// repetitive markup, and a 100,000-computer page holds megabytes of it.
pub fn lazy_template(body: &str) -> String {
    use base64::Engine as _;
    use std::io::Write as _;
    if body.len() >= LAZY_DEFLATE_MIN {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        // Writing to a Vec cannot fail; should it, the markup stays as it is.
        if let Ok(bytes) = z.write_all(body.as_bytes()).and_then(|()| z.finish()) {
            return format!(
                "<template class=\"lazy\" data-z=\"{}\"></template>",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            );
        }
    }
    format!("<template class=\"lazy\">{body}</template>")
}

fn load(dir: Option<&Path>, name: &str, embedded: &str) -> Result<String, ReportError> {
    if let Some(dir) = dir {
        let path = dir.join(name);
        if path.exists() {
            return std::fs::read_to_string(&path)
                .map_err(|source| ReportError::TemplateFile { path, source });
        }
    }
    Ok(embedded.to_string())
}

/// `s` with each bidirectional control (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI:
/// U+202A..U+202E, U+2066..U+2069, Unicode UAX #9) replaced by its visible name, e.g.
/// `[U+202E]`, so the page shows a value in its stored order and says what it holds.
pub fn bidi_visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_bidi_control(c) {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// JSON that is safe inside `<script type="application/json">`: `<`, `>` and `&` cannot
/// close the element or start a comment, and U+2028/2029 are escaped for older parsers.
/// These characters only occur inside JSON strings, where `\uXXXX` means the same.
/// Bidirectional controls (also only inside strings) become their visible names, as in
/// [`bidi_visible`]: the page's script shows these values as text, and filters compare
/// them with the template's (equally replaced) host names.
pub fn script_json<T: Serialize>(v: &T) -> Result<String, ReportError> {
    let raw = serde_json::to_string(v)?;
    let mut out = String::with_capacity(raw.len() + raw.len() / 16);
    for c in raw.chars() {
        match c {
            c if is_bidi_control(c) => out.push_str(&format!("[U+{:04X}]", c as u32)),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

// ---- what the template sees ------------------------------------------------------------

/// The report as a template value; see [`View`].
struct Shared(Arc<ReportData>);

impl Serialize for Shared {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[derive(Serialize)]
struct PageView<'a> {
    collected_at: String,
    /// For a file input: the export's times, formatted ([`super::ExportTimes`]).
    export: Option<ExportView>,
    summary: Summary,
    page_rows: usize,
    /// Some findings share a cause: the table's rows are not all single findings.
    has_causes: bool,
    severities: Vec<SevCount>,
    rows: Vec<Row<'a>>,
    hosts: Vec<&'a str>,
    rule_ids: Vec<&'a str>,
    groups: Vec<GroupView<'a>>,
    fix_first: Vec<FixItem>,
    checks: Vec<CheckView>,
    host_rows: Vec<HostView<'a>>,
    /// `data.delegations` with each row's targets joined: the inventory is read once, as
    /// one string per account (10,000 accounts hold 600,000 SPNs in the benchmark domain;
    /// `d.delegations` converts them all on every access).
    delegations: Vec<DelegationView<'a>>,
}

#[derive(Serialize)]
struct DelegationView<'a> {
    #[serde(flatten)]
    row: DelegationFields<'a>,
    /// How many targets; `targets` holds them one per line.
    target_count: usize,
    targets: String,
}

/// The fields of a [`super::DelegationRow`] other than its targets.
#[derive(Serialize)]
struct DelegationFields<'a> {
    account: &'a str,
    dn: &'a str,
    kind: super::AccountClass,
    dc: bool,
    enabled: bool,
    delegation_type: super::DelegationType,
    protocol_transition: bool,
}

#[derive(Serialize)]
struct ExportView {
    input: String,
    file_modified: Option<String>,
    newest_when_changed: Option<String>,
    collected_at: Option<String>,
    audited_at: String,
}

#[derive(Serialize)]
struct HostView<'a> {
    #[serde(flatten)]
    row: &'a super::HostRow,
    /// 1-based index of its group's readiness section (`#group-N`).
    group_anchor: Option<usize>,
    reboot_pending: Option<bool>,
    total: usize,
    worst: Option<&'static str>,
    last_boot: String,
    delegation_changed: String,
    inventory: &'static str,
}

#[derive(Serialize)]
struct CheckView {
    #[serde(flatten)]
    check: Check,
    status_label: &'static str,
}

#[derive(Serialize)]
struct SevCount {
    name: &'static str,
    count: usize,
}

/// A row of the findings table: one finding, or (with `cause`) the findings of one cause,
/// whose own rows the page builds when the reader expands it.
#[derive(Serialize)]
struct Row<'a> {
    /// The finding (for a cause row, its first member).
    i: usize,
    /// Position among the table's top-level rows: those past [`PAGE_ROWS`] start hidden.
    pos: usize,
    cause: Option<CauseRow>,
    rule_id: &'a str,
    severity: &'static str,
    title: &'a str,
    object: &'a str,
    target: &'a str,
    group: &'a str,
    message: &'a str,
    status: &'static str,
    suppressed: bool,
}

#[derive(Serialize)]
struct CauseRow {
    /// Index into the blob's `causes`.
    c: usize,
    /// Findings of the cause, and how many of them are suppressed.
    n: usize,
    suppressed: usize,
    path: String,
    fix: String,
}

#[derive(Serialize)]
struct GroupView<'a> {
    name: &'a str,
    hosts: &'a [String],
    ready: usize,
    blocked: usize,
    unknown: usize,
    /// None above MATRIX_MAX_HOSTS: the template shows the summary instead.
    grid: Option<Vec<GridRow<'a>>>,
    /// Above MATRIX_OPEN_MAX_HOSTS: the grid is rendered on demand.
    collapsed: bool,
    /// Some pair blocked or unknown: shown by the "blocked or unknown only" filter.
    problem: bool,
    /// The index bar's segments, in pixels of [`BAR_WIDTH`].
    bar: Bar,
    blocked_pairs: Vec<BlockedPair<'a>>,
    blocked_unlisted: usize,
}

#[derive(Serialize)]
struct Bar {
    ready: usize,
    blocked: usize,
    unknown: usize,
}

impl Bar {
    /// Segments proportional to the counts, summing to [`BAR_WIDTH`] (0 without pairs); a
    /// non-zero count gets at least one pixel, so a single blocked pair among 40,000 shows.
    fn of(ready: usize, blocked: usize, unknown: usize) -> Bar {
        let total = ready + blocked + unknown;
        if total == 0 {
            return Bar {
                ready: 0,
                blocked: 0,
                unknown: 0,
            };
        }
        let px = |n: usize| {
            if n == 0 {
                0
            } else {
                (n * BAR_WIDTH / total).max(1)
            }
        };
        let (blocked, unknown) = (px(blocked), px(unknown));
        Bar {
            ready: BAR_WIDTH.saturating_sub(blocked + unknown),
            blocked,
            unknown,
        }
    }
}

#[derive(Serialize)]
struct GridRow<'a> {
    host: &'a str,
    cells: Vec<GridCell>,
}

#[derive(Serialize)]
struct GridCell {
    /// `ready`, `blocked`, `unknown`, `same` (same cluster), `self` or `none` (no cell computed).
    state: &'static str,
    /// What the cell shows: a check mark (with `N` or `F` when only the NetBIOS name or only
    /// the FQDN works), a cross, a question mark, `=` or nothing.
    mark: &'static str,
    /// Tooltip and details-panel text.
    reasons: String,
}

#[derive(Serialize)]
struct BlockedPair<'a> {
    from: &'a str,
    to: &'a str,
    reasons: String,
}

fn view(data: &ReportData) -> PageView<'_> {
    let summary = data.summary();
    let severities = SEVERITIES_DESC
        .iter()
        .map(|s| SevCount {
            name: s.as_str(),
            count: summary.by_severity.get(s).copied().unwrap_or(0),
        })
        .collect();
    // The findings of one cause are one row, at the place of the first; their own rows are
    // built by the page when that row is expanded (1,600 PA001 rows are not sent twice).
    let causes = super::causes::shared_causes(&data.findings);
    let cause_of = cause_index(data, &causes);
    let mut rows = Vec::new();
    for (i, f) in data.findings.iter().enumerate() {
        let cause = match cause_of[i] {
            Some(c) if causes[c].members[0] != i => continue,
            Some(c) => {
                let x = &causes[c];
                let suppressed = x
                    .members
                    .iter()
                    .filter(|&&m| data.findings[m].status == Status::Suppressed)
                    .count();
                Some(CauseRow {
                    c,
                    n: x.members.len(),
                    suppressed,
                    path: x.path.clone(),
                    fix: x.fix(),
                })
            }
            None => None,
        };
        rows.push(Row {
            i,
            pos: rows.len(),
            cause,
            rule_id: &f.rule_id,
            severity: f.severity.as_str(),
            title: &f.title,
            object: &f.object,
            target: f.target.as_deref().unwrap_or(""),
            group: f.group.as_deref().unwrap_or(""),
            message: &f.message,
            status: status_str(&f.status),
            suppressed: f.status == Status::Suppressed,
        });
    }
    let hosts: BTreeSet<&str> = data.findings.iter().map(|f| f.object.as_str()).collect();
    let rule_ids: BTreeSet<&str> = data.findings.iter().map(|f| f.rule_id.as_str()).collect();
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
    };
    PageView {
        export: data.export.as_ref().map(|e| ExportView {
            input: e.input.clone(),
            file_modified: time(e.file_modified),
            newest_when_changed: time(e.newest_when_changed),
            collected_at: time(e.collected_at),
            audited_at: time(Some(e.audited_at)).unwrap_or_default(),
        }),
        collected_at: data
            .meta
            .collected_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        summary,
        page_rows: PAGE_ROWS,
        has_causes: !causes.is_empty(),
        severities,
        rows,
        hosts: hosts.into_iter().collect(),
        rule_ids: rule_ids.into_iter().collect(),
        groups: data.readiness.iter().map(group_view).collect(),
        fix_first: data.fix_first(),
        host_rows: host_views(data),
        delegations: data
            .delegations
            .iter()
            .map(|x| DelegationView {
                row: DelegationFields {
                    account: &x.account,
                    dn: &x.dn,
                    kind: x.kind,
                    dc: x.dc,
                    enabled: x.enabled,
                    delegation_type: x.delegation_type,
                    protocol_transition: x.protocol_transition,
                },
                target_count: x.targets.len(),
                targets: x.targets.join("\n"),
            })
            .collect(),
        checks: checks_or_rules(data)
            .into_iter()
            .map(|check| CheckView {
                status_label: check.status.label(),
                check,
            })
            .collect(),
    }
}

/// Per finding, the index of its cause in `causes`, if it belongs to one.
fn cause_index(data: &ReportData, causes: &[super::causes::Cause]) -> Vec<Option<usize>> {
    let mut of = vec![None; data.findings.len()];
    for (c, x) in causes.iter().enumerate() {
        for &m in &x.members {
            of[m] = Some(c);
        }
    }
    of
}

fn host_views(data: &ReportData) -> Vec<HostView<'_>> {
    let anchors: HashMap<&str, usize> = data
        .readiness
        .iter()
        .enumerate()
        .map(|(i, g)| (g.group.as_str(), i + 1))
        .collect();
    let day = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    data.hosts
        .iter()
        .map(|h| HostView {
            group_anchor: h.group.as_deref().and_then(|g| anchors.get(g).copied()),
            reboot_pending: h.reboot_pending(),
            total: h.finding_total(),
            worst: h.worst().map(|s| s.as_str()),
            last_boot: day(h.last_boot),
            delegation_changed: day(h.delegation_changed),
            inventory: match h.inventory {
                super::InventoryStatus::Read => "read",
                super::InventoryStatus::Error => "unreachable",
                super::InventoryStatus::Missing => "no row",
                super::InventoryStatus::NotSupplied => "no inventory",
            },
            row: h,
        })
        .collect()
}

/// The report's checks; a report read back from before checks existed lists the rules with
/// findings as failed (nothing is known about the others).
pub(crate) fn checks_or_rules(data: &ReportData) -> Vec<Check> {
    if !data.checks.is_empty() {
        return data.checks.clone();
    }
    let scope_of = |id: &str| {
        data.findings
            .iter()
            .find(|f| f.rule_id == id)
            .map(|f| f.scope)
            .unwrap_or(crate::findings::Scope::Scan)
    };
    data.summary()
        .by_rule
        .into_iter()
        .map(|r| Check {
            category: category_of(&r.rule_id, scope_of(&r.rule_id)),
            rule_id: r.rule_id,
            title: r.title,
            severity: r.severity,
            status: CheckStatus::Failed,
            findings: r.count,
            suppressed: r.suppressed,
            checked: String::new(),
            reason: None,
        })
        .collect()
}

/// The name forms a ready cell works under, when not all of them: `" (FQDN only)"`.
fn forms_note(c: &ReadinessCell) -> String {
    if c.state != ReadinessState::Ready || c.same_cluster || c.ready_forms.len() >= c.forms.len() {
        return String::new();
    }
    let names: Vec<&str> = c
        .ready_forms
        .iter()
        .map(|f| match f.as_ref() {
            "netbios" => "NetBIOS name",
            "fqdn" => "FQDN",
            other => other,
        })
        .collect();
    format!(" (addressed by {} only)", names.join(" or "))
}

fn cell_reasons(c: &ReadinessCell) -> String {
    let head = if c.same_cluster {
        "ready (same cluster: no delegation needed)".to_string()
    } else {
        match c.state {
            ReadinessState::Ready => format!("ready{}", forms_note(c)),
            ReadinessState::Blocked => "BLOCKED".to_string(),
            ReadinessState::Unknown if c.blocking_rules.is_empty() => {
                "UNKNOWN (nothing known blocks it)".to_string()
            }
            ReadinessState::Unknown => "UNKNOWN".to_string(),
        }
    };
    let mut s = format!("{} -> {}: {head}", c.from, c.to);
    for (i, r) in c.reasons.iter().enumerate() {
        let id = c.blocking_rules.get(i).map(String::as_str).unwrap_or("");
        s.push_str(&format!("\n{id}: {r}"));
    }
    // More rule ids than reasons: still name them all.
    for id in c.blocking_rules.iter().skip(c.reasons.len()) {
        s.push_str(&format!("\n{id}"));
    }
    for u in &c.unknown {
        s.push_str(&format!("\nunknown: {u}"));
    }
    s
}

/// A cell's class and mark.
fn cell_look(c: &ReadinessCell) -> (&'static str, &'static str) {
    if c.same_cluster {
        return ("same", "=");
    }
    match c.state {
        ReadinessState::Ready if !forms_note(c).is_empty() => {
            if c.ready_forms.iter().any(|f| f == "netbios") {
                ("ready", "\u{2713}N")
            } else {
                ("ready", "\u{2713}F")
            }
        }
        ReadinessState::Ready => ("ready", "\u{2713}"),
        ReadinessState::Blocked => ("blocked", "\u{2717}"),
        ReadinessState::Unknown => ("unknown", "?"),
    }
}

fn group_view(g: &GroupReadiness) -> GroupView<'_> {
    let count = |st: ReadinessState| g.cells.iter().filter(|c| c.state == st).count();
    let (ready, blocked, unknown) = (
        count(ReadinessState::Ready),
        count(ReadinessState::Blocked),
        count(ReadinessState::Unknown),
    );
    let bar = Bar::of(ready, blocked, unknown);
    let grid = (g.hosts.len() <= MATRIX_MAX_HOSTS).then(|| {
        let by_pair: HashMap<(&str, &str), &ReadinessCell> = g
            .cells
            .iter()
            .map(|c| ((c.from.as_str(), c.to.as_str()), c))
            .collect();
        g.hosts
            .iter()
            .map(|from| GridRow {
                host: from,
                cells: g
                    .hosts
                    .iter()
                    .map(|to| match by_pair.get(&(from.as_str(), to.as_str())) {
                        _ if from == to => GridCell {
                            state: "self",
                            mark: "",
                            reasons: format!("{from}: same host"),
                        },
                        Some(c) => {
                            let (state, mark) = cell_look(c);
                            GridCell {
                                state,
                                mark,
                                reasons: cell_reasons(c),
                            }
                        }
                        None => GridCell {
                            state: "none",
                            mark: "",
                            reasons: format!("{from} -> {to}: not evaluated"),
                        },
                    })
                    .collect(),
            })
            .collect()
    });
    let blocked_pairs = if grid.is_none() {
        g.cells
            .iter()
            .filter(|c| c.state != ReadinessState::Ready)
            .take(MAX_BLOCKED_LISTED)
            .map(|c| BlockedPair {
                from: &c.from,
                to: &c.to,
                reasons: if c.state == ReadinessState::Unknown && c.blocking_rules.is_empty() {
                    "unknown: ".to_string() + &c.unknown.join("; ")
                } else {
                    c.blocking_rules.join(", ")
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    GroupView {
        name: &g.group,
        hosts: &g.hosts,
        ready,
        blocked,
        unknown,
        blocked_unlisted: if grid.is_none() {
            (blocked + unknown).saturating_sub(MAX_BLOCKED_LISTED)
        } else {
            0
        },
        collapsed: grid.is_some() && g.hosts.len() > MATRIX_OPEN_MAX_HOSTS,
        problem: blocked + unknown > 0,
        bar,
        grid,
        blocked_pairs,
    }
}

// ---- the JSON blob the page's script reads ---------------------------------------------

#[derive(Serialize)]
struct Details<'a> {
    /// Rule id -> [title, rationale, references].
    rules: BTreeMap<&'a str, (&'a str, &'a str, &'a [String])>,
    /// One per finding, in row order (`data-i`).
    f: Vec<FindingDetail<'a>>,
    /// The findings of each cause row (`data-c`), as indices into `f`.
    causes: Vec<Vec<usize>>,
}

/// Short keys: this is repeated 10,000 times in a large report.
#[derive(Serialize)]
struct FindingDetail<'a> {
    /// Severity rank, 4 = critical, for sorting.
    s: u8,
    r: &'a str,
    o: &'a str,
    t: &'a str,
    g: &'a str,
    m: &'a str,
    st: &'static str,
    dn: &'a str,
    ev: Vec<(&'a str, &'a str)>,
    fix: &'a str,
    sup: &'a str,
    ti: &'a str,
    /// Its cause row's index in `causes`, for a finding shown inside one.
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<usize>,
}

fn details(data: &ReportData) -> Details<'_> {
    let rules = data
        .rules
        .iter()
        .map(|r| {
            (
                r.id.as_str(),
                (r.title.as_str(), r.rationale.as_str(), &r.references[..]),
            )
        })
        .collect();
    let causes = super::causes::shared_causes(&data.findings);
    let cause_of = cause_index(data, &causes);
    let f = data
        .findings
        .iter()
        .zip(cause_of)
        .map(|(f, c)| FindingDetail {
            c,
            s: f.severity as u8,
            r: &f.rule_id,
            o: &f.object,
            t: f.target.as_deref().unwrap_or(""),
            g: f.group.as_deref().unwrap_or(""),
            m: &f.message,
            st: status_str(&f.status),
            dn: f.object_dn.as_deref().unwrap_or(""),
            ev: f
                .evidence
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            fix: f.remediation.as_deref().unwrap_or(""),
            sup: f.suppression.as_deref().unwrap_or(""),
            ti: &f.title,
        })
        .collect();
    Details {
        rules,
        f,
        causes: causes.into_iter().map(|c| c.members).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::{LAZY_DEFLATE_MIN, lazy_template, script_json};

    #[test]
    fn large_lazy_templates_are_deflated_and_inflate_back() {
        use base64::Engine as _;
        use std::io::Read as _;
        let big = "<tr><td>cifs/HV00001.lab.test</td></tr>\n".repeat(LAZY_DEFLATE_MIN / 20);
        let out = lazy_template(&big);
        assert!(
            out.starts_with("<template class=\"lazy\" data-z=\""),
            "{out}"
        );
        assert!(out.ends_with("\"></template>"));
        let start = out.find("data-z=\"").unwrap() + 8;
        let z = &out[start..start + out[start..].find('"').unwrap()];
        let bytes = base64::engine::general_purpose::STANDARD.decode(z).unwrap();
        let mut back = String::new();
        flate2::read::ZlibDecoder::new(&bytes[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, big);
        assert!(z.len() * 5 < big.len(), "{} of {}", z.len(), big.len());
        // Small lazy content stays as it is.
        assert_eq!(
            lazy_template("small"),
            "<template class=\"lazy\">small</template>"
        );
    }

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let s = script_json(&vec!["</script><!--&\u{2028}"]).unwrap();
        assert_eq!(s, r#"["\u003c/script\u003e\u003c!--\u0026\u2028"]"#);
        let back: Vec<String> = serde_json::from_str(&s).unwrap();
        assert_eq!(back, vec!["</script><!--&\u{2028}".to_string()]);
        let s = script_json(&vec!["a\u{202e}b\u{2066}c\u{2069}"]).unwrap();
        assert_eq!(s, r#"["a[U+202E]b[U+2066]c[U+2069]"]"#);
    }
}
