//! SSH004: the sshd unit does not start at boot.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH004",
    name: "service-disabled",
    title: "the sshd service is disabled",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether ssh.service (Debian, Ubuntu) or sshd.service (elsewhere) is enabled, \
               unless an enabled ssh.socket starts sshd on demand, which is the normal setup on \
               Ubuntu 22.10 and later.",
        why: "A disabled service is not started at boot: SSH works until the next reboot and \
              is refused after it. When sshd is not running now, this is why it did not come \
              back.",
        fix: "lifeline enables and starts the unit (`systemctl enable --now ssh`, or `sshd`).",
        safety: "Safe: enabling only adds the unit's install symlinks.",
    },
    check,
    fix: Some(|_| Some(Fix::start_service())),
};

fn check(facts: &Facts) -> Option<Finding> {
    let unit = facts.service_unit()?;
    if unit.is_masked() || unit.is_enabled() || unit.unit_file_state.is_empty() {
        return None;
    }
    if facts
        .socket_unit()
        .is_some_and(|s| s.is_enabled() && !s.is_masked())
    {
        return None;
    }
    let finding = RULE.finding(
        format!("{} is disabled: it does not start at boot", unit.id),
        vec![format!(
            "{}: UnitFileState={}, ActiveState={}",
            unit.id, unit.unit_file_state, unit.active_state
        )],
        format!("systemctl enable --now {}", facts.service_name()),
    );
    Some(if facts.sshd_up() {
        finding.downgraded(Severity::Warning)
    } else {
        finding
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_disabled_service() {
        assert_rule(
            &RULE,
            &debian_with(|f| unit(f, "ssh.service").unit_file_state = "disabled".into()),
        );
    }
}
