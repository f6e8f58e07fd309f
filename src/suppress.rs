//! Suppressions: accepted risks, read from a TOML file (`--suppressions FILE`), applied to the
//! findings after the rules ran. A suppressed finding stays in every output, marked
//! [`Status::Suppressed`]; the report says which suppressions expired or matched nothing, so an
//! accepted risk cannot silently outlive its justification. Format: `docs/suppressions.md`.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use globset::{GlobBuilder, GlobMatcher};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::findings::{Finding, Status};

#[derive(Debug, thiserror::Error)]
pub enum SuppressError {
    #[error("{}: cannot read suppressions file: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {reason}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        /// 1-based line of the offending value, when known.
        line: Option<usize>,
        reason: String,
    },
}

/// One accepted risk, validated.
#[derive(Debug, Clone)]
pub struct Suppression {
    pub rule: String,
    pub object: String,
    pub target: Option<String>,
    pub justification: String,
    /// Last day on which the suppression still applies (inclusive).
    pub expires: NaiveDate,
    pub owner: Option<String>,
    /// 1-based line of the entry in its file, so reports can point at it.
    pub line: usize,
    object_pattern: Pattern,
    target_pattern: Option<Pattern>,
}

/// Every suppression of one file.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    pub path: PathBuf,
    pub entries: Vec<Suppression>,
}

/// A suppression as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuppressionRef {
    pub rule: String,
    pub object: String,
    pub target: Option<String>,
    pub expires: NaiveDate,
    pub owner: Option<String>,
    pub line: usize,
    /// Findings it matches; for an expired one, findings it no longer hides.
    pub matches: usize,
}

/// What [`apply`] did, for the reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SuppressionReport {
    /// Findings marked suppressed.
    pub suppressed: usize,
    /// Suppressions past their expiry date: they no longer suppress anything.
    pub expired: Vec<SuppressionRef>,
    /// Unexpired suppressions that matched no finding (fixed, renamed, or a typo).
    pub unmatched: Vec<SuppressionRef>,
}

/// Reads and validates a suppressions file. Any malformed entry fails the whole file: a
/// half-read file of accepted risks would make findings reappear or vanish unpredictably.
pub fn load_suppressions(path: &Path) -> Result<Suppressions, SuppressError> {
    let text = std::fs::read_to_string(path).map_err(|source| SuppressError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_suppressions(&text, path)
}

/// Parses suppressions from `text`; `path` only names the file in errors.
pub fn parse_suppressions(text: &str, path: &Path) -> Result<Suppressions, SuppressError> {
    // Notepad writes a BOM; it shifts byte offsets but not lines.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let invalid = |span: Option<std::ops::Range<usize>>, reason: String| SuppressError::Invalid {
        path: path.to_owned(),
        line: span.map(|s| line_of(text, s.start)),
        reason,
    };
    let file: RawFile = toml::from_str(text).map_err(|e| invalid(e.span(), e.message().into()))?;
    let mut entries = Vec::with_capacity(file.suppression.len());
    for raw in file.suppression {
        let line = line_of(text, raw.span().start);
        let raw = raw.into_inner();
        let rule = required(&raw.rule, "rule").map_err(|r| invalid(Some(raw.rule.span()), r))?;
        if rule.contains(['*', '?', '[', '{']) || rule.contains(char::is_whitespace) {
            return Err(invalid(
                Some(raw.rule.span()),
                format!("rule must be one rule id (like HV007), not {rule:?}"),
            ));
        }
        let object =
            required(&raw.object, "object").map_err(|r| invalid(Some(raw.object.span()), r))?;
        let object_pattern =
            Pattern::new(&object).map_err(|r| invalid(Some(raw.object.span()), r))?;
        let (target, target_pattern) = match &raw.target {
            None => (None, None),
            Some(t) => {
                let target = required(t, "target").map_err(|r| invalid(Some(t.span()), r))?;
                let pattern = Pattern::new(&target).map_err(|r| invalid(Some(t.span()), r))?;
                (Some(target), Some(pattern))
            }
        };
        let justification = required(&raw.justification, "justification")
            .map_err(|r| invalid(Some(raw.justification.span()), r))?;
        let owner = raw
            .owner
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty());
        entries.push(Suppression {
            rule,
            object,
            target,
            justification,
            expires: raw.expires.0,
            owner,
            line,
            object_pattern,
            target_pattern,
        });
    }
    Ok(Suppressions {
        path: path.to_owned(),
        entries,
    })
}

/// Marks every finding matched by an unexpired suppression as suppressed. A suppression is
/// valid through its `expires` day inclusive and expired from the next day on (`today >
/// expires`). When several match, the first in the file supplies the justification.
pub fn apply(findings: &mut [Finding], s: &Suppressions, today: NaiveDate) -> SuppressionReport {
    let mut report = SuppressionReport::default();
    let mut matches = vec![0usize; s.entries.len()];
    for finding in findings.iter_mut() {
        let mut suppressed_by: Option<&Suppression> = None;
        for (i, sup) in s.entries.iter().enumerate() {
            if sup.matches(finding) {
                matches[i] += 1;
                if suppressed_by.is_none() && !sup.is_expired(today) {
                    suppressed_by = Some(sup);
                }
            }
        }
        if let Some(sup) = suppressed_by {
            finding.status = Status::Suppressed;
            finding.suppression = Some(sup.describe());
            report.suppressed += 1;
        }
    }
    for (sup, &n) in s.entries.iter().zip(&matches) {
        if sup.is_expired(today) {
            report.expired.push(sup.to_ref(n));
        } else if n == 0 {
            report.unmatched.push(sup.to_ref(n));
        }
    }
    report
}

impl Suppression {
    /// Same rule (case-insensitive), object pattern on the object or its DN, and the target
    /// pattern on the target when the suppression names one.
    pub fn matches(&self, f: &Finding) -> bool {
        self.rule.eq_ignore_ascii_case(&f.rule_id)
            && (self.object_pattern.is_match(&f.object)
                || f.object_dn
                    .as_deref()
                    .is_some_and(|dn| self.object_pattern.is_match(dn)))
            && match &self.target_pattern {
                None => true,
                Some(p) => f.target.as_deref().is_some_and(|t| p.is_match(t)),
            }
    }

    pub fn is_expired(&self, today: NaiveDate) -> bool {
        today > self.expires
    }

    /// The text stored in `Finding::suppression`.
    fn describe(&self) -> String {
        match &self.owner {
            Some(o) => format!(
                "{} (owner {o}, expires {})",
                self.justification, self.expires
            ),
            None => format!("{} (expires {})", self.justification, self.expires),
        }
    }

    fn to_ref(&self, matches: usize) -> SuppressionRef {
        SuppressionRef {
            rule: self.rule.clone(),
            object: self.object.clone(),
            target: self.target.clone(),
            expires: self.expires,
            owner: self.owner.clone(),
            line: self.line,
            matches,
        }
    }
}

/// An exact name or a glob, both case-insensitive (AD names compare case-insensitively).
#[derive(Debug, Clone)]
enum Pattern {
    Exact(String),
    Glob(GlobMatcher),
}

impl Pattern {
    fn new(p: &str) -> Result<Pattern, String> {
        // Only a pattern with glob syntax is a glob, so DNs with `\,` escapes match exactly.
        if !p.contains(['*', '?', '[', '{']) {
            return Ok(Pattern::Exact(p.to_lowercase()));
        }
        GlobBuilder::new(p)
            .case_insensitive(true)
            // `*` must span `/` so `MSSQLSvc/*` matches `MSSQLSvc/sql01.corp.example:1433`.
            .literal_separator(false)
            // The same escaping on every platform.
            .backslash_escape(true)
            .build()
            .map(|g| Pattern::Glob(g.compile_matcher()))
            .map_err(|e| format!("invalid glob {p:?}: {}", e.kind()))
    }

    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Exact(e) => s.to_lowercase() == *e,
            Pattern::Glob(g) => g.is_match(s),
        }
    }
}

fn required(v: &Spanned<String>, field: &str) -> Result<String, String> {
    let t = v.get_ref().trim();
    if t.is_empty() {
        Err(format!("`{field}` must not be empty"))
    } else {
        Ok(t.to_owned())
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    suppression: Vec<Spanned<RawSuppression>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuppression {
    rule: Spanned<String>,
    object: Spanned<String>,
    #[serde(default)]
    target: Option<Spanned<String>>,
    justification: Spanned<String>,
    expires: ExpiryDate,
    #[serde(default)]
    owner: Option<String>,
}

/// A TOML local date (`2027-03-31`) or a `"YYYY-MM-DD"` string; a time part is refused
/// because expiry is by whole days.
struct ExpiryDate(NaiveDate);

impl<'de> Deserialize<'de> for ExpiryDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ExpiryVisitor)
    }
}

struct ExpiryVisitor;

impl<'de> Visitor<'de> for ExpiryVisitor {
    type Value = ExpiryDate;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a date like 2027-03-31")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<ExpiryDate, E> {
        parse_date(s).map(ExpiryDate).map_err(E::custom)
    }

    // toml hands its datetimes to visitors as a one-entry map holding the text form.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExpiryDate, A::Error> {
        let Some(_key) = map.next_key::<String>()? else {
            return Err(de::Error::custom("expected a date like 2027-03-31"));
        };
        let text: String = map.next_value()?;
        parse_date(&text).map(ExpiryDate).map_err(de::Error::custom)
    }
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let s = s.trim();
    // Ten characters: chrono alone also takes unpadded `2027-3-1`; one strict form, no time.
    let ok = if s.len() == 10 {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    } else {
        None
    };
    ok.ok_or_else(|| {
        format!("`expires` must be a date YYYY-MM-DD like 2027-03-31 (no time), not {s:?}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_counts_newlines_before_offset() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a\n", 99), 2);
    }

    #[test]
    fn exact_pattern_is_case_insensitive_and_not_a_prefix() {
        let p = Pattern::new("HVP01").unwrap();
        assert!(p.is_match("hvp01"));
        assert!(!p.is_match("HVP010"));
        // DN escapes are no glob syntax: matched literally.
        let dn = Pattern::new(r"CN=Smith\, John,OU=X").unwrap();
        assert!(dn.is_match(r"cn=smith\, john,ou=x"));
    }

    #[test]
    fn glob_star_spans_slashes() {
        let p = Pattern::new("mssqlsvc/*").unwrap();
        assert!(p.is_match("MSSQLSvc/sql01.corp.example:1433"));
        assert!(!p.is_match("cifs/sql01"));
    }

    #[test]
    fn dates_parse_and_time_is_refused() {
        assert_eq!(
            parse_date("2027-03-31").unwrap(),
            NaiveDate::from_ymd_opt(2027, 3, 31).unwrap()
        );
        assert!(parse_date("2027-02-30").is_err());
        assert!(parse_date("2027-03-31T00:00:00Z").is_err());
        assert!(parse_date("31/03/2027").is_err());
    }
}
