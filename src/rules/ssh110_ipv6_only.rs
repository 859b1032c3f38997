//! SSH110: sshd listens on IPv6 only.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH110",
    name: "ipv6-only",
    title: "sshd listens on IPv6 only",
    category: Category::Configuration,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether every address sshd is configured to listen on is IPv6 (AddressFamily \
               inet6, or only IPv6 ListenAddress lines) while the VM has an IPv4 address.",
        why: "sshd marks its IPv6 sockets IPv6-only, so IPv4 clients, which is every client \
              reaching an Azure VM's IPv4 address, are refused.",
        fix: "lifeline sets `AddressFamily any` (and removes IPv6-only ListenAddress lines), \
              validates with `sshd -t` and restarts sshd.",
        safety: "Low: `any` is OpenSSH's default.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let listen = facts.config.listen_addresses();
    let has_ipv4 = facts
        .addresses
        .iter()
        .any(|a| a.family == "inet" && a.interface != "lo");
    if listen.is_empty() || !has_ipv4 || listen.iter().any(|(host, _)| !host.contains(':')) {
        return None;
    }
    let mut evidence = vec![config_ref(facts, "addressfamily", "AddressFamily")];
    evidence.extend(
        facts
            .config
            .lines_for("listenaddress")
            .map(|l| format!("ListenAddress {} ({})", l.value, l.location())),
    );
    Some(RULE.finding(
        "sshd listens on IPv6 only, and clients come over IPv4",
        evidence,
        format!(
            "set `AddressFamily any`, check with `sshd -t`, then {}",
            restart(facts)
        ),
    ))
}

fn fix(facts: &Facts) -> Option<Fix> {
    Fix::set_origin(facts, "addressfamily", "AddressFamily any")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_sshd_listens_on_ipv6_only() {
        assert_rule(
            &RULE,
            &debian_text(&[
                ("addressfamily any", "addressfamily inet6"),
                ("listenaddress 0.0.0.0:22\n", ""),
                (CONFIG, &config_lines(&["AddressFamily inet6"])),
            ]),
        );
    }
}
