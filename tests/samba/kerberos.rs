//! `--kerberos` against the Samba DC's own KDC: a ticket from `kinit`, no password anywhere.
//! Compiled only with `--features kerberos` (the binary needs the system Kerberos libraries).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::collect::hvaudit;
use super::samba_dc::TestDc;

/// The DC's DNS name (tests/harness/samba-dc.sh): the service ticket is for ldap/dc1.lab.test
/// while the connection goes to the IP, which the DC's certificate also names.
const DC_NAME: &str = "dc1.lab.test";

/// A ticket cache in the DC's directory holding a TGT for the administrator, obtained with
/// the password on stdin (never in argv). `extra` goes to kinit (e.g. a lifetime).
fn kinit(dc: &TestDc, name: &str, extra: &[&str]) -> PathBuf {
    let ccache = dc.dir.join(name);
    let o = Command::new("kinit")
        .env("KRB5_CONFIG", &dc.krb5_config)
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .args(extra)
        .arg(format!("administrator@{}", dc.realm))
        .stdin(std::fs::File::open(dc.password_file()).unwrap())
        .output()
        .expect("running kinit (install krb5-user)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ccache
}

/// hvaudit with the given ticket cache and no password: HVAUDIT_PASSWORD is removed and
/// Kerberos can reach only this DC's KDC (its krb5.conf, no DNS).
fn hvaudit_krb(dc: &TestDc, ccache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .env_remove("HVAUDIT_PASSWORD")
        .env_remove("KRB5_CLIENT_KTNAME")
        .env("KRB5_CONFIG", &dc.krb5_config)
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run hvaudit")
}

fn collect_args<'a>(dc: &'a TestDc, url: &'a str, out: &'a Path) -> Vec<&'a str> {
    vec![
        "collect",
        "--server",
        url,
        "--kerberos",
        "--kerberos-host",
        DC_NAME,
        "--ca-file",
        dc.ca_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A Kerberos collection over LDAPS and over StartTLS reads the same directory as a simple
/// bind, and records the ticket's principal as the bind identity.
pub fn kerberos_collect_matches_simple_bind(dc: &TestDc) {
    let ccache = kinit(dc, "krb-admin.ccache", &[]);

    let simple_out = dc.dir.join("snap-krb-simple.json");
    let o = hvaudit(
        dc,
        &[
            "collect",
            "--server",
            &dc.url,
            "--user",
            &dc.user,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--out",
            simple_out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let simple = read_json(&simple_out);

    for (url, file) in [
        (&dc.url, "snap-krb-ldaps.json"),
        (&dc.starttls_url, "snap-krb-starttls.json"),
    ] {
        let out = dc.dir.join(file);
        let args = collect_args(dc, url, &out);
        let o = hvaudit_krb(dc, &ccache, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{url}: {err}");
        assert!(!err.contains(&dc.password), "password on stderr");
        let s = read_json(&out);
        assert_eq!(
            s["meta"]["gaps"].as_array().unwrap().len(),
            0,
            "{url}: {}",
            s["meta"]["gaps"]
        );
        assert_eq!(
            s["meta"]["bind_identity"], "administrator@LAB.TEST",
            "{url}"
        );
        assert_eq!(s["meta"]["source"], url.as_str());
        assert_eq!(s["domain"]["dns_name"], "lab.test");
        assert!(s["computers"].as_array().unwrap().len() >= 1111, "{url}");
        for part in ["domain", "computers", "accounts", "groups"] {
            assert!(
                s[part] == simple[part],
                "{url}: Kerberos and simple-bind snapshots differ in {part}"
            );
        }
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(!text.contains(&dc.password), "password in the snapshot");
    }

    // `scan` takes the same flags and writes the reports.
    let reports = dc.dir.join("krb-reports");
    let o = hvaudit_krb(
        dc,
        &ccache,
        &[
            "scan",
            "--server",
            &dc.url,
            "--kerberos",
            "--kerberos-host",
            DC_NAME,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--out",
            reports.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    // Exit 1: the fixtures hold findings at or above the default --fail-on (high).
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(reports.join("findings.json").is_file());
}

/// No ticket, a wrong service name, or an IP without --kerberos-host: one line naming the
/// cause and the fix, the documented exit code, no snapshot.
pub fn kerberos_failures_are_one_line(dc: &TestDc) {
    let out = dc.dir.join("never-krb.json");
    let ccache = kinit(dc, "krb-fail.ccache", &[]);
    // A ticket that lives 2 s (the KDC grants what is asked), expired by the time it is used.
    let expired = kinit(dc, "krb-expired.ccache", &["-l", "2s"]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let empty = dc.dir.join("no-such.ccache");
    let wrong_host = {
        let mut a = collect_args(dc, &dc.url, &out);
        a[5] = "nosuchdc.lab.test";
        a
    };
    let no_host: Vec<&str> = collect_args(dc, &dc.url, &out)
        .into_iter()
        .filter(|a| *a != "--kerberos-host" && *a != DC_NAME)
        .collect();
    let cases: Vec<(&Path, Vec<&str>, i32, &str)> = vec![
        (
            &empty,
            collect_args(dc, &dc.url, &out),
            3,
            "no Kerberos credentials: run kinit",
        ),
        (
            &expired,
            collect_args(dc, &dc.url, &out),
            3,
            "the Kerberos ticket has expired: run kinit again",
        ),
        (&ccache, wrong_host, 3, "not found in Kerberos database"),
        (&ccache, no_host, 2, "--kerberos-host"),
    ];
    for (cache, args, code, expect) in cases {
        let o = hvaudit_krb(dc, cache, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        assert!(
            err.contains(expect),
            "{args:?}: expected '{expect}' in: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(!out.exists(), "no snapshot after a failure");
    }
    assert!(!empty.exists(), "hvaudit must not create a ticket cache");
}

/// A client keytab (KRB5_CLIENT_KTNAME) instead of kinit, as on an unattended audit host:
/// GSSAPI gets the ticket itself.
pub fn kerberos_client_keytab(dc: &TestDc) {
    let keytab = dc.dir.join("admin-client.keytab");
    let o = Command::new("samba-tool")
        .args(["domain", "exportkeytab"])
        .arg(&keytab)
        .arg(format!("--principal=administrator@{}", dc.realm))
        .arg("-s")
        .arg(dc.dir.join("etc/smb.conf"))
        .env("KRB5_CONFIG", &dc.krb5_config)
        .output()
        .expect("running samba-tool");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dc.dir.join("snap-krb-keytab.json");
    // An empty cache to start from: the ticket must come from the keytab.
    let ccache = dc.dir.join("krb-keytab.ccache");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hvaudit"));
    cmd.args(collect_args(dc, &dc.url, &out))
        .env_remove("HVAUDIT_PASSWORD")
        .env("KRB5_CONFIG", &dc.krb5_config)
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .env("KRB5_CLIENT_KTNAME", format!("FILE:{}", keytab.display()))
        .stdin(std::process::Stdio::null());
    assert!(!ccache.exists());
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = read_json(&out);
    assert_eq!(s["meta"]["bind_identity"], "administrator@LAB.TEST");
    assert_eq!(s["meta"]["gaps"].as_array().unwrap().len(), 0);
    assert!(s["computers"].as_array().unwrap().len() >= 1111);
}
