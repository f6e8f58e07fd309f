//! Field names and value parsing shared by the CSV and JSON readers. Both formats reduce a
//! value to text first, so `True`, `Kerberos` or a date mean the same in either.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{InventoryHost, MigrationAuth};

/// The inventory properties, named as PowerShell names them (`Get-VMHost` and the collector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    ComputerName,
    MigrationEnabled,
    AuthenticationType,
    PerformanceOption,
    UseAnyNetwork,
    MaximumMigrations,
    CredentialGuardRunning,
    LastBootUpTime,
    ClusterName,
    Error,
}

impl Field {
    pub(crate) const ALL: [Field; 10] = [
        Field::ComputerName,
        Field::MigrationEnabled,
        Field::AuthenticationType,
        Field::PerformanceOption,
        Field::UseAnyNetwork,
        Field::MaximumMigrations,
        Field::CredentialGuardRunning,
        Field::LastBootUpTime,
        Field::ClusterName,
        Field::Error,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::ComputerName => "ComputerName",
            Field::MigrationEnabled => "VirtualMachineMigrationEnabled",
            Field::AuthenticationType => "VirtualMachineMigrationAuthenticationType",
            Field::PerformanceOption => "VirtualMachineMigrationPerformanceOption",
            Field::UseAnyNetwork => "UseAnyNetworkForMigration",
            Field::MaximumMigrations => "MaximumVirtualMachineMigrations",
            Field::CredentialGuardRunning => "CredentialGuardRunning",
            Field::LastBootUpTime => "LastBootUpTime",
            Field::ClusterName => "ClusterName",
            Field::Error => "Error",
        }
    }

    /// Property names are case-insensitive, as they are in PowerShell.
    pub(crate) fn from_name(name: &str) -> Option<Field> {
        Field::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// Sets `field` on `host` from its text form. Empty text means unknown (`None`); `ComputerName`
/// must not be empty.
pub(crate) fn set_field(host: &mut InventoryHost, field: Field, text: &str) -> Result<(), String> {
    let text = text.trim();
    if field == Field::ComputerName {
        if text.is_empty() {
            return Err("ComputerName is empty".to_string());
        }
        host.computer_name = text.to_string();
        return Ok(());
    }
    if text.is_empty() {
        return Ok(());
    }
    match field {
        Field::ComputerName => unreachable!("handled above"),
        Field::MigrationEnabled => host.migration_enabled = Some(parse_bool(text)?),
        Field::AuthenticationType => host.authentication_type = Some(parse_auth(text)?),
        Field::PerformanceOption => {
            host.performance_option = Some(parse_performance(text)?.to_string())
        }
        Field::UseAnyNetwork => host.use_any_network = Some(parse_bool(text)?),
        Field::MaximumMigrations => host.maximum_migrations = Some(parse_count(text)?),
        Field::CredentialGuardRunning => host.credential_guard_running = Some(parse_bool(text)?),
        Field::LastBootUpTime => host.last_boot = Some(parse_datetime(text)?),
        Field::ClusterName => host.cluster_name = Some(text.to_string()),
        Field::Error => host.error = Some(text.to_string()),
    }
    Ok(())
}

/// PowerShell writes `True` / `False`; case is not significant.
fn parse_bool(text: &str) -> Result<bool, String> {
    if text.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if text.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(format!("expected True or False, found {}", quote(text)))
    }
}

/// The `Get-VMHost` enum name, or the WMI `AuthenticationType` number (0 CredSSP, 1 Kerberos).
fn parse_auth(text: &str) -> Result<MigrationAuth, String> {
    if text.eq_ignore_ascii_case("credssp") || text == "0" {
        Ok(MigrationAuth::CredSSP)
    } else if text.eq_ignore_ascii_case("kerberos") || text == "1" {
        Ok(MigrationAuth::Kerberos)
    } else {
        Err(format!(
            "expected CredSSP, Kerberos, 0 or 1, found {}",
            quote(text)
        ))
    }
}

/// `VMMigrationPerformance` names only: their numeric values are not documented, so numbers are
/// refused rather than guessed. Returned in Hyper-V's spelling.
fn parse_performance(text: &str) -> Result<&'static str, String> {
    ["TCPIP", "Compression", "SMB"]
        .into_iter()
        .find(|p| p.eq_ignore_ascii_case(text))
        .ok_or_else(|| format!("expected TCPIP, Compression or SMB, found {}", quote(text)))
}

fn parse_count(text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .map_err(|_| format!("expected a whole number, found {}", quote(text)))
}

/// ISO 8601 with an offset or `Z` (PowerShell's `ToString('o')`), ISO 8601 without an offset
/// (taken as UTC: the collector always writes an offset, so this only concerns hand-made files),
/// or Windows PowerShell 5.1's `ConvertTo-Json` form `/Date(milliseconds since 1970 UTC)/`.
fn parse_datetime(text: &str) -> Result<DateTime<Utc>, String> {
    if let Some(inner) = text
        .strip_prefix("/Date(")
        .and_then(|t| t.strip_suffix(")/"))
    {
        return parse_ms_date(inner).ok_or_else(|| {
            format!(
                "expected /Date(milliseconds)/ with a whole number, found {}",
                quote(text)
            )
        });
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    Err(format!(
        "expected an ISO 8601 date and time such as 2026-11-20T06:12:00.0000000+01:00, found {}",
        quote(text)
    ))
}

/// `1700000000000`, optionally followed by an offset such as `+0100` that .NET appends for
/// local times; the milliseconds are UTC either way, so the offset is checked and ignored.
fn parse_ms_date(inner: &str) -> Option<DateTime<Utc>> {
    let digits_end = inner
        .char_indices()
        .skip(1) // a leading '-' is a sign, not an offset
        .find(|(_, c)| *c == '+' || *c == '-')
        .map_or(inner.len(), |(i, _)| i);
    let (ms, offset) = inner.split_at(digits_end);
    let offset_ok =
        offset.is_empty() || (offset.len() == 5 && offset[1..].bytes().all(|b| b.is_ascii_digit()));
    if !offset_ok {
        return None;
    }
    DateTime::from_timestamp_millis(ms.parse::<i64>().ok()?)
}

/// A value from the file, shortened and with control characters escaped, so that an error
/// message cannot flood or drive the terminal.
pub(crate) fn quote(text: &str) -> String {
    const MAX_CHARS: usize = 60;
    let mut out = String::from("'");
    for (i, c) in text.chars().enumerate() {
        if i == MAX_CHARS {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Text of an inventory file: UTF-8 (with or without BOM), or UTF-16 with a BOM, which is what
/// Windows PowerShell's `>` and `Out-File` write by default.
pub(crate) fn decode_text(bytes: &[u8]) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest);
    }
    let utf16 = |rest: &[u8], from: fn([u8; 2]) -> u16| {
        if !rest.len().is_multiple_of(2) {
            return Err("UTF-16 text with an odd number of bytes".to_string());
        }
        let units = rest.chunks_exact(2).map(|p| from([p[0], p[1]]));
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|e| format!("invalid UTF-16: {e}"))
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    utf8(bytes)
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let valid = &bytes[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        format!("line {line}: not valid UTF-8 (save the file as UTF-8 or UTF-16)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_accepted_form() {
        for text in [
            "2026-11-20T06:12:00.0000000+01:00",
            "2026-11-20T05:12:00Z",
            "2026-11-20T05:12:00",
            "2026-11-20 05:12:00.000",
        ] {
            assert_eq!(
                parse_datetime(text).unwrap().to_rfc3339(),
                "2026-11-20T05:12:00+00:00",
                "{text}"
            );
        }
        assert_eq!(
            parse_datetime("/Date(1700000000000)/")
                .unwrap()
                .to_rfc3339(),
            "2023-11-14T22:13:20+00:00"
        );
        assert_eq!(
            parse_datetime("/Date(1700000000000+0100)/")
                .unwrap()
                .to_rfc3339(),
            "2023-11-14T22:13:20+00:00"
        );
        assert_eq!(
            parse_datetime("/Date(-1000)/").unwrap().to_rfc3339(),
            "1969-12-31T23:59:59+00:00"
        );
        for bad in [
            "11/20/2026 6:12:00 AM",
            "/Date(abc)/",
            "/Date(1+01)/",
            "/Date(99999999999999999999)/",
            "",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn auth_names_and_wmi_numbers() {
        assert_eq!(parse_auth("kerberos"), Ok(MigrationAuth::Kerberos));
        assert_eq!(parse_auth("1"), Ok(MigrationAuth::Kerberos));
        assert_eq!(parse_auth("CREDSSP"), Ok(MigrationAuth::CredSSP));
        assert_eq!(parse_auth("0"), Ok(MigrationAuth::CredSSP));
        assert_eq!(
            parse_auth("2"),
            Err("expected CredSSP, Kerberos, 0 or 1, found '2'".to_string())
        );
    }

    #[test]
    fn quote_escapes_and_truncates() {
        assert_eq!(quote("a\u{1b}[31mb"), "'a\\u{1b}[31mb'");
        assert_eq!(quote(&"x".repeat(100)), format!("'{}...'", "x".repeat(60)));
    }

    #[test]
    fn decodes_bom_variants() {
        assert_eq!(decode_text(b"\xEF\xBB\xBFab").unwrap(), "ab");
        assert_eq!(decode_text(b"\xFF\xFEa\0b\0").unwrap(), "ab");
        assert_eq!(decode_text(b"\xFE\xFF\0a\0b").unwrap(), "ab");
        assert_eq!(
            decode_text(b"x\ny\xff").unwrap_err(),
            "line 2: not valid UTF-8 (save the file as UTF-8 or UTF-16)"
        );
        assert!(decode_text(b"\xFF\xFEa").is_err());
    }
}
