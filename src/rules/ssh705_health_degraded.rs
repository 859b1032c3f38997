//! SSH705: Azure's resource health says the VM is not available.

use super::cloud::{AZURE_RULE, CloudCheck, Evidence};
use super::*;

pub static RULE: Rule = Rule {
    id: "SSH705",
    name: "health-degraded",
    title: "Azure's resource health reports the VM degraded or unavailable",
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "The VM's `availabilityStatuses/current`: anything but `Available` (an \
               `Unknown` state is a warning).",
        why: "A platform problem (a failing host, a storage outage, a planned maintenance) \
              makes the VM unreachable or slow whatever its guest does; repairs inside the \
              guest do not help.",
        fix: "None by lifeline on its own. Azure's guide restarts first, then redeploys: \
              `lifeline rescue --allow-reboot` restarts the VM through ARM, and \
              `lifeline rescue --allow-redeploy` moves it to another host instead (the \
              temporary disk is lost and a dynamic public IP changes); either waits for \
              Azure's operation and for SSH to answer again, and reports the operation. \
              Resource health's summary says whether Azure is already acting.",
        safety: "Nothing is changed unless a restart or a redeploy is explicitly allowed.",
    },
    ..AZURE_RULE
};

pub static CLOUD: CloudCheck = CloudCheck::of(&RULE, check);

fn check(e: &Evidence) -> Option<Finding> {
    let health = e.cloud.health.as_ref()?;
    if health.state.eq_ignore_ascii_case("available") {
        return None;
    }
    let mut evidence = vec![format!("availabilityState {}", health.state)];
    evidence.extend(health.summary.iter().map(|s| format!("summary: {s}")));
    evidence.extend(health.reason.iter().map(|r| format!("reason: {r}")));
    let finding = RULE.finding(
        format!("Azure reports the VM {}", health.state.to_ascii_lowercase()),
        evidence,
        "read the VM's Resource health blade; if Azure is not acting, redeploy it to another host (`lifeline rescue --allow-redeploy`)",
    );
    let finding = if health.state.eq_ignore_ascii_case("unknown") {
        finding.downgraded(Severity::Warning)
    } else {
        finding
    };
    Some(finding.with_source(Source::Cloud))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{cloud_finding, healthy_cloud};
    use super::*;
    use crate::azure::facts::Health;

    #[test]
    fn fires_when_azure_says_the_vm_is_not_available() {
        let mut cloud = healthy_cloud();
        assert!(cloud_finding(&CLOUD, &cloud).is_none(), "no health known");
        let health = |state: &str| Health {
            state: state.into(),
            summary: Some("host".into()),
            reason: None,
        };
        cloud.health = Some(health("Available"));
        assert!(cloud_finding(&CLOUD, &cloud).is_none());
        cloud.health = Some(health("Degraded"));
        let found = cloud_finding(&CLOUD, &cloud).expect("degraded");
        assert_eq!(found.title, "Azure reports the VM degraded");
        assert_eq!(found.evidence, ["availabilityState Degraded", "summary: host"]);
        cloud.health = Some(health("Unknown"));
        assert_eq!(
            cloud_finding(&CLOUD, &cloud).map(|f| f.severity),
            Some(Severity::Warning)
        );
    }
}
