//! Where a password comes from: an environment variable, a file, or a prompt that does not echo.
//! Never from a plain command-line value, which every user of the machine could read in `ps`.

use super::UsageError;
use crate::access::Secret;
use anyhow::{Context, Result, bail};
use std::io::{IsTerminal, Write};
use std::path::Path;

pub fn from_env(var: &str) -> Result<Secret> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
        // A variable the command line names but that is missing is a usage error (exit 2).
        Ok(_) => bail!(UsageError(format!(
            "the environment variable {var} is empty"
        ))),
        Err(_) => bail!(UsageError(format!(
            "the environment variable {var} is not set (named by --password-env)"
        ))),
    }
}

/// A password file holds one line; 64 KiB is far past any password and refuses a wrong path.
const PASSWORD_FILE_LIMIT: usize = 64 << 10;

pub fn from_file(path: &Path) -> Result<Secret> {
    let text = super::small_file::read(path, "password file", PASSWORD_FILE_LIMIT)?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        bail!("the password file {} is empty", path.display());
    }
    Ok(Secret::new(line))
}

/// Asks on the terminal with echo off; `None` when there is no terminal to ask on.
pub fn prompt(question: &str) -> Result<Option<Secret>> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(None);
    }
    eprint!("{question}");
    std::io::stderr().flush().ok();
    let saved = rustix::termios::tcgetattr(&stdin).context("reading the terminal settings")?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
    rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Flush, &quiet)
        .context("turning terminal echo off")?;
    let read = super::ask::line();
    rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Flush, &saved).ok();
    eprintln!();
    let line = read.context("reading the password")?;
    Ok(Some(Secret::new(line.trim_end_matches(['\r', '\n']))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_password_variable_is_a_usage_error() {
        let err = from_env("LIFELINE_TEST_UNSET_PASSWORD_VARIABLE").unwrap_err();
        assert_eq!(
            super::super::exit_code_for(&err),
            crate::exit::USAGE,
            "{err}"
        );
    }
}
