//! What a root way in gives back: something that runs a script and returns its output and exit
//! status ([`Runner`]). The console session is the first kind; the guest agent (Run Command)
//! the second.

use super::agent_channel::AgentChannel;
use super::breakin::{self, BreakInError, OneTimeLogin, Restart};
use crate::shell::{CommandOutput, Ledger, Runner, Session, ShellError};
use azure_core::http::Url;
use std::time::Duration;

// One channel per run, moved rarely: boxing the session would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Channel {
    /// A shell of our own on the serial console; logged in with a one-time login when the
    /// break-in made one (removed on [`Channel::close`]). `offline`: the break-in's shell, the
    /// boot not yet gone on (see [`Channel::boot_on`]); `restart`: how the machine restarts,
    /// where it can, and `package_mirrors` where a second break-in fetches packages from.
    Console {
        session: Session,
        one_time: Option<OneTimeLogin>,
        offline: bool,
        restart: Option<Restart>,
        package_mirrors: Vec<Url>,
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
    /// login after it. Does nothing elsewhere. When that login gets no shell (the boot stopped
    /// again, the console refuses it), a second restart removes it offline where the machine
    /// can be restarted; else the error names it and how to remove it. Either way closing the
    /// channel no longer tries.
    pub async fn boot_on(&mut self) -> Result<(), BreakInError> {
        if let Channel::Console {
            session,
            one_time: one_time @ Some(_),
            offline: offline @ true,
            restart,
            package_mirrors,
        } = self
        {
            *offline = false;
            let login = one_time.as_ref().expect("matched Some");
            if let Err(e) = breakin::boot_on(session, login).await {
                let login = one_time.take().expect("matched Some");
                return Err(match restart {
                    Some(restart) => {
                        breakin::remove_offline(session, restart, &login, package_mirrors, e).await
                    }
                    None => e.left(&login),
                });
            }
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
                ..
            } => {
                if let Some(login) = one_time {
                    let removed = match session.run(&login.remove_script()).await {
                        Ok(removed) => removed,
                        Err(e) => {
                            return Err(ShellError::Cleanup(format!(
                                "{e}; {}",
                                login.left_behind()
                            )));
                        }
                    };
                    if removed.exit_status != 0 {
                        return Err(ShellError::Cleanup(format!(
                            "{}: {}",
                            login.left_behind(),
                            removed.text().trim()
                        )));
                    }
                    tracing::info!("one-time logins {}", removed.text().trim());
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

#[cfg(test)]
mod tests {
    use super::{Channel, OneTimeLogin};
    use crate::access::{COLS, ROWS, Target};
    use crate::link::LinkSpec;
    use crate::secret::SecretRegistry;
    use crate::shell::{Session, Timeouts};
    use crate::term::Console;
    use std::path::Path;

    /// A break-in's offline shell on a pty whose boot, once it goes on, stops in emergency mode
    /// with root locked (fixtures/console/fake-getty.sh, FAKE_MODE=offline).
    async fn offline_shell() -> Session {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/console/fake-getty.sh");
        let spec = LinkSpec::Command(format!(
            "exec env -i PATH=/usr/bin:/bin TERM=vt220 FAKE_MODE=offline bash {}",
            script.display()
        ));
        let opened = Target::Serial(spec).open().await.unwrap();
        let console = Console::new(ROWS, COLS, None);
        let mut session = Session::new(
            opened.link,
            console,
            SecretRegistry::default(),
            Timeouts::default(),
        );
        session.reach().await.unwrap();
        session
    }

    #[tokio::test]
    async fn a_boot_that_stops_again_names_the_one_time_login_left_and_how_to_remove_it() {
        let login = OneTimeLogin::new();
        let user = login.user.clone();
        let mut channel = Channel::Console {
            session: offline_shell().await,
            one_time: Some(login),
            offline: true,
            restart: None,
            package_mirrors: Vec::new(),
        };
        let error = channel.boot_on().await.unwrap_err().to_string();
        assert!(error.contains("MaintenanceLocked"), "{error}");
        assert!(
            error.contains(&format!(
                "the one-time login {user} (uid 0) remains in /etc/passwd and /etc/shadow"
            )),
            "{error}"
        );
        assert!(
            error.contains(&format!("sed -i '/^{user}:/d' /etc/passwd /etc/shadow")),
            "{error}"
        );
        // No shell is left to remove it from: closing does not try.
        assert_eq!(channel.one_time_login(), None);
        assert!(!channel.is_offline());
    }
}
