//! SSH301: the user does not exist.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH301",
    name: "user-missing",
    title: "the user does not exist",
    category: Category::Accounts,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether the passwd database (`getent passwd`, so LDAP and SSSD users count) \
               knows the login user.",
        why: "sshd answers an unknown user like a wrong password (`Invalid user azureuser`): \
              `Permission denied` whatever the client offers.",
        fix: "`lifeline rescue` leaves this to you: `lifeline user add USER --sudo` creates \
              the user like Azure's VMAccess does (`useradd -m`, a key or a password sent as \
              a crypt hash, sudo rights in /etc/sudoers.d validated with `visudo -c`).",
        safety: "Medium: a new privileged account; lifeline asks first.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.account.exists || facts.account.today.is_none() {
        return None;
    }
    Some(RULE.finding(
        format!("the user {} does not exist", facts.user),
        vec![format!("getent passwd {}: no such user", facts.user)],
        format!(
            "lifeline user {} --key FILE (creates the account)",
            facts.user
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_the_user_does_not_exist() {
        assert_rule(&RULE, &debian_with(|f| f.account.exists = false));
    }
}
