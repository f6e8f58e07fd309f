//! CSV inventories as `Export-Csv` writes them: header of PowerShell property names in any order
//! and case, an optional `#TYPE ...` first line, RFC 4180 quoting, any encoding
//! [`decode_text`] reads. The separator is detected from the header line: `,` (the default),
//! `;` (`-UseCulture` and Excel in cultures whose list separator is `;`), TAB (Excel's "Unicode
//! text") or `|`.

use std::collections::HashMap;
use std::io::Read;

use super::value::{Field, decode_text, set_field};
use super::{DuplicateCheck, HostInventory, InventoryError, InventoryHost, Location};

/// Parses CSV from `reader`; `label` names the input in error messages.
pub fn parse_csv<R: Read>(reader: R, label: &str) -> Result<HostInventory, InventoryError> {
    let bytes = super::read_limited(reader, label)?;
    let text = decode_text(&bytes).map_err(|message| InventoryError::Encoding {
        file: label.to_string(),
        message,
    })?;
    parse_text(&text, label)
}

pub(crate) fn parse_text(text: &str, label: &str) -> Result<HostInventory, InventoryError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Windows PowerShell's Export-Csv writes "#TYPE <type name>" first unless -NoTypeInformation.
    // Only that first line is skipped: '#' is not a comment marker elsewhere.
    let (body, skipped_lines) = match text.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("#type") => {
            (text.find('\n').map_or("", |i| &text[i + 1..]), 1)
        }
        _ => (text, 0),
    };
    let header_line = body.lines().next().unwrap_or("");
    let delimiter = detect_delimiter(header_line).map_err(|message| InventoryError::Layout {
        file: label.to_string(),
        message,
    })?;
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(::csv::Trim::All)
        .from_reader(body.as_bytes());
    let mut lines = LineCounter::new(body, skipped_lines);
    let headers = match reader.headers() {
        Ok(headers) => headers,
        Err(e) => return Err(syntax_error(&e, label, &mut lines)),
    };
    let columns = columns(headers, label)?;

    let mut hosts = Vec::new();
    let mut locations = Vec::new();
    let mut duplicates = DuplicateCheck::default();
    let mut record = ::csv::StringRecord::new();
    let mut row = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(syntax_error(&e, label, &mut lines)),
        }
        row += 1;
        let line = lines.of(record.position());
        let at = Location::Row { row, line };
        let mut host = InventoryHost::default();
        for &(index, field) in &columns {
            let text = record.get(index).unwrap_or("");
            set_field(&mut host, field, text).map_err(|message| InventoryError::Value {
                file: label.to_string(),
                at,
                field: field.name(),
                message,
            })?;
        }
        duplicates.check(label, &host.computer_name, at)?;
        hosts.push(host);
        locations.push(at);
    }
    Ok(HostInventory {
        source: label.to_string(),
        hosts,
        locations,
    })
}

/// Separators a list separator or a spreadsheet uses, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The separator that splits `header` into the most known column names, ComputerName among
/// them. A header naming ComputerName in a way none of [`DELIMITERS`] separates is refused with
/// the separator it does use, rather than reported as lacking the column.
fn detect_delimiter(header: &str) -> Result<u8, String> {
    let mut best: Option<(usize, u8)> = None;
    for d in DELIMITERS {
        let fields = split_header(header, d);
        let known = fields
            .iter()
            .filter(|f| Field::from_name(f).is_some())
            .count();
        let has_name = fields
            .iter()
            .any(|f| Field::from_name(f) == Some(Field::ComputerName));
        if has_name && best.is_none_or(|(n, _)| known > n) {
            best = Some((known, d));
        }
    }
    if let Some((_, d)) = best {
        return Ok(d);
    }
    if header.to_ascii_lowercase().contains("computername") {
        // The column is there: the separator is one we do not split on.
        let other = header
            .chars()
            .find(|c| !c.is_alphanumeric() && !matches!(c, '"' | ' ' | '_' | '-'))
            .map_or_else(|| "none".to_string(), |c| format!("{:?}", c));
        return Err(format!(
            "the header names ComputerName, but its columns are not separated by ',', ';', TAB \
             or '|' (first other separator character: {other}); export with Export-Csv \
             (optionally -UseCulture) or save from Excel as CSV"
        ));
    }
    // No ComputerName at all: `columns` reports it with the header as read.
    Ok(b',')
}

/// The header's fields split at `delimiter` outside double quotes, quotes removed.
fn split_header(header: &str, delimiter: u8) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            c if !quoted && c as u32 == u32::from(delimiter) => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

fn syntax_error(e: &::csv::Error, label: &str, lines: &mut LineCounter) -> InventoryError {
    let message = match e.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        _ => e.to_string(),
    };
    InventoryError::CsvSyntax {
        file: label.to_string(),
        line: lines.of(e.position()),
        message,
    }
}

/// The known columns by position; unknown columns are ignored, a known one twice is an error.
fn columns(
    headers: &::csv::StringRecord,
    label: &str,
) -> Result<Vec<(usize, Field)>, InventoryError> {
    let layout = |message| InventoryError::Layout {
        file: label.to_string(),
        message,
    };
    let mut seen: HashMap<Field, usize> = HashMap::new();
    let mut columns = Vec::new();
    for (index, name) in headers.iter().enumerate() {
        let Some(field) = Field::from_name(name) else {
            continue;
        };
        if let Some(previous) = seen.insert(field, index) {
            return Err(layout(format!(
                "header names column {} twice (columns {} and {})",
                field.name(),
                previous + 1,
                index + 1
            )));
        }
        columns.push((index, field));
    }
    if !seen.contains_key(&Field::ComputerName) {
        return Err(layout(
            "header has no ComputerName column (expected a header line of PowerShell property \
             names such as ComputerName,VirtualMachineMigrationEnabled,...)"
                .to_string(),
        ));
    }
    Ok(columns)
}

/// Physical line numbers from byte offsets. The csv crate's own line count lags by one after a
/// CRLF (it counts the '\n' when it reads the next record), and Export-Csv writes CRLF.
struct LineCounter<'a> {
    text: &'a [u8],
    /// Lines before `text` in the file (the `#TYPE` line).
    skipped: u64,
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str, skipped: u64) -> Self {
        LineCounter {
            text: text.as_bytes(),
            skipped,
            pos: 0,
            line: 1,
        }
    }

    fn of(&mut self, position: Option<&::csv::Position>) -> u64 {
        position.map_or(0, |p| self.line_at(p.byte()) + self.skipped)
    }

    /// The line of the first character at or after `byte` that is not a line break: a record's
    /// recorded start can sit on the end of the previous line.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start < self.pos {
            // Records arrive in order; restart rather than trust a backwards offset.
            self.pos = 0;
            self.line = 1;
        }
        self.line += self.text[self.pos..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        self.pos = start;
        self.line
    }
}
