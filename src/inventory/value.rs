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
    if let Some(culture) = parse_culture_datetime(text) {
        return culture.map(|t| t.and_utc());
    }
    Err(format!(
        "expected an ISO 8601 date and time such as 2026-11-20T06:12:00.0000000+01:00, found {}",
        quote(text)
    ))
}

/// A date as `DateTime.ToString()` writes it in the exporting machine's culture, which is what
/// `Export-Csv` writes for a `[datetime]` property and what Excel writes back: `dd.MM.yyyy
/// HH:mm:ss` (de-DE and other day-first cultures with dots), `M/d/yyyy h:mm:ss tt` (en-US),
/// `dd/MM/yyyy HH:mm:ss` (en-GB, fr-FR); seconds may be missing (Excel's re-save). Dots are
/// always day first. With slashes the order is known only when one number exceeds 12 or both
/// are equal; otherwise the value is refused (`03/04/2026` is 3 April in London and March 4 in
/// New York), never guessed. `None` when `text` is not of this shape at all.
fn parse_culture_datetime(text: &str) -> Option<Result<NaiveDateTime, String>> {
    let (date, time) = text.split_once(' ')?;
    let (sep, day_first) = if date.contains('.') {
        ('.', Some(true))
    } else if date.contains('/') {
        ('/', None)
    } else {
        return None;
    };
    let parts: Vec<&str> = date.split(sep).collect();
    let [a, b, y] = parts.as_slice() else {
        return None;
    };
    let num = |t: &str| -> Option<u32> {
        (!t.is_empty() && t.len() <= 2 && t.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (a, b) = (num(a)?, num(b)?);
    if y.len() != 4 || !y.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let year: i32 = y.parse().ok()?;
    let day_first = match day_first {
        Some(d) => d,
        None if a > 12 && b <= 12 => true,
        None if b > 12 && a <= 12 => false,
        None if a == b => true,
        None if a <= 12 && b <= 12 => {
            return Some(Err(format!(
                "{} is ambiguous: {a}/{b} could be day/month or month/day; write the date as \
                 ISO 8601 (yyyy-MM-ddTHH:mm:ss, e.g. with ToString('o'))",
                quote(text)
            )));
        }
        None => return None,
    };
    let (day, month) = if day_first { (a, b) } else { (b, a) };
    let time = time.trim();
    let (clock, meridiem) = match time.rsplit_once(' ') {
        Some((clock, m)) if m.eq_ignore_ascii_case("AM") => (clock.trim(), Some(false)),
        Some((clock, m)) if m.eq_ignore_ascii_case("PM") => (clock.trim(), Some(true)),
        _ => (time, None),
    };
    let fields: Vec<&str> = clock.split(':').collect();
    let (h, m, sec) = match fields.as_slice() {
        [h, m] => (num(h)?, num(m)?, 0),
        [h, m, s] => (num(h)?, num(m)?, num(s)?),
        _ => return None,
    };
    let hour = match meridiem {
        None => h,
        Some(_) if h == 0 || h > 12 => return None,
        Some(false) => h % 12,
        Some(true) => h % 12 + 12,
    };
    let parsed =
        chrono::NaiveDate::from_ymd_opt(year, month, day).and_then(|d| d.and_hms_opt(hour, m, sec));
    Some(parsed.ok_or_else(|| format!("{} is not a valid date and time", quote(text))))
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

/// Text of an inventory file, decoded with `encoding_rs` (WHATWG Encoding Standard):
/// - with a byte-order mark: UTF-8, UTF-16 LE (Windows PowerShell 5.1's `-Encoding Unicode`,
///   `>` and `Out-File`, Excel's "Unicode text") or UTF-16 BE; malformed content is an error;
/// - without one: UTF-8 when it is valid UTF-8 (PowerShell 7, `-Encoding UTF8NoBOM`, ASCII),
///   otherwise the Windows ANSI code page of Western European systems, Windows-1252 (Windows
///   PowerShell 5.1's `-Encoding Default`, Excel's "CSV" save). Text from another code page
///   decodes to other non-ASCII letters: host names are ASCII in practice, and `docs/inventory.md`
///   says to save as UTF-8 otherwise.
pub(crate) fn decode_text(bytes: &[u8]) -> Result<String, String> {
    use encoding_rs::{UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
    let (encoding, rest, name) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (UTF_8, rest, "UTF-8")
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        (UTF_16LE, rest, "UTF-16 LE")
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        (UTF_16BE, rest, "UTF-16 BE")
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    } else if looks_like_utf16_without_bom(bytes) {
        return Err(
            "looks like UTF-16 without a byte-order mark: save it as UTF-8, or as UTF-16 with \
             a byte-order mark (Export-Csv -Encoding Unicode writes one)"
                .to_string(),
        );
    } else {
        let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
        return Ok(text.into_owned());
    };
    if encoding != UTF_8 && !rest.len().is_multiple_of(2) {
        return Err(format!(
            "{name} text (byte-order mark) with an odd number of bytes: the file is cut"
        ));
    }
    match encoding.decode_without_bom_handling_and_without_replacement(rest) {
        Some(text) => Ok(text.into_owned()),
        None => {
            // Locate the first bad sequence for the message: decode with replacement and
            // count lines up to the first U+FFFD.
            let (lossy, _) = encoding.decode_without_bom_handling(rest);
            let line = lossy
                .find('\u{FFFD}')
                .map_or(1, |at| lossy[..at].matches('\n').count() + 1);
            Err(format!(
                "line {line}: not valid {name} although the byte-order mark says {name}"
            ))
        }
    }
}

/// Many zero bytes at odd (or even) offsets: UTF-16 of mostly ASCII text, saved without a BOM.
fn looks_like_utf16_without_bom(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(512)];
    let zeros = |parity| {
        sample
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|b| **b == 0)
            .count()
    };
    sample.len() >= 8 && (zeros(0) * 4 > sample.len() || zeros(1) * 4 > sample.len())
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
        // The exporting machine's culture: read when the order is certain, as UTC like ISO
        // without an offset.
        for text in [
            "20.11.2026 05:12:00",
            "20.11.2026 05:12",
            "11/20/2026 5:12:00 AM",
            "20/11/2026 05:12:00",
        ] {
            assert_eq!(
                parse_datetime(text).unwrap().to_rfc3339(),
                "2026-11-20T05:12:00+00:00",
                "{text}"
            );
        }
        assert_eq!(
            parse_datetime("10/23/2026 5:05:09 PM")
                .unwrap()
                .to_rfc3339(),
            "2026-10-23T17:05:09+00:00"
        );
        assert_eq!(
            parse_datetime("12/12/2026 12:00:00 AM")
                .unwrap()
                .to_rfc3339(),
            "2026-12-12T00:00:00+00:00"
        );
        let ambiguous = parse_datetime("03/04/2026 06:12:00").unwrap_err();
        assert!(ambiguous.contains("ambiguous"), "{ambiguous}");
        assert!(
            parse_datetime("31.02.2026 06:12:00")
                .unwrap_err()
                .contains("not a valid date")
        );
        for bad in [
            "13/13/2026 6:12:00",
            "11/20/26 6:12:00 AM",
            "11/20/2026 13:12:00 PM",
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
        // Not UTF-8 and no BOM: the ANSI code page (Windows-1252).
        assert_eq!(decode_text(b"CL-M\xDCNCHEN \x80").unwrap(), "CL-MÜNCHEN €");
        assert_eq!(
            decode_text(b"\xEF\xBB\xBFx\ny\xff").unwrap_err(),
            "line 2: not valid UTF-8 although the byte-order mark says UTF-8"
        );
        assert!(decode_text(b"\xFF\xFEa").is_err());
        assert!(
            decode_text(b"C\0o\0m\0p\0u\0t\0e\0r\0\xff\0")
                .unwrap_err()
                .contains("UTF-16 without a byte-order mark")
        );
    }
}
