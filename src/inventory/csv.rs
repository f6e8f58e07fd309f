//! CSV inventories as `Export-Csv` writes them: header of PowerShell property names in any order
//! and case, an optional `#TYPE ...` first line, RFC 4180 quoting, UTF-8 BOM.

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
    let mut reader = ::csv::ReaderBuilder::new()
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
