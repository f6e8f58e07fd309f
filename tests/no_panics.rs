//! The program never crashes: a malformed `--server` is a usage error (exit 2), and output
//! to a closed pipe ends quietly. Everything here runs the real binary.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn hvaudit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hvaudit"));
    c.current_dir(root()).env_remove("HVAUDIT_PASSWORD");
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Each malformed form, for `collect` and `scan`: exit 2, one line naming --server and what is
/// wrong, no panic, nothing written, and a password in the URL never echoed.
#[test]
fn malformed_server_urls_are_usage_errors() {
    let cases = [
        ("ldaps://", "no host"),
        ("ldap://", "no host"),
        ("ldap:///DC=x", "no host"),
        ("ldaps:///", "no host"),
        ("ldaps:dc1", "no host"),
        ("ldaps://:636", "empty host"),
        ("ldaps://dc1:99999", "invalid port"),
        ("ldaps://dc1:x", "invalid port"),
        ("ldaps://dc1:0", "port 0"),
        ("ldaps://[::1", "invalid IPv6"),
        ("http://dc1", "scheme 'http'"),
        ("dc1.example", "relative URL"),
        ("", "relative URL"),
        ("ldaps://auditor:s3cret@dc1", "user information"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (url, why) in cases {
        let out = dir.path().join("snap.json");
        for cmd in ["collect", "scan"] {
            let o = hvaudit()
                .args([cmd, "--server", url, "--user", "u", "--out"])
                .arg(&out)
                .env("HVAUDIT_PASSWORD", "x")
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{cmd} {url:?}: {err}");
            assert!(!err.contains("panicked"), "{cmd} {url:?}: {err}");
            assert!(
                err.contains("--server") && err.contains(why),
                "{cmd} {url:?}: {err}"
            );
            assert_eq!(err.trim_end().lines().count(), 1, "{cmd} {url:?}: {err}");
            assert!(
                !err.contains("s3cret"),
                "{cmd} {url:?} echoes the password: {err}"
            );
            assert!(!out.exists(), "{cmd} {url:?} wrote {}", out.display());
        }
    }
}

const EXAMPLE: [&str; 6] = [
    "--ldif",
    "examples/corp.ldif",
    "--hosts",
    "examples/hosts.csv",
    "--config",
    "examples/hvaudit.toml",
];

/// Runs hvaudit with its standard output the write end of a pipe whose read end is already
/// closed, so the first write fails with EPIPE (deterministic: no race with a reader).
fn with_closed_stdout(args: &[String]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    hvaudit()
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Every subcommand that prints to stdout, with stdout a closed pipe (`hvaudit ... | head`):
/// no panic, no "Broken pipe", no usage error, and the files it was asked for still written.
#[test]
fn every_printing_subcommand_ends_quietly_on_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    // Two findings.json for `diff`, made the ordinary way.
    for (name, cfg) in [
        ("old", "tests/fixtures/cli/extra-group.toml"),
        ("new", "examples/hvaudit.toml"),
    ] {
        let mut a = strings(&["audit", "--ldif", "examples/corp.ldif", "--config", cfg]);
        a.extend(["--format".into(), "json".into(), "--out".into(), d(name)]);
        let o = hvaudit().args(&a).output().unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    }
    let mut runs: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut with_example = |head: &[&str], tail: &[&str], files: &[String]| {
        let mut a = strings(head);
        a.extend(strings(&EXAMPLE));
        a.extend(strings(tail));
        runs.push((a, files.to_vec()));
    };
    with_example(
        &["audit"],
        &["--out", &d("audit")],
        &[d("audit/findings.json"), d("audit/report.html")],
    );
    with_example(&["scan"], &["--out", &d("scan")], &[d("scan/findings.csv")]);
    with_example(&["remediate"], &["--out", &d("fix.ps1")], &[d("fix.ps1")]);
    with_example(&["check"], &["--from", "HVP02", "--to", "HVP04"], &[]);
    with_example(&["check"], &["--from", "HVP05", "--to", "HVP06"], &[]);
    runs.push((
        strings(&[
            "collect",
            "--ldif",
            "examples/corp.ldif",
            "--out",
            &d("snap.json"),
        ]),
        vec![d("snap.json")],
    ));
    runs.push((
        strings(&["diff", &d("old/findings.json"), &d("new/findings.json")]),
        vec![],
    ));
    runs.push((
        strings(&[
            "diff",
            &d("old/findings.json"),
            &d("new/findings.json"),
            "--out",
            &d("diff"),
        ]),
        vec![d("diff/diff.json"), d("diff/diff-new.csv")],
    ));
    runs.push((strings(&["rules", "list"]), vec![]));
    runs.push((strings(&["rules", "explain", "HV005"]), vec![]));
    runs.push((strings(&["--help"]), vec![]));
    runs.push((strings(&["--version"]), vec![]));
    for (args, files) in &runs {
        let o = with_closed_stdout(args);
        let err = stderr(&o);
        let code = o.status.code();
        assert!(
            !err.contains("panicked") && !err.to_lowercase().contains("broken pipe"),
            "{args:?}: {err}"
        );
        assert!(
            !matches!(code, Some(101 | 2)),
            "{args:?}: exit {code:?}: {err}"
        );
        for f in files {
            assert!(
                std::path::Path::new(f).exists(),
                "{args:?}: {f} not written"
            );
        }
    }
}

/// Any other error writing standard output is reported, not a panic and not silence.
#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux
    };
    let o = hvaudit()
        .args(["rules", "list"])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("cannot write to standard output"), "{err}");
}
