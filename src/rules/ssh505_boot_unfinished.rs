//! SSH505: the system has not finished booting, or is in maintenance mode.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH505",
    name: "boot-unfinished",
    title: "the system has not finished booting",
    category: Category::Resources,
    severity: Severity::Warning,
    kind: Kind::Cause,
    docs: Docs {
        what: "`systemctl is-system-running`: `starting` or `initializing` (a boot job is \
               still waiting), `maintenance` (emergency or rescue mode), `stopping`.",
        why: "Until the boot finishes systemd keeps /run/nologin in place (non-root logins \
              are refused) and units ordered after the stuck job, sshd among them on some \
              images, do not start; in maintenance mode nothing but the console shell runs.",
        fix: "`lifeline rescue` leaves this to you: `systemctl list-jobs` shows the jobs \
              still waiting; a mount that never appears is usually a data disk missing from \
              /etc/fstab without `nofail`.",
        safety: "No automatic change: the stuck job's owner decides.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    let state = facts.init.system_state.as_deref()?;
    let title = match state {
        "starting" | "initializing" => "the boot has not finished: a boot job is still waiting",
        "maintenance" => "the system is in maintenance (emergency or rescue) mode",
        "stopping" => "the system is shutting down",
        _ => return None,
    };
    Some(RULE.finding(
        title,
        vec![format!("systemctl is-system-running: {state}")],
        "systemctl list-jobs; systemctl --failed",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_in_maintenance_mode() {
        assert_rule(
            &RULE,
            &debian_with(|f| f.init.system_state = Some("maintenance".into())),
        );
    }
}
