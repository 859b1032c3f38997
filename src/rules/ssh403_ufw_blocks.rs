//! SSH403: ufw does not allow sshd's port.

use super::*;
use crate::probe::firewall::Verdict;

pub static RULE: Rule = Rule {
    id: "SSH403",
    name: "ufw-blocks",
    title: "ufw blocks sshd's port",
    category: Category::Network,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "With ufw enabled (/etc/ufw/ufw.conf `ENABLED=yes`), whether its rules or its \
               default incoming policy let a new connection to each sshd port in.",
        why: "`ufw enable` without `ufw allow OpenSSH` is the classic way to lock yourself out \
              of an Ubuntu VM: the default policy denies incoming connections.",
        fix: "lifeline runs `ufw allow PORT/tcp` for each SSH port; ufw persists it.",
        safety: "Low: one allow rule for the SSH port.",
    },
    check,
    fix: Some(|_| Some(fix::open_firewall())),
};

fn check(facts: &Facts) -> Option<Finding> {
    let ufw = facts.firewall.ufw.as_ref()?;
    let (port, by) = facts
        .config
        .ports()
        .into_iter()
        .find_map(|port| match ufw.verdict(port) {
            Verdict::Blocked(by) => Some((port, by)),
            _ => None,
        })?;
    Some(RULE.finding(
        format!("ufw blocks new connections to port {port}"),
        vec![by],
        format!("ufw allow {port}/tcp"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_ufw_denying_by_default() {
        assert_rule(&RULE, &fixture("ubuntu-22.04-ufw-default-deny"));
    }
}
