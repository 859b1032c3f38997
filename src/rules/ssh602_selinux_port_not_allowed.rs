//! SSH602: SELinux does not let sshd bind its custom port.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH602",
    name: "selinux-port-not-allowed",
    title: "SELinux does not let sshd use its port",
    category: Category::Selinux,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "With SELinux enforcing and sshd on a port other than 22, whether that port is \
               labelled `ssh_port_t` (`semanage port -l`).",
        why: "The policy forbids sshd to bind other ports (`Bind to port 2222 on 0.0.0.0 \
              failed: Permission denied.`): sshd starts without that listener, or not at all.",
        fix: "lifeline labels the port (`semanage port -a -t ssh_port_t -p tcp PORT`) and \
              restarts sshd.",
        safety: "Low: it allows sshd, and only sshd, to use that port.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.selinux.enforcing != Some(true) {
        return None;
    }
    let labelled = facts.selinux.ssh_ports.as_ref()?;
    let port = facts
        .config
        .ports()
        .into_iter()
        .find(|p| *p != 22 && !labelled.iter().any(|l| l == &p.to_string()))?;
    let mut evidence = vec![
        config_ref(facts, "port", "Port"),
        format!("ports labelled ssh_port_t: {}", labelled.join(", ")),
    ];
    evidence.extend(recent_log(facts, 2, &["Permission denied"]));
    Some(RULE.finding(
        format!("SELinux does not let sshd bind port {port}"),
        evidence,
        format!(
            "semanage port -a -t ssh_port_t -p tcp {port} && {}",
            restart(facts)
        ),
    ))
}

/// Each configured port the policy does not give sshd, labelled ssh_port_t.
fn fix(facts: &Facts) -> Option<Fix> {
    let allowed = facts.selinux.ssh_ports.clone().unwrap_or_default();
    Fix::step_each(
        Phase::Access,
        "let sshd bind its ports under SELinux",
        "ll_selinux_port",
        facts
            .config
            .ports()
            .iter()
            .filter(|p| !allowed.contains(&p.to_string()))
            .map(|p| vec![p.to_string()]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_port_the_policy_does_not_allow() {
        assert_rule(&RULE, &fixture("rhel-9-custom-port-selinux-firewalld"));
    }
}
