//! Outputs are all-or-nothing (issue 12): a failed run leaves every earlier file intact and
//! names what it did not write; two runs into one --out never interleave; an output that is
//! an input is refused; files of an earlier run with more formats do not stay behind looking
//! current. Everything runs the real binary on copies of the example inputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn hvaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .args(args)
        .current_dir(root())
        .env_remove("HVAUDIT_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("run hvaudit")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `audit` of the example into `out` with the given formats.
fn audit(out: &Path, formats: &str) -> Output {
    hvaudit(&[
        "audit",
        "--ldif",
        "examples/corp.ldif",
        "--hosts",
        "examples/hosts.csv",
        "--config",
        "examples/hvaudit.toml",
        "--format",
        formats,
        "--out",
        s(out),
    ])
}

/// Ran to the end: 0, 1 (findings), or 3 (the example inventory has an unreadable host).
fn assert_ran(o: &Output) {
    assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{}", stderr(o));
}

/// Every file in `dir` (not directories) with its bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("hvaudit-manifest.json")).unwrap()).unwrap()
}

fn manifest_files(dir: &Path) -> Vec<String> {
    manifest(dir)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_run_writes_a_manifest_of_its_files() {
    let dir = tempfile::tempdir().unwrap();
    assert_ran(&audit(dir.path(), "html,csv,json"));
    let m = manifest(dir.path());
    assert_eq!(m["tool"], "hvaudit");
    assert_eq!(m["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["command"], "audit");
    assert!(m["written_at"].as_str().unwrap().starts_with("20"));
    assert_eq!(
        manifest_files(dir.path()),
        [
            "report.html",
            "findings.csv",
            "readiness.csv",
            "hosts.csv",
            "findings.json"
        ]
    );
}

/// A later file cannot be written (a directory is in the way of findings.json): the run
/// fails, says which files it did not write, and every earlier file is byte for byte the
/// earlier run's; no temporary file is left.
#[test]
fn a_failed_run_keeps_every_earlier_file_and_names_the_unwritten() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    // The earlier run: a different config, so its reports differ from the next run's.
    let o = hvaudit(&["audit", "--ldif", "examples/corp.ldif", "--out", s(&out)]);
    assert_ran(&o);
    std::fs::remove_file(out.join("findings.json")).unwrap();
    std::fs::create_dir(out.join("findings.json")).unwrap();
    std::fs::write(out.join("findings.json").join("keep"), "x").unwrap();
    let before = contents(&out);

    let o = audit(&out, "html,csv,json");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("not written:"), "{err}");
    for name in [
        "report.html",
        "findings.csv",
        "readiness.csv",
        "findings.json",
    ] {
        assert!(
            err.contains(&out.join(name).display().to_string()),
            "{name} not named: {err}"
        );
    }
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(contents(&out), before, "an earlier file changed");
    assert!(out.join("findings.json/keep").exists());
}

/// The same for a single-file output: the earlier script stays whole.
#[test]
fn a_failed_remediate_keeps_the_earlier_script() {
    let dir = tempfile::tempdir().unwrap();
    let fix = dir.path().join("fix.ps1");
    std::fs::write(&fix, "# the reviewed script\n").unwrap();
    // A directory named like the temporary files' parent cannot exist, but an output path
    // that is a directory can: the rename fails and nothing else changes.
    let blocked = dir.path().join("blocked.ps1");
    std::fs::create_dir(&blocked).unwrap();
    let o = hvaudit(&[
        "remediate",
        "--ldif",
        "examples/corp.ldif",
        "--out",
        s(&blocked),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not written:") && err.contains("blocked.ps1"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&fix).unwrap(),
        "# the reviewed script\n"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "temporary files left: {names:?}");
}

/// Another process holds the directory's lock: the run fails at once, clearly, and changes
/// nothing.
#[test]
fn a_held_output_lock_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    assert_ran(&audit(dir.path(), "json"));
    let before = contents(dir.path());
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.path().join(".hvaudit.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let o = audit(dir.path(), "html,csv,json");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("another hvaudit run is writing"), "{err}");
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    assert_eq!(contents(dir.path()), before);
    drop(lock);
    assert_ran(&audit(dir.path(), "html,csv,json"));
}

/// Runs started together into one --out: each one either completes or fails naming the
/// lock; what is left is whole (JSON parses, the manifest lists exactly what is there).
#[test]
fn concurrent_runs_into_one_out_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_hvaudit"))
                .args([
                    "audit",
                    "--ldif",
                    "examples/corp.ldif",
                    "--hosts",
                    "examples/hosts.csv",
                    "--config",
                    "examples/hvaudit.toml",
                    "--out",
                    s(dir.path()),
                ])
                .current_dir(root())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut completed = 0;
    for c in children {
        let o = c.wait_with_output().unwrap();
        match o.status.code() {
            Some(0 | 1 | 3) => completed += 1,
            Some(2) => assert!(
                stderr(&o).contains("another hvaudit run is writing"),
                "{}",
                stderr(&o)
            ),
            other => panic!("exit {other:?}: {}", stderr(&o)),
        }
    }
    assert!(completed >= 1);
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("findings.json")).unwrap())
            .expect("findings.json is one whole document");
    assert!(json["findings"].as_array().is_some_and(|f| !f.is_empty()));
    let mut on_disk: Vec<String> = contents(dir.path())
        .into_keys()
        .filter(|n| !n.starts_with('.') && n != "hvaudit-manifest.json")
        .collect();
    on_disk.sort();
    let mut listed = manifest_files(dir.path());
    listed.sort();
    assert_eq!(on_disk, listed);
}

/// Runs of `remediate` into one file each write their own temporary file: every result is
/// a whole script.
#[test]
fn concurrent_remediate_runs_leave_one_whole_script() {
    let dir = tempfile::tempdir().unwrap();
    let fix = dir.path().join("fix.ps1");
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_hvaudit"))
                .args([
                    "remediate",
                    "--ldif",
                    "examples/corp.ldif",
                    "--out",
                    s(&fix),
                ])
                .current_dir(root())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let alone = dir.path().join("alone.ps1");
    let o = hvaudit(&[
        "remediate",
        "--ldif",
        "examples/corp.ldif",
        "--out",
        s(&alone),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Same content but for the generation time line and the file name the header gives.
    let strip = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .replace("alone.ps1", "fix.ps1")
            .lines()
            .filter(|l| !l.contains("Generated") && !l.contains("generated"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&fix), strip(&alone));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

/// Copies of the example inputs, so a failed refusal could only damage the copies.
fn inputs(dir: &Path) -> BTreeMap<&'static str, PathBuf> {
    let mut m = BTreeMap::new();
    for (k, src) in [
        ("ldif", "examples/corp.ldif"),
        ("hosts", "examples/hosts.csv"),
        ("config", "examples/hvaudit.toml"),
        ("suppressions", "examples/suppressions.toml"),
    ] {
        let p = dir.join(Path::new(src).file_name().unwrap());
        std::fs::copy(root().join(src), &p).unwrap();
        m.insert(k, p);
    }
    m
}

#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let i = inputs(dir.path());
    let (ldif, hosts, config, supp) = (&i["ldif"], &i["hosts"], &i["config"], &i["suppressions"]);
    let report = dir.path().join("report");
    assert_ran(&hvaudit(&["audit", "--ldif", s(ldif), "--out", s(&report)]));
    let previous = report.join("findings.json");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let link = dir.path().join("link.ps1");
    std::os::unix::fs::symlink(hosts, &link).unwrap();
    // The same file by another spelling: through `..`.
    let dotted = format!("{}/../corp.ldif", s(&report));
    let dotted_hosts = dotted.replace("corp.ldif", "hosts.csv");
    let snapshot = dir.path().join("snap.json");
    assert_ran(&hvaudit(&[
        "collect",
        "--ldif",
        s(ldif),
        "--out",
        s(&snapshot),
    ]));
    let cases: Vec<(Vec<&str>, &str, &Path)> = vec![
        (
            vec!["remediate", "--ldif", s(ldif), "--out", s(ldif)],
            "--ldif",
            ldif,
        ),
        (
            vec![
                "remediate",
                "--ldif",
                s(ldif),
                "--hosts",
                s(hosts),
                "--out",
                &dotted_hosts,
            ],
            "--hosts",
            hosts,
        ),
        (
            vec![
                "remediate",
                "--ldif",
                s(ldif),
                "--hosts",
                s(hosts),
                "--out",
                s(&link),
            ],
            "--hosts",
            hosts,
        ),
        (
            vec![
                "remediate",
                "--ldif",
                s(ldif),
                "--config",
                s(config),
                "--out",
                s(config),
            ],
            "--config",
            config,
        ),
        (
            vec![
                "remediate",
                "--ldif",
                s(ldif),
                "--suppressions",
                s(supp),
                "--out",
                s(supp),
            ],
            "--suppressions",
            supp,
        ),
        (
            vec![
                "remediate",
                "--snapshot",
                s(&snapshot),
                "--out",
                s(&snapshot),
            ],
            "--snapshot",
            &snapshot,
        ),
        (
            vec!["collect", "--ldif", s(ldif), "--out", &dotted],
            "--ldif",
            ldif,
        ),
        (
            vec![
                "collect",
                "--ldif",
                s(ldif),
                "--config",
                s(config),
                "--out",
                s(config),
            ],
            "--config",
            config,
        ),
        (
            vec![
                "audit",
                "--ldif",
                s(ldif),
                "--previous",
                s(&previous),
                "--out",
                s(&report),
            ],
            "--previous",
            &previous,
        ),
        (
            vec![
                "audit",
                "--ldif",
                s(ldif),
                "--rules",
                s(&rules),
                "--out",
                s(&rules),
            ],
            "--rules",
            &rules,
        ),
        (
            vec!["audit", "--ldif", s(ldif), "--out", s(ldif)],
            "--ldif",
            ldif,
        ),
        (
            vec!["diff", s(&previous), s(&previous), "--out", s(&report)],
            "OLD",
            &previous,
        ),
    ];
    let before = contents(dir.path());
    let report_before = contents(&report);
    for (args, flag, input) in &cases {
        let o = hvaudit(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(flag) && err.contains(s(input)),
            "{args:?}: {err}"
        );
        assert!(err.contains("--out"), "{args:?}: {err}");
    }
    assert_eq!(contents(dir.path()), before, "an input changed");
    assert_eq!(contents(&report), report_before, "an input changed");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// A run with fewer formats removes the files the previous run wrote and this one did not,
/// per the previous manifest, and nothing else.
#[test]
fn fewer_formats_remove_the_earlier_runs_files() {
    let dir = tempfile::tempdir().unwrap();
    assert_ran(&audit(dir.path(), "html,csv,json"));
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let o = audit(dir.path(), "json");
    assert_ran(&o);
    let err = stderr(&o);
    for gone in ["report.html", "findings.csv", "readiness.csv"] {
        assert!(!dir.path().join(gone).exists(), "{gone} left behind");
        assert!(
            err.contains(&format!("removed {}", dir.path().join(gone).display())),
            "{err}"
        );
    }
    assert!(dir.path().join("findings.json").exists());
    assert_eq!(manifest_files(dir.path()), ["findings.json"]);
    // A manifest naming something that is not one of hvaudit's reports removes nothing.
    let mut m = manifest(dir.path());
    m["files"] = serde_json::json!(["findings.json", "notes.txt", "../x", "report.html"]);
    std::fs::write(dir.path().join("hvaudit-manifest.json"), m.to_string()).unwrap();
    std::fs::create_dir(dir.path().join("report.html")).unwrap();
    assert_ran(&audit(dir.path(), "csv"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(
        dir.path().join("report.html").is_dir(),
        "only regular files are removed"
    );
    assert!(!dir.path().join("findings.json").exists());
    assert_eq!(
        manifest_files(dir.path()),
        ["findings.csv", "readiness.csv", "hosts.csv"]
    );
}
