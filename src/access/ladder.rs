//! The climb: each rung in order, tried only when the operator allows it and the console's
//! state admits it, until one gives the shell that was asked for. Every rung it comes to is
//! recorded with why it got in, failed or was not tried.

use super::agent_channel::AgentChannel;
use super::agent_rung::{self, AgentMiss};
use super::breakin::{self, BreakInError, OneTimeLogin, Restart};
use super::record::{AccessRecord, Outcome, Rung};
use super::{Access, Need};
use crate::shell::{BootStop, Reached, Session, ShellError};

/// Why the climb stopped without a shell.
pub(super) enum Stop {
    /// Every rung was tried or skipped.
    NoWayIn(AccessRecord),
    /// The console itself failed (a timeout, the link): no rung can help.
    Console(ShellError),
}

impl From<ShellError> for Stop {
    fn from(e: ShellError) -> Self {
        Stop::Console(e)
    }
}

/// What one rung came to, when it did not get in.
enum Miss {
    Skipped(String),
    Failed(ShellError),
    /// Failed for a reason that is not a refused credential (a restart that did not work).
    Broken(String),
    Console(ShellError),
}

/// A refused credential is a rung that failed; anything else is the console failing.
impl From<ShellError> for Miss {
    fn from(e: ShellError) -> Self {
        if e.is_refusal() {
            Miss::Failed(e)
        } else {
            Miss::Console(e)
        }
    }
}

/// Where the climb got to.
pub(super) struct Climbed {
    pub record: AccessRecord,
    /// The one-time login the break-in or the agent rung added, if it came to that.
    pub one_time: Option<OneTimeLogin>,
    /// The break-in got in and the session is still in its offline shell.
    pub offline: bool,
}

/// Climbs from whatever the console shows to the shell `need` asks for. A break-in stays in
/// its offline shell when `offline_first` asks for it.
pub(super) async fn climb(
    session: &mut Session,
    access: &Access,
    need: Need,
    restart: Option<&Restart>,
    agent: Option<&AgentChannel>,
    offline_first: bool,
) -> Result<Climbed, Stop> {
    let mut record = AccessRecord::default();
    let mut one_time = None;
    let mut offline = false;
    // A panicked kernel, or a console that answers nothing at all (a panic printed before we
    // came, a hung machine), stays so until the VM restarts: with a restart allowed, the
    // break-in is the only rung left (the login prompt stands in for where it will be).
    let restartable = access.allow_reboot && restart.is_some();
    let (mut at, mut unanswering) = match session.reach().await {
        Ok(at) => (at, None),
        Err(e @ (ShellError::KernelPanic | ShellError::Stuck { .. })) if restartable => {
            record.stopped_at(e.boot_stop());
            (Reached::LoginPrompt, Some(e))
        }
        Err(e) => return Err(e.into()),
    };
    record.stopped_at(boot_stop(at));
    let mut login_expired = false;
    for rung in Rung::ALL {
        if let Some(e) = &unanswering
            && rung != Rung::BreakIn
        {
            let why = format!("{}: nothing answers until the VM restarts", unanswered(e));
            record.note(rung, Outcome::Skipped, why);
            continue;
        }
        let tried = match rung {
            Rung::Login => login(session, access, need, at).await,
            Rung::Root => root(session, access, at).await,
            Rung::Expired => expired(session, access, need, at, login_expired).await,
            Rung::Agent => match (agent, access.allow_agent_login) {
                (None, _) => Err(Miss::Skipped(
                    "not an Azure VM: there is no guest agent to ask".into(),
                )),
                (Some(_), false) => Err(Miss::Skipped(
                    "it adds a one-time uid-0 login through the VM agent (Run Command): pass --allow-agent-login"
                        .into(),
                )),
                (Some(agent), true) => match agent_rung::climb(session, agent, at).await {
                    Ok(login) => {
                        let how = format!(
                            "a one-time login {} added through the VM agent (Run Command)",
                            login.user
                        );
                        one_time = Some(login);
                        Ok(how)
                    }
                    Err(AgentMiss::Skipped(why)) => Err(Miss::Skipped(why)),
                    Err(AgentMiss::Failed(why)) => Err(Miss::Broken(why)),
                    Err(AgentMiss::Console(e)) => Err(Miss::Console(e)),
                },
            },
            Rung::BreakIn => match (access.allow_reboot, restart) {
                (false, _) => Err(Miss::Skipped(
                    "it restarts the VM into a root shell from the boot loader: pass --allow-reboot"
                        .into(),
                )),
                (true, None) => Err(Miss::Skipped(
                    "no way to restart this target: pass --reset-cmd 'COMMAND' (in a playbook, the target's reset_cmd)".into(),
                )),
                (true, Some(restart)) => match breakin::break_in(
                    session,
                    restart,
                    &access.package_mirrors,
                    offline_first,
                )
                    .await
                {
                    Ok(breakin::BrokeIn { login, mended }) => {
                        let mended = mended.map(|m| format!("; {m}")).unwrap_or_default();
                        let how = format!(
                            "restarted; GRUB's default entry booted with rw init=/bin/sh{mended}; one-time login {} added",
                            login.user
                        );
                        one_time = Some(login);
                        offline = offline_first;
                        Ok(how)
                    }
                    Err(BreakInError::Shell(e)) => Err(e.into()),
                    Err(e) => Err(Miss::Broken(e.to_string())),
                },
            },
        };
        match tried {
            Ok(how) => {
                record.note(rung, Outcome::GotIn, how);
                return Ok(Climbed {
                    record,
                    one_time,
                    offline,
                });
            }
            Err(Miss::Broken(why)) => {
                record.note(rung, Outcome::Failed, why);
                // A console that answered nothing is not looked at again for the next rung.
                if unanswering.is_none() {
                    at = where_now(session).await?;
                }
            }
            Err(Miss::Skipped(why)) => record.note(rung, Outcome::Skipped, why),
            Err(Miss::Failed(e)) => {
                login_expired |= matches!(e, ShellError::PasswordExpired { .. });
                record.stopped_at(e.boot_stop());
                record.note(rung, Outcome::Failed, e.to_string());
                at = where_now(session).await?;
            }
            // The kernel panicked while a rung was trying (a library PID 1 loads, damaged).
            Err(Miss::Console(ShellError::KernelPanic)) if restartable => {
                record.stopped_at(Some(BootStop::KernelPanic));
                record.note(rung, Outcome::Failed, ShellError::KernelPanic.to_string());
                unanswering = Some(ShellError::KernelPanic);
            }
            Err(Miss::Console(e)) => return Err(Stop::Console(e)),
        }
    }
    Err(Stop::NoWayIn(record))
}

/// What a console that answers nothing showed, in a few words.
fn unanswered(e: &ShellError) -> String {
    match e {
        ShellError::Stuck { waited, .. } => {
            format!("the console reached no usable state within {waited:?}")
        }
        _ => "the kernel panicked".into(),
    }
}

/// Systemd's maintenance prompts are boots that stopped; the other places are not.
fn boot_stop(at: Reached) -> Option<BootStop> {
    match at {
        Reached::MaintenanceLocked => Some(BootStop::EmergencyRootLocked),
        Reached::MaintenancePassword => Some(BootStop::EmergencyNeedsRootPassword),
        Reached::Shell | Reached::LoginPrompt | Reached::MaintenanceEnter => None,
    }
}

/// After a failed rung: our own shell if one runs, else whatever the console shows now.
async fn where_now(session: &mut Session) -> Result<Reached, ShellError> {
    if session.has_shell() {
        return Ok(Reached::Shell);
    }
    session.reach().await
}

/// The given login at a login prompt (or a session found open), then sudo when root is needed.
async fn login(
    session: &mut Session,
    access: &Access,
    need: Need,
    at: Reached,
) -> Result<String, Miss> {
    let creds = &access.credentials;
    let how = match at {
        Reached::Shell => "a shell was open".to_string(),
        // Straight on to sudo from the login shell: no shell of our own before root's.
        Reached::LoginPrompt if need == Need::Root && creds.user != "root" => {
            session
                .log_in_and_sudo(&creds.user, creds.password.as_ref())
                .await?;
            return Ok(format!("logged in as {}, then sudo", creds.user));
        }
        Reached::LoginPrompt => {
            session.log_in(&creds.user, creds.password.as_ref()).await?;
            format!("logged in as {}", creds.user)
        }
        _ => {
            return Err(Miss::Skipped(
                "the console is in systemd maintenance mode, which takes no user login".into(),
            ));
        }
    };
    if need == Need::Root && !session.is_root() {
        session
            .become_root(&creds.user, creds.password.as_ref())
            .await?;
        return Ok(format!("{how}, then sudo"));
    }
    Ok(how)
}

/// Root's password wherever the console takes it: `su` in a user's shell, the login prompt,
/// systemd's maintenance prompt. A maintenance prompt that needs only Enter takes none.
async fn root(session: &mut Session, access: &Access, at: Reached) -> Result<String, Miss> {
    match at {
        Reached::MaintenanceEnter => {
            session.maintenance_enter().await?;
            return Ok("root has no password: Enter at the maintenance prompt".into());
        }
        Reached::MaintenanceLocked => return Err(ShellError::MaintenanceLocked.into()),
        _ => {}
    }
    let Some(password) = access.credentials.root_password.as_ref() else {
        return Err(Miss::Skipped(
            "not allowed: pass --root-password-env VAR or --root-password-file FILE".into(),
        ));
    };
    match at {
        Reached::Shell => {
            session.su_root(password).await?;
            Ok("su - with root's password".into())
        }
        Reached::LoginPrompt => {
            session.log_in("root", Some(password)).await?;
            Ok("root's password at the login prompt".into())
        }
        _ => {
            session.maintenance_login(password).await?;
            Ok("root's password at systemd's maintenance prompt".into())
        }
    }
}

/// The user's password that login says must be changed, changed to the operator's new one.
async fn expired(
    session: &mut Session,
    access: &Access,
    need: Need,
    at: Reached,
    login_expired: bool,
) -> Result<String, Miss> {
    if !login_expired || at != Reached::LoginPrompt {
        return Err(Miss::Skipped(
            "login did not ask for a password change".into(),
        ));
    }
    let creds = &access.credentials;
    let (Some(old), Some(new)) = (creds.password.as_ref(), access.new_password.as_ref()) else {
        return Err(Miss::Skipped(
            "not allowed: pass --new-password-env VAR or --new-password-file FILE".into(),
        ));
    };
    session.log_in_changing(&creds.user, old, new).await?;
    let how = format!("the expired password of {} changed at login", creds.user);
    if need == Need::Root && !session.is_root() {
        session.become_root(&creds.user, Some(new)).await?;
        return Ok(format!("{how}, then sudo"));
    }
    Ok(how)
}
