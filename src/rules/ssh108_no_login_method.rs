//! SSH108: the user has neither a key nor a usable password.

use super::*;
use crate::probe::facts::PasswordState;

pub static RULE: Rule = Rule {
    id: "SSH108",
    name: "no-login-method",
    title: "the user has no key and cannot log in with a password",
    category: Category::Configuration,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether the user has no key in the authorized keys files sshd consults (and no \
               AuthorizedKeysCommand), while password logins are impossible: \
               PasswordAuthentication and keyboard-interactive are off, or the account has no \
               usable password (locked, `*`, or empty without PermitEmptyPasswords).",
        why: "With no method that can succeed every attempt ends in `Permission denied`; this \
              is the state of a key-only cloud account whose authorized_keys was emptied or \
              deleted.",
        fix: "`lifeline rescue` leaves the choice to you: install a key (`lifeline user \
              reset-key`), or set a new password (`lifeline user reset-password`, sent as a \
              crypt hash, never in clear), which also enables password authentication for \
              that user.",
        safety: "Low for a key. A password widens exposure; lifeline asks first.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.authorized_key_count() > 0
        || facts.config.get("authorizedkeyscommand").unwrap_or("none") != "none"
        || !facts.account.exists
    {
        return None;
    }
    let config = &facts.config;
    let by_password = config.flag("passwordauthentication") == Some(true)
        || (config.flag("kbdinteractiveauthentication") == Some(true)
            && config.flag("usepam") == Some(true));
    let password = facts.account.password?;
    let usable = match password {
        PasswordState::Hashed => true,
        PasswordState::Empty => config.flag("permitemptypasswords") == Some(true),
        PasswordState::Locked | PasswordState::NoPassword | PasswordState::NoEntry => false,
    };
    if by_password && usable {
        return None;
    }
    let mut evidence = vec![format!("no key in {}", facts.key_file_paths.join(", "))];
    if !by_password {
        evidence.push(config_ref(
            facts,
            "passwordauthentication",
            "PasswordAuthentication",
        ));
    }
    if !usable {
        evidence.push(format!("{}'s password: {password:?}", facts.user));
    }
    Some(RULE.finding(
        format!(
            "{} has no authorized key and cannot log in with a password",
            facts.user
        ),
        evidence,
        format!("add a key for {} (lifeline user --key FILE)", facts.user),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_without_a_key_or_a_password_login() {
        let mut facts =
            debian_text(&[("passwordauthentication yes", "passwordauthentication no")]);
        facts.key_files.clear();
        assert_rule(&RULE, &facts);
    }
}
