//! Every `--flag` the documentation names exists: the flags in `README.md` and `docs/*.md`
//! against those `hvaudit <subcommand> --help` lists. A renamed or removed flag, or a
//! documented one that was never wired, fails here instead of in a reader's shell.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Flags the documentation names for other programs (the benchmark scripts, cargo).
const OTHER_TOOLS: &[&str] = &[
    "--release",   // cargo
    "--example",   // cargo
    "--features",  // cargo
    "--test",      // cargo
    "--locked",    // cargo install
    "--path",      // cargo install
    "--root",      // cargo install
    "--runs",      // bench/run.sh, bench/nesting.sh
    "--work",      // bench/run.sh, bench/nesting.sh
    "--reuse",     // bench/run.sh
    "--ip",        // bench/run.sh
    "--computers", // bench/run.sh
    "--big",       // bench/run.sh
];

/// Documented but not (yet) a flag of the CLI. Listed so the test passes while the gap is
/// open; the test fails once the flag exists, so the entry cannot outlive the gap.
const KNOWN_MISSING: &[&str] = &[];

fn flags_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(p) = text[i..].find("--") {
        let start = i + p;
        i = start + 2;
        // `--flag` starts a word: not inside `a--b`, and not `---`.
        if start > 0 && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'-') {
            continue;
        }
        let name: String = text[start + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        if name.starts_with(|c: char| c.is_ascii_lowercase()) {
            out.insert(format!("--{}", name.trim_end_matches('-')));
        }
    }
    out
}

fn cli_flags() -> BTreeSet<String> {
    let subcommands: &[&[&str]] = &[
        &[],
        &["collect"],
        &["scan"],
        &["audit"],
        &["diff"],
        &["remediate"],
        &["check"],
        &["rules"],
        &["rules", "list"],
        &["rules", "explain"],
    ];
    let mut out = BTreeSet::new();
    for sub in subcommands {
        let o = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
            .args(*sub)
            .arg("--help")
            .output()
            .unwrap();
        assert!(o.status.success(), "hvaudit {sub:?} --help failed");
        let help = String::from_utf8(o.stdout).unwrap();
        // Only where a flag is declared: the start of an option line of the help.
        for line in help.lines() {
            let l = line.trim_start();
            let l = l
                .strip_prefix("-v, ")
                .or(l.strip_prefix("-h, "))
                .or(l.strip_prefix("-V, "))
                .unwrap_or(l);
            if l.starts_with("--") {
                out.extend(flags_in(l.split_whitespace().next().unwrap_or("")));
            }
        }
    }
    out
}

#[test]
fn every_documented_flag_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![root.join("README.md")];
    let mut more: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    let cli = cli_flags();
    assert!(
        cli.contains("--ldif") && cli.contains("--fail-on"),
        "{cli:?}"
    );
    let mut missing = Vec::new();
    for d in &docs {
        let text = std::fs::read_to_string(d).unwrap();
        for f in flags_in(&text) {
            if !cli.contains(&f)
                && !OTHER_TOOLS.contains(&f.as_str())
                && !KNOWN_MISSING.contains(&f.as_str())
            {
                missing.push(format!(
                    "{} names {f}",
                    d.strip_prefix(root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "documented flags hvaudit does not have: {missing:?}"
    );
    for f in KNOWN_MISSING {
        assert!(
            !cli.contains(*f),
            "{f} exists now: remove it from KNOWN_MISSING"
        );
    }
}

#[test]
fn flags_are_found_in_prose_code_and_tables() {
    let text = "Use `--fail-on high`, or --out DIR; | `--page-size` |\nnot a--b nor ---x, --x-y-.";
    let got: Vec<String> = flags_in(text).into_iter().collect();
    assert_eq!(got, vec!["--fail-on", "--out", "--page-size", "--x-y"]);
}
