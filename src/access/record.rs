//! What the ladder did: the rung that got in and, for every rung it came to, what happened and
//! why. The text and JSON reports show it as `"access": {"rung": …, "tried": […]}`.

use crate::shell::BootStop;
use serde::Serialize;
use std::fmt;

/// One way to root, in the order the ladder tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rung {
    /// The given login, then sudo.
    Login,
    /// Root's password: at the login prompt, with `su`, at systemd's maintenance prompts.
    Root,
    /// A password login says must be changed, changed to the operator's new one.
    Expired,
    /// A one-time credential set through the cloud's guest agent.
    Agent,
    /// A restart into a root shell from the boot loader (`--allow-reboot`).
    BreakIn,
}

impl Rung {
    pub const ALL: [Rung; 5] = [
        Rung::Login,
        Rung::Root,
        Rung::Expired,
        Rung::Agent,
        Rung::BreakIn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rung::Login => "login",
            Rung::Root => "root",
            Rung::Expired => "expired",
            Rung::Agent => "agent",
            Rung::BreakIn => "break-in",
        }
    }
}

impl fmt::Display for Rung {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// This rung gave a shell (root when root was needed).
    GotIn,
    /// The rung was tried and did not get in.
    Failed,
    /// The rung was not tried: not allowed, or not possible in the console's state.
    Skipped,
}

/// What one rung did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub rung: Rung,
    pub outcome: Outcome,
    /// How it got in, why it failed, or why it was not tried (with the flag that allows it).
    pub why: String,
}

/// The access part of every report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccessRecord {
    /// The rung that got in; `None` while climbing and when none did.
    pub rung: Option<Rung>,
    pub tried: Vec<Attempt>,
    /// Where the boot had stopped when the ladder found the console there (emergency mode,
    /// GRUB, …), with the next step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console: Option<BootStop>,
}

impl AccessRecord {
    /// The first place the boot was seen stopped is the one reported.
    pub(super) fn stopped_at(&mut self, stop: Option<BootStop>) {
        if self.console.is_none() {
            self.console = stop;
        }
    }

    pub(super) fn note(&mut self, rung: Rung, outcome: Outcome, why: impl Into<String>) {
        if outcome == Outcome::GotIn {
            self.rung = Some(rung);
        }
        self.tried.push(Attempt {
            rung,
            outcome,
            why: why.into(),
        });
    }
}

/// One line for the text reports: `access  root (login: Login incorrect; root: …)`.
impl fmt::Display for AccessRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rung {
            // The rungs that change the VM to get in say what they did.
            Some(rung @ (Rung::BreakIn | Rung::Agent)) => {
                write!(f, "{rung}")?;
                if let Some(how) = self.tried.iter().find(|a| a.outcome == Outcome::GotIn) {
                    write!(f, ": {}", how.why)?;
                }
            }
            Some(rung) => write!(f, "{rung}")?,
            None => f.write_str("no way in")?,
        }
        let others: Vec<String> = self
            .tried
            .iter()
            .filter(|a| a.outcome != Outcome::GotIn)
            .map(|a| format!("{}: {}", a.rung, a.why))
            .collect();
        if !others.is_empty() {
            write!(f, " ({})", others.join("; "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_names_the_rung_and_why_the_others_failed() {
        let mut record = AccessRecord::default();
        record.note(Rung::Login, Outcome::Failed, "login as \"a\" was refused");
        record.note(
            Rung::Root,
            Outcome::GotIn,
            "root's password at the login prompt",
        );
        assert_eq!(record.rung, Some(Rung::Root));
        assert_eq!(
            record.to_string(),
            "root (login: login as \"a\" was refused)"
        );
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["rung"], "root");
        assert_eq!(json["tried"][0]["rung"], "login");
        assert_eq!(json["tried"][0]["outcome"], "failed");
        assert_eq!(json["tried"][1]["outcome"], "got_in");
        assert_eq!(
            serde_json::to_value(Rung::BreakIn).unwrap(),
            serde_json::json!("break-in")
        );
    }

    #[test]
    fn a_rung_that_changed_the_vm_says_what_it_did() {
        let mut record = AccessRecord::default();
        record.note(Rung::Login, Outcome::Skipped, "the kernel panicked");
        record.note(
            Rung::BreakIn,
            Outcome::GotIn,
            "restarted; ldconfig made the links again",
        );
        assert_eq!(
            record.to_string(),
            "break-in: restarted; ldconfig made the links again (login: the kernel panicked)"
        );
    }
}
