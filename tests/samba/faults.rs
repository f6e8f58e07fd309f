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
    run_with_env(args, &[("HVAUDIT_PASSWORD", password)])
}

pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hvaudit"));
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
    assert_eq!(
        files_in(&dir),
        vec![
            "findings.csv",
            "findings.json",
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
