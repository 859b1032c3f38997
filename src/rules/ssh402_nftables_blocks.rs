//! SSH402: an nftables input chain drops new connections to sshd's port.

use super::*;
use crate::probe::firewall::{Packet, Verdict};

pub static RULE: Rule = Rule {
    id: "SSH402",
    name: "nftables-blocks",
    title: "nftables blocks sshd's port",
    category: Category::Network,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Walks every nftables base chain on the input hook of an `ip` or `inet` table \
               for a new TCP connection to each sshd port: a packet must pass all of them. The \
               tables iptables-nft and firewalld manage are judged by SSH401 and SSH404.",
        why: "A drop in any input chain stops the connection, even when another table accepts \
              it: an ACCEPT added with iptables does not cancel a DROP in an nftables table.",
        fix: "lifeline inserts `tcp dport PORT accept` at the top of the chain that drops, and \
              adds it to /etc/nftables.conf (Debian) or /etc/sysconfig/nftables.conf (RHEL) \
              when the ruleset is loaded from there. It never flushes the ruleset.",
        safety: "Low: one narrow rule for the SSH port.",
    },
    check,
    fix: Some(|_| Some(fix::open_firewall())),
};

fn check(facts: &Facts) -> Option<Finding> {
    let fw = &facts.firewall;
    let nft = fw.nft.as_ref()?;
    let mut skip = Vec::new();
    if fw.iptables.as_ref().is_some_and(|t| !t.is_empty()) {
        skip.push("ip filter");
    }
    if fw.firewalld.is_some() {
        skip.push("inet firewalld");
    }
    let interfaces = external_interfaces(facts);
    let (port, by) = facts.config.ports().into_iter().find_map(|port| {
        let packet = Packet {
            port,
            external_interfaces: &interfaces,
        };
        match nft.verdict(&packet, &skip) {
            Verdict::Blocked(by) => Some((port, by)),
            _ => None,
        }
    })?;
    Some(RULE.finding(
        format!("the guest firewall (nftables) drops new connections to port {port}"),
        vec![by],
        format!("nft insert rule <family> <table> <chain> tcp dport {port} accept (the chain above), then persist it"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_an_nftables_drop() {
        let ruleset = "@nft\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tiifname \"lo\" accept\n\t}\n}\n";
        assert_rule(&RULE, &debian_text(&[("@nft\n", ruleset)]));
    }
}
