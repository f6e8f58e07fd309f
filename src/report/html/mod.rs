//! `report.html`: one self-contained page rendered with minijinja from
//! `report-templates/report.html.j2` (embedded; `--templates DIR` may override it and its
//! `report.css` / `report.js`). Autoescape is forced on for the page; the finding details
//! travel as a JSON blob that the page's script renders with textContent only.

use std::path::Path;
use std::sync::Arc;

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;

use crate::rules::lazy::View;

use super::text::{has_bidi_control, is_bidi_control};
use super::{ReportData, ReportError};

mod view;

pub(crate) use view::checks_or_rules;
use view::{Shared, details, view};

const TEMPLATE: &str = include_str!("../../../report-templates/report.html.j2");
const CSS: &str = include_str!("../../../report-templates/report.css");
const JS: &str = include_str!("../../../report-templates/report.js");
const TEMPLATE_NAME: &str = "report.html.j2";

/// Above this many hosts a group's matrix becomes a summary: a 200x200 grid is already 40,000
/// cells, and larger ones make the page unusable.
pub const MATRIX_MAX_HOSTS: usize = 200;
/// Above this many hosts a group's matrix is collapsed (`<details>`) and its cells are kept in
/// an inert `<template>` that the page renders only when the reader opens it: at 125 groups of
/// 16 hosts the page would otherwise lay out 30,000 cells before anyone looks at one.
pub const MATRIX_OPEN_MAX_HOSTS: usize = 12;
/// Width in pixels of a group's ready / blocked / unknown bar in the group index.
const BAR_WIDTH: usize = 120;
/// Findings rows shown before "Show more": Chromium lays out a 10,000-row table in seconds,
/// a 500-row one at once. Filters and search still cover every finding.
pub const PAGE_ROWS: usize = 500;
/// Blocked pairs listed in a group summary; the rest are in the CSV/JSON.
const MAX_BLOCKED_LISTED: usize = 2000;

/// Renders the report. `templates` overrides the embedded `report.html.j2`, `report.css` and
/// `report.js` with those files of that directory that exist.
pub fn render_html(
    data: &Arc<ReportData>,
    templates: Option<&Path>,
) -> Result<String, ReportError> {
    let mut out = Vec::new();
    write_html(&mut out, data, templates)?;
    String::from_utf8(out).map_err(|e| ReportError::Io {
        what: "HTML report".into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// [`render_html`] straight into `w`: a large domain's page is tens of megabytes before its
/// lazy parts are deflated (the `lazy` filter, [`lazy_template`]), which need not sit in
/// memory next to the data it was made from.
pub fn write_html<W: std::io::Write>(
    w: W,
    data: &Arc<ReportData>,
    templates: Option<&Path>,
) -> Result<(), ReportError> {
    let template = load(templates, TEMPLATE_NAME, TEMPLATE)?;
    let css = load(templates, "report.css", CSS)?;
    let js = load(templates, "report.js", JS)?;

    let mut env = Environment::new();
    // Explicit rather than relying on the file extension: the page is HTML whatever an
    // override template is called.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // Bidirectional controls in a directory value would reorder what the reader sees
    // ("Trojan Source"); the terminal drops them, the page shows them as `[U+202E]`.
    env.set_formatter(|out, state, value| {
        // A matrix row's cells: markup hvaudit built and escaped (view::GridCells).
        if let Some(cells) = value.downcast_object_ref::<view::GridCells>() {
            return cells.write_markup(out).map_err(|_| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write the page")
            });
        }
        if !value.is_safe()
            && let Some(text) = value.as_str()
            && has_bidi_control(text)
        {
            let shown = Value::from(bidi_visible(text));
            return minijinja::escape_formatter(out, state, &shown);
        }
        minijinja::escape_formatter(out, state, value)
    });
    // `{{ markup | lazy }}`: shown on demand, deflated when large.
    env.add_filter("lazy", |markup: Value| {
        // The markup is read in place: a section of a large domain is megabytes.
        let lazy = match markup.as_str() {
            Some(body) if markup.is_safe() => lazy_template(body),
            // Plain text handed to the filter is escaped like any other output.
            _ => lazy_template(&minijinja::HtmlEscape(&markup.to_string()).to_string()),
        };
        Value::from_safe_string(lazy)
    });
    env.add_template_owned(TEMPLATE_NAME, template)?;

    let causes = super::causes::shared_causes(&data.findings);
    let view = view(data, &causes);
    // `r.data` is the whole report, converted field by field as the template reads it: the
    // built-in page never reads `findings` or `readiness` (it uses `r.rows` and `r.groups`),
    // which for a large domain are 150,000 readiness cells.
    let r = minijinja::context! {
        data => View::value(Shared(Arc::clone(data))),
        ..Value::from(Serde(&view))
    };
    let ctx = minijinja::context! {
        r => r,
        css => Value::from_safe_string(css),
        js => Value::from_safe_string(js),
        data_json => Value::from_safe_string(script_json(&details(data, &causes))?),
    };
    env.get_template(TEMPLATE_NAME)?
        .render_captured_to(ctx, w)?;
    Ok(())
}

/// Opening tag of markup the page inserts only on demand (a collapsed matrix, the delegation
/// inventory of a large domain): inert until then, so it costs the browser nothing at load.
/// Lazy markup at least this long is sent deflated: at 2,000 hosts the delegation inventory
/// alone is 5 MB of markup (60 SPNs per host) and the 125 matrices 3 MB, which compress about
/// twenty-fold.
pub const LAZY_DEFLATE_MIN: usize = 16 * 1024;

/// `<template class="lazy">` holding `body` (markup of this page, already escaped), or, when
/// `body` is large, an empty one whose `data-z` is the base64 (RFC 4648) of its zlib stream
/// (RFC 1950), which the page's script inflates with the browser's
/// `DecompressionStream("deflate")` when the reader opens it. The fastest level: the content is
/// repetitive markup, and a 100,000-computer page holds megabytes of it.
pub fn lazy_template(body: &str) -> String {
    use base64::Engine as _;
    use std::io::Write as _;
    thread_local! {
        // One zlib stream per thread, reset between sections: setting one up costs more than
        // deflating a 16 KiB section, and a large page has hundreds.
        static Z: std::cell::RefCell<Option<flate2::write::ZlibEncoder<Vec<u8>>>> =
            const { std::cell::RefCell::new(None) };
    }
    if body.len() >= LAZY_DEFLATE_MIN {
        let zipped = Z.with_borrow_mut(|slot| {
            let z = slot.get_or_insert_with(|| {
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast())
            });
            // `reset` ends the stream and hands back its bytes; a failed stream is dropped.
            let r = z
                .write_all(body.as_bytes())
                .and_then(|()| z.reset(Vec::new()));
            if r.is_err() {
                *slot = None;
            }
            r
        });
        // Writing to a Vec cannot fail; should it, the markup stays as it is.
        if let Ok(bytes) = zipped {
            return format!(
                "<template class=\"lazy\" data-z=\"{}\"></template>",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            );
        }
    }
    format!("<template class=\"lazy\">{body}</template>")
}

fn load(dir: Option<&Path>, name: &str, embedded: &str) -> Result<String, ReportError> {
    if let Some(dir) = dir {
        let path = dir.join(name);
        if path.exists() {
            return std::fs::read_to_string(&path)
                .map_err(|source| ReportError::TemplateFile { path, source });
        }
    }
    Ok(embedded.to_string())
}

/// `s` with each bidirectional control (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI:
/// U+202A..U+202E, U+2066..U+2069, Unicode UAX #9) replaced by its visible name, e.g.
/// `[U+202E]`, so the page shows a value in its stored order and says what it holds.
pub fn bidi_visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_bidi_control(c) {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Appends `s` to `out` as the page's formatter writes a directory value: bidirectional
/// controls shown by name ([`bidi_visible`]), then HTML-escaped as minijinja's autoescape does
/// ([`minijinja::HtmlEscape`]). For markup hvaudit builds itself (the matrix cells).
pub(super) fn escape_value(out: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    if has_bidi_control(s) {
        write!(out, "{}", minijinja::HtmlEscape(&bidi_visible(s)))
    } else {
        write!(out, "{}", minijinja::HtmlEscape(s))
    }
}

/// JSON that is safe inside `<script type="application/json">`: `<`, `>` and `&` cannot
/// close the element or start a comment, and U+2028/2029 are escaped for older parsers.
/// These characters only occur inside JSON strings, where `\uXXXX` means the same.
/// Bidirectional controls (also only inside strings) become their visible names, as in
/// [`bidi_visible`]: the page's script shows these values as text, and filters compare
/// them with the template's (equally replaced) host names.
pub fn script_json<T: Serialize>(v: &T) -> Result<String, ReportError> {
    let raw = serde_json::to_string(v)?;
    let mut out = String::with_capacity(raw.len() + raw.len() / 16);
    // Runs without `<`, `>`, `&` or a 0xE2 byte (the lead byte of U+2028, U+2029 and every
    // bidirectional control) are copied whole: the blob is megabytes of plain ASCII.
    let mut rest = raw.as_str();
    while let Some(at) = rest
        .bytes()
        .position(|b| matches!(b, b'<' | b'>' | b'&' | 0xE2))
    {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(c) = rest.chars().next() else { break };
        match c {
            c if is_bidi_control(c) => out.push_str(&format!("[U+{:04X}]", c as u32)),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{LAZY_DEFLATE_MIN, lazy_template, script_json};

    #[test]
    fn large_lazy_templates_are_deflated_and_inflate_back() {
        use base64::Engine as _;
        use std::io::Read as _;
        let big = "<tr><td>cifs/HV00001.lab.test</td></tr>\n".repeat(LAZY_DEFLATE_MIN / 20);
        let out = lazy_template(&big);
        assert!(
            out.starts_with("<template class=\"lazy\" data-z=\""),
            "{out}"
        );
        assert!(out.ends_with("\"></template>"));
        let start = out.find("data-z=\"").unwrap() + 8;
        let z = &out[start..start + out[start..].find('"').unwrap()];
        let bytes = base64::engine::general_purpose::STANDARD.decode(z).unwrap();
        let mut back = String::new();
        flate2::read::ZlibDecoder::new(&bytes[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, big);
        assert!(z.len() * 5 < big.len(), "{} of {}", z.len(), big.len());
        // Small lazy content stays as it is.
        assert_eq!(
            lazy_template("small"),
            "<template class=\"lazy\">small</template>"
        );
    }

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let s = script_json(&vec!["</script><!--&\u{2028}"]).unwrap();
        assert_eq!(s, r#"["\u003c/script\u003e\u003c!--\u0026\u2028"]"#);
        let back: Vec<String> = serde_json::from_str(&s).unwrap();
        assert_eq!(back, vec!["</script><!--&\u{2028}".to_string()]);
        let s = script_json(&vec!["a\u{202e}b\u{2066}c\u{2069}"]).unwrap();
        assert_eq!(s, r#"["a[U+202E]b[U+2066]c[U+2069]"]"#);
    }
}
