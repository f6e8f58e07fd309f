//! All-or-nothing output files, one writer per output directory, and the manifest that says
//! which files of a directory the last run wrote.
//!
//! - Every output (report, snapshot, remediation script, diff output) is first written to a
//!   uniquely named temporary file in its own directory (`.NAME.XXXXXX.hvaudit-tmp`), synced,
//!   and renamed over `NAME` only when every file of the run is complete ([`Staging`]). A run
//!   that fails, is interrupted (SIGINT, SIGTERM) or meets a full disk leaves each earlier
//!   file as it was, or no file: never an empty or truncated one that looks complete. A
//!   killed run may leave its hidden temporary files; the next run into the directory
//!   removes them under the lock.
//! - A directory output is held with an advisory lock on `DIR/.hvaudit.lock` ([`DirLock`];
//!   `flock(2)` through `File::try_lock`) for the whole write: a second run into the same
//!   directory fails at once, naming the directory, instead of interleaving files.
//! - `DIR/hvaudit-manifest.json` ([`Manifest`]) lists the files the run wrote, when and with
//!   which version. A later run removes the files the previous manifest lists that it did
//!   not write itself (only hvaudit's own report names, [`OWN_FILES`]), so a report of an
//!   earlier `--format` set never lies next to the new one looking current.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tempfile::NamedTempFile;

/// The manifest's file name inside an output directory.
pub const MANIFEST: &str = "hvaudit-manifest.json";
/// The lock file's name inside an output directory. It stays in place: removing a lock file
/// while another process may be about to open it would let two runs lock different files.
pub const LOCK_FILE: &str = ".hvaudit.lock";
/// Suffix of the temporary files (after a random part, so concurrent runs never share one).
const TMP_SUFFIX: &str = ".hvaudit-tmp";

/// Every file name hvaudit writes into an output directory (`scan`/`audit --out`,
/// `diff --out`). Only these are ever removed on a previous manifest's word: a manifest
/// edited to name another file cannot make hvaudit delete it.
pub const OWN_FILES: [&str; 12] = [
    "report.html",
    "findings.csv",
    "readiness.csv",
    "hosts.csv",
    "findings.json",
    "findings.xlsx",
    "findings.ndjson",
    "diff.json",
    "diff-new.csv",
    "diff-resolved.csv",
    "diff-no-longer-evaluated.csv",
    "diff-unchanged.csv",
];

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "{}: another hvaudit run is writing to this directory (lock {} is held); wait for it \
         or choose another --out",
        dir.display(),
        LOCK_FILE
    )]
    Locked { dir: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The directory a file is written in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// One output file being written: a temporary file beside its final path.
#[derive(Debug)]
pub struct StagedFile {
    path: PathBuf,
    tmp: NamedTempFile,
}

impl StagedFile {
    /// Creates the temporary file for `path` in `path`'s directory (which must exist).
    /// Errors name `path`.
    pub fn create(path: &Path) -> Result<StagedFile, OutputError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(TMP_SUFFIX)
            .tempfile_in(parent_dir(path))
            .map_err(io_at(path))?;
        Ok(StagedFile {
            path: path.to_path_buf(),
            tmp,
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A buffered writer into the temporary file; flush it before [`Staging::commit`].
    pub fn writer(&self) -> BufWriter<&File> {
        BufWriter::new(self.tmp.as_file())
    }
}

/// The files of one run, renamed into place together by [`Staging::commit`]. Dropped
/// without a commit, every temporary file is deleted and no final path is touched.
#[derive(Debug, Default)]
pub struct Staging {
    files: Vec<StagedFile>,
}

/// A commit that stopped midway: which files replaced their earlier versions, and which did
/// not (those keep their earlier version, or do not exist).
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct CommitError {
    pub written: Vec<PathBuf>,
    pub not_written: Vec<PathBuf>,
    #[source]
    pub source: OutputError,
}

impl Staging {
    pub fn new() -> Staging {
        Staging::default()
    }

    /// Adds a completely written file.
    pub fn push(&mut self, file: StagedFile) {
        self.files.push(file);
    }

    /// Writes `bytes` as the complete content of `path`.
    pub fn add_bytes(&mut self, path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
        let f = StagedFile::create(path)?;
        let mut w = f.writer();
        w.write_all(bytes).map_err(io_at(path))?;
        w.flush().map_err(io_at(path))?;
        drop(w);
        self.push(f);
        Ok(())
    }

    /// The final paths, in the order added.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    /// Syncs every temporary file to disk, then renames each over its final path. The sync,
    /// and a check that no final path is a directory, come first, so that a full disk, an
    /// I/O error or a directory in the way is found before any earlier file is replaced; a
    /// rename failing midway nonetheless is reported with the files already renamed and the
    /// ones not.
    pub fn commit(self) -> Result<Vec<PathBuf>, CommitError> {
        let all = self.paths();
        for f in &self.files {
            if let Err(source) = f.tmp.as_file().sync_all().map_err(io_at(&f.path)) {
                return Err(CommitError {
                    written: Vec::new(),
                    not_written: all,
                    source,
                });
            }
        }
        // A directory where a file should go cannot be replaced by a rename: found before any
        // earlier file is replaced, so the set stays the earlier one.
        for f in &self.files {
            if std::fs::symlink_metadata(&f.path).is_ok_and(|m| m.is_dir()) {
                return Err(CommitError {
                    written: Vec::new(),
                    not_written: all,
                    source: OutputError::Io {
                        path: f.path.clone(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::IsADirectory,
                            "a directory is in the way",
                        ),
                    },
                });
            }
        }
        let mut written = Vec::new();
        let mut files = self.files.into_iter();
        while let Some(f) = files.next() {
            let path = f.path;
            if let Err(e) = f.tmp.persist(&path) {
                let mut not_written = vec![path.clone()];
                not_written.extend(files.map(|f| f.path));
                return Err(CommitError {
                    written,
                    not_written,
                    source: OutputError::Io {
                        path,
                        source: e.error,
                    },
                });
            }
            written.push(path);
        }
        // The renames are directory entries: sync the directory so they survive a crash.
        if let Some(first) = written.first()
            && let Ok(d) = File::open(parent_dir(first))
        {
            let _ = d.sync_all();
        }
        Ok(written)
    }
}

/// Writes one file all-or-nothing: `path` holds either its earlier content or `bytes`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CommitError> {
    let mut s = Staging::new();
    if let Err(source) = s.add_bytes(path, bytes) {
        return Err(CommitError {
            written: Vec::new(),
            not_written: vec![path.to_path_buf()],
            source,
        });
    }
    s.commit().map(|_| ())
}

/// The advisory lock of an output directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    dir: PathBuf,
    _file: File,
}

impl DirLock {
    /// Creates `dir` if needed and locks `dir/.hvaudit.lock` without waiting: a directory
    /// another run holds is [`OutputError::Locked`]. Under the lock, temporary files that a
    /// killed run left behind are removed.
    pub fn acquire(dir: &Path) -> Result<DirLock, OutputError> {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        let path = dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_at(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(OutputError::Locked {
                    dir: dir.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_at(&path)(e)),
        }
        remove_stale_temporaries(dir);
        Ok(DirLock {
            dir: dir.to_path_buf(),
            _file: file,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Best effort: only our own hidden `.NAME.XXXXXX.hvaudit-tmp` files, only regular files.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.')
            && name.ends_with(TMP_SUFFIX)
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `hvaudit-manifest.json`: what one run wrote into its output directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Always `hvaudit`.
    pub tool: String,
    /// hvaudit's version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// The subcommand: `scan`, `audit` or `diff`.
    pub command: String,
    /// When the files were renamed into place (UTC, RFC 3339).
    pub written_at: DateTime<Utc>,
    /// File names (no directories) in the directory, in the order written.
    pub files: Vec<String>,
}

/// What [`finish_directory`] did besides writing the manifest.
#[derive(Debug, Default)]
pub struct Cleanup {
    /// Files of the previous run that this run did not write, now removed.
    pub removed: Vec<PathBuf>,
    /// Why the previous manifest could not be used (unreadable, not a manifest), if so.
    pub warning: Option<String>,
}

/// After a successful commit into the locked directory: removes the files the previous
/// manifest lists that this run did not write (only names in [`OWN_FILES`], only regular
/// files), then writes the new manifest all-or-nothing. An unreadable earlier manifest
/// removes nothing and is reported in [`Cleanup::warning`].
pub fn finish_directory(
    lock: &DirLock,
    command: &str,
    written: &[PathBuf],
) -> Result<Cleanup, CommitError> {
    let dir = lock.dir();
    let names: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let mut cleanup = Cleanup::default();
    let path = dir.join(MANIFEST);
    match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<Manifest>(&bytes) {
            Ok(old) if old.tool == "hvaudit" => {
                for name in &old.files {
                    if !OWN_FILES.contains(&name.as_str()) || names.contains(name) {
                        continue;
                    }
                    let stale = dir.join(name);
                    let is_file = std::fs::symlink_metadata(&stale).is_ok_and(|m| m.is_file());
                    if is_file && std::fs::remove_file(&stale).is_ok() {
                        cleanup.removed.push(stale);
                    }
                }
            }
            Ok(_) | Err(_) => {
                cleanup.warning = Some(format!(
                    "{}: not an hvaudit manifest; files of earlier runs were not removed",
                    path.display()
                ));
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            cleanup.warning = Some(format!(
                "{}: {e}; files of earlier runs were not removed",
                path.display()
            ));
        }
    }
    let manifest = Manifest {
        tool: "hvaudit".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: command.into(),
        written_at: Utc::now(),
        files: names,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| CommitError {
        written: Vec::new(),
        not_written: vec![path.clone()],
        source: OutputError::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        },
    })?;
    write_atomic(&path, format!("{text}\n").as_bytes())?;
    Ok(cleanup)
}

/// `--out` (or any output) must not be one of the run's inputs. `outputs` are the paths the
/// run may write or remove; `inputs` are `(flag, path)` pairs. Paths are compared after
/// canonicalisation (symbolic links, `..`), and on Unix also by device and inode (hard
/// links). Only paths that exist can collide. Returns the first collision as
/// `(output, flag, input)`.
pub fn input_collision<'a>(
    outputs: &[PathBuf],
    inputs: &[(&'a str, &'a Path)],
) -> Option<(PathBuf, &'a str, &'a Path)> {
    for out in outputs {
        let Ok(out_canon) = out.canonicalize() else {
            continue;
        };
        for &(flag, input) in inputs {
            let Ok(in_canon) = input.canonicalize() else {
                continue;
            };
            if out_canon == in_canon || same_inode(&out_canon, &in_canon) {
                return Some((out.clone(), flag, input));
            }
        }
    }
    None
}

#[cfg(unix)]
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: &Path, _: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_staging_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        std::fs::write(&p, "old").unwrap();
        let mut s = Staging::new();
        s.add_bytes(&p, b"new").unwrap();
        drop(s);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn commit_reports_what_was_and_was_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let c = dir.path().join("c");
        std::fs::create_dir(&b).unwrap();
        let mut s = Staging::new();
        for p in [&a, &b, &c] {
            s.add_bytes(p, b"x").unwrap();
        }
        let e = s.commit().unwrap_err();
        // Found before any rename: nothing replaced, every temporary file gone.
        assert!(e.written.is_empty());
        assert_eq!(e.not_written, vec![a.clone(), b.clone(), c.clone()]);
        assert!(e.to_string().starts_with(&b.display().to_string()));
        assert!(!a.exists() && !c.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn second_lock_on_a_directory_fails() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let e = DirLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(e, OutputError::Locked { .. }), "{e}");
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }
}
