//! The built-in catalogue as a whole: `hvaudit rules list` against its snapshot, and rule ids
//! unique across every file of `rules/` (each id is a stable diagnostic code that suppressions,
//! configurations and diffs refer to, like cargo-deny's diagnostic codes).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `hvaudit rules list` equals `tests/snapshots/rules-list.txt`. A rule added, removed or
/// retitled changes it: regenerate with `UPDATE_GOLDEN=1 cargo test --test rule_catalogue`
/// and review the diff.
#[test]
fn rules_list_matches_its_snapshot() {
    let out = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(["rules", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8(out.stdout).unwrap();
    let path = root().join("tests/snapshots/rules-list.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert!(
        got == want,
        "`hvaudit rules list` differs from tests/snapshots/rules-list.txt; review with \
         UPDATE_GOLDEN=1 and git diff:\n{got}"
    );
}

/// The ids of one rule file's `[[rule]]` entries, with their line.
fn ids_of(text: &str) -> Vec<(String, usize)> {
    let doc: toml::Table = toml::from_str(text).unwrap();
    let rules = doc
        .get("rule")
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default();
    rules
        .iter()
        .map(|r| {
            let id = r["id"].as_str().unwrap().to_string();
            let line = text
                .lines()
                .position(|l| l.trim() == format!("id = \"{id}\""))
                .map_or(0, |i| i + 1);
            (id, line)
        })
        .collect()
}

/// Every id defined more than once across `files` (name, text), naming both places.
fn duplicates(files: &[(String, String)]) -> Vec<String> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut dups = Vec::new();
    for (name, text) in files {
        for (id, line) in ids_of(text) {
            let at = format!("{name}:{line}");
            // Ids are compared as the loader and `[rules]` overrides compare them.
            if let Some(prev) = seen.insert(id.to_ascii_uppercase(), at.clone()) {
                dups.push(format!("{id} at {at} and at {prev}"));
            }
        }
    }
    dups
}

#[test]
fn rule_ids_are_unique_across_every_rule_file() {
    let mut paths: Vec<_> = std::fs::read_dir(root().join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let files: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            let name = p.strip_prefix(root()).unwrap().display().to_string();
            (name, std::fs::read_to_string(p).unwrap())
        })
        .collect();
    assert!(files.len() >= 3, "{paths:?}");
    let dups = duplicates(&files);
    assert!(dups.is_empty(), "rule ids defined twice: {dups:?}");
    // Every rule file is embedded in the binary: one left out would be silently missing.
    let embedded: Vec<&str> = hvaudit::rules::BUILTIN_RULE_FILES
        .iter()
        .map(|(f, _)| *f)
        .collect();
    for (name, _) in &files {
        assert!(
            embedded.contains(&name.as_str()),
            "{name} is not in BUILTIN_RULE_FILES"
        );
    }
    let ids: usize = files.iter().map(|(_, t)| ids_of(t).len()).sum();
    assert_eq!(
        hvaudit::rules::RuleSet::builtin().unwrap().rules().len(),
        ids
    );
}

#[test]
fn the_uniqueness_check_names_both_places_of_a_duplicate() {
    // The same id in two files and two spellings is one id.
    let files = vec![
        (
            "a.toml".to_string(),
            "[[rule]]\nid = \"HV001\"\n".to_string(),
        ),
        (
            "b.toml".to_string(),
            "[[rule]]\nid = \"X1\"\n\n[[rule]]\nid = \"hv001\"\n".to_string(),
        ),
    ];
    assert_eq!(
        duplicates(&files),
        vec!["hv001 at b.toml:5 and at a.toml:2"]
    );
}
