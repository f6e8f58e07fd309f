//! Reports do not amplify hostile directory values. A value is repeated in many places (the
//! host's name in each of its findings' messages, every readiness cell of its group, every
//! pair finding of its peers...), so one 10 MB `sAMAccountName` made gigabytes of reports.
//! [`shorten_long_values`] keeps each long value in full once, in the first row that is the
//! object's own (delegation inventory, privileged accounts, a finding's DN), and replaces
//! every other occurrence with a visible marker stating the full length. A value with no such
//! row (a dNSHostName, say) is shortened everywhere; the snapshot keeps it. Every renderer (HTML, CSV, JSON, terminal) reads the same shortened
//! [`ReportData`], so they agree.
//!
//! Ordinary values are never touched: nothing changes unless a value exceeds [`LONG`].

use aho_corasick::{AhoCorasick, Input, MatchKind};
use foldhash::{HashMap, HashMapExt};

use super::ReportData;

/// A value longer than this many bytes is long. Real directory values are far shorter (a
/// sAMAccountName has at most 20 characters, SPNs and DNs a few hundred bytes).
pub const LONG: usize = 1024;

/// Bytes of a long value kept before the marker.
const HEAD: usize = 64;

/// A field still longer than this after the long values in it were shortened (a long value in
/// another form, e.g. lower-cased by a template) keeps its first and last [`FIELD_END`] bytes.
pub const FIELD_CAP: usize = 64 * 1024;

/// Bytes kept at each end of a field over [`FIELD_CAP`].
const FIELD_END: usize = 4 * 1024;

/// Bytes of the prefix the search looks for; candidates sharing one are told apart after.
const PREFIX: usize = 32;

/// Largest char boundary of `s` at or below `at`.
fn floor(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Smallest char boundary of `s` at or above `at`.
fn ceil(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// FNV-1a, 64 bits: tells two shortened values with the same beginning and length apart, and
/// is the same in every run (`diff` compares findings of two runs by their shortened keys).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The shortened form of a long value: its first bytes and a marker with its length and hash,
/// e.g. `HV01xxxx…[shortened: 10485760 bytes, #1f3a…]`.
pub fn short_form(value: &str) -> String {
    format!(
        "{}…[shortened: {} bytes, #{:016x}]",
        &value[..floor(value, HEAD)],
        value.len(),
        fnv1a(value)
    )
}

/// Shortens a field over [`FIELD_CAP`]: its ends and a marker with its full length.
fn cap_field(s: &mut String) {
    if s.len() <= FIELD_CAP {
        return;
    }
    let head = floor(s, FIELD_END);
    let tail = ceil(s, s.len() - FIELD_END);
    *s = format!(
        "{}…[shortened: field of {} bytes, {} left out]…{}",
        &s[..head],
        s.len(),
        tail - head,
        &s[tail..]
    );
}

struct Shortener {
    /// Finds the first [`PREFIX`] bytes of any long value.
    prefixes: AhoCorasick,
    /// Per prefix pattern: indexes into `values`, longest first.
    by_prefix: Vec<Vec<usize>>,
    values: Vec<String>,
    short: Vec<String>,
    /// Whether the full value was already kept once.
    kept: Vec<bool>,
    index: HashMap<String, usize>,
}

impl Shortener {
    fn new(mut values: Vec<String>) -> Option<Shortener> {
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        let mut pattern_of: HashMap<&str, usize> = HashMap::new();
        let mut patterns: Vec<&str> = Vec::new();
        let mut by_prefix: Vec<Vec<usize>> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let p = &v[..floor(v, PREFIX)];
            let k = *pattern_of.entry(p).or_insert_with(|| {
                patterns.push(p);
                by_prefix.push(Vec::new());
                patterns.len() - 1
            });
            by_prefix[k].push(i);
        }
        let prefixes = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&patterns)
            .ok()?;
        let short: Vec<String> = values.iter().map(|v| short_form(v)).collect();
        let index = values
            .iter()
            .enumerate()
            .map(|(i, v)| (v.clone(), i))
            .collect();
        Some(Shortener {
            prefixes,
            by_prefix,
            kept: vec![false; values.len()],
            values,
            short,
            index,
        })
    }

    /// Replaces every long value inside `s` by its short form; then caps the field.
    fn text(&self, s: &mut String) {
        if s.len() > LONG {
            let mut out = String::new();
            let mut copied = 0;
            let mut at = 0;
            while let Some(m) = self.prefixes.find(Input::new(s.as_str()).span(at..s.len())) {
                let start = m.start();
                let hit = self.by_prefix[m.pattern().as_usize()]
                    .iter()
                    .find(|&&i| s[start..].starts_with(self.values[i].as_str()));
                match hit {
                    Some(&i) => {
                        out.push_str(&s[copied..start]);
                        out.push_str(&self.short[i]);
                        copied = start + self.values[i].len();
                        at = copied;
                    }
                    None => at = ceil(s, start + 1),
                }
                if at >= s.len() {
                    break;
                }
            }
            if copied > 0 {
                out.push_str(&s[copied..]);
                *s = out;
            }
        }
        cap_field(s);
    }

    /// A field that may be the value's own place: the first such occurrence of a long value
    /// stays in full.
    fn home(&mut self, s: &mut String) {
        if let Some(&i) = self.index.get(s.as_str())
            && !self.kept[i]
        {
            self.kept[i] = true;
            return;
        }
        self.text(s);
    }
}

/// Every string of a report that holds a directory value, in a fixed order: `home` fields
/// first (where a value is kept in full once), then the rest.
fn visit(
    data: &mut ReportData,
    home: &mut dyn FnMut(&mut String),
    text: &mut dyn FnMut(&mut String),
) {
    for r in &mut data.delegations {
        home(&mut r.account);
        home(&mut r.dn);
        r.targets.iter_mut().for_each(&mut *home);
    }
    for r in &mut data.privileged {
        home(&mut r.account);
        home(&mut r.dn);
        r.via.iter_mut().for_each(&mut *text);
    }
    for f in &mut data.findings {
        if let Some(dn) = &mut f.object_dn {
            home(dn);
        }
    }
    // Everything below only ever shows shortened forms. The finding keys (object, target)
    // are shortened the same way in every run, so `diff` still matches them.
    for f in &mut data.findings {
        text(&mut f.object);
        if let Some(t) = &mut f.target {
            text(t);
        }
        if let Some(g) = &mut f.group {
            text(g);
        }
        text(&mut f.message);
        // Evidence values are often lists joined into one string: text, not a value.
        f.evidence.values_mut().for_each(&mut *text);
        f.evidence_lists
            .values_mut()
            .flat_map(|items| items.iter_mut())
            .for_each(&mut *text);
        if let Some(r) = &mut f.remediation {
            text(r);
        }
        if let Some(s) = &mut f.suppression {
            text(s);
        }
    }
    // A group's host list is not a home: the HTML matrix prints it once per row and column.
    for g in &mut data.readiness {
        text(&mut g.group);
        g.hosts.iter_mut().for_each(&mut *text);
        for c in &mut g.cells {
            text(&mut c.from);
            text(&mut c.to);
            c.reasons.iter_mut().for_each(&mut *text);
            c.unknown.iter_mut().for_each(&mut *text);
            for f in &mut c.forms {
                if let Some(n) = &mut f.name {
                    text(n);
                }
                f.unknown.iter_mut().for_each(&mut *text);
            }
        }
    }
    for h in &mut data.hosts {
        text(&mut h.name);
        for v in [&mut h.fqdn, &mut h.group, &mut h.cluster]
            .into_iter()
            .flatten()
        {
            text(v);
        }
    }
    for g in &mut data.gaps {
        text(&mut g.what);
        text(&mut g.reason);
    }
    data.suppression_notes.iter_mut().for_each(&mut *text);
}

/// Shortens the long values of `data` in place (see the module documentation). O(total
/// length of the report's strings); a report without long values is left exactly as it is.
pub fn shorten_long_values(data: &mut ReportData) {
    let mut long: Vec<String> = Vec::new();
    let mut over_cap = false;
    visit(
        data,
        &mut |s| {
            if s.len() > LONG {
                long.push(s.clone());
            }
        },
        &mut |s| over_cap |= s.len() > FIELD_CAP,
    );
    // Finding keys are values too (a host's name), though never kept in full there.
    for f in &data.findings {
        for v in [Some(&f.object), f.target.as_ref()].into_iter().flatten() {
            if v.len() > LONG {
                long.push(v.clone());
            }
        }
    }
    if long.is_empty() {
        if over_cap {
            visit(data, &mut |_| {}, &mut cap_field);
        }
        return;
    }
    let Some(shortener) = Shortener::new(long) else {
        // The search could not be built (too large): fall back to capping every field.
        visit(data, &mut cap_field, &mut cap_field);
        return;
    };
    let cell = std::cell::RefCell::new(shortener);
    visit(data, &mut |s| cell.borrow_mut().home(s), &mut |s| {
        cell.borrow().text(s)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_states_length_and_keeps_char_boundaries() {
        let v = format!("é{}", "x".repeat(2000));
        let s = short_form(&v);
        assert!(s.starts_with("éxxx"), "{s}");
        assert!(s.contains("…[shortened: 2002 bytes, #"), "{s}");
        assert_eq!(short_form(&v), s, "deterministic");
        assert_ne!(short_form(&format!("é{}", "y".repeat(2000))), s);
    }

    #[test]
    fn text_replaces_every_occurrence_longest_first() {
        let big = "H".repeat(3000);
        let bigger = format!("{big}$");
        let sh = Shortener::new(vec![big.clone(), bigger.clone()]).unwrap();
        let mut m = format!("{big} cannot delegate to x; {bigger}; {big}");
        sh.text(&mut m);
        assert_eq!(
            m,
            format!(
                "{} cannot delegate to x; {}; {}",
                short_form(&big),
                short_form(&bigger),
                short_form(&big)
            )
        );
        let mut plain = "ordinary".to_string();
        sh.text(&mut plain);
        assert_eq!(plain, "ordinary");
    }

    #[test]
    fn home_keeps_the_first_occurrence_only() {
        let big = "d".repeat(5000);
        let mut sh = Shortener::new(vec![big.clone()]).unwrap();
        let (mut a, mut b) = (big.clone(), big.clone());
        sh.home(&mut a);
        sh.home(&mut b);
        assert_eq!(a, big);
        assert_eq!(b, short_form(&big));
    }

    #[test]
    fn fields_over_the_cap_keep_their_ends() {
        let mut s = format!("start {} end", "é".repeat(FIELD_CAP));
        cap_field(&mut s);
        assert!(s.starts_with("start é"));
        assert!(s.ends_with("é end"));
        assert!(s.contains(&format!(
            "…[shortened: field of {} bytes, ",
            2 * FIELD_CAP + 10
        )));
        assert!(s.len() < 3 * FIELD_END);
    }
}
