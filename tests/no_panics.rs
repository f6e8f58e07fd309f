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
