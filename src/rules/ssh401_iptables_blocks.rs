//! SSH401: iptables drops or rejects new connections to sshd's port.

use super::*;
use crate::probe::firewall::{Packet, Verdict};

pub static RULE: Rule = Rule {
    id: "SSH401",
    name: "iptables-blocks",
    title: "iptables blocks sshd's port",
    category: Category::Network,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Walks the INPUT chain of iptables' filter table (user chains included) for a \
               new TCP connection to each sshd port, from an unknown address, on the VM's \
               interface. Rules whose matches cannot be decided (source addresses, rate \
               limits) make the answer unknown rather than a finding. Skipped when ufw or \
               firewalld manages the rules (SSH403, SSH404).",
        why: "A DROP makes clients time out (`Connection timed out`), a REJECT refuses them, \
              although sshd is fine. Azure Linux's iptables.service loads a DROP policy that \
              allows only port 22.",
        fix: "lifeline inserts an ACCEPT for the port at the top of INPUT (`iptables -I INPUT \
              1 -p tcp --dport PORT -j ACCEPT`) and saves it where the distribution restores \
              rules from (/etc/iptables/rules.v4, /etc/sysconfig/iptables, \
              /etc/systemd/scripts/ip4save). It never flushes rules.",
        safety: "Low: one narrow rule that opens only the SSH port; the NSG still filters.",
    },
    check,
    fix: Some(|_| Some(fix::open_firewall())),
};

fn check(facts: &Facts) -> Option<Finding> {
    let fw = &facts.firewall;
    let table = fw.iptables.as_ref()?;
    if fw.ufw.as_ref().is_some_and(|u| u.active) || fw.firewalld.is_some() {
        return None;
    }
    let interfaces = external_interfaces(facts);
    let blocked: Vec<(u16, String)> = facts
        .config
        .ports()
        .into_iter()
        .filter_map(|port| {
            let packet = Packet {
                port,
                external_interfaces: &interfaces,
            };
            match table.verdict(&packet) {
                Verdict::Blocked(by) => Some((port, by)),
                _ => None,
            }
        })
        .collect();
    let (port, _) = blocked.first()?;
    Some(
        RULE.finding(
            format!("the guest firewall (iptables) drops new connections to port {port}"),
            blocked
                .iter()
                .map(|(port, by)| format!("port {port}: {by}"))
                .collect(),
            format!("iptables -I INPUT 1 -p tcp --dport {port} -j ACCEPT, then save the rules"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_an_iptables_drop() {
        assert_rule(&RULE, &fixture("azurelinux-3-ip4save-custom-port"));
    }
}
