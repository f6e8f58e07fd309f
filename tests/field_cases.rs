//! Field cases as data: every `tests/fixtures/field/<case>/case.toml` is run by this one test.
//! The format and the runner are shared with the rule fixtures (`tests/rule_fixtures.rs`):
//! see `tests/common/cases.rs`. Adding a case needs no Rust.

#[path = "common/cases.rs"]
mod cases;

use std::path::Path;

#[test]
fn every_field_case_gives_what_its_case_toml_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/field");
    let all = cases::load_cases(&dir, "case.toml");
    assert!(all.len() >= 10, "only {} cases found", all.len());
    let mut errors = Vec::new();
    for (name, dir, case) in &all {
        errors.extend(cases::run_case(name, dir, case));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}
