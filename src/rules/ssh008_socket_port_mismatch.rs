//! SSH008: the socket that starts sshd listens elsewhere than sshd_config says.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH008",
    name: "socket-port-mismatch",
    title: "ssh.socket listens on other ports than sshd_config names",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Where sshd is socket-activated (Ubuntu 22.10 and later), compares the ports \
               ssh.socket listens on with the Port lines of the effective sshd configuration.",
        why: "With socket activation systemd, not sshd, owns the listening socket: a Port \
              changed in sshd_config has no effect until the socket is regenerated (Ubuntu \
              24.04's sshd-socket-generator runs at daemon-reload) or its override file \
              (/etc/systemd/system/ssh.socket.d/addresses.conf on 22.10–23.10) is edited. \
              Clients using the new port are refused.",
        fix: "lifeline takes the ListenStream= lines out of the socket's local drop-ins \
              (/etc/systemd/system/ssh.socket.d/*.conf; a drop-in left empty goes), runs \
              `systemctl daemon-reload` and restarts ssh.socket, so that the socket's ports \
              come from sshd_config again (through the generator) or from the unit as shipped. \
              sshd_config stays the one place that names the port.",
        safety: "Medium: restarting the socket briefly closes the listener; open sessions stay. \
                 The override file is backed up first.",
    },
    check,
    fix: Some(fix),
};

/// Local drop-ins that pin the socket's ports lose their ListenStream= lines; without one, a
/// daemon-reload and a restart of the socket are the whole fix.
fn fix(facts: &Facts) -> Option<Fix> {
    let local = facts.socket_unit()?.drop_in_paths.iter().filter(|p| {
        p.starts_with("/etc/systemd/system/") && p.ends_with(".conf")
    });
    Fix::step_each(
        Phase::SshdNeeds,
        "take the port override out of the socket's drop-in",
        "ll_drop_socket_listen",
        local.map(|p| vec![p.clone()]),
    )
    .or_else(|| Some(Fix::restart()))
}

fn check(facts: &Facts) -> Option<Finding> {
    if !facts.socket_activated() {
        return None;
    }
    let socket = facts.socket_unit()?;
    let mut socket_ports = socket.listen_ports();
    socket_ports.sort_unstable();
    socket_ports.dedup();
    let mut config_ports = facts.config.ports();
    config_ports.sort_unstable();
    if socket_ports.is_empty() || socket_ports == config_ports {
        return None;
    }
    let mut evidence = vec![
        format!("{} listens on: {}", socket.id, socket.listen.join(", ")),
        config_ref(facts, "port", "Port"),
    ];
    evidence.extend(
        socket
            .drop_in_paths
            .iter()
            .map(|p| format!("socket override: {p}")),
    );
    Some(RULE.finding(
        format!(
            "{} listens on port {}, but sshd_config says {}",
            socket.id,
            port_list(&socket_ports),
            port_list(&config_ports)
        ),
        evidence,
        format!("systemctl daemon-reload && systemctl restart {}", socket.id),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_the_socket_listens_elsewhere() {
        assert_rule(&RULE, &fixture("ubuntu-24.04-socket-port-mismatch"));
    }

    /// A local drop-in that pins the port loses its ListenStream= lines; the generator's own
    /// file under /run is left to the generator.
    #[test]
    fn a_local_drop_in_pinning_the_port_is_taken_out() {
        let mut facts = fixture("ubuntu-24.04-socket-port-mismatch");
        let socket = facts.units.iter_mut().find(|u| u.id == "ssh.socket").unwrap();
        socket
            .drop_in_paths
            .push("/etc/systemd/system/ssh.socket.d/port.conf".into());
        let finding = assert_rule(&RULE, &facts);
        let fix = format!("{:?}", fix(&facts));
        assert!(fix.contains("ll_drop_socket_listen"), "{fix}");
        assert!(fix.contains("/etc/systemd/system/ssh.socket.d/port.conf"), "{fix}");
        assert!(!fix.contains("/run/systemd/generator"), "{fix}");
        assert!(finding.fix.contains("systemctl restart ssh.socket"));
    }
}
