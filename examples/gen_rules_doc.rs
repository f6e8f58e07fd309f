//! Regenerates the model section of docs/rules.md (between the `model:begin` and `model:end`
//! markers) from `hvaudit::rules::model::VARIABLES`.

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md");
    let doc = std::fs::read_to_string(path).expect("read docs/rules.md");
    let (begin, end) = ("<!-- model:begin -->\n", "<!-- model:end -->");
    let (Some(b), Some(e)) = (doc.find(begin), doc.find(end)) else {
        eprintln!("docs/rules.md lacks the model markers");
        std::process::exit(1);
    };
    let new = format!(
        "{}{}{}{}",
        &doc[..b + begin.len()],
        hvaudit::rules::model::variables_markdown(),
        "",
        &doc[e..]
    );
    std::fs::write(path, new).expect("write docs/rules.md");
}
