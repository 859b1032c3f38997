//! SSH102: sshd is configured for a port other than 22.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH102",
    name: "port-not-22",
    title: "sshd listens on a port other than 22",
    category: Category::Configuration,
    severity: Severity::Warning,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether the effective configuration leaves out port 22 (the port Azure's NSG \
               rules, `az ssh`, the portal's Connect blade and most clients assume).",
        why: "Clients that use port 22 are refused; the NSG or a load balancer often allows \
              only 22, so even clients that know the new port time out. On SELinux systems \
              sshd cannot bind a port that is not labelled ssh_port_t (see SSH602).",
        fix: "lifeline adds `Port 22` beside the configured port, in the file and at the \
              line that sets it (so the other port keeps working), opens 22 in the guest \
              firewall, validates with `sshd -t` and restarts sshd. Connecting with `ssh -p \
              PORT` after allowing that port in the NSG is the alternative.",
        safety: "Low: the edit is validated and undoable. A warning, not an error: a custom \
                 port can be deliberate.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let ports = facts.config.ports();
    if ports.contains(&22) {
        return None;
    }
    Some(RULE.finding(
        format!("sshd is configured for port {}, not 22", port_list(&ports)),
        vec![config_ref(facts, "port", "Port")],
        format!(
            "connect with `ssh -p {}` (allow it in the NSG), or set `Port 22` and {}",
            ports[0],
            restart(facts)
        ),
    ))
}

/// Port 22 added beside the configured port, and the firewall opened for both.
pub(super) fn fix(facts: &Facts) -> Option<Fix> {
    let origin = facts.config.origin("port")?;
    let text = format!("Port 22\\n{}", origin.text.trim_end());
    Some(Fix::edit_config(vec![LineEdit::replace(origin, text)]).and(fix::open_firewall()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_port_other_than_22() {
        assert_rule(&RULE, &fixture("ubuntu-24.04-socket-port-mismatch"));
    }
}
