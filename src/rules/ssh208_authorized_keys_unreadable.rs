//! SSH208: the user cannot read their own authorized_keys.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH208",
    name: "authorized-keys-unreadable",
    title: "the user cannot read their authorized_keys",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether an authorized keys file belongs to someone else (typically root, after \
               an edit with sudo) with no read permission for the user.",
        why: "sshd opens the file with the user's privileges (`Could not open user \
              'azureuser' authorized keys '…': Permission denied`), so a root-owned 0600 file \
              passes StrictModes yet yields no keys: `Permission denied (publickey)`.",
        fix: "lifeline gives the file back to the user (`chown USER:`), mode 0600.",
        safety: "Safe: only the owner and mode change; the keys stay as they are.",
    },
    check,
    fix: Some(fix::key_paths),
};

fn check(facts: &Facts) -> Option<Finding> {
    let uid = facts.account.uid?;
    let (path, stat) = existing_key_files(facts).find(|(_, stat)| {
        let by_group = stat.mode & 0o040 != 0
            && (Some(stat.gid) == facts.account.gid || facts.account.groups.contains(&stat.group));
        stat.uid != uid && uid != 0 && stat.mode & 0o004 == 0 && !by_group
    })?;
    Some(RULE.finding(
        format!("{} cannot read {path} ({})", facts.user, stat.describe()),
        vec![format!("{path}: {}", stat.describe())],
        format!("chown {0}: {path} && chmod 600 {path}", facts.user),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_key_file_the_user_cannot_read() {
        assert_rule(
            &RULE,
            &debian_with(|f| stat(f, "/home/azureuser/.ssh/authorized_keys").uid = 0),
        );
    }
}
