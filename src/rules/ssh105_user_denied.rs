//! SSH105: DenyUsers or DenyGroups names the user.

use super::*;
use crate::probe::sshd_config::glob_matches;

pub static RULE: Rule = Rule {
    id: "SSH105",
    name: "user-denied",
    title: "DenyUsers or DenyGroups names the user",
    category: Category::Configuration,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether a DenyUsers pattern (without a host part) matches the user, or a \
               DenyGroups pattern matches one of the user's groups.",
        why: "sshd refuses a denied user after authentication (`User azureuser from … not \
              allowed because listed in DenyUsers`): `Permission denied` with valid \
              credentials.",
        fix: "lifeline removes the matching pattern in the file that sets it, validates with \
              `sshd -t` and reloads sshd.",
        safety: "Low, but it is an access policy: lifeline asks before changing it.",
    },
    check,
    fix: Some(fix),
};

fn check(facts: &Facts) -> Option<Finding> {
    let user = facts.user.as_str();
    let denied_user = facts
        .config
        .all("denyusers")
        .iter()
        .find(|p| !p.contains('@') && glob_matches(p, user));
    let denied_group = facts
        .config
        .all("denygroups")
        .iter()
        .find(|p| facts.account.groups.iter().any(|g| glob_matches(p, g)));
    let (label, keyword, pattern) = match (denied_user, denied_group) {
        (Some(p), _) => ("DenyUsers", "denyusers", p),
        (None, Some(p)) => ("DenyGroups", "denygroups", p),
        (None, None) => return None,
    };
    let mut evidence: Vec<String> = facts
        .config
        .lines_for(keyword)
        .map(|l| format!("{label} {} ({})", l.value, l.location()))
        .collect();
    evidence.extend(recent_log(facts, 2, &["not allowed because"]));
    Some(RULE.finding(
        format!("{label} {pattern} refuses {user}"),
        evidence,
        format!(
            "remove {pattern} from {label}; check with `sshd -t`, then {}",
            restart(facts)
        ),
    ))
}

/// The patterns that refuse the user dropped from each DenyUsers line (the line commented
/// out when none is left); `user@host` patterns are kept.
fn fix(facts: &Facts) -> Option<Fix> {
    let mut edits = Vec::new();
    for line in facts.config.lines_for("denyusers") {
        let keep: Vec<&str> = line
            .value
            .split_whitespace()
            .filter(|p| p.contains('@') || !glob_matches(p, &facts.user))
            .collect();
        if keep.len() == line.value.split_whitespace().count() {
            continue;
        }
        edits.push(if keep.is_empty() {
            LineEdit::comment_out(line, format!("it refused {}", facts.user))
        } else {
            LineEdit::replace(line, format!("DenyUsers {}", keep.join(" ")))
        });
    }
    Some(Fix::edit_config(edits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_deny_users_names_the_user() {
        assert_rule(
            &RULE,
            &debian_config("usepam yes\n", "usepam yes\ndenyusers azureuser\n", "DenyUsers azureuser"),
        );
    }
}
