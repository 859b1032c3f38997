//! SSH407: the VM has no IPv4 address.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH407",
    name: "no-ipv4-address",
    title: "the VM has no IPv4 address",
    category: Category::Network,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether any interface other than loopback has an IPv4 address (`ip addr`).",
        why: "Without one nothing reaches the VM: clients time out. Typical causes are a \
              network configuration pinned to an old MAC address or a static address, a \
              renamed interface (eth0 became ens33), or a DHCP client that failed at boot.",
        fix: "`lifeline rescue` leaves this to you: check the interfaces and the network \
              service's log, and reset the primary interface to DHCP (netplan, \
              NetworkManager, ifcfg, wicked or systemd-networkd, whichever the guest uses).",
        safety: "Medium: a wrong network configuration can keep the VM unreachable; the \
                 serial console stays the way back in.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.addresses.is_empty()
        || facts
            .addresses
            .iter()
            .any(|a| a.family == "inet" && a.interface != "lo")
    {
        return None;
    }
    let evidence = facts
        .addresses
        .iter()
        .map(|a| format!("{} {} {}", a.interface, a.family, a.cidr))
        .collect();
    Some(RULE.finding(
        "the VM has no IPv4 address: its network is down",
        evidence,
        "check the network service's log (journalctl -b -u systemd-networkd -u NetworkManager -u wicked) and reset the interface to DHCP",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_without_an_ipv4_address() {
        assert_rule(
            &RULE,
            &debian_with(|f| f.addresses.retain(|a| a.family != "inet")),
        );
    }
}
