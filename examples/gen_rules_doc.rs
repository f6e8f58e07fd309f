//! Regenerates the generated sections of docs/rules.md: the model (between the `model:begin`
//! and `model:end` markers) from `hvaudit::rules::model::VARIABLES`, and the built-in catalogue
//! table (between `catalogue:begin` and `catalogue:end`) from the rule entries in `rules/*.toml`.

fn replace_between(doc: &str, name: &str, body: &str) -> String {
    let (begin, end) = (
        format!("<!-- {name}:begin -->\n"),
        format!("<!-- {name}:end -->"),
    );
    let (Some(b), Some(e)) = (doc.find(&begin), doc.find(&end)) else {
        eprintln!("docs/rules.md lacks the {name} markers");
        std::process::exit(1);
    };
    format!("{}{}{}", &doc[..b + begin.len()], body, &doc[e..])
}

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md");
    let doc = std::fs::read_to_string(path).expect("read docs/rules.md");
    let rules = hvaudit::rules::RuleSet::builtin().unwrap_or_else(|e| {
        eprintln!("the built-in rules do not load: {e}");
        std::process::exit(1);
    });
    let doc = replace_between(&doc, "model", &hvaudit::rules::model::variables_markdown());
    let doc = replace_between(
        &doc,
        "catalogue",
        &hvaudit::rules::catalogue::catalogue_markdown(&rules),
    );
    std::fs::write(path, doc).expect("write docs/rules.md");
}
