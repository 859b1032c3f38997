//! SSH206: StrictModes refuses the user's authorized_keys file itself.

use super::*;
use crate::probe::facts::FileKind;

pub static RULE: Rule = Rule {
    id: "SSH206",
    name: "authorized-keys-unsafe",
    title: "sshd refuses the user's authorized_keys: wrong owner or mode",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "With StrictModes on (the default), each authorized keys file sshd opens for the \
               user must be a regular file owned by the user or root and not writable by group \
               or others (Debian and Ubuntu allow group write when the group is the user's own \
               and has no other member).",
        why: "sshd ignores such a file (`Authentication refused: bad ownership or modes for \
              file …`): key logins fail with `Permission denied (publickey)`, password logins \
              still work.",
        fix: "lifeline sets the owner to the user and the mode to 0600.",
        safety: "Safe: ownership and mode only; the keys stay as they are.",
    },
    check,
    fix: Some(fix::key_paths),
};

fn check(facts: &Facts) -> Option<Finding> {
    if !strict_modes(facts) {
        return None;
    }
    let (path, problem) = existing_key_files(facts).find_map(|(path, stat)| {
        let problem = if stat.kind != FileKind::File {
            Some("not a regular file".to_string())
        } else {
            strict_modes_problem(facts, stat)
        }?;
        Some((path, problem))
    })?;
    let mut evidence = vec![format!("{path}: {problem}")];
    evidence.extend(recent_log(facts, 2, &["bad ownership or modes"]));
    Some(RULE.finding(
        format!("{}'s {path} is {problem}: sshd ignores it", facts.user),
        evidence,
        format!("chown {0}: {path} && chmod 600 {path}", facts.user),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_key_file_anyone_can_write() {
        assert_rule(&RULE, &fixture("debian-12-authorized-keys-0666"));
    }
}
