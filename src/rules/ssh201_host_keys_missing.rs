//! SSH201: none of the configured host keys exists.

use super::*;
use crate::probe::facts::TestProblem;

pub static RULE: Rule = Rule {
    id: "SSH201",
    name: "host-keys-missing",
    title: "sshd has no host key",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether every private host key sshd is configured to load (HostKey lines, or \
               the rsa, ecdsa and ed25519 defaults) is missing or empty.",
        why: "Without a host key sshd cannot prove its identity: it exits at start (`sshd: no \
              hostkeys available -- exiting.`), and a running sshd closes every new \
              connection before its banner, since each connection re-reads the keys.",
        fix: "lifeline creates each configured host key that is missing or empty with \
              `ssh-keygen -t TYPE -f PATH` (the type from the file name), backing up what \
              was there, restores SELinux labels, and restarts sshd. Clients see new host \
              key fingerprints.",
        safety: "Low, with one consequence: new host keys change the server's fingerprint, so \
                 clients warn `REMOTE HOST IDENTIFICATION HAS CHANGED` and need their \
                 known_hosts entry updated.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.host_keys.is_empty() {
        return None;
    }
    let mut evidence = Vec::new();
    for key in &facts.host_keys {
        match facts.file(key) {
            Some(None) => evidence.push(format!("{key}: missing")),
            Some(Some(stat)) if stat.size == 0 => evidence.push(format!("{key}: empty")),
            _ => return None,
        }
    }
    if facts.sshd.problems().any(|p| *p == TestProblem::NoHostKeys) {
        evidence.push("sshd -t: no hostkeys available -- exiting.".into());
    }
    Some(RULE.finding(
        "sshd has no host key: every configured key file is missing or empty",
        evidence,
        format!("ssh-keygen -A && {}", restart(facts)),
    ))
}

fn fix(facts: &Facts) -> Option<Fix> {
    Some(Fix::for_host_keys(
        facts,
        "create the missing host keys",
        "ll_host_keys",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_every_host_key_is_missing() {
        assert_rule(
            &RULE,
            &debian_with(|f| {
                for key in f.host_keys.clone() {
                    f.files.insert(key, None);
                }
            }),
        );
    }
}
