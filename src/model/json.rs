//! Reading a snapshot's JSON (`hvaudit collect --out`, `--snapshot`) on every core: the
//! computer and account arrays (nearly all of a large file) are cut into their elements in
//! one pass, and the elements parsed side by side. A 100,000-computer snapshot is ~90 MB.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Domain, Group, ScanMeta, Snapshot};

/// The snapshot with its two large arrays still as text, one slice per element.
#[derive(Deserialize)]
struct Parts<'a> {
    schema_version: u32,
    meta: ScanMeta,
    domain: Domain,
    #[serde(borrow)]
    computers: Vec<&'a RawValue>,
    #[serde(borrow)]
    accounts: Vec<&'a RawValue>,
    groups: Vec<Group>,
}

/// Parses `text` as a [`Snapshot`] with up to `threads` threads; the result, and any error
/// (message, line and column), are those of `serde_json::from_str::<Snapshot>(text)`: a file
/// that fails in parts is parsed again as a whole for its error.
pub fn parse(text: &str, threads: usize) -> Result<Snapshot, serde_json::Error> {
    match parse_in_parts(text, threads) {
        Some(snap) => Ok(snap),
        None => serde_json::from_str(text),
    }
}

fn parse_in_parts(text: &str, threads: usize) -> Option<Snapshot> {
    let parts: Parts = serde_json::from_str(text).ok()?;
    Some(Snapshot {
        schema_version: parts.schema_version,
        meta: parts.meta,
        domain: parts.domain,
        computers: elements(&parts.computers, threads)?,
        accounts: elements(&parts.accounts, threads)?,
        groups: parts.groups,
    })
}

/// Each of `raw` parsed as a `T`, in `threads` parts side by side; None when one fails.
fn elements<T: for<'de> Deserialize<'de> + Send>(
    raw: &[&RawValue],
    threads: usize,
) -> Option<Vec<T>> {
    let parts = crate::parallel::in_parts(raw.len(), threads.clamp(1, 64), |range| {
        raw[range]
            .iter()
            .map(|r| serde_json::from_str(r.get()).ok())
            .collect::<Option<Vec<T>>>()
    });
    let mut all = Vec::with_capacity(raw.len());
    for part in parts {
        all.extend(part?);
    }
    Some(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled example directory as a snapshot file's text.
    fn example() -> String {
        let ldif = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/corp.ldif");
        let snap = crate::collect::ldif_snapshot(&ldif, Default::default()).unwrap();
        serde_json::to_string_pretty(&snap).unwrap()
    }

    #[test]
    fn parts_give_what_one_pass_gives() {
        let text = example();
        let whole: Snapshot = serde_json::from_str(&text).unwrap();
        assert!(whole.computers.len() > 3 && whole.accounts.len() > 3);
        for threads in [1, 2, 3, 7, 500] {
            assert_eq!(parse(&text, threads).unwrap(), whole, "{threads} threads");
        }
    }

    #[test]
    fn errors_are_those_of_one_pass() {
        let text = example();
        // A bad value deep in the last computer, a bad account, a bad top-level field, a
        // truncated file, a field twice: every error reads as from_str's, position included.
        let last = text.rfind("\"sam_account_name\"").unwrap();
        let cases = [
            format!(
                "{}\"sam_account_name\": 7,{}",
                &text[..last],
                &text[last + 1..]
            ),
            text.replacen("\"accounts\": [", "\"accounts\": [3, ", 1),
            text.replacen(
                "\"schema_version\"",
                "\"schema_version\": \"x\", \"old\"",
                1,
            ),
            text[..text.len() / 2].to_string(),
            text.replacen("\"computers\"", "\"groups\": [], \"computers\"", 1),
            String::new(),
        ];
        for bad in &cases {
            let want = serde_json::from_str::<Snapshot>(bad)
                .unwrap_err()
                .to_string();
            let got = parse(bad, 4).unwrap_err().to_string();
            assert_eq!(got, want);
        }
    }
}
