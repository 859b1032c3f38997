//! SSH007: Debian's "do not run sshd" flag file exists.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH007",
    name: "sshd-not-to-be-run",
    title: "/etc/ssh/sshd_not_to_be_run stops sshd from starting",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether /etc/ssh/sshd_not_to_be_run exists (Debian and Ubuntu).",
        why: "Debian's ssh.service and ssh.socket carry \
              `ConditionPathExists=!/etc/ssh/sshd_not_to_be_run`: while the file exists, \
              systemd skips sshd silently, at boot and on every start.",
        fix: "lifeline moves the file to its backup directory and starts the unit.",
        safety: "Safe: the file has no content that matters; it is kept as a backup.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    if !facts.sshd.not_to_be_run {
        return None;
    }
    Some(RULE.finding(
        RULE.title,
        vec!["/etc/ssh/sshd_not_to_be_run exists".into()],
        format!("mv /etc/ssh/sshd_not_to_be_run /root/ && {}", start(facts)),
    ))
}

fn fix(_: &Facts) -> Option<Fix> {
    Some(Fix::step(
        Phase::SshdNeeds,
        "remove /etc/ssh/sshd_not_to_be_run",
        vec![Call::new("ll_remove", ["/etc/ssh/sshd_not_to_be_run"])],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_sshd_not_to_be_run() {
        assert_rule(&RULE, &debian_with(|f| f.sshd.not_to_be_run = true));
    }
}
