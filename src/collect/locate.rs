//! Finds the domain controllers of a DNS domain the way Windows' DC locator does: the SRV
//! records `_ldap._tcp.dc._msdcs.<domain>` (MS-ADTS 6.3.6.1.1; with a site,
//! `_ldap._tcp.<site>._sites.dc._msdcs.<domain>` first), ordered by priority and weight as
//! RFC 2782 says. The lookup uses the system's resolver configuration (`/etc/resolv.conf`)
//! through hickory-resolver. Nothing here trusts DNS: the TLS certificate or the Kerberos
//! service ticket must still name the DC that was found.

use std::time::Duration;

/// One SRV target: a DC's DNS name (no trailing dot) and the port it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub priority: u16,
    pub weight: u16,
    /// The SRV name it was found under.
    pub srv: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LocateError {
    #[error("--domain '{0}' is not a DNS domain name")]
    BadDomain(String),
    #[error("--site '{0}' is not a DNS label (letters, digits, hyphens)")]
    BadSite(String),
    #[error(
        "no domain controller found for {domain}: {reason} (hint: check the domain name and the \
         DNS server in /etc/resolv.conf; --server names a DC directly)"
    )]
    NotFound { domain: String, reason: String },
    #[error("cannot set up DNS resolution: {0}")]
    Resolver(String),
}

/// The SRV names to ask, in order.
pub fn srv_names(domain: &str, site: Option<&str>) -> Result<Vec<String>, LocateError> {
    let domain = domain.trim_end_matches('.');
    if !is_dns_name(domain) {
        return Err(LocateError::BadDomain(domain.to_string()));
    }
    let mut v = Vec::new();
    if let Some(site) = site {
        if !is_label(site) {
            return Err(LocateError::BadSite(site.to_string()));
        }
        v.push(format!("_ldap._tcp.{site}._sites.dc._msdcs.{domain}"));
    }
    v.push(format!("_ldap._tcp.dc._msdcs.{domain}"));
    Ok(v)
}

fn is_label(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && !l.starts_with('-')
        && !l.ends_with('-')
        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn is_dns_name(d: &str) -> bool {
    !d.is_empty() && d.len() <= 253 && d.split('.').all(is_label)
}

/// Orders targets as RFC 2782 says: ascending priority; within one priority, a weighted
/// random order (each pick chooses among the remaining targets with probability proportional
/// to weight, zero-weight targets first in line so they keep a small chance). `random` yields
/// numbers to draw from; a target of `.` ("no service here") is dropped, and so is a target
/// name that is not a DNS name (it comes from DNS, which anyone on the path may forge).
pub fn order(mut targets: Vec<Target>, random: &mut dyn FnMut() -> u64) -> Vec<Target> {
    targets.retain(|t| is_dns_name(&t.host));
    targets.sort_by_key(|t| t.priority);
    let mut out = Vec::with_capacity(targets.len());
    let mut rest = targets.as_slice();
    while let Some(first) = rest.first() {
        let n = rest
            .iter()
            .take_while(|t| t.priority == first.priority)
            .count();
        let (same, tail) = rest.split_at(n);
        let mut pool: Vec<Target> = same.to_vec();
        // Zero weights first (RFC 2782: "arrange all SRV RRs ... in any order, except that all
        // those with weight 0 are placed at the beginning of the list").
        pool.sort_by_key(|t| t.weight != 0);
        while !pool.is_empty() {
            let total: u64 = pool.iter().map(|t| u64::from(t.weight)).sum();
            let pick = random() % (total + 1);
            let mut running = 0u64;
            let idx = pool
                .iter()
                .position(|t| {
                    running += u64::from(t.weight);
                    running >= pick
                })
                .unwrap_or(0);
            out.push(pool.remove(idx));
        }
        rest = tail;
    }
    // One name may be listed under both SRV names: try it once, where it first appears.
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| seen.insert((t.host.to_ascii_lowercase(), t.port)));
    out
}

/// Looks the SRV names up with the system's resolver configuration and returns the targets in
/// the order to try them: the site's first (ordered among themselves), then the domain's.
/// `timeout` bounds each DNS query.
pub fn lookup(
    domain: &str,
    site: Option<&str>,
    timeout: Duration,
) -> Result<Vec<Target>, LocateError> {
    use hickory_resolver::TokioResolver;
    use hickory_resolver::proto::rr::RData;

    let names = srv_names(domain, site)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LocateError::Resolver(e.to_string()))?;
    let mut random = seeded_random();
    rt.block_on(async {
        let mut builder =
            TokioResolver::builder_tokio().map_err(|e| LocateError::Resolver(e.to_string()))?;
        builder.options_mut().timeout = timeout;
        let resolver = builder
            .build()
            .map_err(|e| LocateError::Resolver(e.to_string()))?;
        let mut all = Vec::new();
        let mut reasons = Vec::new();
        for name in &names {
            // Fully qualified: the resolver's search list must not turn it into another name.
            match resolver.srv_lookup(format!("{name}.")).await {
                Ok(found) => {
                    let targets: Vec<Target> = found
                        .answers()
                        .iter()
                        .filter_map(|r| match &r.data {
                            RData::SRV(s) => Some(Target {
                                host: s.target.to_ascii().trim_end_matches('.').to_string(),
                                port: s.port,
                                priority: s.priority,
                                weight: s.weight,
                                srv: name.clone(),
                            }),
                            _ => None,
                        })
                        .collect();
                    all.extend(order(targets, &mut random));
                }
                Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
                    reasons.push(format!("{name}: no SRV records"));
                }
                Err(e) => reasons.push(format!(
                    "{name}: {}",
                    crate::collect::ldap::one_line(&e.to_string())
                )),
            }
        }
        let mut seen = std::collections::HashSet::new();
        all.retain(|t| seen.insert((t.host.to_ascii_lowercase(), t.port)));
        if all.is_empty() {
            return Err(LocateError::NotFound {
                domain: domain.trim_end_matches('.').to_string(),
                reason: if reasons.is_empty() {
                    "the SRV records name no usable target".into()
                } else {
                    reasons.join("; ")
                },
            });
        }
        Ok(all)
    })
}

/// A small xorshift generator seeded from the clock and std's per-process hash keys: the
/// weighted order only spreads load, it is no secret.
fn seeded_random() -> impl FnMut() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let mut x = h.finish() | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(host: &str, priority: u16, weight: u16) -> Target {
        Target {
            host: host.into(),
            port: 389,
            priority,
            weight,
            srv: "_ldap._tcp.dc._msdcs.lab.test".into(),
        }
    }

    fn hosts(v: &[Target]) -> Vec<&str> {
        v.iter().map(|t| t.host.as_str()).collect()
    }

    #[test]
    fn names_with_and_without_site() {
        assert_eq!(
            srv_names("corp.example.", Some("Paris")).unwrap(),
            [
                "_ldap._tcp.Paris._sites.dc._msdcs.corp.example",
                "_ldap._tcp.dc._msdcs.corp.example"
            ]
        );
        assert_eq!(
            srv_names("corp.example", None).unwrap(),
            ["_ldap._tcp.dc._msdcs.corp.example"]
        );
        assert!(matches!(
            srv_names("corp example", None),
            Err(LocateError::BadDomain(_))
        ));
        assert!(matches!(
            srv_names("corp.example", Some("a.b")),
            Err(LocateError::BadSite(_))
        ));
        assert!(srv_names("", None).is_err());
    }

    #[test]
    fn priority_first_then_weight() {
        // Whatever the draws, lower priority comes first.
        for seed in 0..50u64 {
            let mut x = seed;
            let mut r = move || {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                x >> 33
            };
            let o = order(
                vec![t("c", 20, 0), t("a", 0, 10), t("b", 10, 5), t("a2", 0, 90)],
                &mut r,
            );
            let h = hosts(&o);
            assert_eq!(&h[2..], ["b", "c"]);
            assert!(h[..2].contains(&"a") && h[..2].contains(&"a2"));
        }
    }

    #[test]
    fn weights_decide_how_often_a_target_comes_first() {
        let mut x = 12345u64;
        let mut r = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut heavy_first = 0;
        for _ in 0..1000 {
            let o = order(vec![t("light", 0, 10), t("heavy", 0, 90)], &mut r);
            if o[0].host == "heavy" {
                heavy_first += 1;
            }
        }
        assert!((800..=980).contains(&heavy_first), "{heavy_first}");
        // A zero weight keeps a small chance but never wins often against weight 100.
        let mut zero_first = 0;
        for _ in 0..1000 {
            let o = order(vec![t("big", 0, 100), t("zero", 0, 0)], &mut r);
            if o[0].host == "zero" {
                zero_first += 1;
            }
        }
        assert!(zero_first < 50, "{zero_first}");
    }

    #[test]
    fn no_service_and_bad_names_and_duplicates_are_dropped() {
        let mut r = || 0;
        let o = order(
            vec![
                t("", 0, 0),
                t("bad name", 0, 0),
                t("dc1.lab.test", 5, 0),
                t("DC1.lab.test", 6, 0),
            ],
            &mut r,
        );
        assert_eq!(hosts(&o), ["dc1.lab.test"]);
    }
}
