//! SSH404: firewalld's zone does not allow sshd's port.

use super::*;
use crate::probe::firewall::Verdict;

pub static RULE: Rule = Rule {
    id: "SSH404",
    name: "firewalld-blocks",
    title: "firewalld blocks sshd's port",
    category: Category::Network,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "With firewalld running, whether its default zone allows each sshd port: the \
               `ssh` service for port 22, a `PORT/tcp` port entry otherwise, or an ACCEPT zone \
               target. Rich rules make the answer unknown rather than a finding.",
        why: "firewalld rejects what its zone does not allow: removing the ssh service, or \
              moving sshd to a new port without adding it, locks clients out.",
        fix: "lifeline opens each SSH port in the default and every active zone, now and \
              permanently (`firewall-cmd --zone=Z --add-port=PORT/tcp`, and again with \
              `--permanent`).",
        safety: "Low: one service or port in the zone.",
    },
    check,
    fix: Some(|_| Some(fix::open_firewall())),
};

fn check(facts: &Facts) -> Option<Finding> {
    let zone = facts.firewall.firewalld.as_ref()?;
    let (port, by) =
        facts
            .config
            .ports()
            .into_iter()
            .find_map(|port| match zone.verdict(port) {
                Verdict::Blocked(by) => Some((port, by)),
                _ => None,
            })?;
    let add = if port == 22 {
        "--add-service=ssh".to_string()
    } else {
        format!("--add-port={port}/tcp")
    };
    Some(RULE.finding(
        format!("firewalld blocks new connections to port {port}"),
        vec![by],
        format!("firewall-cmd --permanent {add} && firewall-cmd --reload"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_firewalld_without_the_port() {
        assert_rule(&RULE, &fixture("rhel-9-custom-port-selinux-firewalld"));
    }
}
