//! Offline input: a streaming LDIF (RFC 2849) reader for directory exports.
//!
//! Accepts what administrators actually hand over: `ldapsearch` output with or without comments
//! and result trailers (`-LLL`, `-L`, plain), and `ldifde` exports (CRLF, UTF-8 or UTF-16LE with
//! a byte-order mark, `changetype: add`). Change files (modify/delete/moddn) are rejected: they
//! describe edits, not the directory's state.
//!
//! The reader holds one record at a time; memory follows what the caller keeps.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT as B64;

use super::RawEntry;

/// A problem in an LDIF file, located by file and 1-based line (the line where the offending
/// logical line starts). `line` is 0 for problems that concern the whole file (e.g. it cannot be
/// opened); those display without a line number.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{}", self.render())]
pub struct LdifError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl LdifError {
    fn new(file: &str, line: usize, reason: impl Into<String>) -> Self {
        LdifError {
            file: file.to_string(),
            line,
            reason: reason.into(),
        }
    }
    fn render(&self) -> String {
        if self.line == 0 {
            format!("{}: {}", self.file, self.reason)
        } else {
            format!("{}:{}: {}", self.file, self.line, self.reason)
        }
    }
}

/// Reads a whole LDIF file into entries. Prefer [`LdifReader`] to stream large exports.
pub fn read_ldif_file(path: &Path) -> Result<Vec<RawEntry>, LdifError> {
    let label = path.display().to_string();
    let file =
        File::open(path).map_err(|e| LdifError::new(&label, 0, format!("cannot open: {e}")))?;
    LdifReader::new(BufReader::new(file), &label).collect()
}

/// Byte source after encoding detection: the first bytes are read to look for a byte-order mark
/// and replayed through `Chain`, so no byte is lost whatever the reader's buffering.
type Replay<R> = Chain<Cursor<Vec<u8>>, R>;

enum Source<R: BufRead> {
    /// Not yet inspected for a byte-order mark.
    Unopened(R),
    Utf8(Replay<R>),
    Utf16(BufReader<Utf16LeDecoder<Replay<R>>>),
    /// After EOF or an error: the iterator is fused.
    Done,
}

/// A line's 1-based number and its bytes without the line ending.
type Numbered = (usize, Vec<u8>);

/// A logical line: physical lines joined by unfolding.
enum Logical {
    Blank,
    Comment,
    Content(Vec<u8>),
}

/// Streaming LDIF reader yielding one [`RawEntry`] per record. After the first error it yields
/// nothing more: a malformed file is not half-trusted.
pub struct LdifReader<R: BufRead> {
    source: Source<R>,
    file: String,
    /// Number of physical lines read so far.
    line: usize,
    /// One physical line of look-ahead, needed to recognise folded continuations.
    peeked: Option<Numbered>,
    /// Whether any content line has been seen (the `version:` line may only come first).
    seen_content: bool,
}

impl<R: BufRead> LdifReader<R> {
    pub fn new(reader: R, file_label: &str) -> Self {
        LdifReader {
            source: Source::Unopened(reader),
            file: file_label.to_string(),
            line: 0,
            peeked: None,
            seen_content: false,
        }
    }

    fn err(&self, line: usize, reason: impl Into<String>) -> LdifError {
        LdifError::new(&self.file, line, reason)
    }

    /// Looks at the first bytes for a byte-order mark and sets up decoding.
    fn open(&mut self) -> Result<(), LdifError> {
        let mut r = match std::mem::replace(&mut self.source, Source::Done) {
            Source::Unopened(r) => r,
            opened => {
                self.source = opened;
                return Ok(());
            }
        };
        let mut head = Vec::with_capacity(3);
        (&mut r)
            .take(3)
            .read_to_end(&mut head)
            .map_err(|e| self.err(1, format!("read error: {e}")))?;
        if head.starts_with(&[0xFF, 0xFE]) {
            head.drain(..2);
            let inner = Cursor::new(head).chain(r);
            self.source = Source::Utf16(BufReader::new(Utf16LeDecoder::new(inner)));
        } else if head.starts_with(&[0xFE, 0xFF]) {
            return Err(self.err(
                1,
                "file is UTF-16 big-endian; re-export as UTF-8 or UTF-16LE (ldifde -u)",
            ));
        } else {
            if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
                head.clear();
            }
            self.source = Source::Utf8(Cursor::new(head).chain(r));
        }
        Ok(())
    }

    /// Next physical line without its line ending, with its 1-based number.
    fn physical(&mut self) -> Result<Option<Numbered>, LdifError> {
        if let Some(p) = self.peeked.take() {
            return Ok(Some(p));
        }
        let mut buf = Vec::new();
        let n = match &mut self.source {
            Source::Utf8(r) => r.read_until(b'\n', &mut buf),
            Source::Utf16(r) => r.read_until(b'\n', &mut buf),
            Source::Unopened(_) | Source::Done => return Ok(None),
        }
        .map_err(|e| self.err(self.line + 1, format!("read error: {e}")))?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(Some((self.line, buf)))
    }

    /// Next logical line (continuations joined), with the number of its first physical line.
    fn logical(&mut self) -> Result<Option<(usize, Logical)>, LdifError> {
        let Some((start, mut text)) = self.physical()? else {
            return Ok(None);
        };
        if text.is_empty() {
            return Ok(Some((start, Logical::Blank)));
        }
        if text[0] == b' ' {
            // Anything foldable before this line would have absorbed it.
            return Err(self.err(
                start,
                "continuation line (leading space) at the start of a record",
            ));
        }
        while let Some((n, next)) = self.physical()? {
            if next.first() == Some(&b' ') {
                text.extend_from_slice(&next[1..]);
            } else {
                self.peeked = Some((n, next));
                break;
            }
        }
        if text[0] == b'#' {
            Ok(Some((start, Logical::Comment)))
        } else {
            Ok(Some((start, Logical::Content(text))))
        }
    }

    /// Reads the next record's content lines (comments dropped), or `None` at EOF.
    fn record_lines(&mut self) -> Result<Option<Vec<Numbered>>, LdifError> {
        let mut lines = Vec::new();
        loop {
            match self.logical()? {
                None => break,
                Some((_, Logical::Comment)) => {}
                Some((_, Logical::Blank)) => {
                    if !lines.is_empty() {
                        break;
                    }
                }
                Some((n, Logical::Content(text))) => {
                    if !self.seen_content {
                        self.seen_content = true;
                        let line = parse_line(&text).map_err(|r| self.err(n, r))?;
                        if line.name == "version" {
                            if line.value != b"1" {
                                return Err(self.err(
                                    n,
                                    format!(
                                        "unsupported LDIF version '{}' (only 1 is defined)",
                                        String::from_utf8_lossy(&line.value)
                                    ),
                                ));
                            }
                            continue;
                        }
                    }
                    lines.push((n, text));
                }
            }
        }
        Ok((!lines.is_empty()).then_some(lines))
    }

    fn next_entry(&mut self) -> Result<Option<RawEntry>, LdifError> {
        self.open()?;
        loop {
            let Some(lines) = self.record_lines()? else {
                return Ok(None);
            };
            if let Some(entry) = self.build(lines)? {
                return Ok(Some(entry));
            }
        }
    }

    /// Turns a record's lines into an entry; `None` for an ldapsearch trailer record.
    fn build(&self, lines: Vec<Numbered>) -> Result<Option<RawEntry>, LdifError> {
        let mut parsed = Vec::with_capacity(lines.len());
        for (n, text) in &lines {
            let line = parse_line(text).map_err(|r| self.err(*n, r))?;
            parsed.push((*n, line));
        }
        let (first_no, first) = &parsed[0];
        if first.name != "dn" {
            return self.trailer(&parsed).map(|()| None);
        }
        let dn = String::from_utf8(first.value.clone())
            .map_err(|_| self.err(*first_no, "dn is not valid UTF-8"))?;
        let mut entry = RawEntry::new(dn);
        entry.line = *first_no;
        for (n, line) in parsed.into_iter().skip(1) {
            match line.name.as_str() {
                "dn" => {
                    return Err(self.err(
                        n,
                        "second dn line in one record (missing blank line between records?)",
                    ));
                }
                "changetype" => match line.value.to_ascii_lowercase().as_slice() {
                    b"add" => {}
                    other => {
                        return Err(self.err(
                            n,
                            format!(
                                "changetype: {} makes this a change file, not a directory export",
                                String::from_utf8_lossy(other)
                            ),
                        ));
                    }
                },
                _ => entry.push(&line.name, line.value),
            }
        }
        Ok(Some(entry))
    }

    /// Accepts the records ldapsearch prints without a dn (search references and the final
    /// `search:`/`result:` block); anything else without a dn is malformed. A failed search
    /// (non-zero result, e.g. 4 Size limit exceeded) means the export is incomplete, so it is an
    /// error rather than a silently partial audit.
    fn trailer(&self, parsed: &[(usize, Line)]) -> Result<(), LdifError> {
        let (first_no, first) = &parsed[0];
        if !matches!(first.name.as_str(), "search" | "result" | "ref") {
            return Err(self.err(
                *first_no,
                format!("record has no dn (starts with '{}:')", first.name),
            ));
        }
        for (n, line) in parsed {
            if line.name == "result" {
                let text = String::from_utf8_lossy(&line.value);
                let code = text.split_whitespace().next().unwrap_or("");
                if code != "0" {
                    return Err(self.err(
                        *n,
                        format!("the search that produced this export failed (result: {text}); the export is incomplete"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl<R: BufRead> Iterator for LdifReader<R> {
    type Item = Result<RawEntry, LdifError>;

    fn next(&mut self) -> Option<Self::Item> {
        if matches!(self.source, Source::Done) {
            return None;
        }
        match self.next_entry() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.source = Source::Done;
                None
            }
            Err(e) => {
                self.source = Source::Done;
                Some(Err(e))
            }
        }
    }
}

/// One `name: value` line, name lower-cased, value decoded to bytes.
struct Line {
    name: String,
    value: Vec<u8>,
}

/// Parses an unfolded content line; the error is the reason only (the caller adds the place).
fn parse_line(text: &[u8]) -> Result<Line, String> {
    let colon = text
        .iter()
        .position(|&b| b == b':')
        .ok_or("line has no ':' (expected 'attribute: value')")?;
    let raw_name = &text[..colon];
    if raw_name.is_empty() {
        return Err("empty attribute name before ':'".into());
    }
    // Options such as `;range=0-1499` (AD ranged retrieval) are kept as part of the name.
    if let Some(bad) = raw_name
        .iter()
        .find(|b| !(b.is_ascii_alphanumeric() || b"-;.=*_".contains(b)))
    {
        return Err(format!(
            "invalid character {:?} in attribute name '{}'",
            *bad as char,
            String::from_utf8_lossy(raw_name)
        ));
    }
    let name = String::from_utf8_lossy(raw_name).to_ascii_lowercase();
    let rest = &text[colon + 1..];
    let value = match rest.first() {
        Some(b':') => {
            let b64 = rest[1..].trim_ascii();
            B64.decode(b64)
                .map_err(|e| format!("invalid base64 in value of '{name}': {e}"))?
        }
        Some(b'<') => {
            return Err(format!(
                "value of '{name}' is a URL reference (':<'); URL references are not supported"
            ));
        }
        _ => {
            // Leading spaces are the separator (FILL); trailing ones belong to the value.
            let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
            rest[start..].to_vec()
        }
    };
    Ok(Line { name, value })
}

/// Converts UTF-16LE (ldifde -u) to UTF-8 on the fly, so the line reader sees one encoding.
struct Utf16LeDecoder<R: Read> {
    inner: R,
    /// Undecoded input carried over: an odd byte or a high surrogate waiting for its pair.
    carry: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl<R: Read> Utf16LeDecoder<R> {
    fn new(inner: R) -> Self {
        Utf16LeDecoder {
            inner,
            carry: Vec::new(),
            out: Vec::new(),
            pos: 0,
            eof: false,
        }
    }

    /// Decodes the next chunk into `out`; leaves `out` empty only at EOF.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.pos = 0;
        while self.out.is_empty() && !self.eof {
            let mut buf = std::mem::take(&mut self.carry);
            let old = buf.len();
            buf.resize(old + 8192, 0);
            let n = self.inner.read(&mut buf[old..])?;
            buf.truncate(old + n);
            if n == 0 {
                self.eof = true;
                if buf.len() % 2 == 1 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "UTF-16LE file has an odd number of bytes",
                    ));
                }
            }
            let mut units: Vec<u16> = buf
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            self.carry = buf[units.len() * 2..].to_vec();
            // A trailing high surrogate may pair with the next chunk's first unit.
            if !self.eof && matches!(units.last(), Some(0xD800..=0xDBFF)) {
                let hi = units.pop().unwrap_or_default();
                let mut carry = hi.to_le_bytes().to_vec();
                carry.append(&mut self.carry);
                self.carry = carry;
            }
            for c in char::decode_utf16(units) {
                let c = c.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                let mut tmp = [0u8; 4];
                self.out
                    .extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf16LeDecoder<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.out.len() {
            self.refill()?;
        }
        let n = dst.len().min(self.out.len() - self.pos);
        dst[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
