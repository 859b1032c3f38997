//! What a root way in gives back: something that runs a script and returns its output and exit
//! status. The console session is the first kind; the guest agent (Run Command) will be the
//! second.

use crate::shell::{CommandOutput, Session, ShellError};
use std::time::Duration;

pub enum Channel {
    /// A root shell of our own on the serial console.
    Console(Session),
}

impl Channel {
    /// Runs `script` and returns its output and exit status.
    pub async fn run(
        &mut self,
        script: &str,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        match self {
            Channel::Console(session) => session.run_with_timeout(script, limit).await,
        }
    }

    /// The console session, for the layers that still speak to it directly.
    pub fn session(&mut self) -> &mut Session {
        match self {
            Channel::Console(session) => session,
        }
    }

    /// Leaves the way in as it was found (the console logged out, as a person would).
    pub async fn close(self) -> Result<(), ShellError> {
        match self {
            Channel::Console(session) => session.leave().await,
        }
    }
}
