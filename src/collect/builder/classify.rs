//! Object classification: which model object (domain, computer, account, group, foreign
//! principal, Hyper-V serviceConnectionPoint) an entry is, by its objectClass values.

use super::decode::{not_utf8_reason, parse_range, range_problem};
use super::dn::{parent_dn, rdn_value};
use super::duplicates::at_line;
use super::{Principal, RawEntry, RawGroup, SnapshotBuilder};
use crate::collect::replmeta::{
    ATTID_MS_DS_ALLOWED_TO_DELEGATE_TO, ATTID_USER_ACCOUNT_CONTROL, change_time, parse_repl_meta,
};
use crate::collect::secdesc::{parse_rbcd_descriptor, undecided_aces};
use crate::model::{Account, AccountKind, Computer, Gap, PrincipalKind, Sid, Uac};

impl SnapshotBuilder {
    pub fn add(&mut self, e: RawEntry) {
        self.entries += 1;
        self.check_duplicate(&e);
        if e.values("objectclass").is_empty() {
            // Without objectClass nothing says whether this is a computer, a user or a group,
            // so its delegation and memberships cannot be audited: say so instead of dropping
            // it (a host whose unconstrained delegation went unseen would otherwise pass).
            self.gap(
                format!("entry {}{}", e.dn, at_line(e.line)),
                "has no objectClass: what kind of object it is cannot be told, so nothing on it \
                 (delegation, group membership) was audited; export objectClass for every entry",
            );
            return;
        }
        if e.has_object_class("domainDNS") {
            self.add_domain(&e);
        } else if e.has_object_class("crossRef") {
            // Only the crossRef of a domain naming context carries the NetBIOS name we want.
            if let Some(nb) = self.text(&e, "netbiosname") {
                let nc = self.text(&e, "ncname").unwrap_or_default();
                if self
                    .domain_dn
                    .as_deref()
                    .is_none_or(|d| d.eq_ignore_ascii_case(&nc))
                {
                    self.netbios = Some(nb);
                }
            }
        } else if e.has_object_class("serviceConnectionPoint") {
            if rdn_value(&e.dn).is_some_and(|cn| cn.eq_ignore_ascii_case("Microsoft Hyper-V"))
                && let Some(parent) = parent_dn(&e.dn)
            {
                self.hyperv_scp_parents.insert(parent.to_ascii_lowercase());
            }
        } else if e.has_object_class("group") {
            self.add_group(e);
        } else if e.has_object_class("foreignSecurityPrincipal") {
            let sid = self
                .sid_of(&e)
                .or_else(|| rdn_value(&e.dn).and_then(|cn| Sid::parse(&cn).ok()));
            self.add_principal(&e.dn, sid, PrincipalKind::Foreign, None);
        } else if e.has_object_class("msDS-GroupManagedServiceAccount") {
            self.add_account(&e, AccountKind::GroupManagedServiceAccount);
        } else if e.has_object_class("msDS-ManagedServiceAccount") {
            self.add_account(&e, AccountKind::ManagedServiceAccount);
        } else if e.has_object_class("computer") {
            self.add_computer(&e);
        } else if e.has_object_class("user") {
            self.add_account(&e, AccountKind::User);
        }
    }

    fn add_domain(&mut self, e: &RawEntry) {
        // The domain object at the naming context root; other domainDNS objects (DNS zones
        // partitions) are not ours once the DN is known.
        if let Some(d) = &self.domain_dn
            && !d.eq_ignore_ascii_case(&e.dn)
        {
            return;
        }
        self.domain_dn = Some(e.dn.clone());
        self.domain_sid = self.sid_of(e);
        self.functional_level = self.number(e, "msds-behavior-version");
    }
    fn add_principal(
        &mut self,
        dn: &str,
        sid: Option<Sid>,
        kind: PrincipalKind,
        pgid: Option<u32>,
    ) {
        let key = dn.to_ascii_lowercase();
        if let Some(rid) = pgid {
            self.primary_members
                .entry(rid)
                .or_default()
                .push(key.clone());
        }
        self.principals.insert(
            key,
            Principal {
                dn: dn.to_string(),
                sid,
                kind,
            },
        );
    }

    fn add_computer(&mut self, e: &RawEntry) {
        for attr in ["objectSid", "userAccountControl", "sAMAccountName"] {
            self.require(e, attr);
        }
        let sid = self.sid_of(e);
        let uac = Uac(self.number(e, "useraccountcontrol").unwrap_or(0));
        let pgid = self.number(e, "primarygroupid");
        let rbcd = match e.first("msds-allowedtoactonbehalfofotheridentity") {
            None => None,
            Some(raw) => match parse_rbcd_descriptor(raw) {
                Ok(rbcd) => {
                    // An ACE whose effect is not decided (callback, object type, generic mask,
                    // unknown type) leaves who may delegate unknown, not empty.
                    for why in undecided_aces(&rbcd) {
                        self.gap_on(
                            &e.dn,
                            format!("msDS-AllowedToActOnBehalfOfOtherIdentity of {}", e.dn),
                            format!("{why}: who this descriptor lets delegate is unknown"),
                        );
                    }
                    Some(rbcd)
                }
                Err(err) => {
                    self.gap_on(
                        &e.dn,
                        format!("msDS-AllowedToActOnBehalfOfOtherIdentity of {}", e.dn),
                        err.to_string(),
                    );
                    None
                }
            },
        };
        let (delegation_changed, uac_changed) = match e.first("replpropertymetadata") {
            None => (None, None),
            Some(raw) => match parse_repl_meta(raw) {
                Ok(m) => (
                    change_time(&m, ATTID_MS_DS_ALLOWED_TO_DELEGATE_TO),
                    change_time(&m, ATTID_USER_ACCOUNT_CONTROL),
                ),
                Err(err) => {
                    self.gap_on(
                        &e.dn,
                        format!("replPropertyMetaData of {}", e.dn),
                        err.to_string(),
                    );
                    (None, None)
                }
            },
        };
        let when_changed = self.time(e, "whenchanged");
        self.add_principal(&e.dn, sid.clone(), PrincipalKind::Computer, pgid);
        let computer = Computer {
            dn: e.dn.clone(),
            sam_account_name: self.text(e, "samaccountname").unwrap_or_default(),
            dns_host_name: self.text(e, "dnshostname"),
            sid,
            uac,
            operating_system: self.text(e, "operatingsystem"),
            operating_system_version: self.text(e, "operatingsystemversion"),
            spns: sorted(self.texts(e, "serviceprincipalname")),
            allowed_to_delegate_to: sorted(self.texts(e, "msds-allowedtodelegateto")),
            rbcd,
            when_changed,
            delegation_changed,
            uac_changed,
            hyperv_scp: false,
            creator_sid: self.creator_sid(e),
            owner_sid: self.owner_sid(e),
        };
        self.computers.push(computer);
    }

    fn add_account(&mut self, e: &RawEntry, kind: AccountKind) {
        for attr in ["objectSid", "userAccountControl", "sAMAccountName"] {
            self.require(e, attr);
        }
        let sid = self.sid_of(e);
        let uac = Uac(self.number(e, "useraccountcontrol").unwrap_or(0));
        let pgid = self.number(e, "primarygroupid");
        let pkind = match kind {
            AccountKind::User => PrincipalKind::User,
            AccountKind::ManagedServiceAccount => PrincipalKind::ManagedServiceAccount,
            AccountKind::GroupManagedServiceAccount => PrincipalKind::GroupManagedServiceAccount,
        };
        self.add_principal(&e.dn, sid.clone(), pkind, pgid);
        let admin_count = self.number(e, "admincount");
        let account = Account {
            dn: e.dn.clone(),
            kind,
            sam_account_name: self.text(e, "samaccountname").unwrap_or_default(),
            sid,
            uac,
            admin_count,
            primary_group_id: pgid,
            spns: sorted(self.texts(e, "serviceprincipalname")),
            allowed_to_delegate_to: sorted(self.texts(e, "msds-allowedtodelegateto")),
        };
        self.accounts.push(account);
    }

    fn add_group(&mut self, e: RawEntry) {
        let sid = self.sid_of(&e);
        let mut members = Vec::new();
        // (start, end or None for `*`, as written) of each `member;range=` attribute.
        let mut ranges: Vec<(u64, Option<u64>, &str)> = Vec::new();
        let mut undecodable = None;
        for (name, values) in &e.attrs {
            let range = name.strip_prefix("member;range=");
            if name != "member" && range.is_none() {
                continue;
            }
            if let Some(range) = range {
                match parse_range(range) {
                    Some((start, end)) => ranges.push((start, end, range)),
                    None => self.gaps.push(Gap::on(
                        &e.dn,
                        format!("member of {}", e.dn),
                        format!(
                            "membership incomplete: attribute option range={range} is not a \
                             range of the form START-END or START-*"
                        ),
                    )),
                }
            }
            for v in values {
                match std::str::from_utf8(v) {
                    Ok(t) => members.push(t.to_string()),
                    Err(_) => {
                        // A DN that is not UTF-8 names no entry hvaudit can resolve.
                        undecodable.get_or_insert(v.as_slice());
                        members.push(String::from_utf8_lossy(v).into_owned());
                    }
                }
            }
        }
        if let Some(reason) = range_problem(&mut ranges) {
            self.gap_on(
                &e.dn,
                format!("member of {}", e.dn),
                format!("membership incomplete: {reason}"),
            );
        }
        if let Some(v) = undecodable {
            self.gap_on(&e.dn, format!("member of {}", e.dn), not_utf8_reason(v));
        }
        let sam = self.text(&e, "samaccountname").unwrap_or_default();
        self.add_principal(&e.dn, sid.clone(), PrincipalKind::Group, None);
        self.groups.push(RawGroup {
            dn: e.dn.clone(),
            sid,
            sam,
            members,
        });
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
