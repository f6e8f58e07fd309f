//! Typed indexes for the index spaces that meet in the analysis: Hyper-V hosts
//! ([`Analysis::hosts`](super::Analysis::hosts)), migration groups
//! ([`Analysis::groups`](super::Analysis::groups)), delegation entries
//! ([`Analysis::entries`](super::Analysis::entries)) and the snapshot's computers, accounts and
//! groups ([`Snapshot`](crate::model::Snapshot)). Each wraps a plain position, so it costs
//! nothing, but a host index can no longer be passed where a computer index is expected.
//!
//! Each type indexes the slice it belongs to (`a.hosts[h]`, `snapshot.computers[c]`...);
//! [`index`](HostIdx::index) gives the bare position for vectors kept parallel to one of them.

use std::ops::{Index, IndexMut};

use super::groups::MigrationGroup;
use super::hosts::HostFacts;
use super::privileged::AccountFacts;
use super::targets::DelegationEntry;
use crate::model::{Account, Computer, Group};

macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident => $($item:ty),*) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(usize);

        impl $name {
            /// The index at position `i` of the list it indexes.
            pub const fn new(i: usize) -> Self {
                Self(i)
            }

            /// The bare position, for vectors kept parallel to the list it indexes.
            pub const fn index(self) -> usize {
                self.0
            }

            /// Every index of a list of `n` items, in order.
            pub fn range(
                n: usize,
            ) -> impl DoubleEndedIterator<Item = Self> + ExactSizeIterator + Clone {
                (0..n).map(Self)
            }
        }

        $(
            impl Index<$name> for [$item] {
                type Output = $item;

                #[inline]
                fn index(&self, i: $name) -> &$item {
                    &self[i.0]
                }
            }

            impl IndexMut<$name> for [$item] {
                #[inline]
                fn index_mut(&mut self, i: $name) -> &mut $item {
                    &mut self[i.0]
                }
            }

            // `vec[i]` does not reach the slice impls: `Vec`'s own `Index` is tried first.
            impl Index<$name> for Vec<$item> {
                type Output = $item;

                #[inline]
                fn index(&self, i: $name) -> &$item {
                    &self[i.0]
                }
            }

            impl IndexMut<$name> for Vec<$item> {
                #[inline]
                fn index_mut(&mut self, i: $name) -> &mut $item {
                    &mut self[i.0]
                }
            }
        )*
    };
}

index_type!(
    /// A Hyper-V host: a position in [`Analysis::hosts`](super::Analysis::hosts) (sorted by
    /// name), the source of truth for hosts.
    HostIdx => HostFacts
);

index_type!(
    /// A migration group: a position in [`Analysis::groups`](super::Analysis::groups) (in
    /// configuration order; the single default group when none is configured).
    GroupIdx => MigrationGroup
);

index_type!(
    /// A delegation entry (one msDS-AllowedToDelegateTo value): a position in
    /// [`Analysis::entries`](super::Analysis::entries), computers' entries first, in snapshot
    /// order.
    EntryIdx =>
);

impl<'a> Index<EntryIdx> for [DelegationEntry<'a>] {
    type Output = DelegationEntry<'a>;

    #[inline]
    fn index(&self, i: EntryIdx) -> &DelegationEntry<'a> {
        &self[i.0]
    }
}

impl<'a> Index<EntryIdx> for Vec<DelegationEntry<'a>> {
    type Output = DelegationEntry<'a>;

    #[inline]
    fn index(&self, i: EntryIdx) -> &DelegationEntry<'a> {
        &self[i.0]
    }
}

index_type!(
    /// A computer account: a position in
    /// [`Snapshot::computers`](crate::model::Snapshot::computers). A computer is a host only
    /// when [`Analysis::host_by_computer`](super::Analysis::host_by_computer) says so.
    ComputerIdx => Computer
);

index_type!(
    /// A user or service account: a position in
    /// [`Snapshot::accounts`](crate::model::Snapshot::accounts), and in
    /// [`Analysis::accounts`](super::Analysis::accounts), which is parallel to it.
    AccountIdx => Account, AccountFacts
);

index_type!(
    /// A directory group (a security group, not a migration group): a position in
    /// [`Snapshot::groups`](crate::model::Snapshot::groups).
    DirGroupIdx => Group
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders_like_the_position() {
        assert_eq!(HostIdx::new(3).index(), 3);
        assert!(HostIdx::new(1) < HostIdx::new(2));
        assert_eq!(
            GroupIdx::range(3).collect::<Vec<_>>(),
            [GroupIdx::new(0), GroupIdx::new(1), GroupIdx::new(2)]
        );
    }
}
