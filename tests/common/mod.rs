//! Handcrafted findings shared by the workflow tests (suppressions, diff, remediation).
#![allow(dead_code)] // each test crate uses a different subset

pub mod cli;

use std::collections::BTreeMap;

use hvaudit::findings::{Finding, Scope, Severity, Status};

pub fn finding(rule: &str, object: &str, target: Option<&str>) -> Finding {
    Finding {
        rule_id: rule.to_owned(),
        severity: Severity::High,
        title: format!("title of {rule}"),
        scope: Scope::Host,
        object: object.to_owned(),
        object_dn: Some(format!("CN={object},OU=Prod,OU=HyperV,DC=corp,DC=example")),
        target: target.map(str::to_owned),
        group: None,
        message: format!("{rule} on {object}"),
        evidence: BTreeMap::new(),
        evidence_lists: BTreeMap::new(),
        remediation: None,
        status: Status::Open,
        suppression: None,
        first_seen: None,
    }
}

pub fn with_remediation(mut f: Finding, ps: &str) -> Finding {
    f.remediation = Some(ps.to_owned());
    f
}
