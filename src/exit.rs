//! Process exit codes: one table ([`ExitClass`]), used by every subcommand; `--help` and the
//! README's table are rendered from it (a test keeps the README in step).
//!
//! `exec` passes the guest command's own status through (0–255), like `ssh` does. lifeline's own
//! failures use the BSD `sysexits.h` range so scripts can tell them from ordinary statuses.
//!
//! A failure's class comes from the library errors in it: each reports its own
//! (`exit_class`), a wrapper that of what it wraps, and [`class_of`] walks the `source()` chain
//! to the first library error, so a timeout deep inside a probe still exits 75.

use std::error::Error;

/// What a run of lifeline came to, as a process sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitClass {
    /// Success; for `diagnose`, a healthy guest.
    Ok,
    /// `diagnose` found problems; `rescue` could not verify SSH.
    Problems,
    /// Bad command line (clap's own code for usage errors).
    Usage,
    /// A bug or an unexpected internal state.
    Software,
    /// The console could not be reached, or the link broke.
    Link,
    /// The console did not answer in time (no prompt, command timed out).
    Timeout,
    /// Login or privilege escalation was refused (wrong password, no sudo rights), or Azure
    /// refused the sign-in.
    Auth,
    /// SIGINT stopped the run (128 + 2, the shell's convention).
    Interrupted,
    /// SIGTERM stopped the run (128 + 15).
    Terminated,
}

impl ExitClass {
    /// Every class, in the order of their codes.
    pub const ALL: [ExitClass; 9] = [
        ExitClass::Ok,
        ExitClass::Problems,
        ExitClass::Usage,
        ExitClass::Software,
        ExitClass::Link,
        ExitClass::Timeout,
        ExitClass::Auth,
        ExitClass::Interrupted,
        ExitClass::Terminated,
    ];

    pub const fn code(self) -> u8 {
        match self {
            ExitClass::Ok => 0,
            ExitClass::Problems => 1,
            ExitClass::Usage => 2,
            ExitClass::Software => 70,
            ExitClass::Link => 74,
            ExitClass::Timeout => 75,
            ExitClass::Auth => 77,
            ExitClass::Interrupted => 130,
            ExitClass::Terminated => 143,
        }
    }

    /// A few words, for `--help`.
    pub const fn summary(self) -> &'static str {
        match self {
            ExitClass::Ok => "success",
            ExitClass::Problems => "problems found (rescue: SSH not verified)",
            ExitClass::Usage => "usage",
            ExitClass::Software => "internal error",
            ExitClass::Link => "console unreachable or link broken",
            ExitClass::Timeout => "timed out",
            ExitClass::Auth => "login, sudo or Azure sign-in refused",
            ExitClass::Interrupted => "interrupted (SIGINT)",
            ExitClass::Terminated => "terminated (SIGTERM)",
        }
    }

    /// What the code means, for the README's table.
    pub const fn meaning(self) -> &'static str {
        match self {
            ExitClass::Ok => "success (`diagnose`: healthy)",
            ExitClass::Problems => "problems found (`diagnose`), SSH not verified (`rescue`)",
            ExitClass::Usage => "bad command line",
            ExitClass::Software => "internal error",
            ExitClass::Link => "the console could not be reached, or the link broke",
            ExitClass::Timeout => {
                "the console did not answer in time (no prompt, command timed out, kernel panic)"
            }
            ExitClass::Auth => {
                "login, sudo or Azure sign-in refused (wrong password, expired password, no sudo \
                 rights, a credential Entra ID or ARM refused)"
            }
            ExitClass::Interrupted => {
                "interrupted by SIGINT (the shells lifeline opened on the console are closed first)"
            }
            ExitClass::Terminated => {
                "terminated by SIGTERM (the shells lifeline opened on the console are closed first)"
            }
        }
    }
}

pub const OK: u8 = ExitClass::Ok.code();
pub const PROBLEMS: u8 = ExitClass::Problems.code();
pub const USAGE: u8 = ExitClass::Usage.code();
pub const SOFTWARE: u8 = ExitClass::Software.code();
pub const LINK: u8 = ExitClass::Link.code();
pub const TIMEOUT: u8 = ExitClass::Timeout.code();
pub const AUTH: u8 = ExitClass::Auth.code();

/// The class of a failure: that of the first library error along its `source()` chain (a
/// wrapper answers for what it wraps); `Software` when there is none.
pub fn class_of(error: &(dyn Error + 'static)) -> ExitClass {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(class) = own_class(error) {
            return class;
        }
        next = error.source();
    }
    ExitClass::Software
}

/// The class `error` reports, when it is one of the library's errors.
pub fn own_class(error: &(dyn Error + 'static)) -> Option<ExitClass> {
    macro_rules! first_of {
        ($($error:ty),* $(,)?) => {
            None$(.or_else(|| error.downcast_ref::<$error>().map(<$error>::exit_class)))*
        };
    }
    use crate::azure::{ArmError, console_link::ConsoleLinkError, precheck::PrecheckError};
    first_of!(
        crate::access::AccessError,
        crate::access::OpenError,
        crate::rescue::RescueError,
        crate::diagnose::DiagnoseError,
        crate::probe::ProbeError,
        crate::remedy::RemedyError,
        crate::shell::ShellError,
        crate::expect::ExpectError,
        crate::link::LinkError,
        ConsoleLinkError,
        PrecheckError,
        crate::azure::websocket::WsError,
        ArmError,
    )
}

/// The README's exit-code table.
pub fn markdown_table() -> String {
    let mut table = String::from("| code | meaning |\n|---|---|\n");
    for class in ExitClass::ALL {
        table.push_str(&format!("| {} | {} |\n", class.code(), class.meaning()));
    }
    table
}

/// The `--help` paragraph on exit codes.
pub fn help_text() -> String {
    let codes: Vec<String> = ExitClass::ALL
        .iter()
        .map(|c| format!("{} {}", c.code(), c.summary()))
        .collect();
    format!("Exit codes: {}.", codes.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::DiagnoseError;
    use crate::expect::ExpectError;
    use crate::probe::ProbeError;
    use crate::remedy::RemedyError;
    use crate::rescue::RescueError;
    use crate::shell::ShellError;
    use std::time::Duration;

    fn command_timeout() -> ShellError {
        ShellError::CommandTimeout {
            waited: Duration::from_secs(5),
            partial: String::new(),
        }
    }

    #[test]
    fn a_timeout_inside_a_probe_is_a_timeout() {
        let error = DiagnoseError::Probe(ProbeError::Shell(command_timeout()));
        assert_eq!(class_of(&error), ExitClass::Timeout);
        let error = RescueError::Diagnose(DiagnoseError::Probe(ProbeError::Shell(
            ShellError::Expect(ExpectError::Eof {
                wanted: "a prompt".into(),
                pending: Vec::new(),
            }),
        )));
        assert_eq!(class_of(&error), ExitClass::Link);
    }

    #[test]
    fn a_shell_failure_inside_a_remedy_keeps_its_class() {
        let error = RemedyError::Shell(ShellError::PasswordRequired);
        assert_eq!(class_of(&error), ExitClass::Auth);
        let error = RescueError::Remedy(RemedyError::Shell(command_timeout()));
        assert_eq!(class_of(&error), ExitClass::Timeout);
        assert_eq!(class_of(&RemedyError::NotRoot), ExitClass::Software);
    }

    #[test]
    fn the_chain_is_walked_through_context_and_plain_sources() {
        let error = anyhow::Error::from(DiagnoseError::Probe(ProbeError::Shell(command_timeout())))
            .context("diagnosing vm1")
            .context("bulk run");
        assert_eq!(class_of(error.as_ref()), ExitClass::Timeout);
        // A library error behind an error the library does not know.
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] ShellError);
        assert_eq!(
            class_of(&Outer(ShellError::KernelPanic)),
            ExitClass::Timeout
        );
        assert_eq!(class_of(&std::io::Error::other("x")), ExitClass::Software);
    }

    #[test]
    fn a_refused_sign_in_behind_the_console_opening_is_an_auth_failure() {
        use crate::access::OpenError;
        use crate::azure::ArmError;
        use crate::azure::console_link::ConsoleLinkError;
        let refused = ArmError::Credential("Entra ID answered invalid_client".into());
        let error =
            anyhow::Error::from(OpenError::Azure(ConsoleLinkError::Precheck(refused.into())))
                .context("send");
        assert_eq!(class_of(error.as_ref()), ExitClass::Auth);
        let unreachable = ArmError::Transport {
            what: "read vm1".into(),
            message: "connection refused".into(),
        };
        let error = OpenError::Azure(ConsoleLinkError::Precheck(unreachable.into()));
        assert_eq!(class_of(&error), ExitClass::Link);
    }

    #[test]
    fn codes_are_distinct_and_in_order() {
        let codes: Vec<u8> = ExitClass::ALL.iter().map(|c| c.code()).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
    }

    /// The README shows the table this module renders.
    #[test]
    fn the_readme_shows_this_table() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        assert!(
            readme.contains(&markdown_table()),
            "README.md's exit-code table differs from src/exit.rs; it should read:\n{}",
            markdown_table()
        );
    }
}
