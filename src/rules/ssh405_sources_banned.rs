//! SSH405: addresses banned from sshd (fail2ban, sshguard, by hand).

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH405",
    name: "sources-banned",
    title: "some client addresses are banned",
    category: Category::Network,
    severity: Severity::Warning,
    kind: Kind::Cause,
    docs: Docs {
        what: "fail2ban's ban list for its sshd jail, and iptables rules that drop or reject \
               specific source addresses (fail2ban's f2b-* chains, sshguard, manual bans).",
        why: "A banned client times out or is refused while everyone else gets in; an \
              administrator who mistyped a password a few times bans their own address.",
        fix: "`lifeline rescue` leaves this to you: it shows the bans; remove yours with \
              `fail2ban-client set sshd unbanip ADDRESS` and add your address to fail2ban's \
              ignoreip.",
        safety: "Low: unbanning one address; the others stay banned.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    let fw = &facts.firewall;
    let mut banned: Vec<String> = fw.fail2ban_banned.clone().unwrap_or_default();
    if let Some(table) = &fw.iptables {
        for source in table.banned_sources() {
            if !banned.iter().any(|b| source.starts_with(b.as_str())) {
                banned.push(source);
            }
        }
    }
    if banned.is_empty() {
        return None;
    }
    let shown: Vec<&str> = banned.iter().take(10).map(String::as_str).collect();
    Some(RULE.finding(
        format!("{} client address(es) are banned from SSH", banned.len()),
        vec![format!("banned: {}", shown.join(", "))],
        "fail2ban-client set sshd unbanip ADDRESS (for your own address)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_fail2ban_ban() {
        assert_rule(
            &RULE,
            &debian_with(|f| f.firewall.fail2ban_banned = Some(vec!["203.0.113.7".into()])),
        );
    }
}
