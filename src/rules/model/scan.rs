//! Scope `scan`: the variables every scope sees (`scan.*`) and the view they are built from.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::analysis::Analysis;

use super::{VarDoc, fmt_time, v};

/// The `scan.*` variables, visible in every scope.
pub const VARS: &[VarDoc] = &[
    v("scan.domain", "string", "DNS name of the domain"),
    v("scan.source_kind", "string", "`ldap` or `ldif`"),
    v("scan.source", "string", "server URL or LDIF path"),
    v(
        "scan.collected_at",
        "time",
        "when the snapshot was collected",
    ),
    v("scan.now", "time", "the audit's clock"),
    v(
        "scan.complete",
        "bool",
        "no gaps and no inventory row with an error",
    ),
    v(
        "scan.gaps",
        "list",
        "everything the collector could not read",
    ),
    v("scan.gaps[].what", "string", "what could not be read"),
    v("scan.gaps[].reason", "string", "why"),
    v(
        "scan.inventory_supplied",
        "bool",
        "a host inventory was given",
    ),
    v("scan.inventory_source", "string|none", "the inventory file"),
    v(
        "scan.inventory_errors",
        "list",
        "inventory rows the collector could not read",
    ),
    v(
        "scan.inventory_errors[].host",
        "string",
        "ComputerName of the row",
    ),
    v(
        "scan.inventory_errors[].error",
        "string",
        "the row's Error column",
    ),
    v(
        "scan.tls_verification_disabled",
        "bool",
        "the LDAP scan did not verify the certificate",
    ),
    v(
        "scan.notes",
        "list of string",
        "facts that are not findings (host in no group, unknown configured names...)",
    ),
    v(
        "scan.functional_level",
        "int|none",
        "domain functional level (msDS-Behavior-Version of the domain: 6 = 2012 R2, 7 = 2016)",
    ),
    v("scan.host_count", "int", "Hyper-V hosts found"),
    v(
        "scan.confirmed_host_count",
        "int",
        "hosts an administrator confirmed (`host.confirmed`)",
    ),
    v("scan.group_count", "int", "migration groups"),
];

#[derive(Debug, Clone, Serialize)]
pub struct GapView {
    pub what: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InventoryErrorView {
    pub host: String,
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanView {
    pub domain: String,
    pub source_kind: String,
    pub source: String,
    pub collected_at: String,
    pub now: String,
    pub complete: bool,
    pub gaps: Vec<GapView>,
    pub inventory_supplied: bool,
    pub inventory_source: Option<String>,
    pub inventory_errors: Vec<InventoryErrorView>,
    pub tls_verification_disabled: bool,
    pub notes: Vec<String>,
    pub functional_level: Option<u32>,
    pub host_count: usize,
    pub confirmed_host_count: usize,
    pub group_count: usize,
}

pub fn scan_view(a: &Analysis, now: DateTime<Utc>) -> ScanView {
    let s = a.snapshot;
    ScanView {
        domain: s.domain.dns_name.clone(),
        source_kind: s.meta.source_kind.clone(),
        source: s.meta.source.clone(),
        collected_at: fmt_time(&s.meta.collected_at),
        now: fmt_time(&now),
        complete: a.complete(),
        gaps: s
            .meta
            .gaps
            .iter()
            .map(|g| GapView {
                what: g.what.clone(),
                reason: g.reason.clone(),
            })
            .collect(),
        inventory_supplied: a.inventory.is_some(),
        inventory_source: a.inventory.map(|i| i.source.clone()),
        inventory_errors: a
            .inventory_errors
            .iter()
            .map(|(h, e)| InventoryErrorView {
                host: h.clone(),
                error: e.clone(),
            })
            .collect(),
        tls_verification_disabled: s.meta.tls_verification_disabled,
        notes: a.notes.clone(),
        functional_level: s.domain.functional_level,
        host_count: a.hosts.len(),
        confirmed_host_count: a.hosts.iter().filter(|h| h.confirmed()).count(),
        group_count: a.groups.len(),
    }
}
