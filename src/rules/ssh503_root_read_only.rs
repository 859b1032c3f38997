//! SSH503: the root file system is mounted read-only.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH503",
    name: "root-read-only",
    title: "the root file system is read-only",
    category: Category::Resources,
    severity: Severity::Warning,
    kind: Kind::Cause,
    docs: Docs {
        what: "The mount options of / in /proc/mounts.",
        why: "The kernel remounts / read-only after a file system error (`errors=remount-ro`), \
              and emergency shells mount it read-only: services that write fail, and no \
              repair can be saved until it is writable again.",
        fix: "`lifeline rescue` leaves this to you: check the kernel log for file system \
              errors; without errors `mount -o remount,rw /`, with errors an offline fsck \
              (`az vm repair`).",
        safety: "High if the file system is damaged: writing to it can make things worse, \
                 which is why lifeline looks at the errors first.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    let options = facts.root_mount_options.as_ref()?;
    if !options.iter().any(|o| o == "ro") {
        return None;
    }
    Some(RULE.finding(
        "the root file system is mounted read-only: nothing can be repaired until it is writable",
        vec![format!("/ is mounted with {}", options.join(","))],
        "dmesg | grep -iE 'EXT4-fs error|XFS.*corrupt|remount'; if clean: mount -o remount,rw /",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_read_only_root() {
        assert_rule(
            &RULE,
            &debian_with(|f| f.root_mount_options = Some(vec!["ro".into()])),
        );
    }
}
