//! The read-only promise and secrets: a full scan sends only bind, search and unbind; no output
//! of a verbose run holds the password; `--insecure-skip-verify` is loud and recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;

use super::faults::run_hvaudit;
use super::recorder::{self, Recorder};
use super::samba_dc::TestDc;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn op_counts(ops: &[u8]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for t in ops {
        *m.entry(recorder::op_name(*t)).or_default() += 1;
    }
    m
}

/// A full `hvaudit scan` through the recording proxy: every request is a bind, a search or an
/// unbind, and the scan still reads the whole directory.
pub fn readonly_scan_sends_only_reads(dc: &TestDc) {
    let rec = Recorder::start(dc);
    let url = rec.url();
    let dir = dc.dir.join("readonly-scan");
    let _ = std::fs::remove_dir_all(&dir);
    let (o, _) = run_hvaudit(
        &[
            "scan",
            "--server",
            &url,
            "--user",
            &dc.user,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
            "--range-size",
            "500",
        ],
        &dc.password,
    );
    // 1: the fixtures hold findings at or above --fail-on high.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let ops = rec.ops();
    let counts = op_counts(&ops);
    println!("    LDAP requests seen: {counts:?}");
    assert_eq!(rec.violations(), Vec::<String>::new());
    let kinds: BTreeSet<u8> = ops.iter().copied().collect();
    assert_eq!(
        kinds,
        BTreeSet::from([recorder::BIND, recorder::SEARCH, recorder::UNBIND]),
        "{counts:?}"
    );
    assert_eq!(counts["bind"], 1);
    assert_eq!(counts["unbind"], 1);
    assert_eq!(ops.first(), Some(&recorder::BIND));
    assert_eq!(ops.last(), Some(&recorder::UNBIND));
    // RootDSE, domain, crossRef, the paged main search, BigGroup's ranges (1,600 / 500).
    assert!(counts["search"] >= 10, "{counts:?}");
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.join("findings.json")).unwrap()).unwrap();
    assert_eq!(json["complete"], true, "{}", json["gaps"]);
}

/// The recorder itself catches a write (so the test above can fail): a modify sent through it
/// is refused, recorded, and never reaches the DC.
pub fn readonly_recorder_refuses_writes(dc: &TestDc) {
    use ldap3::{LdapConn, LdapConnSettings, Mod};
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let rec = Recorder::start(dc);
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&dc.ca_file).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let settings = LdapConnSettings::new().set_config(Arc::new(cfg));
    let mut ldap = LdapConn::with_settings(settings, &rec.url()).expect("TLS through recorder");
    ldap.simple_bind(&dc.user, &dc.password)
        .unwrap()
        .success()
        .unwrap();
    let dn = "CN=HVA01,OU=HyperV,OU=Servers,DC=lab,DC=test";
    let res = ldap
        .with_timeout(std::time::Duration::from_secs(10))
        .modify(
            dn,
            vec![Mod::Replace(
                "description",
                std::collections::HashSet::from(["written"]),
            )],
        );
    assert!(
        res.is_err() || res.unwrap().rc != 0,
        "the modify must not succeed"
    );
    assert_eq!(
        rec.ops(),
        vec![recorder::BIND, recorder::MODIFY],
        "{:?}",
        rec.ops()
    );
    let v = rec.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("modify"), "{v:?}");
    assert!(dc.read(dn, &["description"]).get("description").is_empty());
}

/// Every file under `dir`, recursively.
fn all_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The password in the forms it could leak in: as is, base64 (LDIF, JSON bytes), UTF-16LE
/// (unicodePwd) and hex.
fn secret_forms(password: &str) -> Vec<(String, Vec<u8>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let utf16: Vec<u8> = password
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let hex: String = password.bytes().map(|b| format!("{b:02x}")).collect();
    vec![
        ("plain".into(), password.as_bytes().to_vec()),
        ("base64".into(), b64.encode(password).into_bytes()),
        ("utf-16le".into(), utf16),
        ("hex".into(), hex.into_bytes()),
    ]
}

fn assert_no_secret(what: &str, bytes: &[u8], password: &str) {
    for (form, needle) in secret_forms(password) {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
            "the password ({form}) appears in {what}"
        );
    }
}

/// A `-vv` collect and scan: stdout, stderr, the snapshot and every report hold no trace of
/// the password, and no flag takes a password on the command line.
pub fn secrets_absent_from_verbose_outputs(dc: &TestDc) {
    let dir = dc.dir.join("secrets");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let snap = dir.join("snapshot.json");
    let reports = dir.join("reports");
    let never = dir.join("never.json");
    let ca = dc.ca_file.to_str().unwrap();
    let runs: Vec<(Vec<&str>, i32)> = vec![
        (
            vec![
                "-vv",
                "collect",
                "--server",
                &dc.url,
                "--user",
                &dc.user,
                "--ca-file",
                ca,
                "--out",
                snap.to_str().unwrap(),
            ],
            0,
        ),
        (
            vec![
                "-vv",
                "scan",
                "--server",
                &dc.url,
                "--user",
                &dc.user,
                "--ca-file",
                ca,
                "--out",
                reports.to_str().unwrap(),
            ],
            1,
        ),
        // A failing bind must not echo the password it was given either.
        (
            vec![
                "-vv",
                "collect",
                "--server",
                &dc.starttls_url,
                "--user",
                "nobody@lab.test",
                "--ca-file",
                ca,
                "--out",
                never.to_str().unwrap(),
            ],
            3,
        ),
    ];
    for (args, code) in &runs {
        // The password reaches hvaudit only through the environment.
        assert!(!args.iter().any(|a| a.contains(&dc.password)));
        let (o, _) = run_hvaudit(args, &dc.password);
        assert_eq!(o.status.code(), Some(*code), "{args:?}: {}", stderr(&o));
        assert_no_secret(&format!("stdout of {args:?}"), &o.stdout, &dc.password);
        assert_no_secret(&format!("stderr of {args:?}"), &o.stderr, &dc.password);
    }
    let mut files = Vec::new();
    all_files(&dir, &mut files);
    let names: BTreeSet<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "snapshot.json",
        "report.html",
        "findings.json",
        "findings.csv",
    ] {
        assert!(names.contains(want), "{want} not written: {names:?}");
    }
    for f in &files {
        assert_no_secret(
            &f.display().to_string(),
            &std::fs::read(f).unwrap(),
            &dc.password,
        );
    }

    // No flag accepts the password itself; the help says where it comes from.
    let (o, _) = run_hvaudit(
        &[
            "collect",
            "--server",
            &dc.url,
            "--user",
            &dc.user,
            "--password",
            "Argv-Secret-123",
            "--out",
            "x.json",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_no_secret("a rejected --password", &o.stderr, "Argv-Secret-123");
    let (o, _) = run_hvaudit(&["collect", "--help"], "");
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("HVAUDIT_PASSWORD"), "{help}");
    assert!(!help.contains("--password <"), "{help}");
}

/// `--insecure-skip-verify` connects without the CA, warns on every run, and the snapshot and
/// every report say verification was off; a verified run says nothing of the kind.
pub fn insecure_skip_verify_is_loud_and_recorded(dc: &TestDc) {
    let dir = dc.dir.join("insecure");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let snap = dir.join("snap.json");
    let base = |cmd: &'static str, out: &Path| -> Vec<String> {
        vec![
            cmd.into(),
            "--server".into(),
            dc.url.clone(),
            "--user".into(),
            dc.user.clone(),
            "--insecure-skip-verify".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ]
    };
    let run = |args: &[String]| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_hvaudit(&refs, &dc.password).0
    };
    let warning = "WARNING: --insecure-skip-verify: the DC's certificate is NOT verified";
    for round in 0..2 {
        let o = run(&base("collect", &snap));
        assert_eq!(o.status.code(), Some(0), "round {round}: {}", stderr(&o));
        assert_eq!(
            stderr(&o).matches(warning).count(),
            1,
            "round {round}: {}",
            stderr(&o)
        );
    }
    let s: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    assert_eq!(s["meta"]["tls_verification_disabled"], true);

    let reports = dir.join("reports");
    let o = run(&base("scan", &reports));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(warning), "{}", stderr(&o));
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    assert!(
        html.contains("id=\"tls-banner\""),
        "no TLS banner at the top of the report"
    );
    assert!(html.contains("TLS certificate verification was disabled"));
    let json: Value =
        serde_json::from_slice(&std::fs::read(reports.join("findings.json")).unwrap()).unwrap();
    assert_eq!(json["meta"]["tls_verification_disabled"], true);

    // Auditing the saved snapshot later keeps the record.
    let later = dir.join("later");
    let (o, _) = run_hvaudit(
        &[
            "audit",
            "--snapshot",
            snap.to_str().unwrap(),
            "--out",
            later.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let html = std::fs::read_to_string(later.join("report.html")).unwrap();
    assert!(html.contains("id=\"tls-banner\""));

    // A verified run: no warning, nothing recorded.
    let ok = dir.join("verified");
    let (o, _) = run_hvaudit(
        &[
            "scan",
            "--server",
            &dc.url,
            "--user",
            &dc.user,
            "--ca-file",
            dc.ca_file.to_str().unwrap(),
            "--out",
            ok.to_str().unwrap(),
        ],
        &dc.password,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("insecure"), "{}", stderr(&o));
    let html = std::fs::read_to_string(ok.join("report.html")).unwrap();
    assert!(!html.contains("id=\"tls-banner\""));
    assert!(!html.contains("TLS certificate verification was disabled"));
    let json: Value =
        serde_json::from_slice(&std::fs::read(ok.join("findings.json")).unwrap()).unwrap();
    assert_eq!(json["meta"]["tls_verification_disabled"], false);
}
