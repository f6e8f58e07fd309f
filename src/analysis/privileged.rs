//! Privileged accounts and their delegation protection. Groups are found by SID, never by
//! name: names are localised and renamable.

use foldhash::{HashSet, HashSetExt};

use super::{AccountIdx, Index, Principal, is_domain_sid_with_rid};
use crate::config::Config;
use crate::model::sid::well_known;
use crate::model::{ShownPath, Sid, Snapshot};

/// Facts about one account of `snapshot.accounts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFacts {
    /// How the account is privileged, one line per privileged group (with the nesting path) or
    /// "built-in Administrator (RID 500)". Empty = not privileged.
    pub privileged_via: Vec<String>,
    /// Effective member of Protected Users (RID 525).
    pub protected_users: bool,
    /// Named in the configuration's `lm_operators`.
    pub is_lm_operator: bool,
    pub is_krbtgt: bool,
    /// The domain's RID-500 account.
    pub is_builtin_admin: bool,
}

/// True for the SIDs of the built-in privileged groups and the configured extra ones.
pub fn is_privileged_group(sid: &Sid, extra: &[Sid]) -> bool {
    let s = sid.to_string();
    well_known::PRIVILEGED_BUILTIN.contains(&s.as_str())
        || is_domain_sid_with_rid(sid, well_known::PRIVILEGED_DOMAIN_RIDS)
        || extra.contains(sid)
}

pub fn is_protected_users(sid: &Sid) -> bool {
    is_domain_sid_with_rid(sid, &[well_known::RID_PROTECTED_USERS])
}

/// The value of a DN's first RDN (`CN=Tier 0,OU=x` -> `Tier 0`), for readable paths.
pub fn rdn_value(dn: &str) -> &str {
    let mut end = dn.len();
    let bytes = dn.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b',' => {
                end = i;
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let first = &dn[..end];
    first.split_once('=').map(|(_, v)| v).unwrap_or(first)
}

/// Appends `A > B > C` (RDN values), with `> ... N more groups ... >` where the middle of a
/// very deep path is left out ([`crate::model::ViaPaths::shown`]).
fn push_path(line: &mut String, path: &ShownPath<'_>) {
    let names = |dns: &[&str]| {
        dns.iter()
            .map(|d| rdn_value(d))
            .collect::<Vec<_>>()
            .join(" > ")
    };
    line.push_str(&names(&path.head));
    if path.omitted > 0 {
        let groups = if path.omitted == 1 { "group" } else { "groups" };
        line.push_str(&format!(
            " > ... {} more {groups} ... > {}",
            path.omitted,
            names(&path.tail)
        ));
    }
}

pub fn classify(
    snapshot: &Snapshot,
    config: &Config,
    index: &Index,
    notes: &mut Vec<String>,
) -> Vec<AccountFacts> {
    let mut facts: Vec<AccountFacts> = vec![AccountFacts::default(); snapshot.accounts.len()];
    // (account, group SID) pairs already counted, so primaryGroupID does not count twice.
    let mut counted: HashSet<(AccountIdx, Sid)> = HashSet::new();
    let mut saw_domain_admins = false;
    let mut saw_protected_users = false;

    for g in &snapshot.groups {
        let Some(gsid) = &g.sid else { continue };
        let privileged = is_privileged_group(gsid, &config.extra_privileged_groups);
        let protected = is_protected_users(gsid);
        saw_domain_admins |= is_domain_sid_with_rid(gsid, &[well_known::RID_DOMAIN_ADMINS]);
        saw_protected_users |= protected;
        if !privileged && !protected {
            continue;
        }
        let paths = g.via_paths();
        for (i, m) in g.effective_members.iter().enumerate() {
            let p = m
                .sid
                .as_ref()
                .and_then(|s| index.by_sid(s))
                .or_else(|| index.by_dn(&m.dn));
            let Some(Principal::Account(a)) = p else {
                continue;
            };
            if protected {
                facts[a].protected_users = true;
            }
            if privileged && counted.insert((a, gsid.clone())) {
                let mut line = g.sam_account_name.clone();
                if m.by_primary_group {
                    line.push_str(" (primary group)");
                } else if m.via_group.is_some() {
                    line.push_str(" via ");
                    push_path(&mut line, &paths.shown(i));
                }
                facts[a].privileged_via.push(line);
            }
        }
    }

    let domain_sid = snapshot.domain.sid.as_ref();
    let lm_ops: HashSet<String> = config
        .lm_operators
        .iter()
        .map(|o| o.to_lowercase())
        .collect();
    let mut found_ops: HashSet<String> = HashSet::new();
    for (a, acct) in snapshot.accounts.iter().enumerate() {
        let a = AccountIdx::new(a);
        let f = &mut facts[a];
        // RIDs 500 and 502 only mean something in a domain SID (S-1-5-21-a-b-c-RID).
        let sid_rid = acct
            .sid
            .as_ref()
            .filter(|s| {
                s.authority == 5 && s.sub_authorities.len() == 5 && s.sub_authorities[0] == 21
            })
            .and_then(|s| s.rid());
        f.is_builtin_admin = sid_rid == Some(well_known::RID_ADMINISTRATOR);
        f.is_krbtgt = sid_rid == Some(well_known::RID_KRBTGT);
        if f.is_builtin_admin {
            f.privileged_via
                .insert(0, "built-in Administrator (RID 500)".to_string());
        }
        // primaryGroupID membership is not in `member`; count it even if the collector's
        // effective membership missed it.
        if let (Some(rid), Some(dsid)) = (acct.primary_group_id, domain_sid) {
            let gsid = dsid.with_rid(rid);
            if is_privileged_group(&gsid, &config.extra_privileged_groups)
                && counted.insert((a, gsid.clone()))
            {
                let name = index
                    .by_sid(&gsid)
                    .map(|p| super::principal_name(snapshot, p))
                    .unwrap_or_else(|| format!("RID {rid}"));
                f.privileged_via
                    .push(format!("{name} (primaryGroupID {rid})"));
            }
            if rid == well_known::RID_PROTECTED_USERS {
                f.protected_users = true;
            }
        }
        let sam = acct.sam_account_name.to_lowercase();
        if lm_ops.contains(&sam) {
            f.is_lm_operator = true;
            found_ops.insert(sam);
        }
    }

    if !saw_domain_admins {
        notes.push(
            "the snapshot holds no Domain Admins group (RID 512): privileged membership may be incomplete"
                .to_string(),
        );
    }
    if !saw_protected_users {
        notes.push(
            "the snapshot holds no Protected Users group (RID 525): no account is counted as a member"
                .to_string(),
        );
    }
    for op in &config.lm_operators {
        if !found_ops.contains(&op.to_lowercase()) {
            notes.push(format!(
                "lm_operators names '{op}', which is not an account in the directory"
            ));
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileged_sids() {
        let s = |v: &str| Sid::parse(v).unwrap();
        assert!(is_privileged_group(&s("S-1-5-32-544"), &[]));
        assert!(is_privileged_group(&s("S-1-5-32-551"), &[]));
        assert!(!is_privileged_group(&s("S-1-5-32-545"), &[]));
        assert!(is_privileged_group(&s("S-1-5-21-1-2-3-512"), &[]));
        assert!(is_privileged_group(&s("S-1-5-21-1-2-3-527"), &[]));
        assert!(!is_privileged_group(&s("S-1-5-21-1-2-3-513"), &[]));
        assert!(!is_privileged_group(&s("S-1-5-21-1-2-3-4-512"), &[]));
        assert!(is_privileged_group(
            &s("S-1-5-21-1-2-3-1105"),
            &[s("S-1-5-21-1-2-3-1105")]
        ));
        assert!(is_protected_users(&s("S-1-5-21-1-2-3-525")));
    }

    #[test]
    fn rdn_value_handles_escapes() {
        assert_eq!(rdn_value("CN=Tier 0,OU=Groups,DC=x"), "Tier 0");
        assert_eq!(rdn_value("CN=Smith\\, John,OU=x"), "Smith\\, John");
        assert_eq!(rdn_value("plain"), "plain");
    }
}
