//! SSH703: the VM has no public address, and the client is not inside a private network.

use super::cloud::{AZURE_RULE, CloudCheck, Evidence};
use super::*;

pub static RULE: Rule = Rule {
    id: "SSH703",
    name: "no-public-ip",
    title: "the VM has no public IP address",
    severity: Severity::Warning,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether any IP configuration of the VM's NICs has a public IP address with an \
               address allocated, when the client's own address is a public one (a client in \
               a private range may come through a VPN, peering or Bastion).",
        why: "Without a public address the VM is reachable only from inside its virtual \
              network or through a gateway, Bastion or a load balancer: an SSH client on the \
              Internet has no address to connect to. A dynamic public IP also loses its \
              address while the VM is deallocated.",
        fix: "None by lifeline: adding a public address exposes the VM, which is for a person \
              to decide (`az network public-ip create`, then `az network nic ip-config update \
              --public-ip-address`), or use Azure Bastion.",
        safety: "Nothing is changed: lifeline only reports what Azure says.",
    },
    ..AZURE_RULE
};

pub static CLOUD: CloudCheck = CloudCheck::of(&RULE, check);

fn check(e: &Evidence) -> Option<Finding> {
    if e.cloud.nics.is_empty() || e.cloud.public_ip().and_then(|ip| ip.address.as_ref()).is_some() {
        return None;
    }
    let client = e.cloud.client_ip();
    if client.is_some_and(|ip| ip.is_private() || ip.is_loopback()) {
        return None;
    }
    let private: Vec<String> = e.cloud.nics.iter().flat_map(|n| n.private_ips.clone()).collect();
    Some(
        RULE.finding(
            "the VM has no public IP address, so clients on the Internet cannot reach it",
            vec![format!(
                "NIC {}: private {}, no public address",
                e.cloud.primary_nic().map_or("?", |n| n.name.as_str()),
                if private.is_empty() { "none".into() } else { private.join(", ") }
            )],
            "connect from inside the virtual network, through Azure Bastion or a VPN, or give the NIC a public IP",
        )
        .with_source(Source::Cloud),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{cloud_finding, healthy_cloud};
    use super::*;

    #[test]
    fn fires_without_a_public_address_unless_the_client_is_inside_a_private_network() {
        let mut cloud = healthy_cloud();
        assert!(cloud_finding(&CLOUD, &cloud).is_none());
        cloud.nics[0].public_ips[0].address = None;
        let found = cloud_finding(&CLOUD, &cloud).expect("no public address");
        assert_eq!(found.source, Source::Cloud);
        assert!(found.evidence[0].contains("private 10.0.0.4"), "{found:?}");
        cloud.client.as_mut().unwrap().address = "10.8.0.2".into();
        assert!(cloud_finding(&CLOUD, &cloud).is_none());
    }
}
