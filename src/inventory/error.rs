//! Errors while reading a host inventory. Each names the file and, where there is one, the row
//! (CSV) or element (JSON) and the column or property.

use std::fmt;

/// Where in the file a host record starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// CSV: 1-based data row (the header is not counted) and the physical 1-based line.
    Row { row: usize, line: u64 },
    /// JSON: 0-based index in the host array (a single object is element 0).
    Element(usize),
}

impl Location {
    /// What a field is called in this format.
    pub fn field_word(&self) -> &'static str {
        match self {
            Location::Row { .. } => "column",
            Location::Element(_) => "property",
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Row { row, line } => write!(f, "row {row} (line {line})"),
            Location::Element(i) => write!(f, "element [{i}]"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{file}: cannot read: {err}")]
    Io { file: String, err: std::io::Error },
    #[error("{file}: larger than {limit} bytes, refusing to read it")]
    TooLarge { file: String, limit: u64 },
    #[error("{file}: {message}")]
    Encoding { file: String, message: String },
    #[error("{file}: line {line}: {message}")]
    CsvSyntax {
        file: String,
        line: u64,
        message: String,
    },
    #[error("{file}: line {line}, column {column}: {message}")]
    JsonSyntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The file as a whole has the wrong shape (no ComputerName column, not an array...).
    #[error("{file}: {message}")]
    Layout { file: String, message: String },
    /// A whole record is wrong (a JSON element that is not an object, or lacks ComputerName).
    #[error("{file}: {at}: {message}")]
    Record {
        file: String,
        at: Location,
        message: String,
    },
    #[error("{file}: {at}, {} {field}: {message}", .at.field_word())]
    Value {
        file: String,
        at: Location,
        field: &'static str,
        message: String,
    },
    #[error("{file}: {at} and {first} both describe host {name}")]
    Duplicate {
        file: String,
        name: String,
        first: Location,
        at: Location,
    },
    /// Two rows under different names for one host: which is true cannot be told.
    #[error("{file}: {at} and {first} describe the same host: {message}; keep one row per host")]
    SameHost {
        file: String,
        first: Location,
        at: Location,
        /// Both names and why they are one host.
        message: String,
    },
}
