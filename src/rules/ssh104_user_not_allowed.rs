//! SSH104: AllowUsers or AllowGroups leaves the user out.

use super::*;
use crate::probe::sshd_config::glob_matches;

pub static RULE: Rule = Rule {
    id: "SSH104",
    name: "user-not-allowed",
    title: "AllowUsers or AllowGroups leaves the user out",
    category: Category::Configuration,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "When AllowUsers or AllowGroups is set (for the user, Match blocks included), \
               whether the user or one of the user's groups matches one of the patterns.",
        why: "Once either list exists, sshd refuses everyone it does not name, after \
              authentication (`User azureuser from … not allowed because not listed in \
              AllowUsers`): the client sees `Permission denied` with the right key or password.",
        fix: "For AllowUsers, lifeline adds the user to the first global AllowUsers line, \
              validates with `sshd -t` and restarts sshd. For AllowGroups it adds the user's \
              own group, the same way, only when that group is private (the user's primary \
              group, with no other member listed), so it admits no one else; any other group \
              is a policy decision left to you.",
        safety: "Low, but it is an access policy: lifeline asks before widening it.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let user = facts.user.as_str();
    let users = facts.config.all("allowusers");
    if !users.is_empty() && !users.iter().any(|p| user_pattern_matches(p, user)) {
        return Some(found(facts, "AllowUsers", "allowusers", users));
    }
    let groups = facts.config.all("allowgroups");
    let member = |p: &String| facts.account.groups.iter().any(|g| glob_matches(p, g));
    if !groups.is_empty() && !groups.iter().any(member) {
        return Some(found(facts, "AllowGroups", "allowgroups", groups));
    }
    None
}

/// `user` or `user@host`: the user part decides (from some host, the user is allowed).
fn user_pattern_matches(pattern: &str, user: &str) -> bool {
    let user_part = pattern.split('@').next().unwrap_or(pattern);
    glob_matches(user_part, user)
}

fn found(facts: &Facts, label: &str, keyword: &str, list: &[String]) -> Finding {
    let mut evidence: Vec<String> = facts
        .config
        .lines_for(keyword)
        .map(|l| format!("{label} {} ({})", l.value, l.location()))
        .collect();
    if evidence.is_empty() {
        evidence.push(format!("{label} {}", list.join(" ")));
    }
    if keyword == "allowgroups" {
        evidence.push(format!(
            "{} is in: {}",
            facts.user,
            facts.account.groups.join(" ")
        ));
    }
    evidence.extend(recent_log(facts, 2, &["not allowed because"]));
    RULE.finding(
        format!("{label} does not include {}", facts.user),
        evidence,
        format!(
            "add {} to {label}, or remove the {label} line; check with `sshd -t`, then {}",
            facts.user,
            restart(facts)
        ),
    )
}

/// The user added to the first AllowUsers line outside a Match block.
fn fix(facts: &Facts) -> Option<Fix> {
    let users = facts.config.all("allowusers");
    let (keyword, name) = if !users.is_empty()
        && !users.iter().any(|p| user_pattern_matches(p, &facts.user))
    {
        ("allowusers", facts.user.as_str())
    } else {
        ("allowgroups", private_group(facts)?)
    };
    let line = facts.config.lines_for(keyword).find(|l| !l.in_match)?;
    let added = format!("{} {name}", line.text.trim_end());
    Some(Fix::edit_config(vec![LineEdit::replace(line, added)]))
}

/// The user's primary group (`id -Gn` names it first) when no other member is listed in it:
/// allowing it allows the user alone.
fn private_group(facts: &Facts) -> Option<&str> {
    let members = facts.account.primary_group_members.as_ref()?;
    let group = facts.account.groups.first()?;
    members.iter().all(|m| *m == facts.user).then_some(group.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_allow_users_leaves_the_user_out() {
        assert_rule(
            &RULE,
            &debian_config("usepam yes\n", "usepam yes\nallowusers admin\n", "AllowUsers admin"),
        );
    }

    #[test]
    fn allow_groups_gets_the_users_private_group_and_no_other() {
        let facts = debian_config(
            "usepam yes\n",
            "usepam yes\nallowgroups nogroup\n",
            "AllowGroups nogroup",
        );
        assert_rule(&RULE, &facts);
        assert_eq!(
            fix(&facts).unwrap().actions(),
            [crate::rules::fix::Action::EditConfig(vec![LineEdit {
                file: "/etc/ssh/sshd_config".into(),
                line: 200,
                old: "AllowGroups nogroup".into(),
                new: "AllowGroups nogroup azureuser".into(),
                why: String::new(),
            }])]
        );
        let mut shared = facts.clone();
        shared.account.primary_group_members = Some(vec!["azureuser".into(), "eve".into()]);
        assert_eq!(fix(&shared), None);
    }
}
