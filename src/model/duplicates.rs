//! One directory object twice in a snapshot (same DN as LDAP compares DNs, or same
//! objectSid): such a file was edited or merged by hand and is refused on load.

use super::{Snapshot, dn};

impl Snapshot {
    /// Two objects of the snapshot (computers, accounts, groups) that are one directory object:
    /// the same DN as LDAP compares DNs ([`dn::DnKey`]) or the same objectSid. The collector
    /// never writes such a snapshot, so one that holds them was edited or merged by hand, and
    /// which copy is true cannot be told. Returns a sentence naming both, e.g.
    /// `computers[0] (CN=HV01,...) and computers[2] (cn=hv01,...) have the same DN`.
    pub fn duplicate_objects(&self) -> Option<String> {
        self.duplicate_objects_hashed(foldhash::fast::RandomState::default())
    }

    /// [`Snapshot::duplicate_objects`] with DN keys hashed by `hasher` (tests force
    /// collisions with a constant one).
    fn duplicate_objects_hashed(
        &self,
        hasher: impl std::hash::BuildHasher + Sync,
    ) -> Option<String> {
        use foldhash::{HashMap, HashMapExt};
        // Where an object sits ("computers", index), formatted only for the error: a large
        // snapshot holds 130,000 objects and this runs on every --snapshot load.
        let objects = self
            .computers
            .iter()
            .enumerate()
            .map(|(i, c)| (("computers", i), &c.dn, c.sid.as_ref()))
            .chain(
                self.accounts
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (("accounts", i), &a.dn, a.sid.as_ref())),
            )
            .chain(
                self.groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (("groups", i), &g.dn, g.sid.as_ref())),
            );
        let n = self.computers.len() + self.accounts.len() + self.groups.len();
        let hashes = self.dn_key_hashes(&hasher);
        // DNs by the hash of their key (one buffer, no key string per object); equal hashes
        // are confirmed on the keys themselves, and distinct keys that collide wait in `more`.
        let mut dns: HashMap<u64, ((&str, usize), &String)> = HashMap::with_capacity(n);
        let mut more: Vec<(u64, dn::DnKey, (&str, usize), &String)> = Vec::new();
        let mut sids = HashMap::with_capacity(n);
        let place = |(list, i): (&str, usize)| format!("{list}[{i}]");
        for ((at, dn, sid), h) in objects.zip(hashes) {
            if let Some(&(first, first_dn)) = dns.get(&h) {
                let key = dn::DnKey::of(dn);
                let same = if dn::DnKey::of(first_dn) == key {
                    Some((first, first_dn))
                } else {
                    more.iter()
                        .find(|m| m.0 == h && m.1 == key)
                        .map(|m| (m.2, m.3))
                };
                if let Some((first, first_dn)) = same {
                    return Some(format!(
                        "{} ({first_dn}) and {} ({dn}) have the same DN",
                        place(first),
                        place(at)
                    ));
                }
                more.push((h, key, at, dn));
            } else {
                dns.insert(h, (at, dn));
            }
            if let Some(sid) = sid
                && let Some((first, first_dn)) = sids.insert(sid, (at, dn))
            {
                return Some(format!(
                    "{} ({first_dn}) and {} ({dn}) have the same objectSid {sid}",
                    place(first),
                    place(at)
                ));
            }
        }
        None
    }

    /// The hash of each object's DN key (computers, accounts, groups, in that order), computed
    /// on every core: the key spells out each RDN, and a large snapshot has 130,000 DNs.
    fn dn_key_hashes(&self, hasher: &(impl std::hash::BuildHasher + Sync)) -> Vec<u64> {
        let dns: Vec<&str> = self
            .computers
            .iter()
            .map(|c| c.dn.as_str())
            .chain(self.accounts.iter().map(|a| a.dn.as_str()))
            .chain(self.groups.iter().map(|g| g.dn.as_str()))
            .collect();
        let parts = crate::parallel::parts_for(dns.len(), 10_000);
        crate::parallel::in_parts(dns.len(), parts, |range| {
            let mut buf = String::new();
            dns[range]
                .iter()
                .map(|d| {
                    dn::DnKey::write_into(d, &mut buf);
                    hasher.hash_one(buf.as_str())
                })
                .collect::<Vec<u64>>()
        })
        .concat()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Computer;
    use super::*;

    /// Every DN hashes alike: each lookup meets an earlier object, so only the key comparison
    /// (and the list of distinct colliding keys) tells duplicates apart.
    #[derive(Default)]
    struct Collide;
    impl std::hash::Hasher for Collide {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, _: &[u8]) {}
    }

    /// A small snapshot read from a field-case fixture (a few computers and accounts).
    fn fixture() -> Snapshot {
        let ldif = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/field/self-delegation-and-one-peer/input.ldif");
        crate::collect::ldif_snapshot(&ldif, Default::default()).expect("fixture")
    }

    /// Above 20,000 objects the keys are hashed on several threads: same hashes, same order.
    #[test]
    fn dn_key_hashes_on_threads_are_in_object_order() {
        let mut snap = fixture();
        let c = snap.computers[0].clone();
        snap.computers = (0..25_000)
            .map(|i| Computer {
                dn: format!("CN=PC{i},OU=Bulk,DC=corp,DC=example"),
                ..c.clone()
            })
            .collect();
        let hasher = foldhash::fast::FixedState::with_seed(7);
        let mut buf = String::new();
        let one_by_one: Vec<u64> = snap
            .computers
            .iter()
            .map(|c| c.dn.as_str())
            .chain(snap.accounts.iter().map(|a| a.dn.as_str()))
            .chain(snap.groups.iter().map(|g| g.dn.as_str()))
            .map(|d| {
                dn::DnKey::write_into(d, &mut buf);
                std::hash::BuildHasher::hash_one(&hasher, buf.as_str())
            })
            .collect();
        assert_eq!(snap.dn_key_hashes(&hasher), one_by_one);
    }

    #[test]
    fn duplicate_check_is_exact_when_hashes_collide() {
        let mut snap = fixture();
        assert!(
            snap.computers.len() >= 3,
            "the fixture has several computers"
        );
        let collide = std::hash::BuildHasherDefault::<Collide>::default();
        assert_eq!(snap.duplicate_objects_hashed(collide.clone()), None);
        // The last computer again, spelled as LDAP would still match it.
        let mut copy = snap.computers[snap.computers.len() - 1].clone();
        copy.dn = copy.dn.to_lowercase().replace(',', ", ");
        copy.sid = None;
        snap.computers.push(copy);
        let err = snap.duplicate_objects_hashed(collide).expect("found");
        assert!(err.contains("have the same DN"), "{err}");
        assert!(snap.duplicate_objects().is_some());
    }
}
