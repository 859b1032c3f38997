//! SSH207: StrictModes refuses a directory on the way to authorized_keys.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH207",
    name: "key-path-unsafe",
    title: "a directory on the path to authorized_keys has the wrong owner or mode",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "With StrictModes on, every directory from the authorized keys file up to the \
               home directory (or up to / for a file outside it) must be owned by the user or \
               root and not writable by group or others, as sshd's `safe_path` checks.",
        why: "A home directory made world-writable (`chmod 777 ~`) or a .ssh owned by someone \
              else makes sshd ignore the keys (`Authentication refused: bad ownership or \
              modes for directory /home/azureuser`): `Permission denied (publickey)`.",
        fix: "lifeline removes group and other write permission (`chmod go-w`) from the \
              offending directories, fixes their owner, and sets .ssh to 0700.",
        safety: "Safe: `go-w` keeps everything the owner and readers had; lifeline never \
                 applies 0700 to the home directory itself.",
    },
    check,
    fix: Some(fix::key_paths),
};

fn check(facts: &Facts) -> Option<Finding> {
    if !strict_modes(facts) {
        return None;
    }
    let home = facts.account.home.as_deref()?;
    let mut bad: Vec<(String, String)> = Vec::new();
    for (file, _) in existing_key_files(facts) {
        for dir in strict_modes_dirs(file, home) {
            let Some(Some(stat)) = facts.file(&dir) else {
                continue;
            };
            if let Some(problem) = strict_modes_problem(facts, stat)
                && !bad.iter().any(|(d, _)| *d == dir)
            {
                bad.push((dir, problem));
            }
        }
    }
    let (dir, problem) = bad.first()?.clone();
    let mut evidence: Vec<String> = bad.iter().map(|(d, p)| format!("{d}: {p}")).collect();
    evidence.extend(recent_log(facts, 2, &["bad ownership or modes"]));
    let dirs: Vec<&str> = bad.iter().map(|(d, _)| d.as_str()).collect();
    Some(RULE.finding(
        format!("{dir} is {problem}: sshd ignores {}'s keys", facts.user),
        evidence,
        format!("chmod go-w {}", dirs.join(" ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_home_anyone_can_write() {
        assert_rule(&RULE, &debian_with(|f| stat(f, "/home/azureuser").mode = 0o777));
    }
}
