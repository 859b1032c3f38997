//! SSH203: the privilege-separation directory is missing.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH203",
    name: "privsep-dir-missing",
    title: "the privilege-separation directory is missing",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether the directory sshd chroots its unprivileged child into exists: the one \
               `sshd -t` names, else the distribution's (/run/sshd on Debian and Ubuntu, \
               /var/empty/sshd on the RHEL family, /var/lib/empty on SUSE, /var/lib/sshd on \
               Azure Linux). On Debian and Ubuntu the unit creates /run/sshd when it starts \
               (RuntimeDirectory), and without systemd Debian's /etc/init.d/ssh does, so its \
               absence while sshd is stopped is normal and not reported.",
        why: "sshd checks the directory at start and for every new connection (`Missing \
              privilege separation directory: /run/sshd`): a running sshd closes each new \
              connection before its banner.",
        fix: "lifeline creates the directory owned by root with mode 0755; on Debian and \
              Ubuntu a restart of ssh.service re-creates it as well.",
        safety: "Safe: an empty root-owned directory.",
    },
    check,
    fix: Some(privsep::dir_fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let dirs = privsep::expected_dirs(facts);
    if dirs.is_empty() || !dirs.iter().all(|d| facts.file(d) == Some(None)) {
        return None;
    }
    let dir = &dirs[0];
    // systemd creates a RuntimeDirectory when it starts the unit: missing while stopped is
    // how it should be.
    let created_on_start = facts.service_unit().is_some_and(|u| {
        !u.is_active()
            && u.runtime_directory
                .iter()
                .any(|r| *dir == format!("/run/{r}") || *dir == format!("/var/run/{r}"))
    });
    // Without systemd, Debian's init script creates /run/sshd when it starts sshd: after a
    // boot that did not start it (no start links), the directory is missing as it should be.
    let created_by_init_script = facts.init.is_sysv()
        && facts.init.init_script.as_deref() == Some("/etc/init.d/ssh")
        && dir == "/run/sshd"
        && !facts.sshd_up();
    if created_on_start || created_by_init_script {
        return None;
    }
    let mut evidence = vec![format!("{dir}: missing")];
    if facts.sshd_up() {
        evidence.push("sshd is running, so every new connection fails".into());
    }
    Some(RULE.finding(
        format!("the privilege-separation directory {dir} is missing"),
        evidence,
        format!("mkdir -p {dir} && chown root:root {dir} && chmod 0755 {dir}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_the_directory_is_missing() {
        assert_rule(&RULE, &fixture("sles-15-privsep-and-expired"));
    }

    /// sysvinit: /run/sshd missing after a boot that did not start sshd is how it should be;
    /// with sshd running it fails every connection.
    #[test]
    fn sysvinit_stopped_sshd_lacks_run_sshd_as_it_should() {
        let mut facts = fixture("debian-12-sysvinit-healthy");
        facts.files.insert("/run/sshd".into(), None);
        facts.files.insert("/var/run/sshd".into(), None);
        assert_rule(&RULE, &facts);
        facts.processes.clear();
        assert_eq!((RULE.check)(&facts), None);
    }
}
