//! SSH202: private host keys others can read, which sshd ignores.

use super::*;
use crate::probe::facts::TestProblem;

pub static RULE: Rule = Rule {
    id: "SSH202",
    name: "host-key-permissions",
    title: "private host keys are readable by others",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "The owner and mode of each private host key sshd is configured to load: it \
               must be root's with no group or other permissions (0600), or, on the RHEL \
               family, 0640 with group ssh_keys.",
        why: "sshd ignores a private key others can read (`Permissions 0644 for \
              '/etc/ssh/ssh_host_rsa_key' are too open`). When no usable key is left sshd \
              exits at start and a running sshd drops every new connection before its banner; \
              with some keys left, clients pinned to the ignored key type see a changed host \
              key (a warning).",
        fix: "lifeline sets `chown root:root` and `chmod 600` on the private keys (0644 on the \
              .pub files) and restarts sshd.",
        safety: "Safe: only ownership and modes change; the keys, and so the fingerprints, \
                 stay.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let rhel_group_ok = matches!(facts.os.family, Family::Rhel | Family::AzureLinux);
    let mut open = Vec::new();
    let mut usable = 0;
    for key in &facts.host_keys {
        let Some(Some(stat)) = facts.file(key) else {
            continue;
        };
        let allowed = stat.mode & 0o077 == 0
            || (rhel_group_ok && stat.mode == 0o640 && stat.group == "ssh_keys");
        if allowed && stat.uid == 0 {
            usable += 1;
        } else {
            open.push(format!("{key}: {}", stat.describe()));
        }
    }
    if open.is_empty() {
        return None;
    }
    open.extend(facts.sshd.problems().filter_map(|p| match p {
        TestProblem::HostKeyTooOpen { path, mode } => Some(format!(
            "sshd -t: Permissions {mode} for '{path}' are too open"
        )),
        _ => None,
    }));
    let title = if usable == 0 {
        "every host key is readable by others, so sshd ignores them all"
    } else {
        "some host keys are readable by others, so sshd ignores them"
    };
    let finding = RULE.finding(
        title,
        open,
        format!(
            "chown root:root /etc/ssh/ssh_host_*_key && chmod 600 /etc/ssh/ssh_host_*_key && {}",
            restart(facts)
        ),
    );
    Some(if usable > 0 {
        finding.downgraded(Severity::Warning)
    } else {
        finding
    })
}

fn fix(facts: &Facts) -> Option<Fix> {
    Some(Fix::for_host_keys(
        facts,
        "make the private host keys root's alone",
        "ll_host_key_modes",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_host_key_others_can_read() {
        assert_rule(
            &RULE,
            &debian_with(|f| stat(f, "/etc/ssh/ssh_host_ed25519_key").mode = 0o644),
        );
    }
}
