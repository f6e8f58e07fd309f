//! A real Samba AD DC (realm LAB.TEST) for integration tests, driven by
//! `tests/harness/samba-dc.sh`. Provisioning takes ~15-30 s, so a test binary starts one DC
//! in its `main` (harness = false) and hands it to every test.
//!
//! The DC listens on `HVAUDIT_TEST_DC_IP` (default 127.0.0.10): several binaries or people can
//! run at once on different loopback addresses. Missing Samba is a test failure, never a skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine;

pub const DEFAULT_DC_IP: &str = "127.0.0.10";

pub struct TestDc {
    /// `ldaps://IP`
    pub url: String,
    /// `ldap://IP`, for StartTLS (simple binds on plain LDAP are refused: strongerAuthRequired).
    pub starttls_url: String,
    /// PEM of the lab CA that issued the DC's certificate (SANs: dc1.lab.test, dc1, IP).
    pub ca_file: PathBuf,
    /// `administrator@lab.test`
    pub user: String,
    pub password: String,
    /// `DC=lab,DC=test`
    pub base_dn: String,
    /// `LAB.TEST`
    pub realm: String,
    pub ip: String,
    /// krb5.conf pointing at this DC's KDC by IP, with DNS lookups off.
    pub krb5_config: PathBuf,
    /// The DC's state directory (a tempdir unless HVAUDIT_TEST_DC_KEEP is set).
    pub dir: PathBuf,
    script: PathBuf,
    stopped: AtomicBool,
    _tmp: Option<tempfile::TempDir>,
}

/// One entry as `ldapsearch` printed it: attribute names as the server spelled them
/// (ranged ones like `member;range=0-1499` included), values decoded from base64 where needed.
#[derive(Debug, Clone, PartialEq)]
pub struct LdifEntry {
    pub dn: String,
    pub attrs: BTreeMap<String, Vec<Vec<u8>>>,
}

impl LdifEntry {
    /// Values of `name` (case-insensitive), as UTF-8 text.
    pub fn get(&self, name: &str) -> Vec<String> {
        self.get_bin(name)
            .into_iter()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .collect()
    }

    pub fn get_bin(&self, name: &str) -> Vec<Vec<u8>> {
        self.attrs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.iter().cloned())
            .collect()
    }

    /// The single value of `name`; panics naming the entry if there is not exactly one.
    pub fn one(&self, name: &str) -> String {
        let v = self.get(name);
        assert_eq!(v.len(), 1, "{}: expected one {name}, got {v:?}", self.dn);
        v.into_iter().next().unwrap()
    }
}

pub fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harness/samba-dc.sh")
}

impl TestDc {
    /// Provisions a DC with the fixtures into a fresh tempdir and starts it. Panics with the
    /// script's output if anything fails (including Samba not being installed).
    pub fn start() -> TestDc {
        let ip = std::env::var("HVAUDIT_TEST_DC_IP").unwrap_or_else(|_| DEFAULT_DC_IP.into());
        let mut tmp = tempfile::Builder::new()
            .prefix("hvaudit-dc-")
            .tempdir()
            .expect("creating a tempdir for the test DC");
        let keep = std::env::var_os("HVAUDIT_TEST_DC_KEEP").is_some();
        if keep {
            tmp.disable_cleanup(true);
            eprintln!("keeping test DC directory {}", tmp.path().display());
        }
        let dir = tmp.path().to_path_buf();
        let script = script_path();
        run_script(&script, &["provision", path_str(&dir), &ip]);
        let env = read_env(&dir.join("dc.env"));
        let var = |k: &str| {
            env.get(k)
                .cloned()
                .unwrap_or_else(|| panic!("{} lacks {k}", dir.join("dc.env").display()))
        };
        let dc = TestDc {
            url: var("HVAUDIT_DC_URL"),
            starttls_url: var("HVAUDIT_DC_STARTTLS_URL"),
            ca_file: var("HVAUDIT_DC_CA").into(),
            user: var("HVAUDIT_DC_USER"),
            password: var("HVAUDIT_DC_PASSWORD"),
            base_dn: var("HVAUDIT_DC_BASE"),
            realm: var("HVAUDIT_DC_REALM"),
            ip: var("HVAUDIT_DC_IP"),
            krb5_config: var("KRB5_CONFIG").into(),
            dir,
            script,
            stopped: AtomicBool::new(true),
            _tmp: Some(tmp),
        };
        run_script(&dc.script, &["start", path_str(&dc.dir)]);
        dc.stopped.store(false, Ordering::SeqCst);
        dc
    }

    /// Stops the DC and waits until every samba process of it has exited. Idempotent.
    pub fn stop(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            run_script(&self.script, &["stop", path_str(&self.dir)]);
        }
    }

    /// A file holding only the admin password (mode 0600), for `ldapsearch -y` or `kinit <`.
    pub fn password_file(&self) -> PathBuf {
        self.dir.join("admin.pw")
    }

    /// `ldapsearch` over LDAPS as the admin, paged (500), trusting only the lab CA. `scope` is
    /// base, one or sub; `extra` goes before the filter (e.g. `-E` controls). Referrals are
    /// dropped. Panics with ldapsearch's stderr on failure.
    pub fn ldapsearch(
        &self,
        base: &str,
        scope: &str,
        filter: &str,
        attrs: &[&str],
        extra: &[&str],
    ) -> Vec<LdifEntry> {
        let pw = self.password_file();
        let mut cmd = Command::new("ldapsearch");
        cmd.env("LDAPTLS_CACERT", &self.ca_file)
            .env("LDAPTLS_REQCERT", "demand")
            .args(["-LLL", "-x", "-o", "ldif-wrap=no", "-o", "nettimeout=30"])
            .args(["-H", &self.url, "-D", &self.user, "-y", path_str(&pw)])
            .args(["-E", "pr=500/noprompt", "-b", base, "-s", scope])
            .args(extra)
            .arg(filter)
            .args(attrs);
        let out = cmd
            .output()
            .expect("running ldapsearch (install ldap-utils)");
        assert!(
            out.status.success(),
            "ldapsearch -b '{base}' '{filter}' failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        parse_ldif(&String::from_utf8_lossy(&out.stdout))
    }

    /// Like [`ldapsearch`](Self::ldapsearch) for a single object read with base scope.
    pub fn read(&self, dn: &str, attrs: &[&str]) -> LdifEntry {
        let mut v = self.ldapsearch(dn, "base", "(objectClass=*)", attrs, &[]);
        assert_eq!(v.len(), 1, "reading {dn}: expected one entry, got {v:?}");
        v.remove(0)
    }
}

impl Drop for TestDc {
    fn drop(&mut self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            // No panic in drop: report and carry on so the tempdir is still removed.
            let out = Command::new("bash")
                .arg(&self.script)
                .args(["stop", path_str(&self.dir)])
                .output();
            match out {
                Ok(o) if o.status.success() => {}
                Ok(o) => eprintln!(
                    "stopping the test DC failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => eprintln!("stopping the test DC failed: {e}"),
            }
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("test DC paths are UTF-8")
}

fn run_script(script: &Path, args: &[&str]) {
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    // The script reports timings on stderr; pass them through for the test log.
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "{} {} failed ({}).\nstdout:\n{}\nstderr:\n{}",
        script.display(),
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Parses the `KEY='value'` lines samba-dc.sh writes (no quotes inside values, by construction).
fn read_env(path: &Path) -> BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("{}: bad line {l:?}", path.display()));
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or_else(|| panic!("{}: unquoted value in {l:?}", path.display()));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Parses unwrapped LDIF (`-o ldif-wrap=no`) as ldapsearch prints it; skips referrals.
pub fn parse_ldif(text: &str) -> Vec<LdifEntry> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut entry: Option<LdifEntry> = None;
        for line in block.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = if let Some((n, v)) = line.split_once(":: ") {
                (
                    n,
                    b64.decode(v.trim()).expect("ldapsearch printed bad base64"),
                )
            } else if let Some((n, v)) = line.split_once(": ") {
                (n, v.as_bytes().to_vec())
            } else if let Some(n) = line.strip_suffix(':') {
                (n, Vec::new())
            } else {
                panic!("unexpected ldapsearch output line {line:?}");
            };
            match &mut entry {
                None if name.eq_ignore_ascii_case("dn") => {
                    entry = Some(LdifEntry {
                        dn: String::from_utf8_lossy(&value).into_owned(),
                        attrs: BTreeMap::new(),
                    })
                }
                // `ref:` blocks are referrals (Configuration, DNS zones at the domain root).
                None => break,
                Some(e) => e.attrs.entry(name.to_string()).or_default().push(value),
            }
        }
        out.extend(entry);
    }
    out
}
