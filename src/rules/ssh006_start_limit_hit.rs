//! SSH006: systemd gave up restarting sshd.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH006",
    name: "start-limit-hit",
    title: "systemd stopped trying to start sshd",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether the sshd service or socket unit ended with `start-limit-hit` or \
               `trigger-limit-hit`: it failed too often in a short time.",
        why: "After hitting the start limit systemd refuses further starts until the failed \
              state is reset, so sshd stays down even once its real problem is fixed.",
        fix: "lifeline runs `systemctl reset-failed` on the unit before starting it again.",
        safety: "Safe: resetting the failed state only clears systemd's counters.",
    },
    check,
    fix: Some(|_| Some(Fix::restart())),
};

fn check(facts: &Facts) -> Option<Finding> {
    let unit = [facts.service_unit(), facts.socket_unit()]
        .into_iter()
        .flatten()
        .find(|u| u.result == "start-limit-hit" || u.result == "trigger-limit-hit")?;
    let mut evidence = vec![format!(
        "{}: result {}, restarted {} times",
        unit.id,
        unit.result,
        unit.n_restarts.unwrap_or(0)
    )];
    evidence.extend(recent_log(facts, 3, &[]));
    Some(RULE.finding(
        format!(
            "{} failed too often and systemd stopped starting it",
            unit.id
        ),
        evidence,
        format!("systemctl reset-failed {0}; systemctl start {0}", unit.id),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_systemd_gave_up_starting_sshd() {
        assert_rule(
            &RULE,
            &debian_with(|f| unit(f, "ssh.service").result = "start-limit-hit".into()),
        );
    }
}
