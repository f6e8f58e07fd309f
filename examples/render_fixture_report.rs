//! Writes the hostile fixture report as HTML for the browser test (tests/browser/), and the
//! same report as JSON next to it (OUT.json) for the JSON Schema check.
//! Usage: render_fixture_report OUT.html [TOTAL_FINDINGS]   (default 50, at least 10)

#[path = "../tests/common/report_fixture.rs"]
mod report_fixture;

use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: render_fixture_report OUT.html [TOTAL_FINDINGS]");
        return ExitCode::from(2);
    };
    let total: usize = match args.get(1).map(|s| s.parse()) {
        None => 50,
        Some(Ok(n)) if n >= 10 => n,
        Some(_) => {
            eprintln!("TOTAL_FINDINGS must be a number >= 10");
            return ExitCode::from(2);
        }
    };
    let data = report_fixture::fixture_report(total - 10);
    let html = match hvaudit::report::html::render_html(&Arc::new(data.clone()), None) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("render failed: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = std::fs::write(out, html) {
        eprintln!("cannot write {out}: {e}");
        return ExitCode::from(1);
    }
    let json_path = std::path::Path::new(out).with_extension("json");
    let written = std::fs::File::create(&json_path)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            hvaudit::report::json::write_report(std::io::BufWriter::new(f), &data)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = written {
        eprintln!("cannot write {}: {e}", json_path.display());
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
