//! `--kerberos` flag handling that needs no DC: everything here fails before a connection is
//! made. The bind itself is tested against Samba's KDC in tests/samba/kerberos.rs.

use std::process::{Command, Output};

fn hvaudit(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    let o = Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .arg("--out")
        .arg(&out)
        .env_remove("HVAUDIT_PASSWORD")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run hvaudit");
    assert!(!out.exists(), "no snapshot from a rejected command line");
    o
}

fn assert_usage_error(o: &Output, expect: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(expect), "expected '{expect}' in: {err}");
}

/// Built without the feature, `--kerberos` says how to get it, before anything is sent (the
/// server name does not resolve, and is never looked up).
#[cfg(not(feature = "kerberos"))]
#[test]
fn kerberos_needs_the_feature() {
    let o = hvaudit(&["collect", "--server", "ldaps://dc1.invalid", "--kerberos"]);
    assert_usage_error(
        &o,
        "rebuild with `cargo build --release --features kerberos`",
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr)
            .trim_end()
            .lines()
            .count(),
        1
    );
}

/// With the feature, an IP address in the URL needs --kerberos-host: the service ticket is
/// for a name, and hvaudit does no reverse lookup.
#[cfg(feature = "kerberos")]
#[test]
fn kerberos_ip_url_needs_a_host_name() {
    let o = hvaudit(&["collect", "--server", "ldaps://192.0.2.1", "--kerberos"]);
    assert_usage_error(&o, "pass --kerberos-host");
    let o = hvaudit(&[
        "collect",
        "--server",
        "ldaps://192.0.2.1",
        "--kerberos",
        "--kerberos-host",
        "dc1/evil",
    ]);
    assert_usage_error(&o, "--kerberos-host 'dc1/evil' is not a DNS host name");
}

#[test]
fn kerberos_excludes_password_flags() {
    let o = hvaudit(&[
        "collect",
        "--server",
        "ldaps://dc1.invalid",
        "--kerberos",
        "--user",
        "administrator@lab.test",
    ]);
    assert_usage_error(&o, "cannot be used with");
    let o = hvaudit(&[
        "collect",
        "--server",
        "ldaps://dc1.invalid",
        "--user",
        "administrator@lab.test",
        "--kerberos-host",
        "dc1.invalid",
    ]);
    assert_usage_error(&o, "--kerberos-host is only used with --kerberos");
}
