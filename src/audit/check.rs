//! The go / no-go check of one migration (`hvaudit check --from A --to B [--operator USER]`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::analysis::{AccountIdx, Analysis, HostIdx};
use crate::config::Config;
use crate::findings::{Finding, ReadinessState, Severity};
use crate::inventory::{HostInventory, MigrationAuth};
use crate::model::Snapshot;
use crate::rules::{EvalError, RuleError, RuleSet};

use super::readiness::{PairUnknowns, form_unknown};
use super::{Evaluator, sort_findings};

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("'{0}' is not a Hyper-V host (NetBIOS name, FQDN or CN expected)")]
    UnknownHost(String),
    #[error(
        "'{0}' is outside this directory (its DNS suffix is not {1}): classic constrained \
         delegation does not cross domains; audit that domain, and use resource-based \
         delegation (RBCD) on the destination for migrations across domains"
    )]
    OutsideDomain(String, String),
    #[error(
        "'{0}' is only in the host inventory, not in the directory: its delegation cannot be checked"
    )]
    NotInDirectory(String),
    #[error("--from and --to name the same host ({0})")]
    SameHost(String),
    #[error("operator '{0}' is not an account in the directory")]
    UnknownOperator(String),
    #[error(transparent)]
    Rules(#[from] RuleError),
}

/// One reason a migration is blocked, with its fix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReason {
    pub rule_id: String,
    pub severity: Severity,
    pub message: String,
    pub remediation: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairCheck {
    /// Host names as the directory has them.
    pub from: String,
    pub to: String,
    /// The destination's name as given, and its form (`netbios`, `fqdn`, `cn`): Kerberos asks
    /// for the SPNs in exactly that form.
    pub to_addressed_as: String,
    pub form: String,
    pub operator: Option<String>,
    /// GO (ready), NO-GO (blocked) or UNKNOWN.
    pub state: ReadinessState,
    /// True exactly when `state` is ready.
    pub ready: bool,
    /// Same failover cluster: ready without KCD.
    pub same_cluster: bool,
    /// Every blocking finding, highest severity first.
    pub reasons: Vec<CheckReason>,
    /// What could not be known (when nothing blocks, these make the verdict UNKNOWN).
    pub unknown: Vec<String>,
    /// False when the scan, the inventory or a rule left something unread anywhere
    /// ([`super::completeness::is_complete`]; the verdict accounts for the gaps that touch the
    /// two hosts).
    pub complete: bool,
    /// Every finding about the two hosts, the pair and the operator (blocking or not).
    pub findings: Vec<Finding>,
    pub errors: Vec<EvalError>,
}

/// The host `name` designates, and the name form it is written in.
fn resolve_addressed(a: &Analysis, name: &str) -> Option<(HostIdx, &'static str)> {
    let n = name.trim();
    if let Some(h) = a.host(n) {
        let host = &a.hosts[h];
        let key = n.strip_suffix('$').unwrap_or(n);
        let form = if host
            .fqdn
            .as_deref()
            .is_some_and(|f| f.eq_ignore_ascii_case(key))
        {
            "fqdn"
        } else if host.name.eq_ignore_ascii_case(key) {
            "netbios"
        } else if key.contains('.') {
            // Resolved as <name>.<domain> for a host without dNSHostName.
            "fqdn"
        } else {
            "netbios"
        };
        return Some((h, form));
    }
    a.hosts
        .iter()
        .position(|h| {
            h.dn.as_deref()
                .is_some_and(|dn| crate::model::dn::first_rdn_is(dn, "cn", n))
        })
        .map(|h| (HostIdx::new(h), "cn"))
}

/// Source host `f` live-migrates with CredSSP by its (readable) inventory row
/// (VirtualMachineMigrationAuthenticationType, rule HV011).
pub(super) fn uses_credssp(a: &Analysis, f: HostIdx) -> bool {
    a.hosts[f]
        .inventory
        .and_then(|r| a.inventory?.hosts.get(r))
        .is_some_and(|r| r.error.is_none() && r.authentication_type == Some(MigrationAuth::CredSSP))
}

/// Why a migration from a CredSSP source is UNKNOWN although its delegation may be in place.
pub(super) fn credssp_unknown(from: &str, remote: bool) -> String {
    format!(
        "{from} live-migrates with CredSSP (host inventory, HV011): the migration does not use \
         the Kerberos constrained delegation checked here; it works only when started in a \
         session on {from} (an operator logged on to {from}){}, and fails while Credential \
         Guard runs on {from} (the Windows Server 2025 default); hvaudit cannot know how it \
         will be started. Set {from} to Kerberos for a verdict on the delegation",
        if remote {
            ", not remotely (HV011 is disabled, so this is not reported as blocking)"
        } else {
            ", not when started remotely"
        }
    )
}

/// `name` trimmed, without one trailing root dot (`hv02.corp.example.` -> `hv02.corp.example`),
/// and whether it had one. `.` alone or a name ending in `..` keeps its dots (not a DNS name).
fn strip_root_dot(name: &str) -> (&str, bool) {
    let n = name.trim();
    match n.strip_suffix('.') {
        Some(s) if !s.is_empty() && !s.ends_with('.') => (s, true),
        _ => (n, false),
    }
}

/// Why a destination addressed by an absolute DNS name (trailing dot) is UNKNOWN: the
/// client may request the SPNs with the dot, and the KDC matches the whole requested SPN
/// against each stored value (MS-SFU 3.2.5.2.2), none of which is written that way; whether
/// the dot is dropped before the ticket request is not something the directory tells.
fn absolute_name_unknown(given: &str, stripped: &str) -> String {
    format!(
        "'{given}' is an absolute DNS name (trailing dot): the client may request \
         'Microsoft Virtual System Migration Service/{given}' and 'cifs/{given}' with the dot, \
         and the KDC matches the whole SPN against each msDS-AllowedToDelegateTo value \
         (MS-SFU 3.2.5.2.2), so that works only for values written with the dot; whether \
         the client drops the dot first is not known. The checks above hold for \
         '{stripped}': address the host without the dot"
    )
}

/// The error for a name that designates no Hyper-V host: outside the domain, or unknown.
fn unknown_host_error(a: &Analysis, name: &str) -> CheckError {
    if a.index.external_domain(strip_root_dot(name).0).is_some() {
        return CheckError::OutsideDomain(name.to_string(), a.index.domain_dns().to_string());
    }
    CheckError::UnknownHost(name.to_string())
}

/// Go / no-go / unknown for migrating `from` -> `to` (NetBIOS names, FQDNs or CNs,
/// case-insensitive; `to` in the form the operator will type), started remotely by `operator`
/// if given. Works for any two Hyper-V hosts, grouped or not. Blocked as soon as one known fact
/// blocks it; ready only when every fact that decides it is known.
#[allow(clippy::too_many_arguments)]
pub fn check_pair(
    snapshot: &Snapshot,
    inventory: Option<&HostInventory>,
    config: &Config,
    rules: &RuleSet,
    now: DateTime<Utc>,
    from: &str,
    to: &str,
    operator: Option<&str>,
) -> Result<PairCheck, CheckError> {
    let a = Analysis::build(snapshot, inventory, config);
    let resolve = |n: &str| -> Result<(HostIdx, &'static str), CheckError> {
        let (h, form) = resolve_addressed(&a, n).ok_or_else(|| unknown_host_error(&a, n))?;
        if !a.hosts[h].in_directory() {
            return Err(CheckError::NotInDirectory(n.to_string()));
        }
        Ok((h, form))
    };
    // An absolute DNS name (`hv02.corp.example.`) designates the same host as the name
    // without its root dot; the directory stores names without it.
    let (from_name, _) = strip_root_dot(from);
    let (to_name, to_absolute) = strip_root_dot(to);
    let (f, _) = resolve(from_name)?;
    let (t, form) = resolve(to_name)?;
    if f == t {
        return Err(CheckError::SameHost(a.hosts[f].name.clone()));
    }
    let op = match operator {
        Some(o) => Some(
            snapshot
                .accounts
                .iter()
                .position(|x| x.sam_account_name.eq_ignore_ascii_case(o.trim()))
                .map(AccountIdx::new)
                .ok_or_else(|| CheckError::UnknownOperator(o.to_string()))?,
        ),
        None => None,
    };
    let compiled = rules.compile()?;
    let mut ev = Evaluator::new(&a, &compiled, now);
    if form == "cn" {
        ev.addressed_cn = Some((t, to_name.to_string()));
    }
    ev.scan();
    ev.host(f);
    ev.host(t);
    for &h in &[f, t] {
        for e in a.hosts[h].entries.clone() {
            ev.entry(e);
        }
    }
    let group = a.hosts[f]
        .group
        .filter(|g| a.hosts[t].group == Some(*g))
        .map(|g| a.groups[g].name.clone());
    ev.peer_pair(f, t, group.as_deref());
    if let Some(g) = a.hosts[f].group {
        for s in 0..a.groups[g].storage.len() {
            ev.storage_pair(f, g, s);
        }
    }
    if let Some(i) = op {
        ev.account(i, true);
    }
    let same_cluster = a.same_cluster(f, t);
    let op_name = op.map(|i| snapshot.accounts[i].sam_account_name.clone());
    let blocking = if same_cluster {
        Vec::new()
    } else {
        ev.blockers(0..ev.fired.len(), f, t, op_name.as_deref(), form)
    };
    let mut unknown = PairUnknowns::new(&a).pair(f, t);
    if !same_cluster {
        let name = match form {
            "fqdn" => a.hosts[t].fqdn.clone().or_else(|| {
                // Addressed as <name>.<domain>: the directory resolved it, the FQDN is known.
                Some(to_name.to_string())
            }),
            _ => Some(to_name.to_string()),
        };
        unknown.extend(form_unknown(&a, t, form, name.as_deref()));
        if to_absolute {
            unknown.push(absolute_name_unknown(to.trim(), to_name));
        }
        if let Some(i) = op {
            unknown.extend(a.operator_unknowns(i));
        }
    }
    let mut reasons: Vec<CheckReason> = blocking
        .iter()
        .map(|i| {
            let x = &ev.fired[*i].finding;
            CheckReason {
                rule_id: x.rule_id.clone(),
                severity: x.severity,
                message: x.message.clone(),
                remediation: x.remediation.clone(),
            }
        })
        .collect();
    if !same_cluster && uses_credssp(&a, f) {
        // A CredSSP migration does not use the delegation checked above: it works only when
        // started in a session on the source host (domain facts: Credential Guard
        // considerations). Started remotely by --operator it fails; otherwise hvaudit cannot
        // know how it will be started, so the delegation alone never makes it GO.
        let hv011 = ev
            .fired
            .iter()
            .map(|x| &x.finding)
            .find(|x| x.rule_id == "HV011" && x.object.eq_ignore_ascii_case(&a.hosts[f].name));
        match (&op_name, hv011) {
            (Some(_), Some(x)) if !reasons.iter().any(|r| r.rule_id == "HV011") => {
                reasons.push(CheckReason {
                    rule_id: x.rule_id.clone(),
                    severity: x.severity,
                    message: format!(
                        "{} Started remotely (--operator), the migration fails.",
                        x.message.trim_end()
                    ),
                    remediation: x.remediation.clone(),
                });
            }
            // HV012 (Credential Guard) already blocks every migration from it.
            _ if reasons.iter().any(|r| r.rule_id == "HV012") => {}
            _ => {
                // The pair's unknowns (readiness) already carry the generic text; a remote
                // start (--operator) replaces it with its own.
                let generic = credssp_unknown(&a.hosts[f].name, false);
                unknown.retain(|u| *u != generic);
                unknown.push(credssp_unknown(&a.hosts[f].name, op_name.is_some()));
            }
        }
    }
    reasons.sort_by(|x, y| y.severity.cmp(&x.severity).then(x.rule_id.cmp(&y.rule_id)));
    let state = ReadinessState::decide(!reasons.is_empty(), !unknown.is_empty());
    let mut findings: Vec<Finding> = ev.fired.into_iter().map(|x| x.finding).collect();
    sort_findings(&mut findings);
    Ok(PairCheck {
        from: a.hosts[f].name.clone(),
        to: a.hosts[t].name.clone(),
        to_addressed_as: to.trim().to_string(),
        form: form.to_string(),
        operator: op_name,
        state,
        ready: state == ReadinessState::Ready,
        same_cluster,
        reasons,
        unknown,
        complete: super::completeness::is_complete(
            snapshot,
            &super::completeness::run_gaps(snapshot, inventory, config, &ev.errors),
        ),
        findings,
        errors: ev.errors,
    })
}
