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
              validates with `sshd -t` and restarts sshd. AllowGroups is left to you: which \
              group to add is a policy decision.",
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
    let line = facts.config.lines_for("allowusers").find(|l| !l.in_match)?;
    let added = format!("{} {}", line.text.trim_end(), facts.user);
    Some(Fix::edit_config(vec![LineEdit::replace(line, added)]))
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
}
