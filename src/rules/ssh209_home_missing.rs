//! SSH209: the user's home directory does not exist.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH209",
    name: "home-missing",
    title: "the user's home directory does not exist",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether the home directory in the user's passwd entry exists.",
        why: "Without it there is no ~/.ssh/authorized_keys, so key logins fail, and sessions \
              start in / (`Could not chdir to home directory`). A home on a data disk that \
              did not mount looks the same.",
        fix: "lifeline first checks for an unmounted file system in /etc/fstab; otherwise it \
              creates the home from /etc/skel (`mkhomedir_helper USER`) owned by the user.",
        safety: "Low: a new, empty home; if the old one is on a disk that failed to mount, \
                 fixing the mount is the better repair and lifeline says so.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let home = facts.account.home.as_deref()?;
    if facts.file(home) != Some(None) {
        return None;
    }
    Some(RULE.finding(
        format!("{}'s home directory {home} does not exist", facts.user),
        vec![format!("{home}: missing")],
        format!("mkhomedir_helper {}", facts.user),
    ))
}

fn fix(facts: &Facts) -> Option<Fix> {
    Some(Fix::for_user(
        facts,
        Phase::Account,
        format!("create {}'s home directory", facts.user),
        "ll_home",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_without_the_home_directory() {
        assert_rule(
            &RULE,
            &debian_with(|f| {
                f.files.insert("/home/azureuser".into(), None);
            }),
        );
    }
}
