//! SSH306: the password has expired or must be changed.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH306",
    name: "password-expired",
    title: "the user's password has expired",
    category: Category::Accounts,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "The password ageing fields of /etc/shadow: a last change of 0 (change forced at \
               next login), or a maximum age that has passed, with or without the inactivity \
               period.",
        why: "PAM's account check runs for every login method, keys included: sshd demands a \
              password change (`You are required to change your password immediately`), \
              which a non-interactive client cannot do; past the inactivity period the account \
              is disabled.",
        fix: "lifeline counts the password as changed today (`chage -d`), which lifts the \
              expiry without touching the ageing policy; `lifeline user reset-password` sets \
              a new one.",
        safety: "Low, but password ageing may be a policy; lifeline asks first.",
    },
    check,
    fix: Some(fix::account_usable),
};

fn check(facts: &Facts) -> Option<Finding> {
    let a = &facts.account;
    let (last, today) = (a.last_change?, a.today?);
    let title = if last == 0 {
        format!(
            "{}'s password must be changed before the next login",
            facts.user
        )
    } else {
        let max = a.max_days.filter(|m| (0..99999).contains(m))?;
        let expired_on = last + max;
        if today < expired_on {
            return None;
        }
        match a.inactive_days {
            Some(inactive) if inactive >= 0 && today >= expired_on + inactive => format!(
                "{}'s password expired {} day(s) ago and the account is now disabled",
                facts.user,
                today - expired_on
            ),
            _ => format!(
                "{}'s password expired {} day(s) ago",
                facts.user,
                today - expired_on
            ),
        }
    };
    Some(RULE.finding(
        title,
        vec![format!(
            "shadow: last change day {last}, maximum age {:?}, inactive {:?}; today is day {today}",
            a.max_days, a.inactive_days
        )],
        format!("chage -d \"$(date +%F)\" -M -1 -I -1 {}", facts.user),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_password_to_change_first() {
        assert_rule(&RULE, &debian_with(|f| f.account.last_change = Some(0)));
    }
}
