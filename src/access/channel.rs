//! What a root way in gives back: something that runs a script and returns its output and exit
//! status. The console session is the first kind; the guest agent (Run Command) will be the
//! second.

use super::breakin::OneTimeLogin;
use crate::shell::{CommandOutput, Session, ShellError};
use std::time::Duration;

pub enum Channel {
    /// A shell of our own on the serial console; logged in with a one-time login when the
    /// break-in made one (removed on [`Channel::close`]).
    Console {
        session: Session,
        one_time: Option<OneTimeLogin>,
    },
}

impl Channel {
    /// Runs `script` and returns its output and exit status.
    pub async fn run(
        &mut self,
        script: &str,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        match self {
            Channel::Console { session, .. } => session.run_with_timeout(script, limit).await,
        }
    }

    /// The console session, for the layers that still speak to it directly.
    pub fn session(&mut self) -> &mut Session {
        match self {
            Channel::Console { session, .. } => session,
        }
    }

    /// The one-time login the break-in added, if it did.
    pub fn one_time_login(&self) -> Option<&str> {
        match self {
            Channel::Console { one_time, .. } => one_time.as_ref().map(|l| l.user.as_str()),
        }
    }

    /// Removes any one-time login, then leaves the way in as it was found (the console logged
    /// out, as a person would).
    pub async fn close(self) -> Result<(), ShellError> {
        match self {
            Channel::Console {
                mut session,
                one_time,
            } => {
                if let Some(login) = one_time {
                    let removed = session.run(&login.remove_script()).await?;
                    if removed.exit_status != 0 {
                        return Err(ShellError::Cleanup(format!(
                            "the one-time login {} could not be removed from /etc/passwd and /etc/shadow: {}",
                            login.user,
                            removed.text()
                        )));
                    }
                }
                session.leave().await
            }
        }
    }
}
