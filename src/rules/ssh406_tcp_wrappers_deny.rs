//! SSH406: /etc/hosts.deny refuses sshd (where sshd uses libwrap).

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH406",
    name: "tcp-wrappers-deny",
    title: "/etc/hosts.deny refuses sshd",
    category: Category::Network,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Where sshd is linked with libwrap (`ldd`: RHEL/CentOS 7, SLES 12, Debian and \
               some Ubuntu builds), whether /etc/hosts.deny has a rule for sshd or ALL daemons \
               that /etc/hosts.allow does not override.",
        why: "TCP wrappers close the connection before the banner (`kex_exchange_identification: \
              Connection closed by remote host`; sshd logs `refused connect from …`).",
        fix: "`lifeline rescue` leaves this to you: add `sshd: ALL` (or your network) to \
              /etc/hosts.allow, or remove the deny line.",
        safety: "Low: hosts.allow is read on each connection; nothing restarts.",
    },
    check,
    fix: None,
};

/// The daemon list of a hosts_access line (`file:daemons: clients`) names sshd.
fn names_sshd(line: &str) -> bool {
    let content = line.split_once(':').map_or(line, |(_, rest)| rest);
    let daemons = content.split(':').next().unwrap_or_default();
    daemons
        .split([',', ' '])
        .any(|d| d.trim() == "sshd" || d.trim() == "ALL")
}

fn check(facts: &Facts) -> Option<Finding> {
    if !facts.sshd.libwrap {
        return None;
    }
    let lines = |file: &str| -> Vec<&String> {
        facts
            .hosts_access
            .iter()
            .filter(|l| l.starts_with(file) && names_sshd(l))
            .collect()
    };
    let deny = lines("/etc/hosts.deny");
    if deny.is_empty() {
        return None;
    }
    let allow = lines("/etc/hosts.allow");
    let mut evidence: Vec<String> = deny.iter().map(|l| l.to_string()).collect();
    evidence.extend(allow.iter().map(|l| l.to_string()));
    evidence.extend(recent_log(facts, 2, &["refused connect"]));
    let finding = RULE.finding(
        "/etc/hosts.deny refuses connections to sshd",
        evidence,
        "add `sshd: ALL` to /etc/hosts.allow, or remove the deny line",
    );
    // An allow line may exempt the administrator's address: a warning then.
    Some(if allow.is_empty() {
        finding
    } else {
        finding.downgraded(Severity::Warning)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_hosts_deny_naming_sshd() {
        assert_rule(
            &RULE,
            &debian_text(&[("@hosts_access\n", "@hosts_access\n/etc/hosts.deny:sshd: ALL\n")]),
        );
    }
}
