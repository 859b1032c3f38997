//! SSH701: the network security groups drop the client's connections to sshd's port.

use super::cloud::{CloudCheck, Evidence, nsg_az_hint, no_guest_check};
use super::*;

pub static RULE: Rule = Rule {
    id: "SSH701",
    name: "nsg-blocks-ssh",
    title: "the network security group blocks sshd's port",
    category: Category::Azure,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Evaluates the NIC's effective security rules (the subnet's group and the NIC's, \
               default rules included, by priority, as Azure applies them) for a TCP \
               connection from the client's address to each port sshd is configured for \
               (`sshd -T`; 22 when the console gave no facts). Reported when every sshd port \
               is denied. When sshd moved off 22 and the group still allows 22, SSH702 \
               reports the pair instead. Where the region has a Network Watcher, its IP flow \
               verify of TCP 22 from the client's address joins the evidence (Azure's own \
               verdict and the rule that decided); without one, the evaluation is lifeline's \
               alone and the facts say so.",
        why: "Azure drops the packets before they reach the VM: clients see `Connection timed \
              out`, although sshd and the guest firewall are fine. Nothing inside the guest \
              shows it, so a guest-only diagnosis finds nothing.",
        fix: "lifeline adds one inbound allow rule to the NIC's security group: TCP to sshd's \
              port from the client's address only (/32), at the lowest free priority above the \
              rule that denies, named `lifeline-allow-ssh-…`. `lifeline undo --backup ID` \
              removes exactly that rule. `az network nsg rule create` does the same by hand.",
        safety: "Medium: it opens sshd's port to one address, the one this client comes from; \
                 behind a NAT that address is shared. Nothing else in the group changes.",
    },
    check: no_guest_check,
    fix: None,
};

pub static CLOUD: CloudCheck = CloudCheck {
    rule: &RULE,
    check,
    replaces: &[],
};

fn check(e: &Evidence) -> Option<Finding> {
    let ports = e.sshd_ports();
    let (client, who) = e.client();
    let verdicts: Vec<(u16, _)> = ports
        .iter()
        .map(|&p| Some((p, e.cloud.nsg_verdict(client, p)?)))
        .collect::<Option<_>>()?;
    if verdicts.iter().any(|(_, v)| v.allowed) {
        return None;
    }
    if super::ssh702_nsg_allows_only_22::applies(e) {
        return None;
    }
    let port = ports[0];
    let mut evidence = vec![format!("client {who}")];
    evidence.extend(
        verdicts
            .iter()
            .map(|(p, v)| format!("port {p}: denied by {}", v.decided_by)),
    );
    evidence.extend(e.cloud.watcher_flow_evidence(&ports));
    if e.guest.is_none() {
        evidence.push("sshd's port assumed 22: the console gave no facts".into());
    }
    Some(
        RULE.finding(
            format!("the network security group drops connections to sshd's port {port}"),
            evidence,
            format!(
                "allow TCP {port} from {client}/32 in the NIC's NSG (`lifeline rescue` does; by hand: \
                 az network nsg rule create {} -n allow-ssh-{port} --priority N --access Allow \
                 --protocol Tcp --destination-port-ranges {port} --source-address-prefixes {client}/32)",
                nsg_az_hint(e.cloud)
            ),
        )
        .with_source(e.source()),
    )
}

#[cfg(test)]
mod tests {
    use super::super::cloud::evaluate;
    use super::super::testing::{cloud_ids, cloud_with, guest_on_ports, nsg_rule};
    use super::*;
    use crate::azure::facts::{FlowVerdict, WatcherView};

    #[test]
    fn a_deny_on_sshd_port_is_one_joint_finding_with_its_rule() {
        let c = cloud_with(vec![
            nsg_rule("DenySSH", 200, false, 22),
            nsg_rule("default-allow-ssh", 1000, true, 22),
        ]);
        let g = guest_on_ports(&[22]);
        let found = evaluate(&c, Some(&g), Vec::new());
        assert_eq!(cloud_ids(&found), ["SSH701"]);
        assert_eq!(found[0].source, Source::Joint);
        assert!(
            found[0]
                .evidence
                .iter()
                .any(|e| e.contains("DenySSH (priority 200")),
            "{found:?}"
        );
        assert!(found[0].fix.contains("198.51.100.7/32"));
        // Without the console: the same, from the cloud alone, on the assumed port 22.
        let alone = evaluate(&c, None, Vec::new());
        assert_eq!(alone[0].source, Source::Cloud);
        assert!(alone[0].evidence.iter().any(|e| e.contains("assumed 22")));
        // The default rule allows 22: nothing to say.
        assert!(
            evaluate(
                &cloud_with(vec![nsg_rule("default-allow-ssh", 1000, true, 22)]),
                Some(&g),
                Vec::new()
            )
            .is_empty()
        );
    }

    /// Network Watcher's verdict on TCP 22 joins the evidence when sshd's ports include 22.
    #[test]
    fn network_watchers_flow_verdict_is_evidence() {
        let mut c = cloud_with(vec![nsg_rule("DenySSH", 200, false, 22)]);
        c.watcher = Some(WatcherView {
            watcher: "/nw".into(),
            flow: Some(FlowVerdict {
                port: 22,
                client: "198.51.100.7".into(),
                allowed: false,
                rule: "securityRules/DenySSH".into(),
            }),
            next_hop: None,
        });
        let on_22 = evaluate(&c, Some(&guest_on_ports(&[22])), Vec::new());
        assert!(
            on_22[0].evidence.contains(
                &"Network Watcher's IP flow verify: TCP 22 from 198.51.100.7: Deny by securityRules/DenySSH"
                    .to_string()
            ),
            "{on_22:?}"
        );
        let c = cloud_with(vec![nsg_rule("DenyAll", 200, false, 2200)]);
        let on_2200 = evaluate(&c, Some(&guest_on_ports(&[2200])), Vec::new());
        assert!(
            !on_2200[0].evidence.iter().any(|e| e.contains("Network Watcher")),
            "{on_2200:?}"
        );
    }
}
