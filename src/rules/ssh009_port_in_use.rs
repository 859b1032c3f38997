//! SSH009: another program holds sshd's port.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH009",
    name: "port-in-use",
    title: "another program listens on sshd's port",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether a configured SSH port is held by a process other than sshd or systemd \
               (a container runtime publishing port 22, a second sshd build, an appliance \
               shell).",
        why: "sshd cannot bind a port that is taken (`Bind to port 22 on 0.0.0.0 failed: \
              Address already in use`), and clients reach the other program instead.",
        fix: "lifeline names the process; stopping or reconfiguring it is left to the \
              administrator, since it is someone's workload. Moving sshd to a free port is \
              the alternative (then allow that port in the NSG).",
        safety: "No automatic change: the other program may matter more than SSH.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    let ours = facts.sshd_listen_ports();
    let taken: Vec<String> = facts
        .config
        .ports()
        .into_iter()
        .filter(|p| !ours.contains(p))
        .flat_map(|port| {
            facts.listeners_on(port).filter_map(move |l| {
                let process = l.process.as_deref()?;
                Some(format!(
                    "{}:{port} is held by {process} (pid {})",
                    l.address,
                    l.pid.map_or("?".into(), |p| p.to_string())
                ))
            })
        })
        .collect();
    let first = taken.first()?.clone();
    let mut evidence = taken;
    evidence.extend(recent_log(facts, 2, &["Address already in use"]));
    Some(RULE.finding(
        format!("sshd's port is taken: {first}"),
        evidence,
        "stop or reconfigure that program, then start sshd; or move sshd to a free port",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_another_program_holds_the_port() {
        let held = "LISTEN 0 128 0.0.0.0:2222 0.0.0.0:* users:((\"nginx\",pid=300,fd=3))\n@sshd_t";
        assert_rule(
            &RULE,
            &debian_text(&[("port 22\n", "port 22\nport 2222\n"), ("@sshd_t", held)]),
        );
    }
}
