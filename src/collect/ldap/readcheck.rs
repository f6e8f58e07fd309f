//! The read-access check: whether attributes absent from an entry are hidden by its DACL
//! from the bind account rather than empty, reported as gaps.

use ldap3::Scope;

use crate::collect::{RawEntry, access};
use crate::model::Sid;

use super::*;

/// Attributes whose absence could hide a finding, checked against the object's DACL when
/// absent: (attribute, applies to groups rather than users and computers). objectSid,
/// userAccountControl and sAMAccountName are required and their absence is a gap anyway.
const READ_CHECKED: &[(&str, bool)] = &[
    ("msDS-AllowedToDelegateTo", false),
    ("msDS-AllowedToActOnBehalfOfOtherIdentity", false),
    ("servicePrincipalName", false),
    ("replPropertyMetaData", false),
    ("primaryGroupID", false),
    ("adminCount", false),
    ("member", true),
];

impl Collector {
    /// The bind account's token (its SID and tokenGroups) and the schema GUIDs of the
    /// attributes in [`READ_CHECKED`]; the error says why the check cannot be made.
    pub(super) fn read_check(&mut self, domain: &str, root: &RootDse) -> Result<ReadCheck, String> {
        let user = self.identity.clone();
        let found = if user.contains('=') {
            self.search_paged(
                SearchKind::BindAccount,
                &user,
                Scope::Base,
                "(objectClass=*)",
                &["objectSid"],
            )
        } else {
            // DOMAIN\user, a UPN (also the implicit UPN sam@dns-domain), or a bare name.
            let sam = user
                .rsplit_once('\\')
                .map(|(_, u)| u)
                .or_else(|| user.split_once('@').map(|(u, _)| u))
                .unwrap_or(&user);
            let filter = format!(
                "(&(objectClass=user)(|(userPrincipalName={})(sAMAccountName={})))",
                ldap3::ldap_escape(&user),
                ldap3::ldap_escape(sam)
            );
            self.search_paged(
                SearchKind::BindAccount,
                domain,
                Scope::Subtree,
                &filter,
                &["objectSid"],
            )
        }
        .map_err(|e| e.to_string())?;
        let [account] = found.as_slice() else {
            return Err(format!(
                "{} accounts match the bind identity '{user}'",
                found.len()
            ));
        };
        let sid = account
            .first("objectsid")
            .and_then(|b| Sid::from_bytes(b).ok())
            .ok_or_else(|| format!("the objectSid of {} is not readable", account.dn))?;
        let tg = self
            .search_paged(
                SearchKind::TokenGroups,
                &account.dn,
                Scope::Base,
                "(objectClass=*)",
                &["tokenGroups"],
            )
            .map_err(|e| e.to_string())?;
        let groups: Vec<Sid> = tg
            .first()
            .map(|e| e.values("tokengroups"))
            .unwrap_or(&[])
            .iter()
            .filter_map(|b| Sid::from_bytes(b).ok())
            .collect();
        if groups.is_empty() {
            return Err(format!(
                "the tokenGroups of {} are not readable",
                account.dn
            ));
        }
        let mut token = access::Token::new(sid, groups);
        // tokenGroups expands the account's own memberships only. A logon token also holds the
        // groups that well-known SIDs belong to (Authenticated Users is a member of
        // Pre-Windows 2000 Compatible Access by default), through their foreign security
        // principals: found level by level upwards with equality matches on `member`, which
        // the directory indexes. (LDAP_MATCHING_RULE_IN_CHAIN over every group of the domain
        // took 3.5 s on a 27,000-object Samba DC, a third of the whole scan.)
        let mut frontier: Vec<String> = access::LOGON_SIDS
            .iter()
            .map(|w| format!("CN={w},CN=ForeignSecurityPrincipals,{domain}"))
            .collect();
        let mut seen = std::collections::HashSet::new();
        // Nesting deeper than this is not a real directory; it bounds a hostile one.
        for _ in 0..64 {
            if frontier.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for chunk in frontier.chunks(100) {
                let filter = format!(
                    "(&(objectClass=group)(|{}))",
                    chunk
                        .iter()
                        .map(|dn| format!("(member={})", ldap3::ldap_escape(dn.as_str())))
                        .collect::<String>()
                );
                let found = self
                    .search_paged(
                        SearchKind::WellKnownGroups,
                        domain,
                        Scope::Subtree,
                        &filter,
                        &["objectSid"],
                    )
                    .map_err(|e| e.to_string())?;
                for g in found {
                    if seen.insert(g.dn.to_ascii_lowercase()) {
                        if let Some(sid) =
                            g.first("objectsid").and_then(|b| Sid::from_bytes(b).ok())
                        {
                            token.sids.insert(sid);
                        }
                        next.push(g.dn);
                    }
                }
            }
            frontier = next;
        }

        let schema = root
            .schema_nc
            .clone()
            .ok_or("the RootDSE names no schemaNamingContext")?;
        let filter = format!(
            "(|{})",
            READ_CHECKED
                .iter()
                .map(|(a, _)| format!("(lDAPDisplayName={a})"))
                .collect::<String>()
        );
        let defs = self
            .search_paged(
                SearchKind::Schema,
                &schema,
                Scope::OneLevel,
                &filter,
                &["lDAPDisplayName", "schemaIDGUID", "attributeSecurityGUID"],
            )
            .map_err(|e| e.to_string())?;
        let mut attrs = Vec::new();
        for (name, group) in READ_CHECKED {
            let def = defs.iter().find(|d| {
                d.text("ldapdisplayname")
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            });
            // An attribute the schema lacks cannot be set either: nothing to check.
            let Some(def) = def else { continue };
            let guid = |a: &str| def.first(a).and_then(|b| <[u8; 16]>::try_from(b).ok());
            let Some(schema_id) = guid("schemaidguid") else {
                return Err(format!("the schemaIDGUID of {name} is not readable"));
            };
            attrs.push(CheckedAttr {
                name,
                groups: *group,
                guids: access::AttrGuids {
                    schema_id,
                    property_set: guid("attributesecurityguid"),
                },
            });
        }
        Ok(ReadCheck {
            token,
            attrs,
            unreadable: Default::default(),
            no_dacl: None,
        })
    }
}

struct CheckedAttr {
    name: &'static str,
    groups: bool,
    guids: access::AttrGuids,
}

/// Aggregates, over the main search, the attributes absent from entries whose DACL denies the
/// bind account reading them: absent because hidden, not because empty.
pub(super) struct ReadCheck {
    token: access::Token,
    attrs: Vec<CheckedAttr>,
    /// attribute -> (objects, example DN)
    unreadable: std::collections::BTreeMap<&'static str, (u64, String)>,
    /// Objects whose DACL was not returned or did not parse: (count, example DN, reason).
    no_dacl: Option<(u64, String, String)>,
}

impl ReadCheck {
    /// Checks one entry and drops its security descriptor, except on computers, whose owner
    /// the snapshot builder reads (who controls a would-be Hyper-V host).
    pub(super) fn inspect(&mut self, e: &mut RawEntry) {
        let sd = e.attrs.remove("ntsecuritydescriptor");
        self.check(e, sd.as_deref());
        if e.has_object_class("computer")
            && let Some(sd) = sd
        {
            e.attrs.insert("ntsecuritydescriptor".to_string(), sd);
        }
    }

    fn check(&mut self, e: &RawEntry, sd: Option<&[Vec<u8>]>) {
        let is_group = e.has_object_class("group");
        if !is_group && !e.has_object_class("user") {
            return;
        }
        let absent: Vec<&CheckedAttr> = self
            .attrs
            .iter()
            .filter(|a| a.groups == is_group)
            .filter(|a| {
                let lower = a.name.to_ascii_lowercase();
                !e.attrs
                    .keys()
                    .any(|k| *k == lower || k.starts_with(&format!("{lower};")))
            })
            .collect();
        if absent.is_empty() {
            return;
        }
        let dacl = match sd.and_then(|v| v.first()) {
            None => Err("not returned".to_string()),
            Some(b) => access::parse_dacl(b).map_err(|err| err.to_string()),
        };
        let dacl = match dacl {
            Ok(d) => d,
            Err(reason) => {
                let slot = self
                    .no_dacl
                    .get_or_insert_with(|| (0, e.dn.clone(), reason));
                slot.0 += 1;
                return;
            }
        };
        let object_sid = e.first("objectsid").and_then(|b| Sid::from_bytes(b).ok());
        for a in absent {
            if !access::can_read(dacl.as_deref(), &self.token, &a.guids, object_sid.as_ref()) {
                let slot = self.unreadable.entry(a.name).or_insert((0, e.dn.clone()));
                slot.0 += 1;
            }
        }
    }

    pub(super) fn gaps(self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .unreadable
            .into_iter()
            .map(|(attr, (n, example))| {
                (
                    format!("{attr} on {n} object(s), e.g. {example}"),
                    "the object's permissions deny the bind account reading it: its value is \
                     unknown, not empty (bind with an account that may read it)"
                        .to_string(),
                )
            })
            .collect();
        if let Some((n, example, reason)) = self.no_dacl {
            out.push((
                format!("permissions of {n} object(s), e.g. {example}"),
                format!(
                    "security descriptor {reason}: attributes absent from them may be hidden \
                     rather than empty"
                ),
            ));
        }
        out
    }
}
