//! SSH702: sshd moved off port 22, and the network security group lets only 22 in.

use super::cloud::{CloudCheck, Evidence, no_guest_check};
use super::*;

pub static RULE: Rule = Rule {
    id: "SSH702",
    name: "sshd-port-closed-in-nsg",
    title: "sshd listens only on a port the NSG blocks, while the NSG allows 22",
    category: Category::Azure,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Joins the guest and the cloud: sshd is configured (`sshd -T`) for ports that \
               do not include 22, the NIC's effective security rules deny every one of them \
               for the client's address, and they allow 22. One finding for the pair, in \
               place of SSH102 (port not 22) and SSH701 (NSG blocks sshd's port).",
        why: "Clients on 22 are refused by the guest, clients on the new port are dropped by \
              Azure: SSH is down from everywhere although each side looks deliberate alone.",
        fix: "lifeline brings sshd back to the port the NSG allows: it adds `Port 22` beside \
              the configured port, in the file and at the line that sets it (the other port \
              keeps working), opens 22 in the guest firewall, validates with `sshd -t` and \
              restarts sshd, as for SSH102. The NSG is left alone: opening a new port to the \
              Internet is a decision for a person (`az network nsg rule create`).",
        safety: "Low: the edit is validated and undoable, and it widens nothing the NSG did \
                 not already allow.",
    },
    check: no_guest_check,
    fix: Some(super::ssh102_port_not_22::fix),
};

pub static CLOUD: CloudCheck = CloudCheck {
    rule: &RULE,
    check,
    replaces: &["SSH102"],
};

/// Whether the pair is there: sshd off 22, every sshd port denied, 22 allowed.
pub(super) fn applies(e: &Evidence) -> bool {
    let Some(facts) = e.guest else {
        return false;
    };
    let ports = facts.config.ports();
    let (client, _) = e.client();
    let denied = |p: u16| e.cloud.nsg_verdict(client, p).is_some_and(|v| !v.allowed);
    !ports.contains(&22)
        && ports.iter().all(|&p| denied(p))
        && e.cloud.nsg_verdict(client, 22).is_some_and(|v| v.allowed)
}

fn check(e: &Evidence) -> Option<Finding> {
    if !applies(e) {
        return None;
    }
    let facts = e.guest?;
    let ports = facts.config.ports();
    let (client, who) = e.client();
    let mut evidence = vec![config_ref(facts, "port", "Port"), format!("client {who}")];
    for &p in &ports {
        if let Some(v) = e.cloud.nsg_verdict(client, p) {
            evidence.push(format!("port {p}: denied by {}", v.decided_by));
        }
    }
    if let Some(v) = e.cloud.nsg_verdict(client, 22) {
        evidence.push(format!("port 22: allowed by {}", v.decided_by));
    }
    Some(
        RULE.finding(
            format!(
                "sshd listens only on port {}, which the NSG blocks, while the NSG allows 22",
                port_list(&ports)
            ),
            evidence,
            format!(
                "set `Port 22` beside `Port {}` and {} (or allow {} in the NSG)",
                ports[0],
                restart(facts),
                ports[0]
            ),
        )
        .with_source(e.source()),
    )
}

#[cfg(test)]
mod tests {
    use super::super::cloud::evaluate;
    use super::super::testing::{cloud_ids, cloud_with, guest_on_ports, nsg_rule};

    #[test]
    fn sshd_moved_while_the_nsg_allows_22_replaces_ssh102() {
        let c = cloud_with(vec![nsg_rule("default-allow-ssh", 1000, true, 22)]);
        let g = guest_on_ports(&[2200]);
        let ssh102 = crate::rules::find("SSH102")
            .unwrap()
            .finding("port", vec![], "fix");
        let found = evaluate(&c, Some(&g), vec![ssh102]);
        assert_eq!(cloud_ids(&found), ["SSH702"]);
        assert!(found[0].title.contains("2200"));
        // With 2200 allowed too, nothing joint is wrong and SSH102 stays.
        let open = cloud_with(vec![
            nsg_rule("default-allow-ssh", 1000, true, 22),
            nsg_rule("ssh2200", 1010, true, 2200),
        ]);
        let ssh102 = crate::rules::find("SSH102")
            .unwrap()
            .finding("port", vec![], "fix");
        assert_eq!(cloud_ids(&evaluate(&open, Some(&g), vec![ssh102])), ["SSH102"]);
    }
}
