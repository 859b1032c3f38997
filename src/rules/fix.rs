//! A rule's fix as a value: what `lifeline rescue` does about a finding, declared in the rule's
//! own file next to its check. A rule without a fix (`Rule::fix` is `None`, or its fix returns
//! `None` on these facts) leaves the finding to a person.
//!
//! A fix is one or more [`Action`]s: a guest step (the `ll_*` functions of the remedy's
//! `repair.sh`, with arguments taken from the facts), edits to sshd configuration lines (all
//! of a plan's edits are applied by one step), or the plan's final start of sshd. `remedy`
//! orders and renders them; it knows no rule.

use crate::posix_sh::quote;
use crate::probe::facts::Facts;
use crate::probe::sshd_config::ConfigLine;

/// When a step runs: steps run phase by phase (see `remedy::ops::repair`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Space first: every other step writes a backup.
    Resources,
    /// The owners and modes of the programs, libraries and PAM modules everything after runs.
    Files,
    /// What sshd needs to start at all: host keys, the privilege-separation directory and user.
    SshdNeeds,
    /// The configuration edits.
    Config,
    /// The account and its keys.
    Account,
    /// The way in: nologin files, the firewall, SELinux.
    Access,
    /// What the plan's end does to the service.
    Service,
}

/// One call of a guest function, its arguments quoted when rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub function: &'static str,
    pub args: Vec<String>,
    /// Lines fed to the call's standard input, as a here-document ended by [`INPUT_END`]:
    /// content too large for an argument (a package's copy of a library).
    pub input: Option<std::sync::Arc<str>>,
}

/// The line that ends a call's input; [`withhold_inputs`] finds inputs by it.
pub const INPUT_END: &str = "LL_INPUT";

impl Call {
    pub fn new(function: &'static str, args: impl IntoIterator<Item = impl Into<String>>) -> Call {
        Call {
            function,
            args: args.into_iter().map(Into::into).collect(),
            input: None,
        }
    }

    /// The call with `input` on its standard input (lines that never read [`INPUT_END`]:
    /// base64, say).
    pub fn with_input(self, input: std::sync::Arc<str>) -> Call {
        Call {
            input: Some(input),
            ..self
        }
    }

    /// A call without arguments.
    pub fn bare(function: &'static str) -> Call {
        Call {
            function,
            args: Vec::new(),
            input: None,
        }
    }

    /// The shell text of the call: with an input, a group holding the here-document, so that
    /// `&&` can follow it.
    pub fn render(&self) -> String {
        let mut text = self.function.to_string();
        for arg in &self.args {
            text.push(' ');
            text.push_str(&quote(arg));
        }
        match &self.input {
            Some(input) => format!("{{ {text} <<'{INPUT_END}'\n{input}\n{INPUT_END}\n}}"),
            None => text,
        }
    }
}

/// `script` with each call's input replaced by its size: what a plan shows of the package
/// copies it carries (hundreds of kB of base64).
pub fn withhold_inputs(script: &str) -> String {
    let start = format!("<<'{INPUT_END}'\n");
    let end = format!("\n{INPUT_END}\n");
    let mut out = String::with_capacity(script.len().min(1 << 16));
    let mut rest = script;
    while let Some(at) = rest.find(&start) {
        let body = at + start.len();
        let Some(len) = rest[body..].find(&end) else {
            break;
        };
        out.push_str(&rest[..body]);
        out.push_str(&format!("<{} bytes withheld from display>", len));
        rest = &rest[body + len..];
    }
    out.push_str(rest);
    out
}

/// A guest step: its title says what it does; its calls run in order, each only if the one
/// before it succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub phase: Phase,
    pub title: String,
    pub calls: Vec<Call>,
}

impl Step {
    /// The step's shell body.
    pub fn body(&self) -> String {
        let calls: Vec<String> = self.calls.iter().map(Call::render).collect();
        calls.join(" && ")
    }
}

/// One sshd configuration line to change, as the probe saw it: the guest refuses the edit when
/// the line no longer reads `old`. An empty `new` comments the line out, `why` beside it; a
/// `new` holding `\n` becomes several lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineEdit {
    pub file: String,
    pub line: u32,
    pub old: String,
    pub new: String,
    pub why: String,
}

impl LineEdit {
    /// `line` replaced by `new`.
    pub fn replace(line: &ConfigLine, new: impl Into<String>) -> LineEdit {
        LineEdit {
            file: line.file.clone(),
            line: line.line,
            old: line.text.trim_end().to_string(),
            new: new.into(),
            why: String::new(),
        }
    }

    /// `line` commented out, with why.
    pub fn comment_out(line: &ConfigLine, why: impl Into<String>) -> LineEdit {
        LineEdit {
            why: why.into(),
            ..LineEdit::replace(line, "")
        }
    }

    /// The line at `file:line` commented out, if the probe listed it (a line sshd -t rejected
    /// for how it reads may be missing: the config step's pass over what sshd -t still names
    /// takes care of it).
    pub fn comment_out_at(facts: &Facts, file: &str, line: u32, why: &str) -> Option<LineEdit> {
        facts
            .config
            .lines
            .iter()
            .find(|l| l.file == file && l.line == line)
            .map(|l| LineEdit::comment_out(l, why))
    }
}

/// One thing a fix does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The plan's end resets, unmasks, enables and starts sshd whenever it is not running.
    StartService,
    Step(Step),
    /// Configuration edits (possibly none: the config step then only comments out what sshd -t
    /// rejects), applied with those of every other finding by one step.
    EditConfig(Vec<LineEdit>),
}

/// What `lifeline rescue` does about a finding; its first action names the finding's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// Never empty: every constructor gives one action, [`Fix::and`] adds more.
    actions: Vec<Action>,
}

impl Fix {
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    pub fn into_actions(self) -> Vec<Action> {
        self.actions
    }

    /// What the fix does, one entry per call (its input left out: a package copy is named by
    /// the file and checksum it is called with), per configuration edit and for sshd's start.
    /// A fix all of whose parts an earlier round applied would do nothing new, so a rescue
    /// does not run it again; a part left over (one library of two) still counts as new.
    pub fn signatures(&self) -> Vec<String> {
        let mut parts = Vec::new();
        for action in &self.actions {
            match action {
                Action::StartService => parts.push("start sshd".to_string()),
                Action::Step(step) => parts.extend((step.calls.iter()).map(|call| {
                    Call {
                        input: None,
                        ..call.clone()
                    }
                    .render()
                })),
                Action::EditConfig(edits) => parts.extend(
                    (edits.iter())
                        .map(|e| format!("edit {}:{} {:?} -> {:?}", e.file, e.line, e.old, e.new)),
                ),
            }
        }
        parts
    }

    /// Made by files alone and safe where no service manager runs (the break-in's offline
    /// shell): space, /etc/fstab, the modes of programs and libraries, the account and its
    /// keys. Not sshd's start, nor the firewall
    /// or SELinux (they act on the running system), nor what `sshd -t` must judge: with no
    /// /run mounted it fails for want of its privilege-separation directory, and a config
    /// step would take that for a broken configuration.
    pub fn is_offline(&self) -> bool {
        self.actions.iter().all(|action| match action {
            Action::Step(step) => {
                matches!(step.phase, Phase::Resources | Phase::Files | Phase::Account)
            }
            Action::StartService | Action::EditConfig(_) => false,
        })
    }

    /// Fixed by the plan's final service handling.
    pub fn start_service() -> Fix {
        Fix {
            actions: vec![Action::StartService],
        }
    }

    /// Fixed by restarting sshd, though none of its files changed.
    pub fn restart() -> Fix {
        Fix::step(
            Phase::Service,
            "restart sshd at the end",
            vec![Call::bare("ll_want_restart")],
        )
    }

    pub fn step(phase: Phase, title: impl Into<String>, calls: Vec<Call>) -> Fix {
        Fix {
            actions: vec![Action::Step(Step {
                phase,
                title: title.into(),
                calls,
            })],
        }
    }

    /// A step calling `function` once per argument list (none: no fix).
    pub fn step_each(
        phase: Phase,
        title: impl Into<String>,
        function: &'static str,
        each: impl IntoIterator<Item = Vec<String>>,
    ) -> Option<Fix> {
        let calls: Vec<Call> = each
            .into_iter()
            .map(|args| Call::new(function, args))
            .collect();
        (!calls.is_empty()).then(|| Fix::step(phase, title, calls))
    }

    /// A step calling `function` on the user the diagnosis is for.
    pub fn for_user(facts: &Facts, phase: Phase, title: String, function: &'static str) -> Fix {
        Fix::step(
            phase,
            title,
            vec![Call::new(function, [facts.user.as_str()])],
        )
    }

    /// A step calling `function` on every configured host key, then asking for sshd's restart
    /// (a running sshd holds the keys it loaded).
    pub fn for_host_keys(facts: &Facts, title: &str, function: &'static str) -> Fix {
        Fix::step(
            Phase::SshdNeeds,
            title,
            vec![
                Call::new(function, &facts.host_keys),
                Call::bare("ll_want_restart"),
            ],
        )
    }

    pub fn edit_config(edits: Vec<LineEdit>) -> Fix {
        Fix {
            actions: vec![Action::EditConfig(edits)],
        }
    }

    /// The line that decides `keyword` replaced by `text` (no such line: no fix).
    pub fn set_origin(facts: &Facts, keyword: &str, text: &str) -> Option<Fix> {
        let origin = facts.config.origin(keyword)?;
        Some(Fix::edit_config(vec![LineEdit::replace(origin, text)]))
    }

    /// This fix, then `other`'s actions.
    pub fn and(mut self, other: Fix) -> Fix {
        self.actions.extend(other.actions);
        self
    }
}

// ------------------------------------------------------------ fixes several rules share

/// The firewall step, for the ports sshd is configured for after the configuration step.
pub fn open_firewall() -> Fix {
    Fix::step(
        Phase::Access,
        "accept the SSH ports in the guest firewall, now and persistently",
        vec![Call::bare("ll_open_ssh_ports")],
    )
}

/// Every authorized keys file sshd opens for the user, and the directories above it, given the
/// owners and modes StrictModes demands.
pub fn key_paths(facts: &Facts) -> Option<Fix> {
    Fix::step_each(
        Phase::Account,
        format!(
            "give {}'s authorized keys the owners and modes sshd demands",
            facts.user
        ),
        "ll_key_path",
        facts
            .key_file_paths
            .iter()
            .map(|path| vec![facts.user.clone(), path.clone()]),
    )
}

/// The account's expiry, password expiry and failed-login lockout lifted.
pub fn account_usable(facts: &Facts) -> Option<Fix> {
    Some(Fix::for_user(
        facts,
        Phase::Account,
        format!("lift the expiry and lockout of {}", facts.user),
        "ll_account_usable",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call's input reaches its standard input, the calls after it still run, and what is
    /// shown of it is its size.
    #[test]
    fn a_call_with_input_is_fed_its_lines_and_shown_withheld() {
        let step = Step {
            phase: Phase::Files,
            title: "t".into(),
            calls: vec![
                Call::new("tr", ["a-z", "A-Z"]).with_input("one\ntwo".into()),
                Call::new("echo", ["after"]),
            ],
        };
        let out = std::process::Command::new("sh")
            .args(["-c", &step.body()])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ONE\nTWO\nafter\n");
        assert_eq!(
            withhold_inputs(&format!("x\n{}\ny\n", step.body())),
            "x\n{ tr 'a-z' 'A-Z' <<'LL_INPUT'\n<7 bytes withheld from display>\nLL_INPUT\n} && echo 'after'\ny\n"
        );
    }

    #[test]
    fn a_step_body_quotes_every_argument_and_chains_its_calls() {
        let step = Step {
            phase: Phase::Account,
            title: "t".into(),
            calls: vec![
                Call::new("ll_key_path", ["o'brien", "/home/o b/.ssh/authorized_keys"]),
                Call::bare("ll_want_restart"),
            ],
        };
        assert_eq!(
            step.body(),
            r"ll_key_path 'o'\''brien' '/home/o b/.ssh/authorized_keys' && ll_want_restart"
        );
    }

    /// Fixes differ by what they call on, not by the input they feed: the same library put
    /// back twice is the same calls, another library another call beside the same ldconfig.
    #[test]
    fn signatures_name_the_calls_and_not_their_input() {
        let put_back = |path: &str, input: &str| {
            Fix::step(
                Phase::Files,
                "put back",
                vec![
                    Call::new("ll_package_file", [path, "md5"]).with_input(input.into()),
                    Call::bare("ll_ldconfig"),
                ],
            )
        };
        let libnsl = put_back("/lib/libnsl.so.2", "H4sI");
        assert_eq!(
            libnsl.signatures(),
            ["ll_package_file '/lib/libnsl.so.2' 'md5'", "ll_ldconfig"]
        );
        assert_eq!(
            libnsl.signatures(),
            put_back("/lib/libnsl.so.2", "AAAA").signatures()
        );
        assert_eq!(
            put_back("/lib/libgcrypt.so.20", "H4sI").signatures(),
            [
                "ll_package_file '/lib/libgcrypt.so.20' 'md5'",
                "ll_ldconfig"
            ]
        );
    }

    #[test]
    fn a_fix_over_nothing_is_no_fix() {
        let none: Vec<Vec<String>> = Vec::new();
        assert_eq!(Fix::step_each(Phase::Access, "t", "ll_x", none), None);
    }
}
