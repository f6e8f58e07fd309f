//! Findings: what rules produce and every report consumes. This is the contract between the
//! rules stage and the reports stage; the JSON report serialises these types.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};

/// How bad a finding is, lowest first (so `>=` means "at least as severe"). The lower-case
/// names are the one spelling everywhere: JSON and CSV (serde), `--fail-on` and the rule and
/// configuration files (clap's [`clap::ValueEnum`], case-insensitive where read from text).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
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

    /// `s` as a severity name, case-insensitively (`High` is `high`); `None` for anything else.
    pub fn parse(s: &str) -> Option<Severity> {
        <Severity as clap::ValueEnum>::from_str(s, true).ok()
    }
}

/// What a rule is evaluated over. Spelled in snake case everywhere (`host_pair`): serde for
/// JSON, clap's [`clap::ValueEnum`] for a rule file's `scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
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

/// One finding. Serialised (findings.json, findings.ndjson, diff.json) with its [`Finding::id`]
/// first and its evidence typed ([`TypedEvidence`]); `id` is recomputed, not read, when a
/// report is read back.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "FindingIn")]
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
    /// Attribute values that triggered the finding, by name, as text (a list joined with
    /// `, `). Written to JSON typed ([`TypedEvidence`]); read back from either form.
    pub evidence: BTreeMap<String, String>,
    /// The evidence values that are lists (msDS-AllowedToDelegateTo, peers, privileged_via,
    /// gaps...), item by item, by the same names as in `evidence`: JSON writes these as
    /// arrays, since a joined value is ambiguous when an item contains `, `. Empty for
    /// findings read from reports written before lists were typed (schema 1 and 2).
    pub evidence_lists: BTreeMap<String, Vec<String>>,
    /// PowerShell that fixes it (reviewable; hvaudit never runs it).
    pub remediation: Option<String>,
    #[serde(default)]
    pub status: Status,
    /// Justification of the suppression that matched, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<String>,
    /// With `--previous`: when a finding with the same [`Finding::id`] was first seen (carried
    /// from the previous report, else this scan's time), UTC. None without `--previous`.
    #[serde(default)]
    pub first_seen: Option<DateTime<Utc>>,
}

/// The evidence whose value groups findings with one cause ([`Finding::cause_path`]).
pub const CAUSE_EVIDENCE: &str = "privileged_via";

/// How a [`Finding`] is read back: every field as written, evidence in any schema's form.
#[derive(Deserialize)]
struct FindingIn {
    rule_id: String,
    severity: Severity,
    title: String,
    scope: Scope,
    object: String,
    object_dn: Option<String>,
    target: Option<String>,
    group: Option<String>,
    message: String,
    evidence: BTreeMap<String, EvidenceIn>,
    remediation: Option<String>,
    #[serde(default)]
    status: Status,
    #[serde(default)]
    suppression: Option<String>,
    #[serde(default)]
    first_seen: Option<DateTime<Utc>>,
}

/// One evidence value as any schema wrote it: a string (schema 1), a boolean or a number
/// (schema 2), an array of strings (schema 3, a list).
#[derive(Deserialize)]
#[serde(untagged)]
enum EvidenceIn {
    Text(String),
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    List(Vec<String>),
}

impl From<FindingIn> for Finding {
    fn from(f: FindingIn) -> Finding {
        let mut evidence = BTreeMap::new();
        let mut evidence_lists = BTreeMap::new();
        for (k, v) in f.evidence {
            let text = match v {
                EvidenceIn::Text(s) => s,
                EvidenceIn::Bool(b) => b.to_string(),
                EvidenceIn::Int(n) => n.to_string(),
                EvidenceIn::Uint(n) => n.to_string(),
                // Never written by hvaudit; serde_json's shortest form.
                EvidenceIn::Float(x) => x.to_string(),
                EvidenceIn::List(items) => {
                    let joined = items.join(", ");
                    evidence_lists.insert(k.clone(), items);
                    joined
                }
            };
            evidence.insert(k, text);
        }
        Finding {
            rule_id: f.rule_id,
            severity: f.severity,
            title: f.title,
            scope: f.scope,
            object: f.object,
            object_dn: f.object_dn,
            target: f.target,
            group: f.group,
            message: f.message,
            evidence,
            evidence_lists,
            remediation: f.remediation,
            status: f.status,
            suppression: f.suppression,
            first_seen: f.first_seen,
        }
    }
}

/// The serialised form of a [`Finding`]: its fields borrowed, `id` first, evidence typed.
#[derive(Serialize)]
struct FindingOut<'a> {
    id: String,
    rule_id: &'a str,
    severity: Severity,
    title: &'a str,
    scope: Scope,
    object: &'a str,
    object_dn: Option<&'a str>,
    target: Option<&'a str>,
    group: Option<&'a str>,
    message: &'a str,
    evidence: TypedEvidence<'a>,
    remediation: Option<&'a str>,
    status: &'a Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppression: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_seen: Option<DateTime<Utc>>,
    /// Shared by the findings of one cause ([`Finding::cause`]).
    cause: String,
}

impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        FindingOut {
            id: self.id(),
            rule_id: &self.rule_id,
            severity: self.severity,
            title: &self.title,
            scope: self.scope,
            object: &self.object,
            object_dn: self.object_dn.as_deref(),
            target: self.target.as_deref(),
            group: self.group.as_deref(),
            message: &self.message,
            evidence: TypedEvidence(&self.evidence, &self.evidence_lists),
            remediation: self.remediation.as_deref(),
            status: &self.status,
            suppression: self.suppression.as_deref(),
            first_seen: self.first_seen,
            cause: self.cause(),
        }
        .serialize(s)
    }
}

/// Evidence with its lists as JSON arrays of strings (the second map, by name), and its
/// booleans and numbers as JSON types: a value that is `true` or `false`
/// (any case: PowerShell writes `True`) becomes a JSON boolean, a decimal integer in canonical
/// form (no sign but `-`, no leading zero, within i64) a JSON number; everything else stays
/// the string it was. Reading back turns a boolean into `true`/`false` and a number into its
/// decimal text, so every value but a boolean's capitalisation round-trips exactly.
pub struct TypedEvidence<'a>(
    pub &'a BTreeMap<String, String>,
    pub &'a BTreeMap<String, Vec<String>>,
);

/// One evidence value as it is written to JSON (see [`TypedEvidence`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EvidenceValue<'a> {
    Bool(bool),
    Int(i64),
    Text(Cow<'a, str>),
    /// A list evidence value, item by item (never typed further: items are text).
    List(Vec<Cow<'a, str>>),
}

impl EvidenceValue<'_> {
    pub fn of(v: &str) -> EvidenceValue<'_> {
        if v.eq_ignore_ascii_case("true") {
            EvidenceValue::Bool(true)
        } else if v.eq_ignore_ascii_case("false") {
            EvidenceValue::Bool(false)
        } else if let Some(n) = v.parse::<i64>().ok().filter(|n| n.to_string() == v) {
            EvidenceValue::Int(n)
        } else {
            EvidenceValue::Text(Cow::Borrowed(v))
        }
    }
}

impl Serialize for TypedEvidence<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| match self.1.get(k) {
            Some(items) => (
                k,
                EvidenceValue::List(items.iter().map(|i| i.into()).collect()),
            ),
            None => (k, EvidenceValue::of(v)),
        }))
    }
}

impl Finding {
    /// Stable identity of a finding across scans, for tools (`id` in findings.json): 32
    /// lower-case hex digits, the first 128 bits of SHA-256 (FIPS 180-4) over the rule id, the
    /// object's key and the target. The object's key is its DN compared as the directory
    /// compares DNs ([`crate::model::dn::DnKey`]: case, spacing and escapes do not matter), or
    /// its name lower-cased when the finding has no DN; the target is lower-cased. So the same
    /// finding has the same id in the next scan, whatever order the directory returned objects
    /// in, and a reworded message, a changed severity or new evidence do not change it.
    pub fn id(&self) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        // Fields separated by NUL, which no DN key, name or SPN contains unescaped; the
        // version tag lets a future change of the recipe never collide with these ids.
        ctx.update(b"hvaudit-finding-id-1\0");
        ctx.update(self.rule_id.to_ascii_uppercase().as_bytes());
        ctx.update(b"\0");
        match &self.object_dn {
            Some(dn) => {
                ctx.update(b"dn\0");
                ctx.update(crate::model::dn::DnKey::of(dn).as_str().as_bytes());
            }
            None => {
                ctx.update(b"name\0");
                ctx.update(self.object.to_lowercase().as_bytes());
            }
        }
        ctx.update(b"\0");
        ctx.update(
            self.target
                .as_deref()
                .unwrap_or("")
                .to_lowercase()
                .as_bytes(),
        );
        let digest = ctx.finish();
        hex(&digest.as_ref()[..16])
    }

    /// The nesting path a finding shares with others of its rule, when it has one: its
    /// `privileged_via` evidence (PA001: "Account Operators via Helpdesk", lists joined with
    /// ", ") when every privilege it lists comes through a nested group (each part holds
    /// " via "). Such accounts are exposed by the nesting, so one change at the group fixes
    /// them all. None for anything else (a direct member is its own cause).
    pub fn cause_path(&self) -> Option<&str> {
        let via = self.evidence.get(CAUSE_EVIDENCE)?;
        (!via.is_empty() && via.split(", ").all(|part| part.contains(" via "))).then_some(via)
    }

    /// What groups findings with one cause (`cause` in findings.json): 32 lower-case hex
    /// digits, SHA-256 (FIPS 180-4) over the rule id and [`Finding::cause_path`] when the
    /// finding has one, else its own [`Finding::id`]. Findings with the same cause are fixed
    /// together; a finding alone has a cause of its own.
    pub fn cause(&self) -> String {
        let Some(path) = self.cause_path() else {
            return self.id();
        };
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"hvaudit-cause-1\0");
        ctx.update(self.rule_id.to_ascii_uppercase().as_bytes());
        ctx.update(b"\0");
        ctx.update(path.as_bytes());
        hex(&ctx.finish().as_ref()[..16])
    }

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

/// `bytes` as lower-case hexadecimal, two digits a byte.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// The three states of a readiness verdict: blocked as soon as one known fact blocks it, ready
/// only when every fact that decides it is known and fine, unknown otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessState {
    Ready,
    Blocked,
    #[default]
    Unknown,
}

impl ReadinessState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadinessState::Ready => "ready",
            ReadinessState::Blocked => "blocked",
            ReadinessState::Unknown => "unknown",
        }
    }

    /// Blocked when anything blocks; ready only with nothing unknown.
    pub fn decide(blocked: bool, unknown: bool) -> ReadinessState {
        if blocked {
            ReadinessState::Blocked
        } else if unknown {
            ReadinessState::Unknown
        } else {
            ReadinessState::Ready
        }
    }
}

/// Readiness of one ordered pair when the operator addresses the destination by one name form:
/// Kerberos requests the destination's SPNs in exactly the form typed (MS-SFU 3.2.5.2.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormReadiness {
    /// `netbios`, `fqdn` or `cn` (borrowed when built by the audit: no allocation per cell).
    pub form: Cow<'static, str>,
    /// The destination's name in that form; None when the directory does not hold it (a host
    /// without dNSHostName has no known FQDN).
    pub name: Option<String>,
    pub state: ReadinessState,
    /// Rule ids of the findings that block this form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocking_rules: Vec<String>,
    /// What could not be known about this form alone (the pair's own unknowns, which apply to
    /// every form, are in the cell's `unknown`), one sentence each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

/// Live-migration readiness of one ordered host pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadinessCell {
    pub from: String,
    pub to: String,
    /// True exactly when `state` is `ready`.
    pub ready: bool,
    /// `ready` when some name form is ready (see `ready_forms`), else `unknown` when some form
    /// is undecided, else `blocked`.
    #[serde(default)]
    pub state: ReadinessState,
    /// The name forms (`netbios`, `fqdn`) under which the migration works.
    #[serde(default)]
    pub ready_forms: Vec<Cow<'static, str>>,
    /// Same failover cluster: no KCD needed.
    pub same_cluster: bool,
    /// Rule ids of the findings that block this pair under some form that is not ready.
    pub blocking_rules: Vec<String>,
    /// Human-readable reasons, one per blocking finding.
    pub reasons: Vec<String>,
    /// What could not be known about the pair (missing inventory rows, gaps touching either
    /// host, a destination FQDN the directory does not hold).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    /// Per name form, only when the forms differ (in state, blockers or unknowns); empty when
    /// every form has the cell's `state` and blockers, which `ready_forms` then completes. At
    /// 150,000 pairs the uniform case would triple the readiness section and its memory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forms: Vec<FormReadiness>,
}

/// True when no form says more than the cell: one state, the same blockers, no unknown of its
/// own.
pub fn forms_are_uniform(forms: &[FormReadiness]) -> bool {
    forms
        .windows(2)
        .all(|w| w[0].state == w[1].state && w[0].blocking_rules == w[1].blocking_rules)
        && forms.iter().all(|f| f.unknown.is_empty())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupReadiness {
    pub group: String,
    pub hosts: Vec<String>,
    /// Ordered pairs, from != to; hosts.len() * (hosts.len() - 1) cells.
    pub cells: Vec<ReadinessCell>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    /// The hand-written `&'static str` names (what reports print) are the derived ones (what
    /// `--fail-on` and the rule files accept), and each reads back as itself.
    #[test]
    fn written_names_are_the_parsed_names() {
        for s in Severity::value_variants() {
            let name = s.to_possible_value().unwrap();
            assert_eq!(s.as_str(), name.get_name());
            assert_eq!(Severity::parse(s.as_str()), Some(*s));
            assert_eq!(Severity::parse(&s.as_str().to_uppercase()), Some(*s));
        }
        assert_eq!(Severity::parse("severe"), None);
        for s in Scope::value_variants() {
            let name = crate::rules::model::scope_name(*s);
            assert_eq!(name, s.to_possible_value().unwrap().get_name());
            assert_eq!(crate::rules::model::parse_scope(name), Some(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), name);
        }
        assert_eq!(crate::rules::model::parse_scope("HOST"), None);
    }
}
