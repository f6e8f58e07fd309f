//! `--templates DIR`: report templates that replace the built-in ones (docs/report-html.md).
//! Checked before anything is read from the directory, so a template that cannot be used stops
//! the run at once (exit 2, naming the file and line) instead of after a long scan.

use std::path::Path;

use super::Failure;

/// The files `--templates` may replace; each one absent keeps its built-in version.
pub(super) const TEMPLATE_FILES: [&str; 3] = ["report.html.j2", "report.css", "report.js"];

/// Checks `dir` for `--templates`: a directory holding at least one of [`TEMPLATE_FILES`],
/// each present one readable as UTF-8 text, and `report.html.j2` valid minijinja syntax.
/// Errors name the directory or file (and, for a syntax error, its line).
pub(super) fn check_templates(dir: &Path) -> Result<(), Failure> {
    if !dir.is_dir() {
        return Err(Failure::usage(format!(
            "--templates {}: not a directory (it should hold any of {})",
            dir.display(),
            TEMPLATE_FILES.join(", ")
        )));
    }
    let mut found = 0;
    for name in TEMPLATE_FILES {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        found += 1;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Failure::usage(format!("{}: cannot read: {e}", path.display())))?;
        if name == "report.html.j2" {
            let mut env = minijinja::Environment::new();
            env.add_template_owned(name, text).map_err(|e| {
                let at = e.line().map(|l| format!(":{l}")).unwrap_or_default();
                Failure::usage(format!(
                    "{}{at}: not a valid template: {}",
                    path.display(),
                    e.detail().unwrap_or(&e.to_string())
                ))
            })?;
        }
    }
    if found == 0 {
        return Err(Failure::usage(format!(
            "--templates {}: holds none of {}; start from the repository's report-templates/",
            dir.display(),
            TEMPLATE_FILES.join(", ")
        )));
    }
    Ok(())
}
