//! SSH002: sshd runs, but not on the port its configuration names.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH002",
    name: "sshd-not-listening",
    title: "sshd does not listen on its configured port",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Symptom,
    docs: Docs {
        what: "Compares the ports of the effective configuration (`sshd -T`, or the config \
               files with Include drop-ins) with the sockets sshd actually listens on (`ss`, \
               `netstat` or /proc/net/tcp). The second check of Azure's guide, `grep Port \
               /etc/ssh/sshd_config`, done against what is really open.",
        why: "Clients connect to the configured port; if sshd still listens on an old one \
              (the file was edited but sshd not restarted) or could not bind it, they get \
              `Connection refused` there.",
        fix: "lifeline restarts sshd so that it binds what the configuration says, after \
              validating the configuration with `sshd -t`, and checks the banner on each \
              configured port.",
        safety: "Safe: a restart keeps open sessions; if the new configuration cannot bind, \
                 the log line explains why and the previous state is restored.",
    },
    check,
    fix: Some(|_| Some(Fix::restart())),
};

fn check(facts: &Facts) -> Option<Finding> {
    if !facts.sshd_up() || facts.socket_activated() || facts.listen_tool.is_none() {
        return None;
    }
    let listening = facts.sshd_listen_ports();
    let missing: Vec<u16> = facts
        .config
        .ports()
        .into_iter()
        .filter(|p| !listening.contains(p))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut evidence = vec![
        config_ref(facts, "port", "Port"),
        format!("sshd listens on: {}", port_list(&listening)),
    ];
    evidence.extend(recent_log(facts, 3, &["Bind to port", "Cannot bind"]));
    Some(RULE.finding(
        format!(
            "sshd does not listen on port {} as configured",
            port_list(&missing)
        ),
        evidence,
        format!("sshd -t && {}", restart(facts)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_configured_port_nothing_listens_on() {
        assert_rule(&RULE, &debian_text(&[("port 22\n", "port 22\nport 2222\n")]));
    }
}
