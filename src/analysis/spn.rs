//! Service principal names: `class/host[:port][/service-name]`.

/// The migration service class Hyper-V registers and KCD for live migration names.
pub const MIGRATION_CLASS: &str = "Microsoft Virtual System Migration Service";
pub const CONSOLE_CLASS: &str = "Microsoft Virtual Console Service";
pub const REPLICA_CLASS: &str = "Hyper-V Replica Service";
pub const CIFS_CLASS: &str = "cifs";

/// An SPN's parts, borrowed from the value they were parsed from: a large domain has hundreds
/// of thousands of delegated SPNs, and copying each part would triple the allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spn<'a> {
    /// Service class as written (compare with [`Spn::class_is`]).
    pub class: &'a str,
    /// Host part as written, without port.
    pub host: &'a str,
    pub port: Option<u16>,
    pub service_name: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpnError {
    #[error("SPN '{0}' has no '/' between service class and host")]
    NoSlash(String),
    #[error("SPN '{0}' has an empty service class")]
    EmptyClass(String),
    #[error("SPN '{0}' has an empty host")]
    EmptyHost(String),
    #[error("SPN '{0}' has a port that is not a number from 1 to 65535")]
    BadPort(String),
    #[error("SPN '{0}' has an empty service name after the last '/'")]
    EmptyServiceName(String),
}

impl<'a> Spn<'a> {
    pub fn parse(s: &'a str) -> Result<Spn<'a>, SpnError> {
        let (class, rest) = split_at(s, b'/').ok_or_else(|| SpnError::NoSlash(s.to_string()))?;
        if class.trim().is_empty() {
            return Err(SpnError::EmptyClass(s.to_string()));
        }
        let (host_port, service_name) = match split_at(rest, b'/') {
            Some((_, "")) => return Err(SpnError::EmptyServiceName(s.to_string())),
            Some((hp, sn)) => (hp, Some(sn)),
            None => (rest, None),
        };
        let (host, port) = match host_port.bytes().rposition(|b| b == b':') {
            Some(i) => {
                let (h, p) = (&host_port[..i], &host_port[i + 1..]);
                let port: u16 = p
                    .parse()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| SpnError::BadPort(s.to_string()))?;
                (h, Some(port))
            }
            None => (host_port, None),
        };
        if host.is_empty() {
            return Err(SpnError::EmptyHost(s.to_string()));
        }
        Ok(Spn {
            class,
            host,
            port,
            service_name,
        })
    }

    /// Service classes compare case-insensitively.
    pub fn class_is(&self, class: &str) -> bool {
        self.class.eq_ignore_ascii_case(class)
    }

    /// The host part lower-cased, for lookups.
    pub fn host_key(&self) -> String {
        self.host.to_lowercase()
    }

    /// True when the host part is a dotted name (an FQDN) rather than a NetBIOS name.
    pub fn host_is_fqdn(&self) -> bool {
        self.host.contains('.')
    }

    pub fn is_hyperv_class(&self) -> bool {
        self.class_is(MIGRATION_CLASS)
            || self.class_is(CONSOLE_CLASS)
            || self.class_is(REPLICA_CLASS)
    }
}

/// `s` split around the first byte `b` (an ASCII separator, so both sides are whole
/// characters): `str::split_once` for one byte, without its searcher's set-up, which cost more
/// than the search on values this short (600,000 are parsed at 100,000 computers).
fn split_at(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|x| x == b)?;
    Some((&s[..i], &s[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_at_is_split_once_on_one_byte() {
        for v in ["a/b", "/", "a/", "/b", "ab", "", "é/ü/x", "a//b", "ßé/"] {
            assert_eq!(split_at(v, b'/'), v.split_once('/'), "{v:?}");
        }
    }

    #[test]
    fn parses_all_parts() {
        let s = Spn::parse("MSSQLSvc/sql01.corp.example:1433/inst").unwrap();
        assert_eq!(s.class, "MSSQLSvc");
        assert_eq!(s.host, "sql01.corp.example");
        assert_eq!(s.port, Some(1433));
        assert_eq!(s.service_name, Some("inst"));
        assert!(s.host_is_fqdn());

        let s = Spn::parse("Microsoft Virtual System Migration Service/HVB01").unwrap();
        assert_eq!(s.class, MIGRATION_CLASS);
        assert_eq!(s.host, "HVB01");
        assert_eq!(s.port, None);
        assert!(!s.host_is_fqdn());
    }

    #[test]
    fn class_compares_case_insensitively() {
        let s = Spn::parse("microsoft virtual system MIGRATION service/hvb01").unwrap();
        assert!(s.class_is(MIGRATION_CLASS));
        assert!(s.is_hyperv_class());
        assert!(!Spn::parse("CIFS/x").unwrap().is_hyperv_class());
        assert!(Spn::parse("CIFS/x").unwrap().class_is(CIFS_CLASS));
    }

    #[test]
    fn rejects_empty_parts() {
        assert!(matches!(Spn::parse("cifs"), Err(SpnError::NoSlash(_))));
        assert!(matches!(Spn::parse("/host"), Err(SpnError::EmptyClass(_))));
        assert!(matches!(Spn::parse("cifs/"), Err(SpnError::EmptyHost(_))));
        assert!(matches!(
            Spn::parse("cifs/:445"),
            Err(SpnError::EmptyHost(_))
        ));
        assert!(matches!(Spn::parse("cifs/h:x"), Err(SpnError::BadPort(_))));
        assert!(matches!(Spn::parse("cifs/h:0"), Err(SpnError::BadPort(_))));
        assert!(matches!(
            Spn::parse("cifs/h/"),
            Err(SpnError::EmptyServiceName(_))
        ));
    }
}
