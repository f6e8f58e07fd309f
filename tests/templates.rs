//! `--templates DIR`: the HTML report is rendered with the templates found in DIR (the others
//! stay built in), and a directory or template that cannot be used is an error naming it,
//! before anything is written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn audit(out: &Path, templates: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hvaudit"))
        .current_dir(root())
        .args(["audit", "--ldif", "examples/corp.ldif", "--out"])
        .arg(out)
        .arg("--templates")
        .arg(templates)
        .env_remove("HVAUDIT_TODAY")
        .output()
        .expect("run hvaudit")
}

/// The example audited with `template` as the only file of `--templates`: the page written.
fn render_with(template: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tpl");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("report.html.j2"), template).unwrap();
    let out = tmp.path().join("out");
    let o = audit(&out, &dir);
    assert!(
        matches!(o.status.code(), Some(0 | 1 | 3)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(out.join("report.html")).unwrap()
}

#[test]
fn a_template_in_dir_replaces_the_built_in_one() {
    let html =
        render_with("<title>custom {{ r.data.domain.dns_name }}</title><style>{{ css }}</style>\n");
    assert!(
        html.starts_with("<title>custom corp.example</title>"),
        "{html}"
    );
    // report.css was not in DIR: the built-in one is used.
    let css = std::fs::read_to_string(root().join("report-templates/report.css")).unwrap();
    assert!(html.contains(css.trim()), "built-in CSS missing");
}

#[test]
fn an_unusable_template_directory_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");

    // A template that does not parse: the file and its line.
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("report.html.j2"), "<p>\n{% if %}\n").unwrap();
    let o = audit(&out, &bad);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let file = bad.join("report.html.j2");
    assert!(
        err.contains(&format!("{}:2: not a valid template", file.display())),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");

    // A stylesheet that is not UTF-8 text.
    let binary = tmp.path().join("binary");
    std::fs::create_dir(&binary).unwrap();
    std::fs::write(binary.join("report.css"), b"body{}\xff").unwrap();
    let o = audit(&out, &binary);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: cannot read",
            binary.join("report.css").display()
        )),
        "{err}"
    );

    // A directory holding no template, and one that does not exist.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = audit(&out, &empty);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("holds none of report.html.j2, report.css, report.js"),
        "{err}"
    );
    let o = audit(&out, &tmp.path().join("missing"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("missing: not a directory"), "{err}");
    assert!(!out.exists(), "nothing is written");
}

/// The matrix cells come printed as markup (`{{ row.cells }}`, built and escaped by hvaudit);
/// a template that loops over them, as templates did before, still gets each cell's state,
/// mark and reasons, escaped like any value.
#[test]
fn matrix_cells_print_as_markup_and_iterate_as_cells() {
    let html = render_with(
        "{% for g in r.groups %}{% for row in g.grid %}\
         <tr>{{ row.cells }}</tr>\n\
         {% for c in row.cells %}[{{ c.state }}|{{ c.mark }}|{{ c.reasons }}]{% endfor %}\n\
         {% endfor %}{% endfor %}",
    );
    // Printed: the markup, reasons escaped (`->` as `-&gt;`).
    assert!(
        html.contains("<td class=\"c self\" title=\"HVL01: same host\" tabindex=\"0\"></td>"),
        "{html}"
    );
    assert!(html.contains("title=\"HVL01 -&gt; HVL02: "), "{html}");
    // Iterated: the same cells, field by field, escaped the same way.
    assert!(html.contains("[self||HVL01: same host]"), "{html}");
    assert!(html.contains("|HVL01 -&gt; HVL02: "), "{html}");
    let printed = html.matches("<td class=\"c ").count();
    let iterated: usize = ["self", "ready", "blocked", "unknown", "same", "none"]
        .iter()
        .map(|st| html.matches(&format!("[{st}|")).count())
        .sum();
    assert!(printed > 0);
    assert_eq!(printed, iterated);
}
