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
               Match block`), in the main file or any Include drop-in; the same words in the \
               log of sshd's last failed start count too, since a real start meets more than \
               `sshd -t` does.",
        why: "sshd refuses to start with an invalid configuration, and Debian's unit checks it \
              first (`ExecStartPre=sshd -t`). A running sshd keeps its old configuration, so \
              SSH often breaks only at the next restart or reboot: the finding is a warning \
              while sshd still answers.",
        fix: "lifeline comments out the offending line in the file sshd names (backing the \
              file up), validates the result with `sshd -t`, and restarts sshd. When sshd \
              still rejects the configuration (or cannot read it at all: the main file missing, \
              an Include loop), the main file goes back to the distribution's default, keeping \
              its ports and every old setting `sshd -t` still accepts there; the report lists \
              each setting kept and dropped.",
        safety: "Low: the change is one commented line, validated before use and undoable.",
    },
    check,
    fix: Some(fix),
};

/// A rejected line: who named it (`sshd -t`, a failed start), the file, the line, sshd's words.
type Rejected<'a> = (&'static str, &'a String, &'a u32, &'a String);

/// The lines sshd rejects, in `sshd -t` or in its last failed start.
fn rejected(facts: &Facts) -> impl Iterator<Item = Rejected<'_>> {
    facts.sshd.problems().filter_map(|p| match p {
        TestProblem::Config {
            file,
            line,
            message,
        } => Some((facts.sshd.named_by(p), file, line, message)),
        _ => None,
    })
}

/// What sshd said when it could not read its configuration at all, and who said it.
fn unusable(facts: &Facts) -> Option<(&'static str, &String)> {
    facts.sshd.problems().find_map(|p| match p {
        TestProblem::ConfigUnusable { message } => Some((facts.sshd.named_by(p), message)),
        _ => None,
    })
}

fn check(facts: &Facts) -> Option<Finding> {
    if let Some((who, message)) = unusable(facts) {
        return Some(RULE.finding(
            format!("sshd cannot read its configuration: {message}"),
            vec![format!("{who}: {message}")],
            format!(
                "restore /etc/ssh/sshd_config (Debian and Ubuntu keep the default in \
                 /usr/share/openssh/sshd_config), check with `sshd -t`, then {}",
                restart(facts)
            ),
        ));
    }
    let errors: Vec<Rejected> = rejected(facts).collect();
    let (_, file, line, message) = *errors.first()?;
    let mut evidence = Vec::new();
    for (who, file, line, message) in &errors {
        evidence.push(format!("{who}: {file} line {line}: {message}"));
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
        .filter_map(|(who, file, line, message)| {
            LineEdit::comment_out_at(facts, file, *line, &format!("{who}: {message}"))
        })
        .collect();
    Some(Fix::edit_config(edits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;
    use crate::rules::fix::Action;

    #[test]
    fn fires_on_a_rejected_line() {
        assert_rule(&RULE, &fixture("debian-12-config-error"));
    }

    #[test]
    fn a_line_only_the_failed_start_names_is_commented_out() {
        let facts = fixture("debian-12-config-error");
        let (file, line) = match &facts.sshd.test.problems[..] {
            [TestProblem::Config { file, line, .. }] => (file.clone(), *line),
            other => panic!("the fixture's sshd -t: {other:?}"),
        };
        let start_only = {
            let mut f = facts.clone();
            f.sshd.start_problems = std::mem::take(&mut f.sshd.test.problems);
            f.sshd.test.exit_status = Some(0);
            f
        };
        let finding = check(&start_only).expect("a finding from the start's words");
        assert!(
            finding.evidence[0].starts_with("sshd's failed start: "),
            "{:?}",
            finding.evidence
        );
        match fix(&start_only).expect("a fix").actions() {
            [Action::EditConfig(edits)] => {
                assert_eq!(
                    edits.iter().map(|e| (&e.file, e.line, e.new.as_str())).collect::<Vec<_>>(),
                    [(&file, line, "")],
                    "the line is commented out: {edits:?}"
                );
                assert!(edits[0].why.starts_with("sshd's failed start: "));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fires_on_a_missing_main_file_and_plans_the_config_step() {
        let cause = debian_with(|f| {
            f.sshd.test.exit_status = Some(255);
            f.sshd.test.problems = vec![TestProblem::ConfigUnusable {
                message: "/etc/ssh/sshd_config: No such file or directory".into(),
            }];
        });
        assert_rule(&RULE, &cause);
        let finding = check(&cause).expect("a finding");
        assert!(finding.title.contains("cannot read"), "{}", finding.title);
        assert_eq!(
            fix(&cause).expect("a fix").actions(),
            [Action::EditConfig(Vec::new())]
        );
    }
}
