//! The built-in catalogue as documentation: the table of docs/rules.md ("## Built-in
//! catalogue", between the `catalogue:begin` and `catalogue:end` markers) is generated from the
//! rule entries (`cargo run --example gen_rules_doc`), so a rule is described once, in its
//! TOML entry.

use super::RuleSet;
use super::model::scope_name;

/// The catalogue table in Markdown: one row per rule in load order, with its id, severity,
/// scope, `summary` (the title when absent) and `blocks_doc`. A `|` in a cell is escaped so it
/// cannot split the row.
pub fn catalogue_markdown(set: &RuleSet) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out =
        String::from("| id | severity | scope | finding | blocks |\n|---|---|---|---|---|\n");
    for r in set.rules() {
        let blocks = r.blocks_doc.as_deref().map(cell);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {}|\n",
            cell(&r.id),
            r.default_severity.as_str(),
            scope_name(r.scope),
            cell(r.summary.as_deref().unwrap_or(&r.title)),
            blocks.map(|b| format!("{b} ")).unwrap_or_default(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_without_summary_shows_its_title_and_pipes_are_escaped() {
        let mut set = RuleSet::empty();
        set.add_text(
            r#"
[[rule]]
id = "X1"
title = "a | b"
severity = "low"
scope = "host"
condition = "host.name"
message = "m"
rationale = "r"
"#,
            "x.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            catalogue_markdown(&set).lines().nth(2),
            Some("| X1 | low | host | a \\| b | |")
        );
    }
}
