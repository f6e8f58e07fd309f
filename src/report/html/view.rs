//! What the page template sees: the view model built from [`ReportData`] (`r` in the
//! template), the per-finding details sent as JSON (`data_json`), and the readiness matrices.
//! Rendering (environment, filters, escaping) is in the parent module.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::findings::{GroupReadiness, ReadinessCell, ReadinessState, Status};

use super::super::checks::{Check, CheckStatus, FixItem, category_of};
use super::super::csv::status_str;
use super::super::{ReportData, SEVERITIES_DESC, Summary};
use super::{BAR_WIDTH, MATRIX_MAX_HOSTS, MATRIX_OPEN_MAX_HOSTS, MAX_BLOCKED_LISTED, PAGE_ROWS};

/// The report as a template value; see [`View`].
pub(super) struct Shared(pub(super) Arc<ReportData>);

impl Serialize for Shared {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[derive(Serialize)]
pub(super) struct PageView<'a> {
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
    kind: super::super::AccountClass,
    dc: bool,
    enabled: bool,
    delegation_type: super::super::DelegationType,
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
    row: &'a super::super::HostRow,
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
    /// The row's cells, a [`GridCells`] object: `{{ row.cells }}` prints their markup,
    /// `{% for c in row.cells %}` gives each cell's `state`, `mark` and `reasons`.
    cells: minijinja::Value,
}

#[derive(Debug, Serialize)]
pub(super) struct GridCell {
    /// `ready`, `blocked`, `unknown`, `same` (same cluster), `self` or `none` (no cell computed).
    state: &'static str,
    /// What the cell shows: a check mark (with `N` or `F` when only the NetBIOS name or only
    /// the FQDN works), a cross, a question mark, `=` or nothing.
    mark: &'static str,
    /// Tooltip and details-panel text.
    reasons: String,
}

/// One matrix row's cells. Printed, it is the row's markup, one `<td class="c STATE"
/// title="REASONS" tabindex="0">MARK</td>` per destination, written by hvaudit (the page's
/// formatter calls [`GridCells::write_markup`]) with REASONS escaped like any directory value:
/// a 100,000-computer domain has 160,000 cells, which the template engine took a quarter of
/// the page's time to render one by one. Iterated, it is a list of the cells (as templates
/// written before hvaudit built the markup read it), converted only when a template asks.
#[derive(Debug)]
pub(super) struct GridCells(Vec<GridCell>);

impl GridCells {
    /// Appends the row's markup to `out`.
    pub(super) fn write_markup(&self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        for c in &self.0 {
            out.write_str("<td class=\"c ")?;
            out.write_str(c.state)?;
            out.write_str("\" title=\"")?;
            super::escape_value(out, &c.reasons)?;
            out.write_str("\" tabindex=\"0\">")?;
            out.write_str(c.mark)?;
            out.write_str("</td>")?;
        }
        Ok(())
    }
}

impl minijinja::value::Object for GridCells {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        let c = self.0.get(key.as_usize()?)?;
        Some(minijinja::Value::from(minijinja::value::Serde(c)))
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Seq(self.0.len())
    }
}

#[derive(Serialize)]
struct BlockedPair<'a> {
    from: &'a str,
    to: &'a str,
    reasons: String,
}

/// The page's view of `data`; `causes` is [`super::super::causes::shared_causes`] of its
/// findings (computed once for the view and the [`details`] blob).
pub(super) fn view<'a>(
    data: &'a ReportData,
    causes: &[super::super::causes::Cause],
) -> PageView<'a> {
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
    let cause_of = cause_index(data, causes);
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
fn cause_index(data: &ReportData, causes: &[super::super::causes::Cause]) -> Vec<Option<usize>> {
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
                super::super::InventoryStatus::Read => "read",
                super::super::InventoryStatus::Error => "unreachable",
                super::super::InventoryStatus::Missing => "no row",
                super::super::InventoryStatus::NotSupplied => "no inventory",
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
            .map(|from| {
                let cells = g
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
                    .collect();
                GridRow {
                    host: from,
                    cells: minijinja::Value::from_object(GridCells(cells)),
                }
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
pub(super) struct Details<'a> {
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

pub(super) fn details<'a>(
    data: &'a ReportData,
    causes: &[super::super::causes::Cause],
) -> Details<'a> {
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
    let cause_of = cause_index(data, causes);
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
        causes: causes.iter().map(|c| c.members.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::{GridCell, GridCells};

    #[test]
    fn a_cell_escapes_its_reasons_as_the_template_does() {
        let cells = GridCells(vec![GridCell {
            state: "blocked",
            mark: "\u{2717}",
            reasons: "HV\"01 -> <b>&x\u{202e}: BLOCKED".into(),
        }]);
        let mut out = String::new();
        cells.write_markup(&mut out).unwrap();
        assert_eq!(
            out,
            "<td class=\"c blocked\" title=\"HV&quot;01 -&gt; &lt;b&gt;&amp;x[U+202E]: BLOCKED\" \
             tabindex=\"0\">\u{2717}</td>"
        );
    }
}
