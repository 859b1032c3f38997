//! SSH210: lines in authorized_keys that are not keys.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH210",
    name: "key-file-malformed",
    title: "authorized_keys has lines sshd cannot read as keys",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Counts the lines of each consulted authorized keys file that carry no key type \
               (`ssh-ed25519`, `ssh-rsa`, `ecdsa-…`, `sk-…`), such as RFC 4716 `---- BEGIN \
               SSH2 PUBLIC KEY ----` blocks or keys wrapped over several lines, and the lines \
               that end in a carriage return (a file edited on Windows). Keys never leave the \
               guest: the probe counts on the guest.",
        why: "sshd skips lines it cannot parse; when no line is left the user has no key and \
              gets `Permission denied (publickey)`. A carriage return glued to the key's base64 \
              spoils that key.",
        fix: "`lifeline rescue` leaves this to you, since only you know which keys belong: \
              convert RFC 4716 keys with `ssh-keygen -i`, join wrapped keys, strip carriage \
              returns; `lifeline user reset-key` installs a clean one.",
        safety: "Low: the file is backed up and rewritten atomically with its owner and mode.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    let file = facts
        .key_files
        .iter()
        .filter(|k| facts.key_file_paths.contains(&k.path))
        .find(|k| k.bad > 0 || k.crlf > 0)?;
    let mut evidence = vec![format!(
        "{}: {} line(s), {} without a key type, {} ending in a carriage return",
        file.path, file.lines, file.bad, file.crlf
    )];
    if !file.types.is_empty() {
        evidence.push(format!("key types found: {}", file.types.join(", ")));
    }
    let finding = RULE.finding(
        if file.bad > 0 {
            format!(
                "{} of the {} line(s) in {} are not keys sshd can read",
                file.bad, file.lines, file.path
            )
        } else {
            format!(
                "{} line(s) of {} end in a carriage return",
                file.crlf, file.path
            )
        },
        evidence,
        format!(
            "sed -i 's/\\r$//' {0}; convert RFC 4716 keys with `ssh-keygen -i -f KEY.pub >> {0}`",
            file.path
        ),
    );
    Some(if file.valid() > 0 {
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
    fn fires_on_a_malformed_key_file() {
        assert_rule(&RULE, &fixture("minimal-busybox-no-systemd"));
    }
}
