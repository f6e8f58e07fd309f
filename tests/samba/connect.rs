//! Connecting the way Windows tools do: the DC found through DNS SRV records (Samba's own DNS
//! server, inside a network namespace whose resolv.conf points at it, so no query leaves the
//! machine), and Kerberos sealing on port 389 with `ldap server require strong auth = yes`.
//! The DC is restarted inside the namespace for these checks and back outside afterwards
//! (a restart takes about a second; provisioning another DC would take 20).

// The sealed-bind half needs the `kerberos` feature; the default build compiles it unused.
#![cfg_attr(not(feature = "kerberos"), allow(dead_code, unused_imports))]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::samba_dc::{TestDc, script_path};

/// The parts of a snapshot that must not depend on how it was read.
const PARTS: [&str; 4] = ["domain", "computers", "accounts", "groups"];

fn script(args: &[&str]) {
    let o = Command::new("bash")
        .arg(script_path())
        .args(args)
        .output()
        .expect("running samba-dc.sh");
    assert!(
        o.status.success(),
        "samba-dc.sh {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs `f` with the DC started inside a fresh namespace (named after the DC's IP, so
/// parallel test DCs do not collide), then puts the DC back where the other tests expect it.
fn in_namespace(dc: &TestDc, f: impl FnOnce(&str)) {
    let ns = format!("hvaudit-{}", dc.ip.replace('.', "-"));
    let dir = dc.dir.to_str().unwrap();
    script(&["netns-down", &ns]);
    script(&["stop", dir]);
    script(&["netns-up", &ns, &dc.ip]);
    script(&["start-netns", dir, &ns]);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&ns)));
    script(&["stop", dir]);
    script(&["netns-down", &ns]);
    script(&["start", dir]);
    if let Err(p) = r {
        std::panic::resume_unwind(p);
    }
}

/// hvaudit inside namespace `ns` (or outside with `None`), with the password in the
/// environment and this DC's krb5.conf.
fn run(dc: &TestDc, ns: Option<&str>, env: &[(&str, String)], args: &[&str]) -> Output {
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_hvaudit")]);
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_hvaudit")),
    };
    cmd.args(args)
        .env("HVAUDIT_PASSWORD", &dc.password)
        .env("KRB5_CONFIG", &dc.krb5_config)
        .env_remove("KRB5_CLIENT_KTNAME")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run hvaudit")
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn ldaps_snapshot(dc: &TestDc, name: &str) -> Value {
    let out = dc.dir.join(name);
    let o = run(
        dc,
        None,
        &[],
        &[
            "collect",
            "--server",
            &dc.url,
            "--user",
            &dc.user,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    read_json(&out)
}

fn same_directory(a: &Value, b: &Value, what: &str) {
    for part in PARTS {
        assert!(a[part] == b[part], "{what}: snapshots differ in {part}");
    }
}

/// `--domain lab.test`: the SRV records list a DC that is down first (priority 0, nothing
/// listens at its address) and the real DC at priority 10. hvaudit skips the dead one, reads
/// the real one over LDAPS with its certificate checked against dc1.lab.test, and records it.
pub fn dns_srv_discovery_skips_dead_dc(dc: &TestDc) {
    let reference = ldaps_snapshot(dc, "snap-dns-reference.json");
    in_namespace(dc, |ns| {
        for (extra, expect_srv) in [
            (vec![], "DNS SRV _ldap._tcp.dc._msdcs.lab.test"),
            // The site's record names only the dead DC: the domain-wide one comes next.
            (
                vec!["--site", "Lab-Site"],
                "DNS SRV _ldap._tcp.dc._msdcs.lab.test",
            ),
        ] {
            let out = dc.dir.join("snap-dns.json");
            let _ = std::fs::remove_file(&out);
            let mut args = vec![
                "-v",
                "collect",
                "--domain",
                "lab.test",
                "--user",
                &dc.user,
                "--ca-file",
                dc.ca_file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--timeout",
                "5",
            ];
            args.extend(extra.iter().copied());
            let o = run(dc, Some(ns), &[], &args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success(), "{args:?}: {err}");
            assert!(
                err.contains("ldaps://dcdown.lab.test did not answer"),
                "{err}"
            );
            let s = read_json(&out);
            let c = &s["meta"]["connection"];
            assert_eq!(c["server"], "ldaps://dc1.lab.test", "{c}");
            assert_eq!(c["protection"], "tls");
            assert_eq!(c["located_by"], expect_srv);
            assert!(
                c["certificate"].as_str().unwrap().contains("dc1.lab.test"),
                "{c}"
            );
            same_directory(&s, &reference, "--domain");
        }
        // A domain without SRV records: one line, exit 3, nothing written.
        let out = dc.dir.join("never-dns.json");
        let o = run(
            dc,
            Some(ns),
            &[],
            &[
                "collect",
                "--domain",
                "nosuch.test",
                "--user",
                &dc.user,
                "--out",
                out.to_str().unwrap(),
                "--timeout",
                "3",
            ],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert!(
            err.contains("no domain controller found for nosuch.test"),
            "{err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!out.exists());
    });
}

/// A TCP proxy on the DC's IP that forwards to port 389 and keeps every byte either way.
struct Tap {
    port: u16,
    bytes: Arc<Mutex<Vec<u8>>>,
}

fn tap(dc: &TestDc) -> Tap {
    let l = TcpListener::bind((dc.ip.as_str(), 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let b = Arc::clone(&bytes);
    let upstream = format!("{}:389", dc.ip);
    std::thread::spawn(move || {
        for client in l.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                return;
            };
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                let b = Arc::clone(&b);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        b.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        }
    });
    Tap { port, bytes }
}

fn kinit(dc: &TestDc, ns: Option<&str>, name: &str) -> String {
    let ccache = format!("FILE:{}", dc.dir.join(name).display());
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "kinit"]);
            c
        }
        None => Command::new("kinit"),
    };
    let o = cmd
        .env("KRB5_CONFIG", &dc.krb5_config)
        .env("KRB5CCNAME", &ccache)
        .arg(format!("administrator@{}", dc.realm))
        .stdin(std::fs::File::open(dc.password_file()).unwrap())
        .output()
        .expect("running kinit");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ccache
}

fn sealed_args<'a>(url: &'a str, host: &'a str, out: &'a Path) -> Vec<&'a str> {
    vec![
        "collect",
        "--server",
        url,
        "--kerberos",
        "--kerberos-host",
        host,
        "--seal",
        "--out",
        out.to_str().unwrap(),
    ]
}

/// `--kerberos --seal` on ldap:// reads the same directory as LDAPS, under
/// `ldap server require strong auth = yes` (simple binds in clear refused, sealing
/// accepted), records the protection and the DC's service principal, and puts no attribute
/// value on the wire in clear text. A bind the DC refuses is one line.
pub fn kerberos_sealed_scan(dc: &TestDc) {
    let reference = ldaps_snapshot(dc, "snap-seal-reference.json");

    // On the wire (outside the namespace: the tap runs in this process).
    let t = tap(dc);
    let ccache = kinit(dc, None, "seal.ccache");
    let url = format!("ldap://{}:{}", dc.ip, t.port);
    let out = dc.dir.join("snap-sealed-tap.json");
    let o = run(
        dc,
        None,
        &[("KRB5CCNAME", ccache.clone())],
        &sealed_args(&url, "dc1.lab.test", &out),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_directory(&read_json(&out), &reference, "sealed via tap");
    let wire = t.bytes.lock().unwrap().clone();
    assert!(
        wire.len() > 500_000,
        "the whole scan went through the tap: {}",
        wire.len()
    );
    // Values the snapshot holds and a clear-text read would carry: names, SPNs, DNs, and the
    // attribute names of the requests.
    for needle in [
        "HVA01",
        "Microsoft Virtual System Migration Service",
        "OU=HyperV",
        // Not the DC's name: the Kerberos ticket names its service (ldap/dc1.lab.test) in
        // clear, as every Kerberos ticket does.
        "objectClass",
        "msDS-AllowedToDelegateTo",
        "Administrator",
    ] {
        assert!(
            !wire
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle.as_bytes())),
            "'{needle}' crossed the wire in clear text"
        );
    }
    // A bind the DC refuses: a ticket for another host's key (ldap/ maps to host/ of HVA01,
    // so the KDC issues it, and the DC cannot decrypt it).
    let out = dc.dir.join("never-sealed.json");
    let o = run(
        dc,
        None,
        &[("KRB5CCNAME", ccache.clone())],
        &sealed_args(&format!("ldap://{}", dc.ip), "hva01.lab.test", &out),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains("ldap/hva01.lab.test"), "{err}");
    assert!(!out.exists());

    // Under `require strong auth = yes`, a full scan, sealed, equals the LDAPS one.
    in_namespace(dc, |ns| {
        let ccache = kinit(dc, Some(ns), "seal-ns.ccache");
        let out = dc.dir.join("snap-sealed.json");
        let url = format!("ldap://{}", dc.ip);
        let o = run(
            dc,
            Some(ns),
            &[("KRB5CCNAME", ccache.clone())],
            &sealed_args(&url, "dc1.lab.test", &out),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let s = read_json(&out);
        same_directory(&s, &reference, "sealed");
        let c = &s["meta"]["connection"];
        assert_eq!(c["protection"], "kerberos-sealing", "{c}");
        assert_eq!(c["service_principal"], "ldap/dc1.lab.test", "{c}");
        assert_eq!(s["meta"]["bind_identity"], "administrator@LAB.TEST");
        assert_eq!(s["meta"]["gaps"].as_array().unwrap().len(), 0);
        // And sealing with the DC found through DNS.
        let out = dc.dir.join("snap-sealed-dns.json");
        let o = run(
            dc,
            Some(ns),
            &[("KRB5CCNAME", ccache)],
            &[
                "collect",
                "--domain",
                "lab.test",
                "--kerberos",
                "--seal",
                "--timeout",
                "5",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let s = read_json(&out);
        assert_eq!(s["meta"]["connection"]["server"], "ldap://dc1.lab.test:389");
        same_directory(&s, &reference, "sealed via DNS");
    });
}
