//! SSH109: the user's keys are where sshd does not look.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH109",
    name: "keys-not-consulted",
    title: "the user's keys are in a file sshd does not consult",
    category: Category::Configuration,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether ~/.ssh/authorized_keys holds keys while AuthorizedKeysFile (for this \
               user) names other files, or `none`, that hold none, and no \
               AuthorizedKeysCommand supplies keys.",
        why: "sshd reads only the files AuthorizedKeysFile names: keys elsewhere are never \
              tried, and the client gets `Permission denied (publickey)`.",
        fix: "lifeline restores `AuthorizedKeysFile .ssh/authorized_keys \
              .ssh/authorized_keys2` in the file that sets it, validates with `sshd -t` and \
              reloads sshd.",
        safety: "Low: that value is OpenSSH's default.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let home = facts.account.home.as_deref()?;
    let default = format!("{}/.ssh/authorized_keys", home.trim_end_matches('/'));
    if facts.key_file_paths.contains(&default)
        || facts.authorized_key_count() > 0
        || facts.config.get("authorizedkeyscommand").unwrap_or("none") != "none"
    {
        return None;
    }
    let keys = facts.key_file(&default)?.valid();
    if keys == 0 {
        return None;
    }
    Some(RULE.finding(
        format!("{}'s {keys} key(s) in {default} are never read", facts.user),
        vec![config_ref(facts, "authorizedkeysfile", "AuthorizedKeysFile")],
        format!(
            "set `AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2`, check with `sshd -t`, then {}",
            restart(facts)
        ),
    ))
}

/// .ssh/authorized_keys added to what is configured (others may rely on it), unless that is
/// `none`.
fn fix(facts: &Facts) -> Option<Fix> {
    let origin = facts.config.origin("authorizedkeysfile")?;
    let kept = match origin.value.as_str() {
        "none" => String::new(),
        value => format!(" {value}"),
    };
    let text = format!("AuthorizedKeysFile .ssh/authorized_keys{kept}");
    Some(Fix::edit_config(vec![LineEdit::replace(origin, text)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_the_default_key_file_is_not_consulted() {
        let mut facts = debian_config("authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2", "authorizedkeysfile .ssh/other", "AuthorizedKeysFile .ssh/other");
        facts.key_file_paths = vec!["/home/azureuser/.ssh/other".into()];
        assert_rule(&RULE, &facts);
    }
}
