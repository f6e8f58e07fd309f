//! Findings with one cause: the PA001 findings of 1,600 accounts that are privileged only
//! because their group is nested in a privileged group are one problem with one fix at the
//! group. The key is [`Finding::cause`] (the rule and its `privileged_via` evidence, when every
//! privilege it lists comes through a nested group); the reports show such findings as one
//! entry (HTML table and fix-first, terminal) and findings.json gives each finding its `cause`.

use std::collections::HashMap;

use crate::findings::{Finding, Severity};

/// Findings of one rule that share a cause ([`Finding::cause`]): at least two of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// [`Finding::cause`] of every member.
    pub key: String,
    pub rule_id: String,
    /// The members' highest severity (a configuration may not change one rule's severity per
    /// finding, but a report read back may hold anything).
    pub severity: Severity,
    /// The shared nesting path as the evidence says it (`Account Operators via Helpdesk`).
    pub path: String,
    /// Indices into the report's findings, in report order.
    pub members: Vec<usize>,
}

impl Cause {
    /// The fix at the group, in one line ([`group_fix`]).
    pub fn fix(&self) -> String {
        group_fix(&self.path)
    }
}

/// The causes shared by two or more of `findings`, in the order of their first member.
/// O(findings); suppressed findings count like the others (the HTML shows them inside).
pub fn shared_causes(findings: &[Finding]) -> Vec<Cause> {
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut all: Vec<Cause> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let Some(path) = f.cause_path() else { continue };
        let key = f.cause();
        match at.get(&key) {
            Some(&c) => {
                let c = &mut all[c];
                c.members.push(i);
                c.severity = c.severity.max(f.severity);
            }
            None => {
                at.insert(key.clone(), all.len());
                all.push(Cause {
                    key,
                    rule_id: f.rule_id.clone(),
                    severity: f.severity,
                    path: path.to_string(),
                    members: vec![i],
                });
            }
        }
    }
    all.retain(|c| c.members.len() >= 2);
    all
}

/// The group fix of a nesting path, in words: the path's last part names the group holding the
/// accounts and the group it is nested in (`Domain Admins via T0-Admins > T0-L2` -> group
/// `T0-L2`, nested in `T0-Admins`). Removing that one membership, or protecting the group's
/// members, fixes every finding of the cause. The names are RDN values as the evidence shows
/// them (attacker-controlled text: each renderer escapes it like any directory value).
pub fn group_fix(path: &str) -> String {
    // Parts are joined with ", " (rules::engine evidence lists); the last one is as good as any:
    // every part leads to the same accounts, and the grouping needs each part to go "via".
    let last = path.rsplit(", ").next().unwrap_or(path);
    let Some((privileged, nested)) = last.split_once(" via ") else {
        return format!("Fix at the group: {path}");
    };
    let groups: Vec<&str> = nested.split(" > ").collect();
    let holder = groups.last().copied().unwrap_or(nested);
    let parent = if groups.len() >= 2 {
        groups[groups.len() - 2]
    } else {
        privileged
    };
    format!(
        "Fix at the group {holder}: if its members need not be privileged, remove {holder} from \
         {parent}; otherwise protect them all (add {holder} to Protected Users, or mark each \
         account sensitive and cannot be delegated)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fix_names_the_holding_group_and_its_parent() {
        assert_eq!(
            group_fix("Account Operators via Helpdesk"),
            "Fix at the group Helpdesk: if its members need not be privileged, remove Helpdesk \
             from Account Operators; otherwise protect them all (add Helpdesk to Protected \
             Users, or mark each account sensitive and cannot be delegated)"
        );
        let f = group_fix(
            "Administrators via Domain Admins > T0-Admins > T0-L2, Domain Admins via T0-Admins > T0-L2",
        );
        assert!(f.starts_with("Fix at the group T0-L2: "), "{f}");
        assert!(f.contains("remove T0-L2 from T0-Admins;"), "{f}");
    }
}
