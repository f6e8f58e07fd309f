//! Completeness, decided once: which gaps make a run incomplete. `scan`, `audit`, `check` and
//! `remediate` all take their verdict (exit 3, the SC001 warning, the report's "incomplete"
//! banner) from here, so no command can call complete what another calls incomplete.

use crate::config::Config;
use crate::inventory::HostInventory;
use crate::model::{Gap, Snapshot};
use crate::rules::EvalError;

/// The gaps of a run beyond the snapshot's own (`snapshot.meta.gaps`), in this order:
///
/// - a rule that failed to evaluate on an object (its verdict there is unknown);
/// - a configured privileged group (`extra_privileged_groups`) the snapshot does not hold (a
///   snapshot collected without this configuration): its members were never resolved, so PA001
///   cannot be judged for them;
/// - an inventory row the PowerShell collector could not read: that host's settings are
///   unknown.
pub fn run_gaps(
    snapshot: &Snapshot,
    inventory: Option<&HostInventory>,
    config: &Config,
    errors: &[EvalError],
) -> Vec<Gap> {
    let mut gaps: Vec<Gap> = errors
        .iter()
        .map(|e| {
            Gap::on(
                &e.object,
                format!("rule {} on {}", e.rule_id, e.object),
                &e.message,
            )
        })
        .collect();
    for sid in &config.extra_privileged_groups {
        if !snapshot.groups.iter().any(|g| g.sid.as_ref() == Some(sid)) {
            gaps.push(Gap::new(
                format!("configured privileged group {sid}"),
                "not in the snapshot (absent from the directory, or collected without this \
                 --config): its members were not resolved",
            ));
        }
    }
    for h in inventory.iter().flat_map(|i| &i.hosts) {
        if let Some(err) = &h.error {
            // Readiness judges an unread row by its host's settings (`host_setting_unknowns`),
            // not as a gap touching hosts: no object here.
            gaps.push(Gap::new(
                format!("inventory host {}", h.computer_name),
                err.clone(),
            ));
        }
    }
    gaps
}

/// True when nothing was left unread: neither the snapshot nor the run ([`run_gaps`]) has a
/// gap. Anything else proves nothing about compliance (SC001, exit 3).
pub fn is_complete(snapshot: &Snapshot, run_gaps: &[Gap]) -> bool {
    snapshot.is_complete() && run_gaps.is_empty()
}
