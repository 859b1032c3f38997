//! The catalogue as text: the `lifeline rules` listing, the `lifeline rules ID` explanation,
//! and docs/rules.md, all rendered from the rule files so none can drift from the code.

use super::{Rule, all};
use std::fmt::Write;

/// Width explanations are wrapped to.
const WIDTH: usize = 92;

/// One line per rule: id, severity, category, name, title.
pub fn render_list() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<7} {:<8} {:<14} {:<28} TITLE",
        "ID", "SEVERITY", "CATEGORY", "NAME"
    );
    for rule in all() {
        let _ = writeln!(
            out,
            "{:<7} {:<8} {:<14} {:<28} {}",
            rule.id,
            rule.severity.as_str(),
            rule.category.as_str(),
            rule.name,
            rule.title
        );
    }
    let _ = write!(
        out,
        "\n{} rules. `lifeline rules ID` explains one (an id like SSH001 or a name).\n",
        all().len()
    );
    out
}

/// `lifeline rules ID`: the explanation of the rule with this id or name, if there is one.
pub fn explain(id_or_name: &str) -> Option<String> {
    super::find(id_or_name).map(render_explanation)
}

/// What one rule checks, why that breaks SSH, how lifeline fixes it and how safe that is.
pub fn render_explanation(rule: &Rule) -> String {
    let mut out = format!(
        "{} {}: {}\ncategory {}, severity {}\n",
        rule.id,
        rule.name,
        rule.title,
        rule.category.as_str(),
        rule.severity.as_str()
    );
    for (heading, text) in sections(rule) {
        let _ = write!(out, "\n{heading}\n{}", wrap(text, "  ", WIDTH));
    }
    out
}

/// docs/rules.md: every rule's explanation as Markdown, with an index.
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# lifeline's rules\n\n\
         <!-- Generated from src/rules/*.rs by `LIFELINE_BLESS=1 cargo test --lib rules::docs`; \
         do not edit by hand. -->\n\n\
         Each rule is one way SSH to a Linux VM dies, checked against the facts of one probe \
         (`lifeline diagnose`). `lifeline rules` lists them; `lifeline rules ID` explains one.\n\n\
         | id | name | severity | category | title |\n|---|---|---|---|---|\n",
    );
    for rule in all() {
        let _ = writeln!(
            out,
            "| [{id}](#{anchor}) | `{}` | {} | {} | {} |",
            rule.name,
            rule.severity.as_str(),
            rule.category.as_str(),
            rule.title,
            id = rule.id,
            anchor = rule.id.to_lowercase()
        );
    }
    for rule in all() {
        let _ = write!(
            out,
            "\n## {}\n\n`{}`: {} (category {}, severity {})\n",
            rule.id,
            rule.name,
            rule.title,
            rule.category.as_str(),
            rule.severity.as_str()
        );
        for (heading, text) in sections(rule) {
            let _ = write!(out, "\n### {heading}\n\n{}\n", squeeze(text));
        }
    }
    out
}

fn sections(rule: &Rule) -> [(&'static str, &'static str); 4] {
    [
        ("What it checks", rule.docs.what),
        ("Why it breaks SSH", rule.docs.why),
        ("How lifeline fixes it", rule.docs.fix),
        ("Fix safety", rule.docs.safety),
    ]
}

/// Collapses the runs of blanks that line continuations in the rule files leave.
pub(super) fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Word-wraps `text` to `width`, each line indented.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        if line.len() > indent.len() && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::find;

    #[test]
    fn the_listing_names_every_rule() {
        let list = render_list();
        for rule in all() {
            assert!(
                list.contains(rule.id) && list.contains(rule.name),
                "{}",
                rule.id
            );
        }
    }

    #[test]
    fn an_explanation_has_the_four_sections_wrapped() {
        assert!(explain("SSH999").is_none());
        let text = explain("sshd-not-running").unwrap();
        assert_eq!(text, render_explanation(find("SSH001").unwrap()));
        for heading in [
            "What it checks",
            "Why it breaks SSH",
            "How lifeline fixes it",
            "Fix safety",
        ] {
            assert!(text.contains(heading), "{text}");
        }
        assert!(
            text.lines().all(|l| l.chars().count() <= WIDTH + 20),
            "{text}"
        );
    }

    /// docs/rules.md is generated; `LIFELINE_BLESS=1` rewrites it after a rule changes.
    #[test]
    fn docs_rules_md_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
        let want = render_markdown();
        if std::env::var_os("LIFELINE_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/rules.md is out of date: run `LIFELINE_BLESS=1 cargo test --lib rules::docs`"
        );
    }
}
