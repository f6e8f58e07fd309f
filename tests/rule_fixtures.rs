//! One data fixture per rule: `tests/rules/<ID>/` holds the inputs (`input.ldif`, and where the
//! rule needs them `hosts.csv` and `hvaudit.toml`) and `expected.toml`, the findings of that
//! rule, exactly, plus at least one near miss that must not fire. This one test runs them all,
//! with the runner and format of the field cases (`tests/common/cases.rs`): testing a rule
//! needs no Rust. The inputs are written by `tests/rules/gen_fixtures.py`.

#[path = "common/cases.rs"]
mod cases;

use std::collections::BTreeSet;
use std::path::Path;

use hvaudit::rules::RuleSet;

#[test]
fn every_rule_fixture_gives_what_its_expected_toml_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules");
    let mut all = cases::load_cases(&dir, "expected.toml");
    let builtin = RuleSet::builtin().unwrap();
    let ids: BTreeSet<String> = builtin.rules().iter().map(|r| r.id.clone()).collect();
    let folders: BTreeSet<String> = all.iter().map(|(n, _, _)| n.clone()).collect();
    let missing: Vec<_> = ids.difference(&folders).collect();
    assert!(
        missing.is_empty(),
        "rules without a fixture in tests/rules/: {missing:?}"
    );
    let mut errors = Vec::new();
    for (name, dir, case) in &mut all {
        if !ids.contains(name.as_str()) {
            errors.push(format!("tests/rules/{name}: no built-in rule has this id"));
            continue;
        }
        let mut fires = false;
        let mut near_miss = false;
        for run in &mut case.run {
            // A fixture is about its own rule: that rule's findings are the exact list.
            if run.rules.is_empty() {
                run.rules.push(name.clone());
            }
            if !run.rules.contains(name) {
                errors.push(format!("{name}: a run's `rules` leaves out {name}"));
            }
            let own = run
                .findings
                .iter()
                .filter(|f| f.split(' ').next() == Some(name))
                .count()
                + run.finding.iter().filter(|f| f.rule == *name).count();
            fires |= own > 0;
            near_miss |= !run.near_miss.is_empty() || own == 0;
        }
        if !fires {
            errors.push(format!("{name}: no run shows the rule firing"));
        }
        if !near_miss {
            errors.push(format!(
                "{name}: no near miss (a `near_miss` object, or a run where it does not fire)"
            ));
        }
        errors.extend(cases::run_case(name, dir, case));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}
