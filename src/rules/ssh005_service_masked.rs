//! SSH005: the sshd unit is masked.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH005",
    name: "service-masked",
    title: "the sshd service is masked",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether ssh.service or sshd.service is masked (linked to /dev/null), or the \
               socket unit is masked where the socket is what starts sshd.",
        why: "systemd refuses to start a masked unit, by hand or at boot (`Unit ssh.service is \
              masked`), so sshd stays down whatever else is fixed.",
        fix: "lifeline unmasks, enables and starts the unit (`systemctl unmask ssh && \
              systemctl enable --now ssh`).",
        safety: "Safe: unmasking removes only the /dev/null link in /etc/systemd/system.",
    },
    check,
    fix: Some(|_| Some(Fix::start_service())),
};

fn check(facts: &Facts) -> Option<Finding> {
    let masked = [facts.service_unit(), facts.socket_unit()]
        .into_iter()
        .flatten()
        .find(|u| u.is_masked())?;
    if masked.is_socket() && facts.service_unit().is_some_and(|s| s.is_enabled()) {
        return None;
    }
    let name = masked.id.trim_end_matches(".service");
    Some(RULE.finding(
        format!("{} is masked: systemd refuses to start it", masked.id),
        vec![format!(
            "{}: LoadState={}, UnitFileState={}",
            masked.id, masked.load_state, masked.unit_file_state
        )],
        format!("systemctl unmask {name} && systemctl enable --now {name}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_masked_service() {
        assert_rule(
            &RULE,
            &debian_with(|f| unit(f, "ssh.service").unit_file_state = "masked".into()),
        );
    }
}
