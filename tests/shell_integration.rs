//! `hvaudit completions SHELL` and `hvaudit man` are generated from the parser's own
//! definitions: every subcommand (and the new connection flags) must appear in each.

use std::process::Command;

fn hvaudit(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .output()
        .expect("run hvaudit");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The subcommands, read from `hvaudit --help` so a new one cannot be forgotten here.
fn subcommands() -> Vec<String> {
    let (code, out, _) = hvaudit(&["--help"]);
    assert_eq!(code, 0);
    let list = out
        .split("Commands:")
        .nth(1)
        .and_then(|s| s.split("Options:").next())
        .expect("a Commands: section");
    let names: Vec<String> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase()))
        .map(str::to_string)
        .collect();
    for expected in ["collect", "scan", "audit", "completions", "man", "help"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    names.into_iter().filter(|n| n != "help").collect()
}

#[test]
fn completions_name_every_subcommand_and_flag() {
    let subs = subcommands();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, out, err) = hvaudit(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.len() > 1000, "{shell}: {out}");
        for sub in &subs {
            assert!(out.contains(sub.as_str()), "{shell} completion lacks {sub}");
        }
        for flag in ["--domain", "--seal", "--site", "--kerberos"] {
            assert!(out.contains(flag), "{shell} completion lacks {flag}");
        }
    }
    let (code, _, err) = hvaudit(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn man_page_documents_every_subcommand() {
    let (code, out, err) = hvaudit(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(".TH hvaudit 1"), "{out}");
    for sub in subcommands() {
        let header = format!(".SH \"HVAUDIT {}\"", sub.to_ascii_uppercase());
        assert!(out.contains(&header), "man page lacks {header}");
    }
    // The flags of a subcommand, not only its name.
    for flag in ["\\-\\-domain", "\\-\\-seal", "\\-\\-fail\\-on"] {
        assert!(out.contains(flag), "man page lacks {flag}");
    }
}
