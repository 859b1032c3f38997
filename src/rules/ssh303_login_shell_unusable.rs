//! SSH303: the login shell refuses logins or does not exist.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH303",
    name: "login-shell-unusable",
    title: "the user's login shell refuses logins or does not exist",
    category: Category::Accounts,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "The user's login shell: nologin and false refuse logins; a shell that does not \
               exist or is not executable cannot start.",
        why: "Authentication succeeds, then the session ends at once (`This account is \
              currently not available.`); sshd logs `User azureuser not allowed because shell \
              … does not exist` for a missing one.",
        fix: "lifeline sets the shell to /bin/bash, or /bin/sh where bash is missing \
              (`usermod -s`).",
        safety: "Low: changes only the user's shell.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let shell = facts.account.shell.as_deref().filter(|s| !s.is_empty())?;
    let refuses = shell.ends_with("/nologin") || shell.ends_with("/false");
    let problem = if refuses {
        "refuses logins"
    } else if !facts.account.shell_executable
        // A shell that lost its execute bit gets it back from SSH012, rather than the user
        // another shell.
        && !super::ssh012_system_file_modes::restores(facts, shell)
    {
        "does not exist or is not executable"
    } else {
        return None;
    };
    Some(RULE.finding(
        format!("{}'s login shell {shell} {problem}", facts.user),
        vec![format!("passwd: {} … {shell}", facts.user)],
        format!("usermod -s /bin/bash {}", facts.user),
    ))
}

fn fix(facts: &Facts) -> Option<Fix> {
    Some(Fix::for_user(
        facts,
        Phase::Account,
        format!("give {} a login shell", facts.user),
        "ll_login_shell",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_a_nologin_shell() {
        assert_rule(
            &RULE,
            &debian_with(|f| f.account.shell = Some("/usr/sbin/nologin".into())),
        );
    }
}
