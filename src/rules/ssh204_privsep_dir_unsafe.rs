//! SSH204: the privilege-separation directory has the wrong owner or mode.

use super::*;
use crate::probe::facts::TestProblem;

pub static RULE: Rule = Rule {
    id: "SSH204",
    name: "privsep-dir-unsafe",
    title: "the privilege-separation directory is not root's or is writable",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "The owner and mode of the privilege-separation directory (see SSH203): it must \
               belong to root and not be writable by group or others.",
        why: "sshd refuses to chroot into an unsafe directory (`/run/sshd must be owned by \
              root and not group or world-writable.`) at start and for every new connection.",
        fix: "lifeline sets `chown root:root` and `chmod 0755` on the directory.",
        safety: "Safe: the directory is empty by design.",
    },
    check,
    fix: Some(privsep::dir_fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let named = facts
        .sshd
        .test
        .problems
        .iter()
        .any(|p| matches!(p, TestProblem::PrivsepDirUnsafe { .. }));
    let (dir, stat) = privsep::expected_dirs(facts)
        .into_iter()
        .find_map(|d| {
            let stat = facts.file(&d)??.clone();
            Some((d, stat))
        })?;
    if !named && stat.uid == 0 && stat.mode & 0o022 == 0 {
        return None;
    }
    Some(RULE.finding(
        format!(
            "the privilege-separation directory {dir} is unsafe ({})",
            stat.describe()
        ),
        vec![format!("{dir}: {}", stat.describe())],
        format!("chown root:root {dir} && chmod 0755 {dir}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_writable_directory() {
        assert_rule(&RULE, &debian_with(|f| stat(f, "/run/sshd").mode = 0o777));
    }
}
