//! SSH107: the user has keys but sshd does not accept keys.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH107",
    name: "pubkey-auth-disabled",
    title: "key logins are disabled while the user has keys",
    category: Category::Configuration,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether PubkeyAuthentication is `no` for the user although the user's \
               authorized keys files hold keys.",
        why: "Cloud accounts usually log in only with keys; with key logins off the client \
              gets `Permission denied (password)` or no method at all.",
        fix: "lifeline sets `PubkeyAuthentication yes` in the file that wins (a drop-in that \
              sorts first when Include comes first), validates with `sshd -t` and reloads \
              sshd.",
        safety: "Low: key authentication is OpenSSH's default and the safest method.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.config.flag("pubkeyauthentication") != Some(false) {
        return None;
    }
    let keys = facts.authorized_key_count();
    if keys == 0 {
        return None;
    }
    Some(RULE.finding(
        format!(
            "PubkeyAuthentication is off, so {}'s {keys} key(s) cannot be used",
            facts.user
        ),
        vec![config_ref(
            facts,
            "pubkeyauthentication",
            "PubkeyAuthentication",
        )],
        format!(
            "set `PubkeyAuthentication yes`, check with `sshd -t`, then {}",
            restart(facts)
        ),
    ))
}

fn fix(facts: &Facts) -> Option<Fix> {
    Fix::set_origin(facts, "pubkeyauthentication", "PubkeyAuthentication yes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_pubkey_authentication_is_off() {
        assert_rule(
            &RULE,
            &debian_config("pubkeyauthentication yes", "pubkeyauthentication no", "PubkeyAuthentication no"),
        );
    }
}
