//! SSH111: a ForceCommand that ends every session at once (`/bin/false`, `nologin`).

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH111",
    name: "forced-command-refuses",
    title: "ForceCommand ends every session of the user",
    category: Category::Configuration,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether the ForceCommand in effect for the user (`sshd -T -C user=…`) is a \
               command that refuses every session: `false` or `nologin`.",
        why: "sshd lets the user authenticate and then runs the forced command instead of the \
              shell or the requested command: the banner answers, the key or password is \
              accepted, and the session closes with a failure. Only a real login shows it.",
        fix: "lifeline comments out the ForceCommand line in the file that sets it, validates \
              with `sshd -t` and restarts sshd.",
        safety: "Low, but a forced command can be an access policy: lifeline asks before \
                 changing it, and the line stays in the file as a comment.",
    },
    check,
    fix: Some(fix),
};

/// Commands that end a session without doing anything.
const REFUSING: &[&str] = &["false", "nologin"];

/// The forced command refuses sessions: its program is `false` or `nologin`.
pub(crate) fn refuses(command: &str) -> bool {
    let program = command.split_whitespace().next().unwrap_or("");
    let name = program.rsplit('/').next().unwrap_or(program);
    REFUSING.contains(&name)
}

fn check(facts: &Facts) -> Option<Finding> {
    let command = facts.config.get("forcecommand")?;
    if !refuses(command) {
        return None;
    }
    let evidence = facts
        .config
        .lines_for("forcecommand")
        .map(|l| format!("ForceCommand {} ({})", l.value, l.location()))
        .collect();
    Some(RULE.finding(
        format!("ForceCommand {command} ends every session of {}", facts.user),
        evidence,
        format!(
            "comment out the ForceCommand line; check with `sshd -t`, then {}",
            restart(facts)
        ),
    ))
}

/// Every ForceCommand line is commented out where the probe saw it: each one ended sessions.
fn fix(facts: &Facts) -> Option<Fix> {
    let edits: Vec<LineEdit> = facts
        .config
        .lines_for("forcecommand")
        .map(|line| LineEdit::comment_out(line, "it ended every session"))
        .collect();
    (!edits.is_empty()).then(|| Fix::edit_config(edits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn false_and_nologin_refuse_and_a_real_command_does_not() {
        assert!(refuses("/bin/false"));
        assert!(refuses("/usr/sbin/nologin"));
        assert!(refuses("false"));
        assert!(!refuses("internal-sftp"));
        assert!(!refuses("/usr/local/bin/audit-shell --log"));
    }

    #[test]
    fn fires_on_a_refusing_forced_command_and_its_fix_renders() {
        assert_rule(
            &RULE,
            &debian_config(
                "forcecommand none",
                "forcecommand /bin/false",
                "ForceCommand /bin/false",
            ),
        );
    }
}
