//! What a root way in gives back: something that runs a script and returns its output and exit
//! status ([`Runner`]). The console session is the first kind; the guest agent (Run Command)
//! the second.

use super::agent_channel::AgentChannel;
use super::breakin::{self, BreakInError, OneTimeLogin};
use crate::shell::{CommandOutput, Ledger, Runner, Session, ShellError};
use std::time::Duration;

// One channel per run, moved rarely: boxing the session would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Channel {
    /// A shell of our own on the serial console; logged in with a one-time login when the
    /// break-in made one (removed on [`Channel::close`]). `offline`: the break-in's shell, the
    /// boot not yet gone on (see [`Channel::boot_on`]).
    Console {
        session: Session,
        one_time: Option<OneTimeLogin>,
        offline: bool,
    },
    /// Scripts carried by the cloud's Run Command through the VM agent; no console at all.
    Agent(AgentChannel),
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
            Channel::Agent(agent) => agent.run(script, limit).await,
        }
    }

    /// The console session, for the layers that still speak to it directly.
    pub fn session(&mut self) -> Result<&mut Session, ShellError> {
        match self {
            Channel::Console { session, .. } => Ok(session),
            Channel::Agent(_) => Err(ShellError::Agent(
                "this needs the serial console; through the VM agent lifeline runs diagnose and rescue".into(),
            )),
        }
    }

    /// What the console has cost so far, step by step (`--timings`); none through the agent.
    pub fn ledger(&self) -> Option<Ledger> {
        match self {
            Channel::Console { session, .. } => Some(session.ledger()),
            Channel::Agent(_) => None,
        }
    }

    /// Charges what the console does from now on to `step` (see [`Ledger`]).
    pub fn begin_step(&self, step: &str) {
        if let Channel::Console { session, .. } = self {
            session.begin_step(step);
        }
    }

    /// The one-time login the break-in or the agent rung added, if one did.
    pub fn one_time_login(&self) -> Option<&str> {
        match self {
            Channel::Console { one_time, .. } => one_time.as_ref().map(|l| l.user.as_str()),
            Channel::Agent(_) => None,
        }
    }

    /// In the break-in's offline shell: no init runs, no service can be asked about.
    pub fn is_offline(&self) -> bool {
        matches!(self, Channel::Console { offline: true, .. })
    }

    /// From the break-in's offline shell: lets the boot go on and logs in with the one-time
    /// login after it. Does nothing elsewhere.
    pub async fn boot_on(&mut self) -> Result<(), BreakInError> {
        if let Channel::Console {
            session,
            one_time: Some(login),
            offline: offline @ true,
        } = self
        {
            *offline = false;
            breakin::boot_on(session, login).await?;
        }
        Ok(())
    }

    /// Removes any one-time login, then leaves the way in as it was found (the console logged
    /// out, as a person would); the break-in's offline shell is left booting on, since its
    /// exit would stop the kernel.
    pub async fn close(self) -> Result<(), ShellError> {
        match self {
            Channel::Console {
                mut session,
                one_time,
                offline,
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
                if offline {
                    session.continue_boot().await
                } else {
                    session.leave().await
                }
            }
            Channel::Agent(_) => Ok(()),
        }
    }
}

impl Runner for Channel {
    fn is_root(&self) -> bool {
        match self {
            Channel::Console { session, .. } => session.is_root(),
            // Run Command runs as root.
            Channel::Agent(_) => true,
        }
    }

    fn begin_step(&self, step: &str) {
        Channel::begin_step(self, step);
    }

    async fn run_with_timeout(
        &mut self,
        script: &str,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        self.run(script, limit).await
    }

    async fn run_file(
        &mut self,
        path: &str,
        script: &str,
        mode: u32,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        match self {
            Channel::Console { session, .. } => session.run_file(path, script, mode, limit).await,
            // Run Command has no echo to pay for: two calls cost what one would.
            Channel::Agent(agent) => {
                agent.send_file(path, script.as_bytes(), mode).await?;
                agent
                    .run(&format!("sh {}", crate::posix_sh::quote(path)), limit)
                    .await
            }
        }
    }
}
