//! SSH011: sshd's command line overrides sshd_config (`-p`, `-o`, `-f`, `-h`), put there by a
//! local unit drop-in or an environment file.

use super::*;
use crate::probe::facts::LaunchSetting;

pub static RULE: Rule = Rule {
    id: "SSH011",
    name: "launch-overrides-config",
    title: "sshd's command line overrides sshd_config",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "How systemd starts sshd (`systemctl cat` of the service and its socket: \
               ExecStart, Environment in local drop-ins, ListenStream), /etc/default/ssh's \
               SSHD_OPTS, and without systemd the init script's SSHD_OPTS: whether they pass \
               `-p`, `-o`, `-f` or `-h`, and what the running sshd's command line holds.",
        why: "Options on sshd's command line win over sshd_config: `-p` and `-o Port=` move the \
              port, `-o ListenAddress=` the address, `-o AllowUsers=` shuts users out, `-f` \
              reads another file, `-h` another host key. sshd_config then looks right while \
              sshd does something else, and editing it changes nothing.",
        fix: "lifeline removes exactly the override: the ExecStart and Environment lines of the \
              local drop-in (the file goes when nothing else is left in it), or the value of \
              SSHD_OPTS in the environment file; each file is backed up, then systemd reloads \
              and sshd restarts with the distribution's command line.",
        safety: "Safe: only local overrides go, backed up and undoable; the unit as shipped is \
                 not touched.",
    },
    check,
    fix: Some(fix),
};

/// The flags that make sshd ignore what sshd_config says.
const OVERRIDING: &[&str] = &["-p", "-o", "-f", "-h"];

/// The override flags in a command line or option string (`-p 2222`, `-oPort=2`, `-h FILE`).
pub(crate) fn overriding_flags(command: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut words = command.split_whitespace().peekable();
    while let Some(word) = words.next() {
        let word = word.trim_matches('"');
        let Some(flag) = OVERRIDING.iter().find(|f| word.starts_with(*f)) else {
            continue;
        };
        if word.len() > 2 {
            found.push(word.to_string());
        } else if let Some(value) = words.next() {
            found.push(format!("{flag} {}", value.trim_matches('"')));
        }
    }
    found
}

/// A launch line that overrides sshd_config, and is a local change lifeline may take back.
pub(crate) fn is_override(setting: &LaunchSetting) -> bool {
    let carries_flags = match setting.key.as_str() {
        "ExecStart" => !setting.is_vendor(),
        "Environment" => setting.value.contains("SSHD_OPTS=") && !setting.is_vendor(),
        "SSHD_OPTS" | "OPTIONS" => true,
        _ => false,
    };
    carries_flags && !overriding_flags(&setting.value).is_empty()
}

fn check(facts: &Facts) -> Option<Finding> {
    let overrides: Vec<&LaunchSetting> = facts.launch.iter().filter(|s| is_override(s)).collect();
    if overrides.is_empty() {
        return None;
    }
    let mut evidence: Vec<String> = overrides
        .iter()
        .map(|s| format!("{}: {}={}", s.file, s.key, s.value))
        .collect();
    if let Some(listener) = facts.processes.iter().find(|p| p.is_listener()) {
        evidence.push(format!("the running sshd: {}", listener.args.trim()));
    }
    Some(RULE.finding(
        RULE.title,
        evidence,
        "take the option out of the drop-in or SSHD_OPTS, then systemctl daemon-reload and \
         restart sshd",
    ))
}

/// Takes exactly the override out of each file that holds one (`ll_drop_launch_override`: a
/// local unit goes whole, a drop-in loses its ExecStart=/SSHD_OPTS lines, an environment file's
/// options become empty), then systemd reloads and sshd restarts.
fn fix(facts: &Facts) -> Option<Fix> {
    let files: std::collections::BTreeSet<&str> = facts
        .launch
        .iter()
        .filter(|s| is_override(s))
        .map(|s| s.file.as_str())
        .collect();
    Fix::step_each(
        Phase::SshdNeeds,
        "remove the override of sshd's command line",
        "ll_drop_launch_override",
        files.into_iter().map(|f| vec![f.to_string()]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    fn setting(file: &str, key: &str, value: &str) -> LaunchSetting {
        LaunchSetting {
            file: file.into(),
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn flags_are_found_joined_or_apart() {
        assert_eq!(
            overriding_flags("/usr/sbin/sshd -D -p 2222 -oListenAddress=10.0.0.9 $SSHD_OPTS"),
            ["-p 2222", "-oListenAddress=10.0.0.9"]
        );
        assert_eq!(overriding_flags("\"-o Port=2\""), ["-o Port=2"]);
        assert!(overriding_flags("/usr/sbin/sshd -D $SSHD_OPTS").is_empty());
    }

    #[test]
    fn the_vendor_unit_and_empty_options_are_no_override() {
        let facts = Facts {
            launch: vec![
            setting("/lib/systemd/system/ssh.service", "ExecStart", "/usr/sbin/sshd -D $SSHD_OPTS"),
            setting("/lib/systemd/system/ssh.service", "ExecStartPre", "/usr/sbin/sshd -t"),
            setting("/etc/default/ssh", "SSHD_OPTS", ""),
            ],
            ..Facts::default()
        };
        assert!(check(&facts).is_none());
    }

    #[test]
    fn a_drop_in_and_an_environment_file_are_found() {
        let facts = Facts {
            launch: vec![
            setting("/etc/systemd/system/ssh.service.d/site.conf", "ExecStart", ""),
            setting(
                "/etc/systemd/system/ssh.service.d/site.conf",
                "ExecStart",
                "/usr/sbin/sshd -D -o \"Port=2200\"",
            ),
            setting("/etc/default/ssh", "SSHD_OPTS", "\"-p 2222\""),
            ],
            ..Facts::default()
        };
        let finding = check(&facts).expect("a finding");
        assert_eq!(finding.evidence.len(), 2, "{:?}", finding.evidence);
        assert!(finding.evidence[0].contains("Port=2200"));
        assert!(finding.evidence[1].starts_with("/etc/default/ssh"));
    }

    #[test]
    fn a_sysvinit_scripts_options_and_a_socket_are_read() {
        let facts = Facts {
            launch: vec![
                setting("/lib/systemd/system/ssh.socket", "ListenStream", "22"),
                setting("/etc/init.d/ssh", "SSHD_OPTS", "\"-o Port=2200\""),
            ],
            ..Facts::default()
        };
        let finding = check(&facts).expect("a finding");
        assert_eq!(finding.evidence, ["/etc/init.d/ssh: SSHD_OPTS=\"-o Port=2200\""]);
        let plan = fix(&facts).expect("a fix");
        assert!(format!("{plan:?}").contains("/etc/init.d/ssh"), "{plan:?}");
    }

    #[test]
    fn fires_on_an_override_and_its_fix_renders() {
        let cause = debian_with(|f| {
            f.launch
                .push(setting("/etc/default/ssh", "SSHD_OPTS", "\"-p 2222\""))
        });
        assert_rule(&RULE, &cause);
    }
}
