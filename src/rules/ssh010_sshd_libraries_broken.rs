//! SSH010: sshd cannot load its libraries.

use super::*;
use crate::probe::facts::TestProblem;

pub static RULE: Rule = Rule {
    id: "SSH010",
    name: "sshd-libraries-broken",
    title: "sshd cannot load its shared libraries",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether `ldd` finds every shared library sshd needs, and whether `sshd -t` \
               fails with a loader error or an OpenSSL version mismatch.",
        why: "An interrupted upgrade or a half-removed library leaves sshd unable to start \
              (`error while loading shared libraries`, `OpenSSL version mismatch`), so it is \
              down after the next restart or reboot.",
        fix: "`lifeline rescue` leaves this to you: it shows how to finish the package \
              transaction and reinstall the OpenSSH server (`dpkg --configure -a`, `apt-get \
              install --reinstall openssh-server`, or the dnf/zypper/tdnf equivalent).",
        safety: "Medium: package operations need the repositories and may pull in updates.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    let mut evidence: Vec<String> = facts
        .sshd
        .missing_libs
        .iter()
        .map(|l| format!("ldd: {l}"))
        .collect();
    evidence.extend(facts.sshd.problems().filter_map(|p| match p {
        TestProblem::Library { message } => Some(format!("sshd -t: {message}")),
        _ => None,
    }));
    if evidence.is_empty() {
        return None;
    }
    Some(RULE.finding(RULE.title, evidence, reinstall_command(facts)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_missing_libraries() {
        assert_rule(
            &RULE,
            &debian_with(|f| f.sshd.missing_libs = vec!["libcrypto.so.3 => not found".into()]),
        );
    }
}
