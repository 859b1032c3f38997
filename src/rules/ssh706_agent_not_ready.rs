//! SSH706: the Azure guest agent does not report Ready.

use super::cloud::{AZURE_RULE, CloudCheck, Evidence};
use super::*;

pub static RULE: Rule = Rule {
    id: "SSH706",
    name: "agent-not-ready",
    title: "the Azure guest agent is not ready",
    severity: Severity::Warning,
    kind: Kind::Symptom,
    docs: Docs {
        what: "The VM agent's status in the instance view (`vmAgent.statuses`): anything but \
               `Ready`, or no status at all.",
        why: "SSH itself does not need the agent, but Azure's own ways in do: VMAccess (`az \
              vm user reset-ssh/update`) and Run Command run through it. A guest whose agent \
              stopped reporting is often a guest in trouble (out of memory, a full disk, a \
              hung boot), and the serial console is the way left.",
        fix: "None by lifeline yet: lifeline works over the serial console, which needs no \
              agent. On the guest, `systemctl restart walinuxagent` (Debian, Ubuntu) or \
              `waagent` (RHEL, SUSE) restarts it.",
        safety: "Nothing is changed: lifeline only reports what Azure says.",
    },
    ..AZURE_RULE
};

pub static CLOUD: CloudCheck = CloudCheck::of(&RULE, check);

fn check(e: &Evidence) -> Option<Finding> {
    if e.cloud.power_state.as_deref().is_some_and(|p| p != "running") {
        return None;
    }
    let evidence = match &e.cloud.agent {
        Some(agent) if agent.ready() => return None,
        Some(agent) => {
            let mut v = vec![format!("vmAgent status {}", agent.status)];
            v.extend(agent.message.iter().map(|m| format!("message: {m}")));
            v.extend(agent.version.iter().map(|m| format!("version {m}")));
            v
        }
        None => vec!["the instance view has no vmAgent status".into()],
    };
    Some(
        RULE.finding(
            "the Azure guest agent is not ready, so VMAccess and Run Command cannot work",
            evidence,
            "use the serial console (lifeline does); restart the agent on the guest (systemctl restart walinuxagent)",
        )
        .with_source(Source::Cloud),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{cloud_finding, healthy_cloud};
    use super::*;

    #[test]
    fn fires_when_a_running_vms_agent_is_not_ready_or_silent() {
        let mut cloud = healthy_cloud();
        assert!(cloud_finding(&CLOUD, &cloud).is_none(), "the agent is ready");
        cloud.agent.as_mut().unwrap().status = "Not Ready".into();
        let found = cloud_finding(&CLOUD, &cloud).expect("not ready");
        assert_eq!(found.evidence, ["vmAgent status Not Ready"]);
        cloud.agent = None;
        assert!(cloud_finding(&CLOUD, &cloud).is_some(), "no agent status");
        cloud.power_state = Some("stopped".into());
        assert!(cloud_finding(&CLOUD, &cloud).is_none(), "a stopped VM runs no agent");
    }
}
