//! From whatever a console shows to a shell of our own: the states passed on the way (pager,
//! half-typed line, stray password prompt) and the exchanges that take a credential (login, the
//! change of an expired password, systemd's maintenance prompts, `su`).
//!
//! Each password is typed at most once per prompt kind within an exchange: a prompt that comes
//! back means the password was refused, never that it should be typed again. Every state counts
//! against the attach deadline, so text that imitates a prompt cannot hold the session.

use super::state::{ConsoleState, classify, classify_screen};
use super::{Credentials, Level, NUDGE_WAIT, Session, ShellError, last_nonempty_line};
use crate::secret::Secret;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{debug, info, instrument};

/// What login prints when a password must be changed before the prompts for it.
const EXPIRED: &str = "(?i)(password has expired|must change your password)";

/// Logins that login's own timeout cut short, at most, before giving up.
const TIMED_OUT_TRIES: usize = 3;

/// A whole boot under a slow emulator, from GRUB to a login prompt.
pub const BOOT_WAIT: Duration = Duration::from_secs(600);

/// Where [`Session::reach`] stopped: the console waits for a credential or a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reached {
    /// Our own shell runs, as root or as the user whose session was open.
    Shell,
    /// A login prompt (also after a refused login).
    LoginPrompt,
    /// systemd maintenance mode asks for root's password.
    MaintenancePassword,
    /// systemd maintenance mode offers a root shell for Enter: root has no password.
    MaintenanceEnter,
    /// systemd maintenance mode refuses a shell: root is locked.
    MaintenanceLocked,
}

/// The prompts of a password change, each answered once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChangePrompt {
    Current,
    New,
    Retype,
}

impl ChangePrompt {
    fn of(line: &str) -> ChangePrompt {
        let line = line.to_ascii_lowercase();
        if line.contains("current") {
            ChangePrompt::Current
        } else if line.contains("retype") || line.contains("re-enter") {
            ChangePrompt::Retype
        } else {
            ChangePrompt::New
        }
    }
}

impl Session {
    /// Reaches a logged-in shell of our own with one set of credentials: the user's login at a
    /// login prompt, root's password at a maintenance prompt. The access ladder
    /// ([`crate::access`]) composes the same steps with more ways in.
    #[instrument(skip_all, fields(user = %creds.user))]
    pub async fn attach(&mut self, creds: &Credentials) -> Result<(), ShellError> {
        match self.reach().await? {
            Reached::Shell => Ok(()),
            Reached::LoginPrompt => self.log_in(&creds.user, creds.password.as_ref()).await,
            Reached::MaintenancePassword => {
                let root = creds
                    .root_password
                    .as_ref()
                    .ok_or(ShellError::MaintenanceNeedsRoot)?;
                self.maintenance_login(root).await
            }
            Reached::MaintenanceEnter => self.maintenance_enter().await,
            Reached::MaintenanceLocked => Err(ShellError::MaintenanceLocked),
        }
    }

    /// Brings the console to a state that needs a credential or a decision, or to a shell
    /// (which it then enters): clears half-typed lines, leaves pagers, abandons stray password
    /// prompts. Types no password.
    pub async fn reach(&mut self) -> Result<Reached, ShellError> {
        self.begin_step("reach the console");
        let deadline = Instant::now() + self.timeouts.attach;
        // Look before typing: a console still printing (a boot, a program starting) is left to
        // finish, or the first key lands in the middle of it.
        self.expecter
            .settle(self.timeouts.quiet, NUDGE_WAIT)
            .await?;
        // Ctrl-C cancels a half-typed line, a running command or a sudo prompt, and does no harm
        // at a login prompt; what it shows afterwards is the state to act on. But at systemd's
        // maintenance prompts a key ends the emergency shell and the boot tries again (minutes
        // under load, back at the same prompt): a screen that shows one is taken as it is.
        let screen = self.console().screen();
        let shown = classify(&screen.cursor_line(), &screen.contents());
        let mut state = if shown.is_maintenance() {
            shown
        } else {
            self.cancel().await?
        };
        let mut deadline = deadline;
        let mut booted = false;
        loop {
            if state == ConsoleState::Unknown {
                state = classify_screen(&self.console().screen().contents());
            }
            debug!(?state, "console state");
            if self.found == ConsoleState::Unknown {
                // What we found is the first state the console showed, before we acted on it.
                self.found = state;
            }
            if Instant::now() > deadline {
                return Err(ShellError::Stuck {
                    waited: self.timeouts.attach,
                    screen: self.console().screen().contents(),
                });
            }
            state = match state {
                ConsoleState::Shell => {
                    if !self.levels.contains(&Level::Login) && !self.shell_found_is_root().await? {
                        // A user's session left open: we leave it logged out, like after a login.
                        self.levels.push(Level::Login);
                    }
                    self.enter_own_shell().await?;
                    return Ok(Reached::Shell);
                }
                ConsoleState::LoginPrompt
                | ConsoleState::LoginIncorrect
                | ConsoleState::LoginTimedOut => {
                    return Ok(Reached::LoginPrompt);
                }
                ConsoleState::MaintenancePassword => return Ok(Reached::MaintenancePassword),
                ConsoleState::MaintenanceEnter => return Ok(Reached::MaintenanceEnter),
                ConsoleState::MaintenanceLocked => return Ok(Reached::MaintenanceLocked),
                ConsoleState::Pager => self.nudge(b"q").await?,
                ConsoleState::SudoPassword | ConsoleState::PasswordChange => {
                    self.nudge(b"\x03").await?
                }
                // An empty password ends login's prompt with "Login incorrect" and a fresh
                // login prompt, which is what we want.
                ConsoleState::PasswordPrompt => self.nudge(b"\r").await?,
                // A boot waiting at GRUB's menu: its default entry, once, and the whole boot.
                ConsoleState::GrubMenu if !booted => {
                    booted = true;
                    info!("GRUB's menu waits: booting its default entry");
                    self.write(b"\r").await?;
                    let state = self.wait_for_prompt(BOOT_WAIT).await?;
                    deadline = Instant::now() + self.timeouts.attach;
                    state
                }
                ConsoleState::GrubMenu
                | ConsoleState::GrubPrompt
                | ConsoleState::GrubRescue
                | ConsoleState::InitramfsShell => {
                    return Err(ShellError::BeforeLogin {
                        state,
                        next: state.next_step().unwrap_or_default(),
                    });
                }
                // Ctrl-U first so a half-typed line is cleared, never executed.
                ConsoleState::Unknown => self.nudge(b"\x15\r").await?,
            };
        }
    }

    /// At a login prompt: logs in as `user` and enters our own shell.
    pub async fn log_in(
        &mut self,
        user: &str,
        password: Option<&Secret>,
    ) -> Result<(), ShellError> {
        self.log_in_to(user, password, true).await
    }

    /// At a login prompt: logs in as `user` (not root) and becomes root with sudo. Our own
    /// shell starts only inside root's: one shell start and one exit fewer than
    /// [`Session::log_in`] then [`Session::become_root`], each a round trip.
    pub async fn log_in_and_sudo(
        &mut self,
        user: &str,
        password: Option<&Secret>,
    ) -> Result<(), ShellError> {
        self.log_in_to(user, password, false).await?;
        self.become_root(user, password).await
    }

    /// Logs in; then our own shell when `own_shell`, else the login shell stays at its prompt.
    async fn log_in_to(
        &mut self,
        user: &str,
        password: Option<&Secret>,
        own_shell: bool,
    ) -> Result<(), ShellError> {
        let mut tries = 0;
        let state = loop {
            let mut state = self.type_login(user, password).await?;
            if state == ConsoleState::Unknown && !self.screen_says(EXPIRED) {
                // A loaded machine can take long over the message of the day: wait, type nothing.
                state = self.observe(self.timeouts.attach).await?;
            }
            if state == ConsoleState::LoginPrompt {
                // What login said before the prompt came back may have arrived in the first
                // wait: the screen still shows it.
                let screen = self.console().screen();
                state = classify(&screen.cursor_line(), &screen.contents());
            }
            tries += 1;
            // login's own time ran out before it judged the password: not a refusal, so the
            // exchange starts again (a second login is quicker: what the first loaded is in
            // the guest's cache). A refusal is never retried.
            if state != ConsoleState::LoginTimedOut || tries == TIMED_OUT_TRIES {
                break state;
            }
            info!(
                tries,
                "login timed out before judging the password: logging in again"
            );
        };
        match state {
            ConsoleState::Shell if !own_shell => {
                self.levels.push(Level::Login);
                Ok(())
            }
            ConsoleState::Shell => self.logged_in().await,
            ConsoleState::LoginIncorrect | ConsoleState::LoginPrompt => {
                Err(ShellError::LoginIncorrect { user: user.into() })
            }
            ConsoleState::LoginTimedOut => Err(ShellError::LoginTimedOut {
                user: user.into(),
                tries,
            }),
            ConsoleState::PasswordChange => Err(ShellError::PasswordExpired { user: user.into() }),
            ConsoleState::Unknown if self.screen_says(EXPIRED) => {
                Err(ShellError::PasswordExpired { user: user.into() })
            }
            _ => Err(self.stuck()),
        }
    }

    /// At a login prompt: logs in as `user` whose password login says must be changed,
    /// changes it from `old` to `new` and enters our own shell.
    pub async fn log_in_changing(
        &mut self,
        user: &str,
        old: &Secret,
        new: &Secret,
    ) -> Result<(), ShellError> {
        self.secrets.register(new);
        let mut state = self.type_login(user, Some(old)).await?;
        let mut answered = Vec::new();
        loop {
            match state {
                ConsoleState::PasswordChange => {
                    let prompt = ChangePrompt::of(&self.console().screen().cursor_line());
                    if answered.contains(&prompt) {
                        let reason = self.line_before_prompt();
                        self.type_text("\x03").await?;
                        return Err(ShellError::PasswordChangeRefused {
                            user: user.into(),
                            reason,
                        });
                    }
                    answered.push(prompt);
                    let secret = if prompt == ChangePrompt::Current {
                        old
                    } else {
                        new
                    };
                    state = self.answer_secret(secret).await?;
                }
                ConsoleState::Shell => return self.logged_in().await,
                ConsoleState::LoginIncorrect | ConsoleState::LoginPrompt if answered.is_empty() => {
                    return Err(ShellError::LoginIncorrect { user: user.into() });
                }
                ConsoleState::LoginTimedOut => {
                    return Err(ShellError::LoginTimedOut {
                        user: user.into(),
                        tries: 1,
                    });
                }
                _ => {
                    return Err(ShellError::PasswordChangeRefused {
                        user: user.into(),
                        reason: self.line_before_prompt(),
                    });
                }
            }
        }
    }

    /// At systemd's "Give root password for maintenance": types root's password once and
    /// enters our own shell in the maintenance shell (left open when we leave, as found).
    pub async fn maintenance_login(&mut self, root: &Secret) -> Result<(), ShellError> {
        info!("answering the maintenance prompt with root's password");
        self.begin_step("login");
        match self.answer_secret(root).await? {
            ConsoleState::Shell => self.enter_own_shell().await,
            _ => Err(ShellError::RootPasswordRefused {
                reason: self.line_before_prompt(),
            }),
        }
    }

    /// At sulogin's "Press Enter for maintenance" (root has no password): Enter, once.
    pub async fn maintenance_enter(&mut self) -> Result<(), ShellError> {
        match self.nudge(b"\r").await? {
            ConsoleState::Shell => self.enter_own_shell().await,
            ConsoleState::MaintenanceLocked => Err(ShellError::MaintenanceLocked),
            _ => Err(self.stuck()),
        }
    }

    /// In a user's shell: becomes root with `su -` and root's password, typed once.
    pub async fn su_root(&mut self, root: &Secret) -> Result<(), ShellError> {
        self.su_to_uid0("root", root).await
    }

    /// In a user's shell: `su - ACCOUNT` with its password, typed once, where ACCOUNT has uid 0
    /// (root, or a one-time login the agent rung planted).
    #[instrument(skip(self, password))]
    pub async fn su_to_uid0(&mut self, account: &str, password: &Secret) -> Result<(), ShellError> {
        if self.is_root() {
            return Ok(());
        }
        self.begin_step("su");
        self.exit_own_shell().await?;
        let command = match account {
            "root" => "su -".to_string(),
            _ => format!("su - {account}"),
        };
        let mut state = self.enter_line(&format!("{command}\r")).await?;
        if matches!(
            state,
            ConsoleState::PasswordPrompt | ConsoleState::SudoPassword
        ) {
            state = self.answer_secret(password).await?;
        }
        // A refused su ends at the user's prompt again: only the uid tells.
        if state == ConsoleState::Shell && self.shell_found_is_root().await? {
            return self.replace_root_shell().await;
        }
        let reason = self.line_before_prompt();
        if state != ConsoleState::Shell {
            self.type_text("\x03").await?;
            self.observe(self.timeouts.login).await?;
        }
        self.enter_own_shell().await?;
        Err(ShellError::RootPasswordRefused { reason })
    }

    /// Types the user name and, when asked, the password; reports where that left the console.
    async fn type_login(
        &mut self,
        user: &str,
        password: Option<&Secret>,
    ) -> Result<ConsoleState, ShellError> {
        info!(user, "logging in");
        self.begin_step("login");
        let state = self.enter_line(&format!("{user}\r")).await?;
        if state != ConsoleState::PasswordPrompt {
            return Ok(state);
        }
        let password = password.ok_or(ShellError::PasswordRequired)?;
        self.answer_secret(password).await
    }

    async fn logged_in(&mut self) -> Result<(), ShellError> {
        self.levels.push(Level::Login);
        self.enter_own_shell().await
    }

    /// The last line above the cursor's: what a refusal printed before the next prompt.
    pub(super) fn line_before_prompt(&self) -> String {
        let screen = self.console().screen().contents();
        let mut lines = screen.lines().rev().filter(|l| !l.trim().is_empty());
        lines.next();
        lines
            .next()
            .map(|l| l.trim().to_string())
            .unwrap_or_else(|| last_nonempty_line(&screen))
    }

    fn stuck(&self) -> ShellError {
        self.stuck_after(self.timeouts.login)
    }
}
