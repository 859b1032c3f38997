//! SSH601: SELinux labels that stop sshd from reading the user's keys.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH601",
    name: "selinux-ssh-labels",
    title: "SELinux labels keep sshd from reading the user's keys",
    category: Category::Selinux,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "With SELinux enforcing, the type of ~/.ssh and ~/.ssh/authorized_keys: sshd may \
               read only `ssh_home_t` there.",
        why: "A .ssh created by a copy or a restore from backup keeps the type of where it \
              came from (`user_home_t`, `default_t`, `unlabeled_t`): the policy denies sshd \
              (an AVC in the audit log), and keys fail with correct ownership and modes.",
        fix: "lifeline runs `restorecon -RFv ~/.ssh`, which sets the type the policy expects.",
        safety: "Safe: restorecon applies the policy's own labels.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.selinux.enforcing != Some(true) {
        return None;
    }
    let wrong: Vec<String> = facts
        .selinux
        .labels
        .iter()
        .filter(|(path, _)| path.contains("/.ssh"))
        .filter(|(_, context)| context.split(':').nth(2) != Some("ssh_home_t"))
        .map(|(path, context)| format!("{path}: {context}"))
        .collect();
    let first = wrong.first()?.clone();
    let ssh_dir = facts
        .account
        .home
        .as_deref()
        .map_or("~/.ssh".to_string(), |h| format!("{h}/.ssh"));
    Some(RULE.finding(
        format!("SELinux denies sshd the user's keys: {first}, not ssh_home_t"),
        wrong,
        format!("restorecon -RFv {ssh_dir}"),
    ))
}

fn fix(facts: &Facts) -> Option<Fix> {
    let home = facts.account.home.as_deref().unwrap_or("/root");
    Some(Fix::step(
        Phase::Access,
        "restore the SELinux labels of /etc/ssh and ~/.ssh",
        vec![Call::new(
            "ll_selinux_labels",
            ["/etc/ssh".to_string(), format!("{home}/.ssh")],
        )],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_wrong_labels() {
        assert_rule(&RULE, &fixture("rhel-9-ssh-labels-faillock"));
    }
}
