//! SSH501: a file system that logins and repairs need is full.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH501",
    name: "disk-full",
    title: "a file system is full",
    category: Category::Resources,
    severity: Severity::Warning,
    kind: Kind::Cause,
    docs: Docs {
        what: "Space left on /, /var, /home, /tmp and /run (`df`): 98 % used or less than \
               1 MiB available.",
        why: "A full disk rarely stops a running sshd (on Debian 12 key and password logins \
              still work with / and /run at 100 %), but it breaks what depends on writing: \
              services at boot (networking, cloud-init, the Azure agent, host key \
              generation), logs, session setup that writes to the home directory, and every \
              repair. Hence a warning: it is a cause when the boot or a service failed, and \
              it blocks fixes.",
        fix: "lifeline shows the largest directories and frees space safely: `journalctl \
              --vacuum-size=100M`, the package cache (`apt-get clean`, `dnf clean all`), \
              rotated logs; it never deletes under /var/lib.",
        safety: "Medium: lifeline deletes only caches and rotated logs, and lists anything \
                 else for you to decide.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let full: Vec<&crate::probe::facts::Disk> = facts
        .disks
        .iter()
        .filter(|d| d.used_percent >= 98 || d.available_kib < 1024)
        .collect();
    let first = full.first()?;
    let evidence = full
        .iter()
        .map(|d| {
            format!(
                "{} ({}): {} % used, {} KiB available",
                d.mount, d.filesystem, d.used_percent, d.available_kib
            )
        })
        .collect();
    Some(RULE.finding(
        format!("the file system on {} is full", first.mount),
        evidence,
        format!(
            "free space on {}: journalctl --vacuum-size=100M; clean the package cache; du -xh --max-depth=2 {} | sort -h | tail",
            first.mount, first.mount
        ),
    ))
}

fn fix(_: &Facts) -> Option<Fix> {
    Some(Fix::step(
        Phase::Resources,
        "free disk space by safe means",
        vec![Call::bare("ll_free_space")],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_full_disk() {
        assert_rule(&RULE, &debian_with(|f| f.disks[0].used_percent = 100));
    }
}
