//! Comparing two scans: which findings are new, which persist, which were resolved.
//! Identity is [`Finding::key`] (rule, object, target; case-insensitive).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::findings::{Finding, Status};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffSummary {
    /// What the current scan was compared with (the previous JSON report's path).
    pub previous: String,
    /// Current findings absent from the previous scan.
    pub new: usize,
    /// Current findings present in the previous scan too.
    pub unchanged: usize,
    /// Previous findings absent from the current scan: fixed, or the object is gone.
    pub resolved: Vec<Finding>,
}

/// Marks each current finding `Existing` when the previous scan had it (suppressed findings
/// keep `Suppressed`: the suppression is the more important fact) and lists the resolved ones.
pub fn diff_findings(previous: &str, old: &[Finding], current: &mut [Finding]) -> DiffSummary {
    let old_keys: HashSet<String> = old.iter().map(Finding::key).collect();
    let current_keys: HashSet<String> = current.iter().map(Finding::key).collect();
    let (mut new, mut unchanged) = (0, 0);
    for f in current.iter_mut() {
        if old_keys.contains(&f.key()) {
            unchanged += 1;
            if f.status == Status::Open {
                f.status = Status::Existing;
            }
        } else {
            new += 1;
        }
    }
    let resolved = old
        .iter()
        .filter(|f| !current_keys.contains(&f.key()))
        .cloned()
        .collect();
    DiffSummary {
        previous: previous.to_string(),
        new,
        unchanged,
        resolved,
    }
}
