//! SSH112: a setting whose value ends every connection or session before a shell runs
//! (`MaxStartups 0`, `MaxSessions 0`, `MaxAuthTries 0`, a ChrootDirectory sshd cannot use).

use super::*;
use crate::probe::facts::FileKind;

pub static RULE: Rule = Rule {
    id: "SSH112",
    name: "setting-shuts-everyone-out",
    title: "a setting ends every connection or session",
    category: Category::Configuration,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "The effective values (`sshd -T -C user=…`) of the limits and the chroot that \
               apply to every login: `MaxStartups` whose first number is 0, `MaxSessions 0`, \
               `MaxAuthTries 0`, and a `ChrootDirectory` that does not exist, is not a \
               directory, or is not owned by root and closed to others.",
        why: "sshd drops every connection past MaxStartups unauthenticated connections (0: \
              all of them), refuses every session past MaxSessions, disconnects after \
              MaxAuthTries failures (0: the first probe of a method), and ends the session \
              when it cannot chroot (`fatal: bad ownership or modes for chroot directory`, or \
              `No such file or directory`). The banner may answer; no login gets a shell.",
        fix: "lifeline comments out the line that sets it, in the file that sets it, so sshd's \
              default applies again; it validates with `sshd -t` and restarts sshd.",
        safety: "Low: one line commented out, validated, undoable. A chroot can be an access \
                 policy; one that sshd cannot enter keeps everyone out, policy or not.",
    },
    check,
    fix: Some(fix),
};

/// Each keyword whose value shuts everyone out, with what sshd then does.
fn shutting(facts: &Facts) -> Vec<(&'static str, String, String)> {
    let mut found = Vec::new();
    let first_number = |v: &str| v.split(':').next().and_then(|n| n.parse::<u64>().ok());
    for (keyword, does) in [
        ("maxstartups", "sshd drops every connection before authentication"),
        ("maxsessions", "sshd refuses every session"),
        ("maxauthtries", "sshd disconnects at the first authentication attempt"),
    ] {
        if let Some(value) = facts.config.get(keyword)
            && first_number(value) == Some(0)
        {
            found.push((keyword, value.to_string(), does.to_string()));
        }
    }
    if let Some(dir) = facts.config.get("chrootdirectory")
        && let Some(problem) = chroot_problem(facts, dir)
    {
        found.push(("chrootdirectory", dir.to_string(), problem));
    }
    found
}

/// Why sshd cannot chroot into `dir`, when the probe saw it (a path with `%` tokens is
/// expanded per user by sshd; the probe does not look at those).
fn chroot_problem(facts: &Facts, dir: &str) -> Option<String> {
    if dir == "none" || dir.contains('%') {
        return None;
    }
    let unusable = match facts.files.get(dir)? {
        None => "it does not exist".to_string(),
        Some(stat) if stat.kind != FileKind::Directory => "it is not a directory".to_string(),
        Some(stat) if stat.uid != 0 || stat.mode & 0o022 != 0 => format!(
            "it is owned by {} with mode {}, not root's and closed to others",
            stat.owner,
            stat.mode_text()
        ),
        Some(_) => return None,
    };
    Some(format!(
        "sshd ends every session: it cannot chroot into {dir} ({unusable})"
    ))
}

fn check(facts: &Facts) -> Option<Finding> {
    let found = shutting(facts);
    let (keyword, value, _) = found.first()?;
    let mut evidence = Vec::new();
    for (keyword, value, does) in &found {
        let origin = facts
            .config
            .lines_for(keyword)
            .next()
            .map(|l| format!(" ({})", l.location()))
            .unwrap_or_default();
        evidence.push(format!("{keyword} {value}{origin}: {does}"));
    }
    Some(RULE.finding(
        format!("{keyword} {value} shuts out every login of {}", facts.user),
        evidence,
        format!(
            "comment out the {keyword} line; check with `sshd -t`, then {}",
            restart(facts)
        ),
    ))
}

/// Every line that sets one of the keywords is commented out where the probe saw it.
fn fix(facts: &Facts) -> Option<Fix> {
    let edits: Vec<LineEdit> = shutting(facts)
        .iter()
        .flat_map(|(keyword, _, _)| facts.config.lines_for(keyword))
        .map(|line| LineEdit::comment_out(line, "it shut out every login"))
        .collect();
    (!edits.is_empty()).then(|| Fix::edit_config(edits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_max_startups_zero_and_its_fix_renders() {
        let cause = debian_config("maxstartups 10:30:100", "maxstartups 0", "MaxStartups 0");
        let finding = assert_rule(&RULE, &cause);
        assert!(finding.evidence[0].contains("drops every connection"));
        assert!(fix(&cause).is_some());
    }

    #[test]
    fn a_limit_above_zero_is_no_finding() {
        let facts = debian_config("maxstartups 10:30:100", "maxstartups 1:30:2", "MaxStartups 1:30:2");
        assert!(check(&facts).is_none());
    }

    #[test]
    fn fires_on_a_chroot_that_does_not_exist() {
        let mut cause = debian_config(
            "chrootdirectory none",
            "chrootdirectory /nonexistent",
            "ChrootDirectory /nonexistent",
        );
        cause.files.insert("/nonexistent".into(), None);
        let finding = assert_rule(&RULE, &cause);
        assert!(finding.evidence[0].contains("does not exist"), "{finding:?}");
    }

    #[test]
    fn a_chroot_owned_by_root_and_closed_is_no_finding() {
        let mut facts = debian_config(
            "chrootdirectory none",
            "chrootdirectory /etc/ssh",
            "ChrootDirectory /etc/ssh",
        );
        assert!(check(&facts).is_none(), "/etc/ssh is root's, 0755");
        stat(&mut facts, "/etc/ssh").mode = 0o777;
        assert!(check(&facts).expect("a finding").evidence[0].contains("0777"));
    }
}
