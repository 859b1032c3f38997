//! The `agent` rung: when no credential the operator has gets in at the console, Azure's VM
//! agent plants a one-time root login (Run Command, the hash made here; the password is
//! typed only at a prompt that does not echo), and the console logs in with it, or `su`s to
//! it from a user's shell that would not sudo. The channel removes the login when it closes,
//! as for the break-in. Also how `--via agent` opens: the agent alone, no console.

use super::agent_channel::AgentChannel;
use super::breakin::OneTimeLogin;
use crate::azure::agent;
use crate::shell::{Reached, Session};
use std::time::Duration;

/// How long adding or removing the login may take in the guest.
const SCRIPT_LIMIT: Duration = Duration::from_secs(60);

/// Why the agent cannot carry anything now, if it cannot: Azure's own word on it.
pub(super) async fn not_ready(agent: &AgentChannel) -> Option<String> {
    match agent::status(&agent.arm, &agent.vm).await {
        Ok(Some(status)) if status.ready() => None,
        Ok(Some(status)) => Some(format!(
            "the VM agent is {}{}: Run Command and VMAccess cannot work",
            status.status,
            status
                .message
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        )),
        Ok(None) => Some("the VM agent has never reported: Run Command cannot work".into()),
        Err(e) => Some(format!("the VM agent's status could not be read: {e}")),
    }
}

/// What the rung came to.
pub(super) enum AgentMiss {
    Skipped(String),
    Failed(String),
    Console(crate::shell::ShellError),
}

/// Plants the one-time login through the agent and logs in with it at the console.
pub(super) async fn climb(
    session: &mut Session,
    agent: &AgentChannel,
    at: Reached,
) -> Result<OneTimeLogin, AgentMiss> {
    if !matches!(at, Reached::LoginPrompt | Reached::Shell) {
        return Err(AgentMiss::Skipped(
            "the console shows no login prompt or user's shell to use a one-time login at".into(),
        ));
    }
    if let Some(why) = not_ready(agent).await {
        return Err(AgentMiss::Failed(why));
    }
    let login = OneTimeLogin::new();
    session.register_secret(login.password());
    let added = agent
        .run(&login.add_script(), SCRIPT_LIMIT)
        .await
        .map_err(|e| AgentMiss::Failed(format!("adding a one-time login: {e}")))?;
    if added.exit_status != 0 {
        return Err(AgentMiss::Failed(format!(
            "adding a one-time login failed in the guest: {}",
            added.text().trim()
        )));
    }
    // At a user's shell that would not sudo, `su` to the login; at a prompt, log in with it.
    let used = match at {
        Reached::Shell => session.su_to_uid0(&login.user, login.password()).await,
        _ => session.log_in(&login.user, Some(login.password())).await,
    };
    if let Err(e) = used {
        // Never leave the login behind: the agent that added it removes it.
        let removed = agent.run(&login.remove_script(), SCRIPT_LIMIT).await;
        if !removed.is_ok_and(|r| r.exit_status == 0) {
            tracing::warn!(user = %login.user, "the one-time login could not be removed through the agent");
        }
        return Err(if e.is_refusal() {
            AgentMiss::Failed(format!(
                "the one-time login was refused at the console: {e}"
            ))
        } else {
            AgentMiss::Console(e)
        });
    }
    Ok(login)
}
