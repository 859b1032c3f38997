//! SSH003: there is no sshd binary.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH003",
    name: "sshd-not-installed",
    title: "sshd is not installed",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Looks for the sshd binary in PATH, /usr/sbin, /usr/bin and /sbin.",
        why: "Without the server there is nothing to start: the unit fails (`Unit ssh.service \
              could not be found` or an ExecStart error) and clients are refused.",
        fix: "`lifeline rescue` leaves this to you, since it needs the package mirror: it \
              shows the reinstall command for the distribution (`apt-get install --reinstall \
              openssh-server`, `dnf reinstall openssh-server`, `zypper install --force \
              openssh-server`, `tdnf reinstall openssh-server`); configuration files are \
              kept.",
        safety: "Needs the package repositories to be reachable from the VM. Package managers \
                 keep modified configuration files (Debian conffiles, RPM .rpmnew).",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    // An sshd that lost its execute bit is installed: SSH012 gives it its mode back.
    let unusable = facts
        .sshd_files
        .files
        .iter()
        .any(|f| f.path.ends_with("/sshd") && f.stat.is_some());
    if facts.sshd.binary.is_some() || unusable {
        return None;
    }
    Some(RULE.finding(
        RULE.title,
        vec!["no sshd in PATH, /usr/sbin, /usr/bin or /sbin".into()],
        reinstall_command(facts),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_without_an_sshd_binary() {
        assert_rule(
            &RULE,
            &debian_with(|f| {
                f.sshd.binary = None;
                f.sshd_files.files.retain(|f| !f.path.ends_with("/sshd"));
            }),
        );
    }
}
