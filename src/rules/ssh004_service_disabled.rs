//! SSH004: the sshd unit does not start at boot.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH004",
    name: "service-disabled",
    title: "the sshd service is disabled",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether ssh.service (Debian, Ubuntu) or sshd.service (elsewhere) is enabled, \
               unless an enabled ssh.socket starts sshd on demand, which is the normal setup on \
               Ubuntu 22.10 and later. Without systemd (sysvinit), whether /etc/init.d/ssh has \
               start links in /etc/rc[2345].d.",
        why: "A disabled service is not started at boot: SSH works until the next reboot and \
              is refused after it. When sshd is not running now, this is why it did not come \
              back.",
        fix: "lifeline enables and starts the unit (`systemctl enable --now ssh`, or `sshd`); \
              without systemd it adds the init script's links (`update-rc.d ssh defaults`) and \
              starts it.",
        safety: "Safe: enabling only adds the unit's install symlinks (or the rc links).",
    },
    check,
    fix: Some(|_| Some(Fix::start_service())),
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.init.is_sysv() {
        return sysv_check(facts);
    }
    let unit = facts.service_unit()?;
    if unit.is_masked() || unit.is_enabled() || unit.unit_file_state.is_empty() {
        return None;
    }
    if facts
        .socket_unit()
        .is_some_and(|s| s.is_enabled() && !s.is_masked())
    {
        return None;
    }
    let finding = RULE.finding(
        format!("{} is disabled: it does not start at boot", unit.id),
        vec![format!(
            "{}: UnitFileState={}, ActiveState={}",
            unit.id, unit.unit_file_state, unit.active_state
        )],
        format!("systemctl enable --now {}", facts.service_name()),
    );
    Some(if facts.sshd_up() {
        finding.downgraded(Severity::Warning)
    } else {
        finding
    })
}

/// Without systemd, "enabled" means start links in the runlevels' rc directories.
fn sysv_check(facts: &Facts) -> Option<Finding> {
    let script = facts.init.init_script.as_deref()?;
    if !facts.init.boot_links.is_empty() {
        return None;
    }
    let name = script.rsplit('/').next().unwrap_or(script);
    let finding = RULE.finding(
        format!("{script} has no start links: sshd does not start at boot"),
        vec![format!("no /etc/rc[2345].d/S??{name} link")],
        format!("update-rc.d {name} defaults && {script} start"),
    );
    Some(if facts.sshd_up() {
        finding.downgraded(Severity::Warning)
    } else {
        finding
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_disabled_service() {
        assert_rule(
            &RULE,
            &debian_with(|f| unit(f, "ssh.service").unit_file_state = "disabled".into()),
        );
    }

    /// sysvinit: no units; an init script without start links does not start at boot.
    fn sysv(links: &[&str]) -> Facts {
        debian_with(|f| {
            f.units.clear();
            f.processes.clear();
            f.init.pid1 = Some("init".into());
            f.init.init_script = Some("/etc/init.d/ssh".into());
            f.init.boot_links = links.iter().map(|l| l.to_string()).collect();
        })
    }

    #[test]
    fn fires_on_an_init_script_without_start_links() {
        let finding = assert_rule(&RULE, &sysv(&[]));
        assert_eq!(finding.fix, "update-rc.d ssh defaults && /etc/init.d/ssh start");
        assert_eq!((RULE.check)(&sysv(&["/etc/rc2.d/S01ssh"])), None);
    }
}
