//! SSH103: ListenAddress names an address this VM does not have.

use super::*;
use crate::probe::sshd_config::split_host_port;

pub static RULE: Rule = Rule {
    id: "SSH103",
    name: "listen-address-absent",
    title: "ListenAddress names an address this VM does not have",
    category: Category::Configuration,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Compares each specific ListenAddress (not 0.0.0.0 or ::) with the addresses on \
               the VM's interfaces (`ip addr`).",
        why: "sshd cannot bind an address the VM does not have (`Cannot assign requested \
              address`); when it is the only one, sshd exits (`Cannot bind any address`). On \
              Azure the private IP comes from DHCP and changes when a VM is moved or its NIC \
              reconfigured, so a pinned address breaks SSH after the change.",
        fix: "lifeline removes the stale ListenAddress lines (sshd then listens on every \
              address), validates with `sshd -t` and restarts sshd.",
        safety: "Low: listening on all addresses is the default; the NSG still filters. The \
                 edit is validated and undoable.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.addresses.is_empty() {
        return None;
    }
    let local: Vec<&str> = facts.local_ips().collect();
    let mut absent: Vec<String> = facts
        .config
        .listen_addresses()
        .into_iter()
        .map(|(host, _)| host)
        .filter(|h| h != "0.0.0.0" && h != "::" && !local.contains(&h.as_str()))
        .collect();
    absent.dedup();
    let first = absent.first()?.clone();
    let mut evidence: Vec<String> = facts
        .config
        .lines_for("listenaddress")
        .map(|l| format!("ListenAddress {} ({})", l.value, l.location()))
        .collect();
    evidence.push(format!("addresses of this VM: {}", local.join(", ")));
    evidence.extend(recent_log(
        facts,
        2,
        &["Cannot assign requested address", "Cannot bind any address"],
    ));
    Some(RULE.finding(
        format!("ListenAddress {first} is not an address of this VM"),
        evidence,
        format!(
            "remove the ListenAddress line(s), check with `sshd -t`, then {}",
            restart(facts)
        ),
    ))
}

/// The ListenAddress lines that name no address of this VM, commented out.
fn fix(facts: &Facts) -> Option<Fix> {
    let local: Vec<&str> = facts.local_ips().collect();
    let edits = facts
        .config
        .lines_for("listenaddress")
        .filter(|l| {
            let entry = l.value.split_whitespace().next().unwrap_or_default();
            let host = split_host_port(entry).0;
            host != "0.0.0.0" && host != "::" && !local.contains(&host.as_str())
        })
        .map(|l| LineEdit::comment_out(l, "not an address of this VM"))
        .collect();
    Some(Fix::edit_config(edits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_foreign_listen_address() {
        assert_rule(
            &RULE,
            &debian_config("listenaddress [::]:22\n", "listenaddress 10.9.9.9:22\n", "ListenAddress 10.9.9.9"),
        );
    }
}
