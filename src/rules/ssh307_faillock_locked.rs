//! SSH307: pam_faillock locked the user after failed logins.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH307",
    name: "faillock-locked",
    title: "pam_faillock has locked the user",
    category: Category::Accounts,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Where pam_faillock is configured (RHEL 8 and 9, SLES 15), the user's recorded \
               failures against the `deny` threshold of /etc/security/faillock.conf (3 by \
               default).",
        why: "Once locked, even the right password is refused until the lock times out; a \
              brute-force attempt from the Internet locks the administrator out.",
        fix: "lifeline resets the counter (`faillock --user USER --reset`).",
        safety: "Safe: only the failure records are cleared.",
    },
    check,
    fix: Some(fix::account_usable),
};

fn check(facts: &Facts) -> Option<Finding> {
    let failures = facts.account.faillock_failures?;
    let deny = facts.account.faillock_deny.unwrap_or(3);
    if deny == 0 || failures < deny {
        return None;
    }
    Some(RULE.finding(
        format!(
            "pam_faillock has locked {} after {failures} failed logins",
            facts.user
        ),
        vec![format!(
            "faillock: {failures} failures recorded, deny = {deny}"
        )],
        format!("faillock --user {} --reset", facts.user),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_faillock_lockout() {
        assert_rule(&RULE, &fixture("rhel-9-ssh-labels-faillock"));
    }
}
