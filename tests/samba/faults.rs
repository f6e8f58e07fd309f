//! Faults while collecting: the connection is cut mid paged search, stalls past `--timeout`, or
//! is reset during the TLS handshake. hvaudit must exit 3 with one line saying what was read and
//! what was not, write nothing that claims completeness, and never hang.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::proxy::{Fault, FaultProxy};
use super::samba_dc::TestDc;

/// The longest any hvaudit run may take here; past it the child is killed and the test fails.
const WATCHDOG: Duration = Duration::from_secs(60);

pub const MAIN_SEARCH: &str = "accounts, groups and Hyper-V service connection points";

/// Runs hvaudit with the password in the environment, killing it (and failing) after
/// [`WATCHDOG`]. Returns the output and how long it ran.
pub fn run_hvaudit(args: &[&str], password: &str) -> (Output, Duration) {
    run_with_env(
        args,
        &[("HVAUDIT_PASSWORD", password)],
        env!("CARGO_BIN_EXE_hvaudit"),
    )
}

/// Runs `program` (hvaudit, or a wrapper that execs it) under the watchdog.
pub fn run_with_env(args: &[&str], env: &[(&str, &str)], program: &str) -> (Output, Duration) {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_remove("HVAUDIT_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn hvaudit");
    // Pipes are drained on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).ok();
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).ok();
        v
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for hvaudit") {
            break s;
        }
        if started.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hvaudit {args:?} hung: killed after {WATCHDOG:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = started.elapsed();
    let output = Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    };
    (output, elapsed)
}

pub fn ldaps_addr(dc: &TestDc) -> SocketAddr {
    format!("{}:636", dc.ip).parse().unwrap()
}

fn fresh_dir(dc: &TestDc, name: &str) -> PathBuf {
    let d = dc.dir.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn collect_args<'a>(dc: &'a TestDc, url: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "collect",
        "--server",
        url,
        "--user",
        &dc.user,
        "--ca-file",
        dc.ca_file.to_str().unwrap(),
        "--out",
        out,
        "--page-size",
        "100",
    ]
}

fn scan_args<'a>(dc: &'a TestDc, url: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "scan",
        "--server",
        url,
        "--user",
        &dc.user,
        "--ca-file",
        dc.ca_file.to_str().unwrap(),
        "--out",
        out,
        "--page-size",
        "100",
    ]
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The single error line: asserts there is exactly one and that it names no secret.
fn one_error_line(o: &Output, dc: &TestDc) -> String {
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected:\n{err}");
    assert!(lines[0].starts_with("hvaudit: error: "), "{err}");
    assert!(!err.contains(&dc.password), "password leaked: {err}");
    assert!(!err.contains("panicked"), "{err}");
    // In the test log, so a reviewer can read what an admin would see.
    println!("    {}", lines[0]);
    lines[0].to_string()
}

/// "failed after N entries" in an error line.
fn entries_read(line: &str) -> u64 {
    let at = line.find("failed after ").expect("how far the read got") + "failed after ".len();
    line[at..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("a count after 'failed after' in {line}"))
}

/// Bytes the DC sends for a whole collection with 100 entries a page, measured through a
/// pass-through proxy (which also proves the proxy itself is transparent).
fn full_collection_bytes(dc: &TestDc) -> (u64, u64) {
    let proxy = FaultProxy::start(&dc.ip, ldaps_addr(dc), Fault::Pass);
    let url = proxy.url("ldaps");
    let out = dc.dir.join("fault-pass.json");
    let (o, _) = run_hvaudit(&collect_args(dc, &url, out.to_str().unwrap()), &dc.password);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let main = s["meta"]["reads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["what"] == MAIN_SEARCH)
        .unwrap()["entries"]
        .as_u64()
        .unwrap();
    assert_eq!(proxy.connections(), 1);
    (proxy.server_bytes(), main)
}

/// The connection is cut halfway through the bytes of a full collection, which lands inside the
/// main paged search (it is most of the traffic).
pub fn fault_cut_mid_search(dc: &TestDc) {
    let (total, main_entries) = full_collection_bytes(dc);
    assert!(total > 1_000_000, "{total} bytes for a full collection");
    let cut = total / 2;

    // collect: exit 3, one line naming the search and how far it got, no snapshot.
    let proxy = FaultProxy::start(&dc.ip, ldaps_addr(dc), Fault::CutAfter(cut));
    let url = proxy.url("ldaps");
    let out = dc.dir.join("fault-cut.json");
    let (o, took) = run_hvaudit(&collect_args(dc, &url, out.to_str().unwrap()), &dc.password);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let line = one_error_line(&o, dc);
    assert!(line.contains(MAIN_SEARCH), "{line}");
    assert!(line.contains("under 'DC=lab,DC=test'"), "{line}");
    let n = entries_read(&line);
    assert!(n > 100 && n < main_entries, "{n} of {main_entries}: {line}");
    assert!(line.contains("were not done"), "{line}");
    assert!(line.contains("the connection was cut"), "{line}");
    assert!(line.contains("no snapshot or report was written"), "{line}");
    assert!(line.contains("--partial-ok"), "{line}");
    assert!(!out.exists(), "a snapshot was written after a failed read");
    assert!(took < Duration::from_secs(30), "{took:?}");
    drop(proxy);

    // scan: the same, and no report of any kind.
    let dir = fresh_dir(dc, "fault-cut-scan");
    let proxy = FaultProxy::start(&dc.ip, ldaps_addr(dc), Fault::CutAfter(cut));
    let url = proxy.url("ldaps");
    let (o, _) = run_hvaudit(&scan_args(dc, &url, dir.to_str().unwrap()), &dc.password);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let line = one_error_line(&o, dc);
    assert!(line.contains(MAIN_SEARCH), "{line}");
    assert_eq!(files_in(&dir), Vec::<String>::new(), "reports written");
    drop(proxy);

    // collect --partial-ok: the snapshot keeps what was read and says what was not.
    let proxy = FaultProxy::start(&dc.ip, ldaps_addr(dc), Fault::CutAfter(cut));
    let url = proxy.url("ldaps");
    let out = dc.dir.join("fault-cut-partial.json");
    let mut args = collect_args(dc, &url, out.to_str().unwrap());
    args.push("--partial-ok");
    let (o, _) = run_hvaudit(&args, &dc.password);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("INCOMPLETE SCAN (SC001)"), "{err}");
    let s: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let gaps = s["meta"]["gaps"].as_array().unwrap();
    let gap = gaps
        .iter()
        .find(|g| g["what"] == MAIN_SEARCH)
        .unwrap_or_else(|| panic!("no gap for the main search: {gaps:?}"));
    let reason = gap["reason"].as_str().unwrap();
    let kept = entries_read(reason);
    assert!(kept > 100 && kept < main_entries, "{reason}");
    let read = s["meta"]["reads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["what"] == MAIN_SEARCH)
        .unwrap();
    assert_eq!(read["entries"].as_u64(), Some(kept));
    let objects =
        s["computers"].as_array().unwrap().len() + s["accounts"].as_array().unwrap().len();
    assert!(
        objects > 0 && (objects as u64) <= kept,
        "{objects} objects from {kept} entries"
    );
    drop(proxy);

    // scan --partial-ok: reports under the SC001 banner, still exit 3.
    let dir = fresh_dir(dc, "fault-cut-scan-partial");
    let proxy = FaultProxy::start(&dc.ip, ldaps_addr(dc), Fault::CutAfter(cut));
    let url = proxy.url("ldaps");
    let mut args = scan_args(dc, &url, dir.to_str().unwrap());
    args.push("--partial-ok");
    let (o, _) = run_hvaudit(&args, &dc.password);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // The reports, the manifest that lists them and the output directory's lock file.
    assert_eq!(
        files_in(&dir),
        vec![
            ".hvaudit.lock",
            "findings.csv",
            "findings.json",
            "findings.xlsx",
            "hosts.csv",
            "hvaudit-manifest.json",
            "readiness.csv",
            "report.html"
        ]
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("SC001: incomplete scan."), "no SC001 banner");
    assert!(html.contains(MAIN_SEARCH));
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.join("findings.json")).unwrap()).unwrap();
    assert_eq!(json["complete"], false);
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "SC001"),
        "no SC001 finding"
    );
}

/// The DC stops answering halfway through the main search: `--timeout 3` ends the run.
pub fn fault_stall_mid_search(dc: &TestDc) {
    let (total, _) = full_collection_bytes(dc);
    let proxy = FaultProxy::start(&dc.ip, ldaps_addr(dc), Fault::StallAfter(total / 2));
    let url = proxy.url("ldaps");
    let dir = fresh_dir(dc, "fault-stall-scan");
    let mut args = scan_args(dc, &url, dir.to_str().unwrap());
    args.extend(["--timeout", "3"]);
    let (o, took) = run_hvaudit(&args, &dc.password);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let line = one_error_line(&o, dc);
    assert!(line.contains(MAIN_SEARCH), "{line}");
    assert!(entries_read(&line) > 100, "{line}");
    assert!(line.contains("raise --timeout"), "{line}");
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(
        took < Duration::from_secs(20),
        "the timeout did not fire: {took:?}"
    );
    assert_eq!(files_in(&dir), Vec::<String>::new(), "reports written");
}

/// The DC accepts TCP but never answers the ClientHello (LDAPS), or never answers StartTLS.
pub fn fault_stall_in_tls_handshake(dc: &TestDc) {
    let starttls_addr: SocketAddr = format!("{}:389", dc.ip).parse().unwrap();
    for (scheme, upstream) in [("ldaps", ldaps_addr(dc)), ("ldap", starttls_addr)] {
        let proxy = FaultProxy::start(&dc.ip, upstream, Fault::StallAfter(0));
        let url = proxy.url(scheme);
        let out = dc.dir.join("fault-stall-tls.json");
        let mut args = collect_args(dc, &url, out.to_str().unwrap());
        args.extend(["--timeout", "2"]);
        let (o, took) = run_hvaudit(&args, &dc.password);
        assert_eq!(o.status.code(), Some(3), "{scheme}: {}", stderr(&o));
        let line = one_error_line(&o, dc);
        assert!(line.contains("cannot connect to"), "{line}");
        assert!(line.contains("raise --timeout"), "{line}");
        assert!(took < Duration::from_secs(15), "{scheme}: {took:?}");
        assert!(!out.exists());
    }
}

/// The connection is reset right after the ClientHello.
pub fn fault_reset_in_tls_handshake(dc: &TestDc) {
    let proxy = FaultProxy::start(&dc.ip, ldaps_addr(dc), Fault::ResetAfterClientHello);
    let url = proxy.url("ldaps");
    let out = dc.dir.join("fault-reset.json");
    let (o, _) = run_hvaudit(&collect_args(dc, &url, out.to_str().unwrap()), &dc.password);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let line = one_error_line(&o, dc);
    assert!(line.contains("cannot connect to"), "{line}");
    assert!(line.contains("the connection was cut"), "{line}");
    assert!(!out.exists());
    assert_eq!(proxy.connections(), 1);
}

/// Applies LDIF changes as the admin over LDAPS (ldapmodify, password from the 0600 file).
pub fn ldap_modify(dc: &TestDc, ldif: &str) {
    use std::io::Write as _;
    let mut child = Command::new("ldapmodify")
        .env("LDAPTLS_CACERT", &dc.ca_file)
        .args(["-x", "-H", &dc.url, "-D", &dc.user, "-y"])
        .arg(dc.password_file())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running ldapmodify (install ldap-utils)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ldif.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "ldapmodify failed: {}\n{ldif}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Creates `CN=sam,CN=Users` with `password` (set over LDAPS as unicodePwd, never in argv) and
/// the given userAccountControl; returns its UPN.
pub fn create_user(dc: &TestDc, sam: &str, password: &str, uac: u32) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let pwd: Vec<u8> = format!("\"{password}\"")
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    use base64::Engine as _;
    ldap_modify(
        dc,
        &format!(
            "dn: CN={sam},CN=Users,{base}\nchangetype: add\nobjectClass: user\n\
             sAMAccountName: {sam}\nuserPrincipalName: {sam}@lab.test\nunicodePwd:: {}\n\
             userAccountControl: {uac}\n",
            b64.encode(pwd),
            base = dc.base_dn
        ),
    );
    format!("{sam}@lab.test")
}

/// A per-run password for test accounts (policy: upper, lower, digit, symbol).
pub fn test_password(tag: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("Tst-{tag}-{n:x}-Aa1!")
}

fn collect_as(dc: &TestDc, user: &str, password: &str) -> Output {
    let out = dc.dir.join("never-bind.json");
    let (o, _) = run_hvaudit(
        &[
            "collect",
            "--server",
            &dc.url,
            "--user",
            user,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        password,
    );
    assert!(!out.exists(), "a snapshot after a failed bind");
    o
}

/// Locked out (lockoutThreshold 3, then three wrong passwords) and disabled accounts: each
/// refused bind is one line naming the cause and the fix, exit 3, no password.
pub fn bind_locked_and_disabled_accounts(dc: &TestDc) {
    let pw = test_password("bind");
    let locked = create_user(dc, "lock.me", &pw, 512);
    let disabled = create_user(dc, "off.user", &pw, 514);
    let threshold = |n: u32| {
        ldap_modify(
            dc,
            &format!(
                "dn: {}\nchangetype: modify\nreplace: lockoutThreshold\nlockoutThreshold: {n}\n",
                dc.base_dn
            ),
        )
    };
    threshold(3);
    // Restore the domain policy even if an assertion fails, so later tests are not locked out.
    struct Restore<'a>(&'a dyn Fn(u32));
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            (self.0)(0);
        }
    }
    let _restore = Restore(&threshold);

    for _ in 0..3 {
        let o = collect_as(dc, &locked, "Wrong-Password-1");
        assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
        let line = one_error_line(&o, dc);
        assert!(line.contains("invalidCredentials"), "{line}");
        assert!(line.contains("wrong user name or password"), "{line}");
    }
    let o = collect_as(dc, &locked, &pw);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let line = one_error_line(&o, dc);
    assert!(!line.contains(&pw), "{line}");
    assert!(
        line.contains("bind as 'lock.me@lab.test' rejected"),
        "{line}"
    );
    assert!(line.contains("locked out"), "{line}");
    assert!(line.contains("Unlock-ADAccount"), "{line}");

    let o = collect_as(dc, &disabled, &pw);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let line = one_error_line(&o, dc);
    assert!(!line.contains(&pw), "{line}");
    assert!(line.contains("account is disabled"), "{line}");
    assert!(line.contains("enable it"), "{line}");
}

/// hvaudit never sends a simple bind in clear text (ldap:// always gets StartTLS), so the DC's
/// strongerAuthRequired answer is provoked here with ldap3 directly and fed to the collector's
/// own mapping: the message must name the result and the fix.
pub fn bind_stronger_auth_required_maps_to_fix(dc: &TestDc) {
    let mut ldap = ldap3::LdapConn::new(&dc.starttls_url).expect("plain LDAP connection");
    // A throwaway password: it crosses loopback in clear text.
    let res = ldap
        .simple_bind(&dc.user, "not-the-password")
        .expect("bind answered");
    assert_eq!(res.rc, 8, "{res:?}");
    let err = hvaudit::collect::ldap::bind_failure(&dc.user, &res).expect("an error for rc 8");
    let msg = err.to_string();
    println!("    {msg}");
    assert!(
        msg.contains("LDAP result 8 (strongerAuthRequired)"),
        "{msg}"
    );
    assert!(
        msg.contains("use ldaps:// or ldap:// with StartTLS"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");
}

/// The certificate is valid and trusted but issued for another name: the proxy forwards to
/// the DC from 127.0.0.1, which is not in the certificate's SANs (the DC's IP and names are).
pub fn tls_cert_for_another_name(dc: &TestDc) {
    let proxy = FaultProxy::start("127.0.0.1", ldaps_addr(dc), Fault::Pass);
    let url = proxy.url("ldaps");
    let out = dc.dir.join("never-name.json");
    let (o, _) = run_hvaudit(&collect_args(dc, &url, out.to_str().unwrap()), &dc.password);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let line = one_error_line(&o, dc);
    assert!(line.contains("cannot connect to"), "{line}");
    assert!(
        line.contains("not issued for the name in --server"),
        "{line}"
    );
    assert!(!out.exists());
}

/// A DC name that does not resolve. The lookup must not leave the machine: hvaudit runs in a
/// new network namespace (only a downed loopback) and mount namespace whose nsswitch.conf and
/// resolv.conf are bind-mounted to `hosts: files dns` and `nameserver 127.0.0.1`, so no NSS
/// module can reach a resolver daemon and the DNS query cannot be sent anywhere.
pub fn dns_name_that_does_not_resolve(dc: &TestDc) {
    let nss = dc.dir.join("isolated-nsswitch.conf");
    let resolv = dc.dir.join("isolated-resolv.conf");
    std::fs::write(&nss, "hosts: files dns\n").unwrap();
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    )
    .unwrap();
    let out = dc.dir.join("never-dns.json");
    let script = format!(
        "mount --bind '{}' /etc/nsswitch.conf && mount --bind '{}' /etc/resolv.conf && \
         exec \"$0\" \"$@\"",
        nss.display(),
        resolv.display()
    );
    let (o, took) = run_with_env(
        &[
            "--net",
            "--mount",
            "sh",
            "-c",
            &script,
            env!("CARGO_BIN_EXE_hvaudit"),
            "collect",
            "--server",
            "ldaps://dc1.nowhere.invalid",
            "--user",
            &dc.user,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("HVAUDIT_PASSWORD", &dc.password)],
        "unshare",
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let line = one_error_line(&o, dc);
    assert!(
        line.contains("cannot connect to ldaps://dc1.nowhere.invalid"),
        "{line}"
    );
    assert!(line.contains("the server name does not resolve"), "{line}");
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert!(!out.exists());
}

/// A base DN in another domain (the DC answers with a referral, which is reported and not
/// followed) and one inside the domain that does not exist: one clear line each, no loop.
pub fn base_dn_outside_the_domain(dc: &TestDc) {
    for (base, cause, fix) in [
        // Samba answers noSuchObject where Windows refers to the other domain (result 10,
        // mapped in the collector's unit tests); either way nothing is followed.
        (
            "DC=other,DC=test",
            "LDAP result 32 (noSuchObject)",
            "check --base-dn",
        ),
        (
            "OU=Nowhere,DC=lab,DC=test",
            "LDAP result 32 (noSuchObject)",
            "check --base-dn",
        ),
    ] {
        let out = dc.dir.join("never-base.json");
        let mut args = collect_args(dc, &dc.url, out.to_str().unwrap());
        args.extend(["--base-dn", base]);
        let (o, took) = run_hvaudit(&args, &dc.password);
        assert_eq!(o.status.code(), Some(3), "{base}: {}", stderr(&o));
        let line = one_error_line(&o, dc);
        assert!(line.contains(&format!("under '{base}'")), "{line}");
        assert!(line.contains(cause), "{line}");
        assert!(line.contains(fix), "{line}");
        assert!(line.contains("no snapshot or report was written"), "{line}");
        // Keeping "what was read" makes no sense before the domain object is read.
        assert!(!line.contains("--partial-ok"), "{line}");
        assert!(took < Duration::from_secs(20), "{base}: {took:?}");
        assert!(!out.exists());
    }
}

/// Adds an explicit deny-read ACE for `trustee` on `dn` (samba-tool writing sam.ldb locally,
/// as the harness does). Explicit ACEs come before the inherited read grants, so it wins.
fn deny_read(dc: &TestDc, dn: &str, attr_guid: &str, trustee: &str) {
    let o = Command::new("samba-tool")
        .args(["dsacl", "set", "-H"])
        .arg(dc.dir.join("private/sam.ldb"))
        .arg("-s")
        .arg(dc.dir.join("etc/smb.conf"))
        .arg(format!("--objectdn={dn}"))
        .arg("--action=deny")
        .arg(format!("--sddl=(OD;;RP;{attr_guid};;{trustee})"))
        .output()
        .expect("running samba-tool");
    assert!(
        o.status.success(),
        "samba-tool dsacl set failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A bind account with ordinary user rights. With Samba's default permissions it reads
/// everything the audit needs (a complete scan: no false alarm). Then explicit deny ACEs hide
/// msDS-AllowedToDelegateTo on HVA02 and userAccountControl on HVA03 from it: the first is
/// detected through HVA02's DACL, the second as a required attribute gone missing; both are
/// SC001 gaps, and nothing is silently treated as empty.
pub fn ordinary_user_cannot_read_is_a_gap(dc: &TestDc) {
    let pw = test_password("reader");
    let reader = create_user(dc, "audit.reader", &pw, 512);
    let collect = |name: &str| -> (Output, Option<Value>) {
        let out = dc.dir.join(name);
        let (o, _) = run_hvaudit(
            &[
                "collect",
                "--server",
                &dc.url,
                "--user",
                &reader,
                "--ca-file",
                dc.ca_file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            &pw,
        );
        let snap = std::fs::read(&out)
            .ok()
            .map(|b| serde_json::from_slice(&b).unwrap());
        (o, snap)
    };

    let (o, snap) = collect("reader-clean.json");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = snap.unwrap();
    assert_eq!(s["meta"]["gaps"], serde_json::json!([]));
    let hva02 = |s: &Value| {
        s["computers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["sam_account_name"] == "HVA02$")
            .unwrap()
            .clone()
    };
    assert_eq!(
        hva02(&s)["allowed_to_delegate_to"]
            .as_array()
            .unwrap()
            .len(),
        8
    );

    let sid_bytes = dc
        .read("CN=audit.reader,CN=Users,DC=lab,DC=test", &["objectSid"])
        .get_bin("objectSid")
        .remove(0);
    let sid = hvaudit::model::Sid::from_bytes(&sid_bytes)
        .unwrap()
        .to_string();
    let hva02_dn = "CN=HVA02,OU=HyperV,OU=Servers,DC=lab,DC=test";
    let hva03_dn = "CN=HVA03,OU=HyperV,OU=Servers,DC=lab,DC=test";
    // schemaIDGUIDs of msDS-AllowedToDelegateTo and userAccountControl (MS-ADA2, MS-ADA3).
    deny_read(dc, hva02_dn, "800d94d7-b7a1-42a1-b14d-7cae1423d07f", &sid);
    deny_read(dc, hva03_dn, "bf967a68-0de6-11d0-a285-00aa003049e2", &sid);
    // The admin still sees both; the reader sees neither.
    assert_eq!(
        dc.read(hva02_dn, &["msDS-AllowedToDelegateTo"])
            .get("msDS-AllowedToDelegateTo")
            .len(),
        8
    );

    let (o, snap) = collect("reader-denied.json");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("INCOMPLETE SCAN (SC001)"), "{err}");
    let s = snap.expect("the snapshot is written, marked incomplete");
    // Hidden, and reported as such rather than as "no delegation".
    assert_eq!(hva02(&s)["allowed_to_delegate_to"], serde_json::json!([]));
    let gaps: Vec<String> = s["meta"]["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            format!(
                "{}: {}",
                g["what"].as_str().unwrap(),
                g["reason"].as_str().unwrap()
            )
        })
        .collect();
    println!("    gaps: {gaps:#?}");
    assert_eq!(gaps.len(), 2, "{gaps:#?}");
    assert!(
        gaps.iter().any(|g| g.starts_with(&format!(
            "msDS-AllowedToDelegateTo on 1 object(s), e.g. {hva02_dn}: the object's permissions \
             deny the bind account reading it"
        ))),
        "{gaps:#?}"
    );
    assert!(
        gaps.iter().any(|g| g.starts_with(&format!(
            "userAccountControl on 1 account(s), e.g. {hva03_dn}"
        ))),
        "{gaps:#?}"
    );

    // The scan built on it carries SC001.
    let dir = dc.dir.join("reader-scan");
    let (o, _) = run_hvaudit(
        &[
            "scan",
            "--server",
            &dc.url,
            "--user",
            &reader,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ],
        &pw,
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.join("findings.json")).unwrap()).unwrap();
    assert_eq!(json["complete"], false);
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "SC001")
    );
}
