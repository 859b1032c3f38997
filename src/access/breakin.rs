//! The `break-in` rung: restart the machine, catch GRUB, boot its default entry with
//! `init=/bin/sh` (a root shell, no password, no systemd), leave a one-time login there,
//! continue the boot with the real init, and log in with that login. The login is random,
//! hashed here and never typed in clear but at the login prompt; the channel removes it when
//! it closes. A caller that repairs offline first (what stops the boot cannot be fixed after
//! it) is handed the shell before the boot goes on, and boots on with [`boot_on`].

use super::target::AzureHandle;
use crate::azure::admin::{self, AdminCommand};
use crate::remedy::crypt::{CryptSalt, sha512_crypt};
use crate::secret::Secret;
use crate::shell::{BOOT_WAIT, ConsoleState, Session, ShellError};
use std::time::Duration;

/// How the machine is restarted.
pub(super) enum Restart<'a> {
    /// `--reset-cmd`: a local command (`virsh reset vm1`, `scripts/guest power-reset`), with
    /// the environment a `cmd:` console gets (no password variables).
    Command(&'a str),
    /// The Azure Serial Console's `reset` admin command.
    Azure(&'a AzureHandle),
}

impl Restart<'_> {
    async fn run(&self) -> Result<(), String> {
        match self {
            Restart::Command(command) => {
                let status = tokio::process::Command::new("sh")
                    .args(["-c", command])
                    .env_clear()
                    .envs(crate::link::child_environment())
                    .stdin(std::process::Stdio::null())
                    .status()
                    .await
                    .map_err(|e| format!("could not run --reset-cmd: {e}"))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!("--reset-cmd failed ({status})"))
                }
            }
            Restart::Azure(handle) => {
                let url = handle.session_url.lock().expect("session url lock").clone();
                admin::send(&handle.arm, &url, &AdminCommand::Reset)
                    .await
                    .map_err(|e| format!("the reset admin command failed: {e}"))
            }
        }
    }
}

/// A login that exists only for this session: a uid-0 account with a random password.
#[derive(Debug, Clone)]
pub struct OneTimeLogin {
    pub user: String,
    password: Secret,
}

impl OneTimeLogin {
    pub(super) fn new() -> OneTimeLogin {
        let suffix: u32 = rand::random();
        let password: String = (0..2)
            .map(|_| format!("{:016x}", rand::random::<u64>()))
            .collect();
        OneTimeLogin {
            user: format!("lifeline-{:06x}", suffix & 0xff_ffff),
            password: Secret::new(password),
        }
    }

    pub(super) fn password(&self) -> &Secret {
        &self.password
    }

    /// The shell lines that add it: a passwd and a shadow entry, the hash made here.
    pub(super) fn add_script(&self) -> String {
        let hash = sha512_crypt(&self.password, &CryptSalt::random());
        format!(
            "umask 077; printf '%s\\n' '{u}:x:0:0:lifeline one-time rescue login:/root:/bin/sh' >> /etc/passwd && \
             printf '%s\\n' '{u}:{h}:1:0:99999:7:::' >> /etc/shadow",
            u = self.user,
            h = hash.expose()
        )
    }

    /// The shell lines that remove it, and prove it is gone.
    pub fn remove_script(&self) -> String {
        format!(
            "sed -i '/^{u}:/d' /etc/passwd /etc/shadow && ! grep -q '^{u}:' /etc/passwd /etc/shadow",
            u = self.user
        )
    }
}

/// From the restart to GRUB's menu (firmware only); each boot after it gets
/// [`crate::shell::BOOT_WAIT`].
const GRUB_WAIT: Duration = Duration::from_secs(180);

/// Restarts the machine and comes back as root with a one-time login: in the offline shell
/// (`/` read-write, no init) when `offline`, else logged in after the normal boot.
pub(super) async fn break_in(
    session: &mut Session,
    restart: &Restart<'_>,
    offline: bool,
) -> Result<OneTimeLogin, BreakInError> {
    restart.run().await.map_err(BreakInError::Restart)?;
    // Whatever shell the lower rungs left open went with the restart.
    session.forget_shell();
    session.catch_grub_menu(GRUB_WAIT).await?;
    session.boot_default_entry_with("init=/bin/sh").await?;
    match session.wait_for_prompt(BOOT_WAIT).await? {
        ConsoleState::Shell => {}
        other => return Err(BreakInError::NoShell(other)),
    }
    session.reach().await?;
    if !session.is_root() {
        return Err(BreakInError::NoShell(ConsoleState::Shell));
    }
    let login = OneTimeLogin::new();
    session.register_secret(&login.password);
    let prepared = session
        .run("mount -o remount,rw / && { mountpoint -q /proc || mount -t proc proc /proc; }")
        .await?;
    if prepared.exit_status != 0 {
        return Err(BreakInError::Offline(prepared.text()));
    }
    let added = session.run(&login.add_script()).await?;
    if added.exit_status != 0 {
        return Err(BreakInError::Offline(added.text()));
    }
    if !offline {
        boot_on(session, &login).await?;
    }
    Ok(login)
}

/// From the offline shell: lets the boot go on with the real init and logs in with `login`.
pub(super) async fn boot_on(
    session: &mut Session,
    login: &OneTimeLogin,
) -> Result<(), BreakInError> {
    session.continue_boot().await?;
    match session.wait_for_prompt(BOOT_WAIT).await? {
        ConsoleState::LoginPrompt | ConsoleState::LoginIncorrect => {}
        other => return Err(BreakInError::NoLogin(other)),
    }
    session.log_in(&login.user, Some(&login.password)).await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum BreakInError {
    #[error("{0}")]
    Restart(String),
    #[error("booting with init=/bin/sh gave no shell (the console showed {0:?})")]
    NoShell(ConsoleState),
    #[error("preparing the offline shell failed: {0}")]
    Offline(String),
    #[error(
        "the boot after the break-in reached no login prompt (the console showed {0:?}): \
         what stops it was not fixed offline; look at the console (lifeline connect)"
    )]
    NoLogin(ConsoleState),
    #[error(transparent)]
    Shell(#[from] ShellError),
}

#[cfg(test)]
mod tests {
    use super::Restart;

    #[tokio::test]
    async fn the_reset_command_cannot_read_a_password_variable() {
        let seen = std::env::temp_dir().join(format!("lifeline-reset-env-{}", std::process::id()));
        // The name is this test's own, so no other test reads or writes it.
        // SAFETY: no other thread of this test binary touches this variable.
        unsafe { std::env::set_var("LIFELINE_TEST_RESET_PW", "hunter2") };
        let command = format!("env > '{}'", seen.display());
        Restart::Command(&command).run().await.unwrap();
        let text = std::fs::read_to_string(&seen).unwrap();
        std::fs::remove_file(&seen).ok();
        let seen = text;
        assert!(seen.contains("PATH="), "{seen}");
        assert!(!seen.contains("hunter2"), "{seen}");
    }
}
