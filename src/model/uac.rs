//! userAccountControl bits, named exactly as in MS-ADTS 2.2.16.

use serde::{Deserialize, Serialize};

pub const ACCOUNTDISABLE: u32 = 0x2;
pub const PASSWD_NOTREQD: u32 = 0x20;
pub const NORMAL_ACCOUNT: u32 = 0x200;
pub const WORKSTATION_TRUST_ACCOUNT: u32 = 0x1000;
pub const SERVER_TRUST_ACCOUNT: u32 = 0x2000;
pub const TRUSTED_FOR_DELEGATION: u32 = 0x80000;
pub const NOT_DELEGATED: u32 = 0x100000;
pub const TRUSTED_TO_AUTH_FOR_DELEGATION: u32 = 0x1000000;
pub const PARTIAL_SECRETS_ACCOUNT: u32 = 0x4000000;

const NAMES: &[(u32, &str)] = &[
    (ACCOUNTDISABLE, "ACCOUNTDISABLE"),
    (PASSWD_NOTREQD, "PASSWD_NOTREQD"),
    (NORMAL_ACCOUNT, "NORMAL_ACCOUNT"),
    (WORKSTATION_TRUST_ACCOUNT, "WORKSTATION_TRUST_ACCOUNT"),
    (SERVER_TRUST_ACCOUNT, "SERVER_TRUST_ACCOUNT"),
    (TRUSTED_FOR_DELEGATION, "TRUSTED_FOR_DELEGATION"),
    (NOT_DELEGATED, "NOT_DELEGATED"),
    (
        TRUSTED_TO_AUTH_FOR_DELEGATION,
        "TRUSTED_TO_AUTH_FOR_DELEGATION",
    ),
    (PARTIAL_SECRETS_ACCOUNT, "PARTIAL_SECRETS_ACCOUNT"),
];

/// A userAccountControl value. Serialises as the raw number so snapshots stay
/// faithful to the directory; `names()` is for humans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Uac(pub u32);

impl Uac {
    pub fn has(self, bit: u32) -> bool {
        self.0 & bit == bit
    }
    pub fn disabled(self) -> bool {
        self.has(ACCOUNTDISABLE)
    }
    pub fn is_dc(self) -> bool {
        self.has(SERVER_TRUST_ACCOUNT)
    }
    pub fn unconstrained(self) -> bool {
        self.has(TRUSTED_FOR_DELEGATION)
    }
    pub fn protocol_transition(self) -> bool {
        self.has(TRUSTED_TO_AUTH_FOR_DELEGATION)
    }
    pub fn not_delegated(self) -> bool {
        self.has(NOT_DELEGATED)
    }
    /// Names of the known bits that are set, in bit order.
    pub fn names(self) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(bit, _)| self.has(*bit))
            .map(|(_, n)| *n)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_known_bits() {
        let u = Uac(0x1000 | 0x1000000 | 0x2);
        assert_eq!(
            u.names(),
            vec![
                "ACCOUNTDISABLE",
                "WORKSTATION_TRUST_ACCOUNT",
                "TRUSTED_TO_AUTH_FOR_DELEGATION"
            ]
        );
        assert!(u.protocol_transition() && u.disabled() && !u.is_dc());
    }
}
