//! JSON inventories as `ConvertTo-Json` writes them: an array of host objects, a single object
//! (what a one-element array becomes), or `{"hosts": [...]}`.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::value::{Field, quote, set_field};
use super::{DuplicateCheck, HostInventory, InventoryError, InventoryHost, Location};

/// Parses JSON `text`; `label` names the input in error messages.
pub fn parse_json(text: &str, label: &str) -> Result<HostInventory, InventoryError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root: Value = serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        InventoryError::JsonSyntax {
            file: label.to_string(),
            line: e.line(),
            column: e.column(),
            message: full.strip_suffix(&position).unwrap_or(&full).to_string(),
        }
    })?;
    let layout = |message| InventoryError::Layout {
        file: label.to_string(),
        message,
    };
    let elements: Vec<&Value> = match &root {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => match wrapped_hosts(map) {
            None => vec![&root],
            Some(Value::Array(items)) => items.iter().collect(),
            Some(single @ Value::Object(_)) => vec![single],
            Some(other) => {
                return Err(layout(format!(
                    "property hosts: expected an array of host objects, found {}",
                    kind(other)
                )));
            }
        },
        other => {
            return Err(layout(format!(
                "expected an array of host objects, one host object or {{\"hosts\": [...]}}, \
                 found {}",
                kind(other)
            )));
        }
    };

    let mut hosts = Vec::with_capacity(elements.len());
    let mut locations = Vec::new();
    let mut duplicates = DuplicateCheck::default();
    for (index, element) in elements.into_iter().enumerate() {
        let at = Location::Element(index);
        let host = parse_host(element, at, label)?;
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

/// The `hosts` array of a `{"hosts": [...]}` wrapper; `None` when `map` is itself a host.
fn wrapped_hosts(map: &Map<String, Value>) -> Option<&Value> {
    if map
        .keys()
        .any(|k| Field::from_name(k) == Some(Field::ComputerName))
    {
        return None;
    }
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("hosts"))
        .map(|(_, v)| v)
}

fn parse_host(element: &Value, at: Location, label: &str) -> Result<InventoryHost, InventoryError> {
    let record = |message| InventoryError::Record {
        file: label.to_string(),
        at,
        message,
    };
    let Value::Object(map) = element else {
        return Err(record(format!(
            "expected a host object, found {}",
            kind(element)
        )));
    };
    let mut host = InventoryHost::default();
    let mut given: HashMap<Field, &str> = HashMap::new();
    for (key, value) in map {
        let Some(field) = Field::from_name(key) else {
            continue;
        };
        // Property names are case-insensitive, so "Error" and "error" would be the same one.
        if let Some(previous) = given.insert(field, key) {
            return Err(record(format!(
                "property {} given twice (as {} and {})",
                field.name(),
                quote(previous),
                quote(key)
            )));
        }
        json_text(field, value, true)
            .and_then(|text| set_field(&mut host, field, &text))
            .map_err(|message| InventoryError::Value {
                file: label.to_string(),
                at,
                field: field.name(),
                message,
            })?;
    }
    if !given.contains_key(&Field::ComputerName) {
        return Err(record("no ComputerName property".to_string()));
    }
    Ok(host)
}

/// The value as the text the CSV reader would see: `null` is empty, JSON booleans and numbers
/// are accepted where the field is a boolean or number.
fn json_text(field: Field, value: &Value, outer: bool) -> Result<Cow<'_, str>, String> {
    let boolean = matches!(
        field,
        Field::MigrationEnabled | Field::UseAnyNetwork | Field::CredentialGuardRunning
    );
    let number = matches!(field, Field::AuthenticationType | Field::MaximumMigrations);
    match value {
        Value::Null => Ok(Cow::Borrowed("")),
        Value::String(s) => Ok(Cow::Borrowed(s)),
        Value::Bool(b) if boolean => Ok(Cow::Borrowed(if *b { "True" } else { "False" })),
        Value::Number(n) if number => Ok(Cow::Owned(n.to_string())),
        // Windows PowerShell 5.1 serialises a DateTime that carries extra note properties as
        // {"value": "/Date(...)/", "DisplayHint": ..., "DateTime": "..."}.
        Value::Object(map) if field == Field::LastBootUpTime && outer => {
            match map.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")) {
                Some((_, inner)) => json_text(field, inner, false),
                None => Err("expected a date string, found an object without \"value\"".into()),
            }
        }
        other => {
            let expected = if boolean {
                "true, false or a \"True\"/\"False\" string"
            } else if field == Field::AuthenticationType {
                "\"CredSSP\", \"Kerberos\", 0 or 1"
            } else if number {
                "a whole number"
            } else if field == Field::LastBootUpTime {
                "a date string"
            } else {
                "a string"
            };
            Err(format!("expected {expected}, found {}", kind(other)))
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
