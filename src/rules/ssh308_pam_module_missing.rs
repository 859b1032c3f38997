//! SSH308: the sshd PAM stack names a module that does not exist.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH308",
    name: "pam-module-missing",
    title: "sshd's PAM configuration is missing or names missing modules",
    category: Category::Accounts,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "With `UsePAM yes`, whether /etc/pam.d/sshd exists and every module it uses \
               (following @include, include and substack) is installed, except modules PAM \
               may skip (`-` lines, `module_unknown=ignore`).",
        why: "A missing required module fails the whole stack (`PAM unable to dlopen(…)`, \
              `PAM adding faulty module`): every login ends in `Permission denied` or an \
              immediate disconnect. Without /etc/pam.d/sshd PAM falls back to \
              /etc/pam.d/other, which usually denies.",
        fix: "`lifeline rescue` leaves this to you: restore the distribution's PAM \
              configuration (`pam-auth-update --force` on Debian and Ubuntu, `authselect \
              apply-changes` on RHEL 8 and 9) and reinstall the package that ships the \
              missing module.",
        safety: "High: PAM also guards the console login. lifeline changes it only when asked \
                 and keeps the root shell it has open until the change is verified.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.config.flag("usepam") != Some(true) {
        return None;
    }
    let mut evidence: Vec<String> = facts
        .pam
        .missing_files
        .iter()
        .map(|f| format!("{f}: missing"))
        .collect();
    evidence.extend(
        facts
            .pam
            .modules
            .iter()
            .filter(|m| !m.found && !m.optional)
            // SSH310 reports (and repairs) the modules whose lines it found.
            .filter(|m| !facts.pam_damage.iter().any(|d| d.module == m.name))
            .map(|m| format!("{}: not installed", m.name)),
    );
    let first = evidence.first()?.clone();
    evidence.extend(recent_log(facts, 2, &["PAM"]));
    Some(RULE.finding(
        format!("sshd's PAM stack is broken: {first}"),
        evidence,
        match facts.os.family {
            Family::Debian => {
                "pam-auth-update --force; reinstall the package of the missing module"
            }
            Family::Rhel => "authselect apply-changes; reinstall the package of the missing module",
            _ => "restore /etc/pam.d/sshd from the package; reinstall the missing module's package",
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_missing_pam_file() {
        assert_rule(
            &RULE,
            &debian_with(|f| f.pam.missing_files.push("/etc/pam.d/sshd".into())),
        );
    }
}
