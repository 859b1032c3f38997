//! SSH502: a file system has no free inodes.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH502",
    name: "inodes-exhausted",
    title: "a file system has run out of inodes",
    category: Category::Resources,
    severity: Severity::Warning,
    kind: Kind::Cause,
    docs: Docs {
        what: "Inode use of /, /var, /home, /tmp and /run (`df -i`): 98 % or more.",
        why: "With no free inode no file can be created although space is left: the same \
              failures as a full disk (SSH501), harder to spot because `df -h` looks fine.",
        fix: "`lifeline rescue` leaves this to you: find the directories with the most files \
              (a runaway cache, mail queue or session store) and delete what is not needed.",
        safety: "No automatic deletion: many small files are usually someone's data.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    let disk = facts
        .disks
        .iter()
        .find(|d| d.inodes_used_percent.is_some_and(|p| p >= 98))?;
    Some(RULE.finding(
        format!("the file system on {} has run out of inodes", disk.mount),
        vec![format!(
            "{} ({}): {} % of inodes used",
            disk.mount,
            disk.filesystem,
            disk.inodes_used_percent.unwrap_or(100)
        )],
        format!(
            "find {} -xdev -type d -size +1M (directories with many entries), then remove what is not needed",
            disk.mount
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_without_free_inodes() {
        assert_rule(&RULE, &debian_with(|f| f.disks[0].inodes_used_percent = Some(100)));
    }
}
