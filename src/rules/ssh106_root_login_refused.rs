//! SSH106: root is the user, and sshd does not let root in.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH106",
    name: "root-login-refused",
    title: "sshd does not let root log in",
    category: Category::Configuration,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "When the login user is root: PermitRootLogin `no` or `forced-commands-only`, or \
               `prohibit-password` while root has no authorized key.",
        why: "sshd refuses root (`ROOT LOGIN REFUSED`) or accepts only keys root does not \
              have; Azure Linux ships `PermitRootLogin no`.",
        fix: "`lifeline rescue` leaves this to you: log in as an administrator and use sudo. \
              If root access is required, `PermitRootLogin prohibit-password` and a key for \
              root (`lifeline user reset-key root`), never password logins for root.",
        safety: "Medium: root logins widen exposure; lifeline asks first.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    if !user_is_root(facts) {
        return None;
    }
    let setting = facts.config.get("permitrootlogin")?;
    let title = match setting {
        "no" | "forced-commands-only" => {
            format!("PermitRootLogin {setting} refuses root logins")
        }
        "prohibit-password" | "without-password" if facts.authorized_key_count() == 0 => {
            format!("PermitRootLogin {setting} needs a key, and root has none")
        }
        _ => return None,
    };
    Some(RULE.finding(
        title,
        vec![config_ref(facts, "permitrootlogin", "PermitRootLogin")],
        "log in as an administrator and use sudo; or install a key for root",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_root_has_no_way_in() {
        assert_rule(&RULE, &fixture("azurelinux-3-root-no-key"));
    }
}
