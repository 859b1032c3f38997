//! SSH305: the account's expiry date has passed.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH305",
    name: "account-expired",
    title: "the user's account has expired",
    category: Category::Accounts,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "The account expiry date in /etc/shadow (`chage -l`'s Account expires) against \
               the guest's date.",
        why: "An expired account cannot log in by any method (`Your account has expired; \
              please contact your system administrator`); resetting the password does not \
              clear it.",
        fix: "lifeline removes the expiry date (`chage -E -1 USER`).",
        safety: "Low, but the expiry may have been deliberate; lifeline asks first.",
    },
    check,
    fix: Some(fix::account_usable),
};

fn check(facts: &Facts) -> Option<Finding> {
    let (expires, today) = (facts.account.expires?, facts.account.today?);
    if expires <= 0 || today < expires {
        return None;
    }
    Some(RULE.finding(
        format!(
            "{}'s account expired {} day(s) ago",
            facts.user,
            today - expires
        ),
        vec![format!(
            "shadow: account expires on day {expires}; today is day {today} (days since 1970)"
        )],
        format!("chage -E -1 {}", facts.user),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_an_expired_account() {
        assert_rule(&RULE, &fixture("sles-15-privsep-and-expired"));
    }
}
