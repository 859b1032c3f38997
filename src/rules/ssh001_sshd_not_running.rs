//! SSH001: nothing accepts SSH connections. The evidence quotes sshd's own fatal messages from
//! the log, each mapped to what it means (the catalogue below).

use super::*;
use regex::Regex;
use std::sync::LazyLock;
use crate::probe::facts::TestProblem;

pub static RULE: Rule = Rule {
    id: "SSH001",
    name: "sshd-not-running",
    title: "sshd is not running",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Symptom,
    docs: Docs {
        what: "Whether an sshd listener process exists, or a socket unit (ssh.socket on Ubuntu \
               22.10 and later) listens to start one on demand. This is the first check of \
               Azure's guide, `ps -aux | grep ssh`, made exact: per-connection sshd children \
               do not count.",
        why: "With nothing listening every connection is refused at once (`Connection \
              refused`). Something stopped sshd or made it fail; when the probe can tell what, \
              another finding names that cause and comes first. sshd's own last words (its \
              fatal messages in this boot's log) are quoted with what each means: a missing \
              file, a rejected option, no host keys, the privilege-separation directory or \
              user, an address in use or not on this machine, a library or PAM module.",
        fix: "Once the causes are fixed, lifeline resets the unit's failed state and starts it \
              (`systemctl reset-failed`, `systemctl start ssh` or `sshd`, or `ssh.socket` where \
              the socket starts sshd), then checks sshd's banner on every configured port.",
        safety: "Safe: starting sshd changes nothing on disk. If the configuration is invalid \
                 the start fails, sshd -t says why, and nothing else is touched.",
    },
    check,
    fix: Some(|_| Some(Fix::start_service())),
};

/// sshd's fatal messages (sshd.c, servconf.c, sshkey/authfile.c, the dynamic loader) and what
/// each means.
static MESSAGES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"(?i)[^ ]+: No such file or directory$", "a file sshd was told to read is missing (its configuration, an Include, a host key)"),
        (r"Bad configuration option|Unsupported option|bad configuration options|terminating, \d+ bad", "sshd_config (or an option on its command line) holds a line sshd rejects"),
        (r"no hostkeys available", "no host key can be loaded: they are missing, empty or unreadable"),
        (r"UNPROTECTED PRIVATE KEY FILE|Permissions 0\d+ for .* are too open", "a host key is readable by others, so sshd ignores it"),
        (r"Missing privilege separation directory", "the privilege-separation directory (/run/sshd) is missing"),
        (r"Privilege separation user .* does not exist", "the sshd system user is missing"),
        (r"must be owned by root and not group or world-writable", "the privilege-separation directory has unsafe ownership or mode"),
        (r"Address already in use", "another process holds sshd's port"),
        (r"Cannot bind any address|Cannot assign requested address", "sshd may listen on no address: a ListenAddress is not on this machine"),
        (r"error while loading shared libraries", "a library sshd needs is missing or broken"),
        (r"OpenSSL version mismatch", "sshd and the installed OpenSSL do not match (an interrupted upgrade)"),
        (r"PAM unable to dlopen|PAM adding faulty module|pam_.*\.so.*cannot open", "a PAM module the sshd stack names is missing"),
        (r"Couldn't create pid file|Unable to create pid file", "sshd cannot write its PID file where PidFile says"),
        (r"sshd_config line \d+: .*|Included file .* not found|Too many recursive configuration includes", "a configuration line or Include is broken or loops"),
        (r"(?i)load_server_config: .*|fopen .*: ", "sshd cannot open its configuration file"),
        (r"Missing argument|invalid quotes|missing argument", "a configuration line is incomplete (a truncated or corrupted file)"),
    ]
    .into_iter()
    .map(|(pattern, meaning)| (Regex::new(pattern).expect("a valid message pattern"), meaning))
    .collect()
});

/// The last fatal messages sshd logged and what each means, newest last.
fn explained(log: &[String]) -> Vec<(String, &'static str)> {
    let mut found: Vec<(String, &'static str)> = Vec::new();
    for line in log {
        if let Some((_, meaning)) = MESSAGES.iter().find(|(re, _)| re.is_match(line)) {
            found.retain(|(_, m)| m != meaning);
            found.push((line.trim().to_string(), meaning));
        }
    }
    found
}

fn check(facts: &Facts) -> Option<Finding> {
    if facts.sshd_up() {
        return None;
    }
    let mut evidence = vec!["no sshd listener process is running".to_string()];
    if let Some(unit) = facts.service_unit() {
        evidence.push(format!(
            "{}: {} ({}), last result: {}",
            unit.id, unit.active_state, unit.sub_state, unit.result
        ));
    }
    if let Some(script) = facts.init.init_script.as_deref().filter(|_| facts.init.is_sysv()) {
        evidence.push(format!("no systemd (PID 1 is init): {script} starts sshd"));
    } else if let Some(pid1) = facts.init.pid1.as_deref().filter(|p| *p != "systemd") {
        evidence.push(format!(
            "PID 1 is {pid1}, not systemd: an emergency or rescue shell?"
        ));
    }
    // What sshd -t said that no other rule explains.
    evidence.extend(facts.sshd.test.problems.iter().filter_map(|p| match p {
        TestProblem::Other { message } => Some(format!("sshd -t: {message}")),
        _ => None,
    }));
    // sshd's own words, with what they mean where the catalogue knows them.
    let said = explained(&facts.log);
    if said.is_empty() {
        evidence.extend(recent_log(facts, 3, &[]));
    }
    evidence.extend(
        said.into_iter()
            .map(|(line, meaning)| format!("sshd said: \"{line}\": {meaning}")),
    )
;
    Some(RULE.finding(RULE.title, evidence, start(facts)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_sshd_is_stopped() {
        assert_rule(&RULE, &fixture("debian-12-sshd-stopped"));
    }

    #[test]
    fn sshds_words_are_mapped_to_their_meaning() {
        let log: Vec<String> = [
            "Starting ssh.service - OpenBSD Secure Shell server...",
            "/etc/ssh/sshd_config line 3: Bad configuration option: Bogus",
            "/etc/ssh/sshd_config: terminating, 1 bad configuration options",
            "ssh.service: Main process exited, code=exited, status=255/EXCEPTION",
            "Missing privilege separation directory: /run/sshd",
        ]
        .map(String::from)
        .to_vec();
        let found = explained(&log);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].1.contains("rejects"));
        assert!(found[1].0.contains("/run/sshd"));
        assert!(found[1].1.contains("privilege-separation"));
    }
}
