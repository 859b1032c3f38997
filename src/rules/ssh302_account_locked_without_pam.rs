//! SSH302: a locked account and UsePAM no: sshd refuses every method.

use super::*;
use crate::probe::facts::PasswordState;

pub static RULE: Rule = Rule {
    id: "SSH302",
    name: "account-locked-without-pam",
    title: "the account is locked and sshd does not use PAM",
    category: Category::Accounts,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether the user's password is locked (the shadow hash starts with `!`) while \
               sshd runs with `UsePAM no`.",
        why: "Without PAM sshd checks the lock itself and refuses every method, keys included \
              (`User azureuser not allowed because account is locked`). On RHEL 9 this \
              happens when the Include of sshd_config.d (which carries `UsePAM yes`) is lost, \
              since OpenSSH's own default is `UsePAM no`.",
        fix: "lifeline unlocks the account (`usermod -U`) when a password is behind the \
              lock; for a key-only account, where unlocking would leave it without any \
              password, it restores `UsePAM yes` on the UsePAM line instead (validated with \
              `sshd -t`).",
        safety: "Low: `UsePAM yes` is every supported distribution's setting.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.account.password != Some(PasswordState::Locked)
        || facts.config.flag("usepam") != Some(false)
    {
        return None;
    }
    let mut evidence = vec![
        format!(
            "{}'s password is locked (shadow hash starts with !)",
            facts.user
        ),
        config_ref(facts, "usepam", "UsePAM"),
    ];
    evidence.extend(recent_log(facts, 2, &["account is locked"]));
    Some(RULE.finding(
        format!(
            "{}'s account is locked and sshd does not use PAM (UsePAM no), so sshd refuses every login",
            facts.user
        ),
        evidence,
        format!(
            "set `UsePAM yes`, check with `sshd -t`, then {}; or `usermod -U {}`",
            restart(facts),
            facts.user
        ),
    ))
}

/// Unlocked when a password is behind the lock; otherwise `UsePAM yes` (the distributions'
/// default) comes back, in the file whose line decided (the guest side chooses).
fn fix(facts: &Facts) -> Option<Fix> {
    let mut args = vec![facts.user.clone()];
    args.extend(facts.config.origin("usepam").map(|l| l.file.clone()));
    Some(Fix::step(
        Phase::Account,
        format!("unlock {}", facts.user),
        vec![Call::new("ll_unlock", args)],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_locked_account_without_pam() {
        assert_rule(&RULE, &fixture("rhel-9-usepam-lost-locked"));
    }
}
