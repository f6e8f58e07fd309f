//! Comparing two scans: which findings are new, which persist, which were resolved.
//! Identity is [`Finding::key`] (rule, object, target; case-insensitive).

use serde::{Deserialize, Serialize};

use crate::findings::Finding;

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
    let d = crate::diff::diff(old, current);
    crate::diff::mark_previous(current, old);
    DiffSummary {
        previous: previous.to_string(),
        new: d.new.len(),
        unchanged: d.unchanged.len(),
        resolved: d.resolved,
    }
}
