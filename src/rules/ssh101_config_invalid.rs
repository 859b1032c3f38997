//! SSH101: sshd rejects its configuration.

use super::*;
use crate::probe::facts::{BannerOutcome, TestProblem};

pub static RULE: Rule = Rule {
    id: "SSH101",
    name: "config-invalid",
    title: "sshd rejects its configuration",
    category: Category::Configuration,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Runs `sshd -t` and reads the file and line it names (`Bad configuration \
               option`, `no argument after keyword`, `Directive … is not allowed within a \
               Match block`), in the main file or any Include drop-in.",
        why: "sshd refuses to start with an invalid configuration, and Debian's unit checks it \
              first (`ExecStartPre=sshd -t`). A running sshd keeps its old configuration, so \
              SSH often breaks only at the next restart or reboot: the finding is a warning \
              while sshd still answers.",
        fix: "lifeline comments out the offending line in the file sshd names (backing the \
              file up), validates the result with `sshd -t`, and restarts sshd; it rolls the \
              edit back if validation still fails.",
        safety: "Low: the change is one commented line, validated before use and undoable.",
    },
    check,
    fix: Some(fix),
};

/// The lines sshd -t rejects: file, line, sshd's words.
fn rejected(facts: &Facts) -> impl Iterator<Item = (&String, &u32, &String)> {
    facts.sshd.test.problems.iter().filter_map(|p| match p {
        TestProblem::Config {
            file,
            line,
            message,
        } => Some((file, line, message)),
        _ => None,
    })
}

fn check(facts: &Facts) -> Option<Finding> {
    let errors: Vec<(&String, &u32, &String)> = rejected(facts).collect();
    let (file, line, message) = *errors.first()?;
    let mut evidence = Vec::new();
    for (file, line, message) in &errors {
        evidence.push(format!("sshd -t: {file} line {line}: {message}"));
        if let Some(text) = facts
            .config
            .lines
            .iter()
            .find(|l| l.file == **file && l.line == **line)
        {
            evidence.push(format!("  the line reads: {}", text.text));
        }
    }
    let more = match errors.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    let finding = RULE.finding(
        format!("sshd rejects its configuration: {file} line {line}: {message}{more}"),
        evidence,
        format!(
            "fix or comment out line {line} of {file}, check with `sshd -t`, then {}",
            restart(facts)
        ),
    );
    let still_answers = facts
        .banners
        .iter()
        .any(|b| matches!(b.outcome, BannerOutcome::Answered(_)));
    Some(if still_answers {
        finding.downgraded(Severity::Warning)
    } else {
        finding
    })
}

/// Every line sshd -t names, commented out.
fn fix(facts: &Facts) -> Option<Fix> {
    let edits = rejected(facts)
        .filter_map(|(file, line, message)| {
            LineEdit::comment_out_at(facts, file, *line, &format!("sshd -t: {message}"))
        })
        .collect();
    Some(Fix::edit_config(edits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_rejected_line() {
        assert_rule(&RULE, &fixture("debian-12-config-error"));
    }
}
