//! SSH304: /etc/nologin or /run/nologin refuses non-root logins.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH304",
    name: "nologin-file",
    title: "a nologin file refuses every user but root",
    category: Category::Accounts,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether /etc/nologin or /run/nologin exists while the login user is not root.",
        why: "pam_nologin (and sshd itself without PAM) refuses non-root users while the file \
              exists, showing its text. systemd creates /run/nologin early in boot and at \
              shutdown (`System is booting up. Unprivileged users are not permitted to log in \
              yet.`), so a boot stuck on a job leaves it behind; admins create /etc/nologin \
              for maintenance and forget it.",
        fix: "lifeline removes the file (after `shutdown -c` when a shutdown is pending), \
              backed up so that undo can put it back.",
        safety: "Safe: the file carries only a message.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    if user_is_root(facts) {
        return None;
    }
    let first = facts.nologin.first()?;
    let evidence = facts
        .nologin
        .iter()
        .map(|n| format!("{}: {:?}", n.path, n.message))
        .collect();
    let paths: Vec<&str> = facts.nologin.iter().map(|n| n.path.as_str()).collect();
    Some(RULE.finding(
        format!(
            "{} exists: logins of every user but root are refused",
            first.path
        ),
        evidence,
        format!("rm -f {}", paths.join(" ")),
    ))
}

fn fix(facts: &Facts) -> Option<Fix> {
    let files: Vec<&str> = facts.nologin.iter().map(|n| n.path.as_str()).collect();
    (!files.is_empty()).then(|| {
        Fix::step(
            Phase::Access,
            "remove the nologin files",
            vec![Call::new("ll_nologin", files)],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    use crate::probe::facts::Nologin;

    #[test]
    fn fires_on_a_nologin_file() {
        assert_rule(
            &RULE,
            &debian_with(|f| {
                f.nologin.push(Nologin {
                    path: "/run/nologin".into(),
                    message: "System is going down.".into(),
                })
            }),
        );
    }
}
