//! SSH001: nothing accepts SSH connections.

use super::*;
use crate::probe::facts::TestProblem;

pub static RULE: Rule = Rule {
    id: "SSH001",
    name: "sshd-not-running",
    title: "sshd is not running",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Symptom,
    docs: Docs {
        what: "Whether an sshd listener process exists, or a socket unit (ssh.socket on Ubuntu \
               22.10 and later) listens to start one on demand. This is the first check of \
               Azure's guide, `ps -aux | grep ssh`, made exact: per-connection sshd children \
               do not count.",
        why: "With nothing listening every connection is refused at once (`Connection \
              refused`). Something stopped sshd or made it fail; when the probe can tell what, \
              another finding names that cause and comes first.",
        fix: "Once the causes are fixed, lifeline resets the unit's failed state and starts it \
              (`systemctl reset-failed`, `systemctl start ssh` or `sshd`, or `ssh.socket` where \
              the socket starts sshd), then checks sshd's banner on every configured port.",
        safety: "Safe: starting sshd changes nothing on disk. If the configuration is invalid \
                 the start fails, sshd -t says why, and nothing else is touched.",
    },
    check,
    fix: Some(|_| Some(Fix::start_service())),
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.sshd_up() {
        return None;
    }
    let mut evidence = vec!["no sshd listener process is running".to_string()];
    if let Some(unit) = facts.service_unit() {
        evidence.push(format!(
            "{}: {} ({}), last result: {}",
            unit.id, unit.active_state, unit.sub_state, unit.result
        ));
    }
    if let Some(pid1) = facts.init.pid1.as_deref().filter(|p| *p != "systemd") {
        evidence.push(format!(
            "PID 1 is {pid1}, not systemd: an emergency or rescue shell?"
        ));
    }
    // What sshd -t said that no other rule explains.
    evidence.extend(facts.sshd.test.problems.iter().filter_map(|p| match p {
        TestProblem::Other { message } => Some(format!("sshd -t: {message}")),
        _ => None,
    }));
    evidence.extend(recent_log(facts, 3, &[]));
    Some(RULE.finding(
        RULE.title,
        evidence,
        format!(
            "systemctl reset-failed {0}; systemctl start {0}",
            facts.service_name()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_sshd_is_stopped() {
        assert_rule(&RULE, &fixture("debian-12-sshd-stopped"));
    }
}
