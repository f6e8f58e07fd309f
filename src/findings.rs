//! Findings: what rules produce and every report consumes. This is the contract between the
//! rules stage and the reports stage; the JSON report serialises these types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// What a rule is evaluated over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Scan,
    Host,
    HostPair,
    DelegationEntry,
    Account,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not suppressed; with `--previous`, not in the previous scan either (or no previous scan).
    #[default]
    Open,
    /// Present in the previous scan too.
    Existing,
    /// Matched by a suppression that has not expired.
    Suppressed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    pub title: String,
    pub scope: Scope,
    /// The account or host the finding is about (sAMAccountName without `$` for hosts).
    pub object: String,
    pub object_dn: Option<String>,
    /// The peer, SPN or trustee it concerns, when it concerns one.
    pub target: Option<String>,
    /// Migration group, for host and host-pair findings.
    pub group: Option<String>,
    pub message: String,
    /// Attribute values that triggered the finding, by name.
    pub evidence: BTreeMap<String, String>,
    /// PowerShell that fixes it (reviewable; hvaudit never runs it).
    pub remediation: Option<String>,
    #[serde(default)]
    pub status: Status,
    /// Justification of the suppression that matched, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<String>,
}

impl Finding {
    /// Identity of a finding across scans: the same rule on the same object and target.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.rule_id,
            self.object.to_ascii_lowercase(),
            self.target.as_deref().unwrap_or("").to_ascii_lowercase()
        )
    }
}

/// Live-migration readiness of one ordered host pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadinessCell {
    pub from: String,
    pub to: String,
    pub ready: bool,
    /// Same failover cluster: no KCD needed.
    pub same_cluster: bool,
    /// Rule ids of the findings that block this pair.
    pub blocking_rules: Vec<String>,
    /// Human-readable reasons, one per blocking finding.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupReadiness {
    pub group: String,
    pub hosts: Vec<String>,
    /// Ordered pairs, from != to; hosts.len() * (hosts.len() - 1) cells.
    pub cells: Vec<ReadinessCell>,
}
