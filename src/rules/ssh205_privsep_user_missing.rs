//! SSH205: the privilege-separation user does not exist.

use super::*;
use crate::probe::facts::TestProblem;

pub static RULE: Rule = Rule {
    id: "SSH205",
    name: "privsep-user-missing",
    title: "the privilege-separation user sshd does not exist",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether the account sshd runs its unprivileged child as (`sshd`) exists.",
        why: "sshd refuses to start without it (`Privilege separation user sshd does not \
              exist`), and a running sshd fails every new connection.",
        fix: "lifeline creates the system account as the packages do: `useradd -r -M -d DIR \
              -s /usr/sbin/nologin -c 'sshd privilege separation' sshd`, DIR being \
              /var/empty/sshd where it exists (the RPM distributions) and /run/sshd elsewhere, \
              /sbin/nologin where /usr/sbin/nologin is missing, and the group sshd where one \
              exists.",
        safety: "Low: a system account without a password or shell.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let named = facts
        .sshd
        .test
        .problems
        .iter()
        .any(|p| matches!(p, TestProblem::PrivsepUserMissing { .. }));
    if !named && facts.privsep_user != Some(false) {
        return None;
    }
    // The home ll_privsep_user gives it: /var/empty/sshd where that exists.
    let home = match facts.file("/var/empty/sshd") {
        Some(Some(_)) => "/var/empty/sshd",
        _ => "/run/sshd",
    };
    Some(RULE.finding(
        RULE.title,
        vec!["getent passwd sshd: no such user".into()],
        format!("useradd -r -M -d {home} -s /usr/sbin/nologin -c 'sshd privilege separation' sshd"),
    ))
}

fn fix(_: &Facts) -> Option<Fix> {
    Some(Fix::step(
        Phase::SshdNeeds,
        "create the sshd privilege-separation account",
        vec![Call::bare("ll_privsep_user")],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_without_the_account() {
        assert_rule(&RULE, &debian_with(|f| f.privsep_user = Some(false)));
    }

    /// The docs, the advice and the guest function describe one command.
    #[test]
    fn the_docs_the_advice_and_the_step_agree() {
        let finding = assert_rule(&RULE, &debian_with(|f| f.privsep_user = Some(false)));
        let command = "useradd -r -M -d DIR -s /usr/sbin/nologin -c 'sshd privilege separation' sshd";
        assert_eq!(finding.fix, command.replace("DIR", "/run/sshd"));
        assert!(crate::rules::docs::squeeze(RULE.docs.fix).contains(command));
        let guest = include_str!("../remedy/ops/repair.sh");
        assert!(guest.contains(r#"set -- -r -M -d "$dir" -s "$shell" -c 'sshd privilege separation'"#));
        assert!(guest.contains(r#"useradd "$@" sshd"#));
    }
}
