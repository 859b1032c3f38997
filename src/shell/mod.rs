//! A shell session on a serial console: reach a prompt from whatever state the console is in,
//! log in, become root, run commands with exact output and exit status, and leave the console
//! as a person would.
//!
//! Every command we type runs in a shell of our own, started on top of whatever shell we found
//! or logged into: its prompt, environment and terminal settings are ours to set (see
//! [`Session::normalize`]), and leaving it restores the console exactly. Passwords are typed
//! only after a prompt that turns echo off has been seen, and are registered with the
//! transcript's redactor in any case.

mod boot;
pub mod command;
mod cost;
mod guard;
mod login;
mod runner;
mod state;
pub(crate) mod transfer;

pub use command::Encoding;
pub use cost::{Ledger, StepCost, render as render_costs};
pub use guard::closed;
pub use login::{BOOT_WAIT, Reached};
pub use runner::Runner;
pub use state::{BootStop, ConsoleState, classify, classify_screen};

use crate::exit::ExitClass;
use crate::expect::{ExpectError, Expecter, Needles};
use crate::link::{Interruptions, KeepAlive, Link, Writer};
use crate::secret::{Secret, SecretRegistry};
use crate::term::Console;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use tracing::{debug, info, instrument};

/// How long a nudge waits for the console to show a known state.
const NUDGE_WAIT: Duration = Duration::from_secs(3);

/// How long each kind of step may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Silence that ends a look at the console.
    pub quiet: Duration,
    /// Reaching a known state from an unknown console, all nudges included.
    pub attach: Duration,
    /// One login or sudo exchange (pam_faildelay alone is 2–3 s).
    pub login: Duration,
    /// A command run with [`Session::run`] unless the caller says otherwise.
    pub command: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            quiet: Duration::from_millis(400),
            attach: Duration::from_secs(30),
            login: Duration::from_secs(20),
            command: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error(transparent)]
    Expect(#[from] ExpectError),
    #[error("writing to the console failed: {0}")]
    Write(#[source] std::io::Error),
    #[error("login as {user:?} was refused (Login incorrect): check the user name and password")]
    LoginIncorrect { user: String },
    #[error(
        "login as {user:?} ran out of login's own time before it checked the password, {tries} time(s): the guest is too slow; try again when it is less loaded"
    )]
    LoginTimedOut { user: String, tries: usize },
    #[error(
        "the console asks for a password but none was given: pass --password-env VAR or --password-file FILE"
    )]
    PasswordRequired,
    #[error("sudo refused {user:?}: {reason}")]
    SudoRefused { user: String, reason: String },
    #[error("the password of {user:?} has expired and must be changed before login")]
    PasswordExpired { user: String },
    #[error("the guest kernel panicked; the console cannot help until the VM is restarted")]
    KernelPanic,
    #[error(
        "the console did not reach a usable state within {waited:?}; the screen shows:\n{screen}"
    )]
    Stuck { waited: Duration, screen: String },
    #[error(
        "the console is in systemd maintenance mode and needs the root password: pass --root-password-env VAR"
    )]
    MaintenanceNeedsRoot,
    #[error("the console is stuck before a login prompt ({state:?}): {next}")]
    BeforeLogin {
        state: ConsoleState,
        next: &'static str,
    },
    #[error("the root password was refused ({reason})")]
    RootPasswordRefused { reason: String },
    #[error(
        "systemd maintenance mode refuses a shell: the root account is locked (only a restart into a rescue shell helps)"
    )]
    MaintenanceLocked,
    #[error("changing the expired password of {user:?} was refused: {reason}")]
    PasswordChangeRefused { user: String, reason: String },
    #[error(
        "command timed out after {waited:?}; it was interrupted with Ctrl-C. Output so far:\n{partial}"
    )]
    CommandTimeout { waited: Duration, partial: String },
    #[error(transparent)]
    Damaged(#[from] command::Damaged),
    #[error("{0}")]
    Transfer(String),
    #[error("{0}")]
    Cleanup(String),
    /// The cloud's guest agent (Run Command) failed to carry a script.
    #[error("through the VM agent: {0}")]
    Agent(String),
    #[error(
        "the console connection dropped while the command ran and was re-established; its output \
         may be incomplete, so it is not reported. The session goes on."
    )]
    LinkInterrupted,
    #[error(
        "the command's output was larger than lifeline holds ({limit} bytes on the console): \
         its first {dropped} bytes were lost, so it is not reported. Write it to a file on the \
         guest and read that in parts (head -c, tail -c)."
    )]
    OutputTooLarge { dropped: u64, limit: usize },
}

impl ShellError {
    /// Where the boot stopped, when this failure is a console stuck before a login prompt.
    pub fn boot_stop(&self) -> Option<BootStop> {
        match self {
            ShellError::BeforeLogin { state, .. } => state.boot_stop(),
            ShellError::MaintenanceLocked => Some(BootStop::EmergencyRootLocked),
            ShellError::MaintenanceNeedsRoot => Some(BootStop::EmergencyNeedsRootPassword),
            ShellError::KernelPanic => Some(BootStop::KernelPanic),
            ShellError::Stuck { .. } => Some(BootStop::NoPrompt),
            _ => None,
        }
    }

    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        match self {
            ShellError::Expect(e) => e.exit_class(),
            ShellError::CommandTimeout { .. }
            | ShellError::Stuck { .. }
            | ShellError::BeforeLogin { .. }
            | ShellError::LoginTimedOut { .. }
            | ShellError::KernelPanic => ExitClass::Timeout,
            ShellError::Write(_)
            | ShellError::Damaged(_)
            | ShellError::LinkInterrupted
            | ShellError::Agent(_) => ExitClass::Link,
            ShellError::Transfer(_)
            | ShellError::Cleanup(_)
            | ShellError::OutputTooLarge { .. } => ExitClass::Software,
            e if e.is_refusal() => ExitClass::Auth,
            _ => ExitClass::Software,
        }
    }

    /// Whether the console refused a credential (as opposed to failing as a console): another
    /// way in may still work.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ShellError::LoginIncorrect { .. }
                | ShellError::PasswordRequired
                | ShellError::SudoRefused { .. }
                | ShellError::PasswordExpired { .. }
                | ShellError::MaintenanceNeedsRoot
                | ShellError::RootPasswordRefused { .. }
                | ShellError::MaintenanceLocked
                | ShellError::PasswordChangeRefused { .. }
        )
    }
}

/// Bytes that crossed the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Traffic {
    pub sent: u64,
    pub received: u64,
}

/// What running one command produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommandOutput {
    /// stdout and stderr, interleaved as the command wrote them, byte for byte.
    pub output: Vec<u8>,
    pub exit_status: i32,
}

impl CommandOutput {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }
}

/// One shell level we entered and must leave with `exit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The login shell of a session we logged into, or found logged in as a user.
    Login,
    /// Our own nested shell with the normalised settings. In a root shell we started
    /// (`sudo -i`, `su -`) it replaces that shell: one `exit` leaves both.
    Own,
}

/// Credentials for reaching a shell.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub user: String,
    pub password: Option<Secret>,
    /// For systemd maintenance mode, which asks for root's password.
    pub root_password: Option<Secret>,
}

pub struct Session {
    expecter: Expecter,
    writer: Writer,
    _keepalive: KeepAlive,
    interruptions: Interruptions,
    /// Bytes written to the link so far.
    sent: u64,
    /// Where scratch files (uploaded scripts) go on the guest.
    scratch_dir: String,
    secrets: SecretRegistry,
    timeouts: Timeouts,
    /// What the console showed when we came.
    found: ConsoleState,
    levels: Vec<Level>,
    uid: Option<u32>,
    encoding: Encoding,
    prompt: Needles,
    prompt_text: String,
    /// The console log level to restore on leaving, when we lowered it.
    saved_printk: Option<String>,
    /// What each step cost.
    ledger: Ledger,
    /// Whether the guest has `gzip`: uploads then go compressed.
    gzip: bool,
}

impl Session {
    /// Takes over a link; nothing is sent until [`Session::attach`].
    pub fn new(link: Link, console: Console, secrets: SecretRegistry, timeouts: Timeouts) -> Self {
        let token = command::marker_id();
        let prompt_text = format!("ll-{}> ", &token[..6]);
        let prompt = Needles::new(&[("our prompt", &format!("{}$", regex::escape(&prompt_text)))])
            .expect("prompt pattern");
        Session {
            expecter: Expecter::new(link.reader, console),
            writer: link.writer,
            _keepalive: link.keepalive,
            interruptions: link.interruptions,
            sent: 0,
            scratch_dir: "/tmp".into(),
            secrets,
            timeouts,
            found: ConsoleState::Unknown,
            levels: Vec::new(),
            uid: None,
            encoding: Encoding::Base64,
            prompt,
            prompt_text,
            saved_printk: None,
            ledger: Ledger::default(),
            gzip: false,
        }
    }

    /// The costs of this session's steps, kept up to date (and readable after it is left).
    pub fn ledger(&self) -> Ledger {
        self.ledger.clone()
    }

    /// Charges what the session does from now on to `step` (see [`Ledger`]).
    pub fn begin_step(&self, step: &str) {
        self.ledger.begin(step, self.counters());
    }

    fn counters(&self) -> cost::Counters {
        cost::Counters {
            sent: self.sent,
            received: self.expecter.received(),
            round_trips: self.expecter.round_trips(),
        }
    }

    /// The state the console was in when we attached (the first one it showed).
    pub fn found_state(&self) -> ConsoleState {
        self.found
    }

    pub fn is_root(&self) -> bool {
        self.uid == Some(0)
    }

    /// After handing the console to something else (init, a restart): no shell of ours,
    /// nothing to exit.
    pub fn forget_shell(&mut self) {
        self.levels.clear();
        self.uid = None;
    }

    /// After the machine restarted: no shell of ours, and a kernel panic seen before is past.
    pub fn restarted(&mut self) {
        self.forget_shell();
        self.expecter.console_mut().restarted();
    }

    /// Whether our own shell runs (commands can be run).
    pub fn has_shell(&self) -> bool {
        self.levels.last() == Some(&Level::Own)
    }

    /// Adds a secret the transcript must redact (a new password the caller holds).
    pub fn register_secret(&self, secret: &Secret) {
        self.secrets.register(secret);
    }

    /// Bytes sent to and received from the console so far: over a slow link, the cost.
    pub fn traffic(&self) -> Traffic {
        Traffic {
            sent: self.sent,
            received: self.expecter.received(),
        }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    pub fn console(&self) -> &Console {
        self.expecter.console()
    }

    /// Becomes root with `sudo -i` (answering its password prompt) unless already root.
    #[instrument(skip_all)]
    pub async fn become_root(
        &mut self,
        user: &str,
        password: Option<&Secret>,
    ) -> Result<(), ShellError> {
        if self.is_root() {
            return Ok(());
        }
        info!("becoming root with sudo");
        self.begin_step("sudo");
        // Our own shell's settings do not survive sudo; leave it first and start a new one
        // inside the root shell.
        self.exit_own_shell().await?;
        let mut state = self.enter_line("sudo -i\r").await?;
        if state == ConsoleState::SudoPassword {
            let password = password.ok_or(ShellError::PasswordRequired)?;
            state = self.answer_secret(password).await?;
        }
        match state {
            // A refused sudo (a broken sudoers file) also ends at a shell prompt: the user's.
            ConsoleState::Shell if self.shell_found_is_root().await? => {
                self.replace_root_shell().await
            }
            ConsoleState::SudoPassword => {
                self.type_text("\x03").await?;
                self.observe(self.timeouts.login).await?;
                self.enter_own_shell().await?;
                Err(ShellError::SudoRefused {
                    user: user.into(),
                    reason: "wrong password".into(),
                })
            }
            _ => {
                let reason = self.line_before_prompt();
                self.enter_own_shell().await?;
                Err(ShellError::SudoRefused {
                    user: user.into(),
                    reason,
                })
            }
        }
    }

    /// Runs `command` with the session's default timeout.
    pub async fn run(&mut self, command: &str) -> Result<CommandOutput, ShellError> {
        self.run_with_timeout(command, self.timeouts.command).await
    }

    /// Runs `command` in our shell and returns its exact output and exit status. Each command
    /// runs in a subshell with stdin from /dev/null: `cd` or variables do not carry over.
    #[instrument(skip(self))]
    pub async fn run_with_timeout(
        &mut self,
        command: &str,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        let id = command::marker_id();
        let line = command::typed_line(command, &id, self.encoding);
        if line.len() > command::MAX_TYPED_LINE {
            return self.run_long_script(command, limit).await;
        }
        self.run_line(&line, &id, limit).await
    }

    /// Types one encoded command line and collects its result.
    async fn run_line(
        &mut self,
        line: &str,
        id: &str,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        self.type_text(&format!("{line}\r")).await?;
        self.collect(id, self.encoding, limit).await
    }

    /// Waits for the markers of command `id` and decodes what lies between them.
    async fn collect(
        &mut self,
        id: &str,
        encoding: Encoding,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        let interruptions = self.interruptions.count();
        let result = self.collect_markers(id, encoding, limit).await;
        if self.interruptions.count() != interruptions {
            // Bytes may have been lost or replayed: no result is trustworthy. Get back to a
            // known prompt so the next command starts clean.
            self.resync().await?;
            return Err(ShellError::LinkInterrupted);
        }
        result
    }

    /// After an interruption: interrupt whatever may still run, let the console settle
    /// (readline drops the line it was reading when Ctrl-C lands, typeahead included), then
    /// prove the shell listens with a fresh marker: a replayed old prompt cannot fake that.
    async fn resync(&mut self) -> Result<(), ShellError> {
        self.type_text("\x03").await?;
        self.expecter
            .settle(self.timeouts.quiet, NUDGE_WAIT)
            .await?;
        let mut last = None;
        for _ in 0..3 {
            let id = command::marker_id();
            self.type_text(&format!("\x15{}\r", command::sync_line(&id, false)))
                .await?;
            let sync =
                Needles::new(&[("shell sync", &command::sync_pattern(&id))]).expect("pattern");
            match self.expecter.expect(&sync, self.timeouts.login).await {
                Ok(_) => {
                    self.expecter
                        .expect(&self.prompt, self.timeouts.login)
                        .await?;
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("three attempts").into())
    }

    async fn collect_markers(
        &mut self,
        id: &str,
        encoding: Encoding,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        let begin = Needles::new(&[
            ("begin marker", &command::begin_pattern(id)),
            ("damaged upload", &command::damaged_pattern(id)),
        ])
        .expect("marker");
        let end = Needles::new(&[("end marker", &command::end_pattern(id))]).expect("marker");
        let started = Instant::now();
        let result = async {
            if self.expecter.expect(&begin, limit).await?.needle == 1 {
                return Ok(None);
            }
            let remaining = limit.saturating_sub(started.elapsed());
            self.expecter.expect(&end, remaining).await.map(Some)
        }
        .await;
        let taken = match result {
            Ok(Some(taken)) => taken,
            Ok(None) => {
                self.expecter
                    .expect(&self.prompt, self.timeouts.login)
                    .await?;
                return Err(ShellError::Transfer(
                    "the script did not reach the guest intact (its checksum differed); it was removed, not run"
                        .into(),
                ));
            }
            Err(ExpectError::Timeout { pending, .. }) => {
                return Err(self.interrupt(limit, pending).await);
            }
            Err(e) => return Err(e.into()),
        };
        let decoded = command::decode_payload(&taken.before, encoding);
        self.expecter
            .expect(&self.prompt, self.timeouts.login)
            .await?;
        // Output past the buffer's bound lost its start: never report the rest as all of it.
        if taken.dropped > 0 {
            return Err(ShellError::OutputTooLarge {
                dropped: taken.dropped,
                limit: crate::expect::DEFAULT_LIMIT,
            });
        }
        let (output, exit_status) = decoded?;
        Ok(CommandOutput {
            output,
            exit_status,
        })
    }

    /// Ctrl-C for a command that ran out of time, then back to our prompt.
    async fn interrupt(&mut self, waited: Duration, pending: Vec<u8>) -> ShellError {
        if let Err(e) = self.resync().await {
            return e;
        }
        ShellError::CommandTimeout {
            waited,
            partial: String::from_utf8_lossy(&pending).into_owned(),
        }
    }

    /// Leaves the console as we found it: our shell and any sudo shell are exited; a session we
    /// logged into (or a user's session we found open) is logged out; a root or maintenance
    /// shell that was open before we came stays open.
    #[instrument(skip_all)]
    pub async fn leave(mut self) -> Result<(), ShellError> {
        self.begin_step("leave");
        // The echo and the kernel's log level go back on the same line that leaves our shell:
        // one round trip fewer.
        let mut restore = Some(self.restoring_line());
        while let Some(level) = self.levels.pop() {
            debug!(?level, "exit");
            let first = if level == Level::Own {
                restore.take()
            } else {
                None
            };
            self.type_text(&format!("{}exit\r", first.unwrap_or_default()))
                .await?;
            if self.levels.is_empty() && level == Level::Login {
                // Getty's fresh prompt, not only the shell's `logout`: a session that comes
                // next must not type its user name into a getty still starting.
                let login = Needles::new(&[("login prompt", r"login: ?$")]).expect("pattern");
                self.expecter.expect(&login, self.timeouts.login).await?;
            } else {
                // Until the shell below speaks, the screen still shows the prompt of the one
                // that exits: an `exit` typed then could go to a sudo that is ending.
                self.observe_after(self.timeouts.login, true).await?;
            }
        }
        self.expecter
            .console_mut()
            .finish()
            .map_err(ShellError::Write)?;
        self.writer.shutdown().await.map_err(ShellError::Write)?;
        self.ledger.end(self.counters());
        Ok(())
    }

    /// What our shell types before its `exit`: the tty's echo back on, and the kernel's log
    /// level as it was (taken: it goes back once).
    fn restoring_line(&mut self) -> String {
        let printk = self
            .saved_printk
            .take()
            .map(|level| format!("echo {level} > /proc/sys/kernel/printk; "));
        format!("stty echo 2>/dev/null; {}", printk.unwrap_or_default())
    }

    /// Starts our own shell and sets it up: our prompt, no pager, no colours, no history file,
    /// no bracketed paste, wide lines, no echo (what we type need not come back: an upload's
    /// echo was half of a diagnosis's bytes), and as root the kernel's console log level
    /// lowered (all put back when we leave). One round trip also learns the uid and the
    /// encoding.
    async fn enter_own_shell(&mut self) -> Result<(), ShellError> {
        self.start_own_shell("").await
    }

    /// [`Session::enter_own_shell`] in place of the root shell we just started: leaving then
    /// takes one `exit` and one round trip fewer.
    async fn replace_root_shell(&mut self) -> Result<(), ShellError> {
        self.start_own_shell("exec ").await
    }

    /// Our own shell, started by `how` (`exec ` or nothing) and set up.
    async fn start_own_shell(&mut self, how: &str) -> Result<(), ShellError> {
        self.begin_step("normalise");
        self.type_text(&format!(
            "if command -v bash >/dev/null 2>&1; then {how}bash --norc --noprofile; else {how}sh; fi\r"
        ))
        .await?;
        self.levels.push(Level::Own);
        let id = command::marker_id();
        let (left, right) = self.prompt_text.split_at(3);
        let setup = format!(
            "unset HISTFILE PROMPT_COMMAND; export TERM=dumb PAGER=cat SYSTEMD_PAGER= SYSTEMD_COLORS=0 SYSTEMD_URLIFY=0 LC_ALL=C; \
             bind 'set enable-bracketed-paste off' 2>/dev/null; stty cols 1000 2>/dev/null; stty -echo 2>/dev/null; \
             PS2=''; PS1='{left}''{right}'; {}\r",
            command::sync_line(&id, self.saved_printk.is_none())
        );
        self.type_text(&setup).await?;
        let sync = Needles::new(&[("shell sync", &command::sync_pattern(&id))]).expect("pattern");
        let taken = self.expecter.expect(&sync, self.timeouts.login).await?;
        let fields = String::from_utf8_lossy(&taken.matched).into_owned();
        let mut parts = fields.trim_end().split(':').skip(1);
        self.uid = parts.next().and_then(|u| u.parse().ok());
        self.encoding = parts
            .next()
            .and_then(Encoding::parse)
            .unwrap_or(Encoding::Base64);
        if let Some(level) = parts.next().filter(|l| !l.is_empty()) {
            self.saved_printk = Some(level.to_string());
        }
        if let Some(dir) = parts.next() {
            self.scratch_dir = dir.to_string();
        }
        self.gzip = parts.next() == Some("gzip");
        self.expecter
            .expect(&self.prompt, self.timeouts.login)
            .await?;
        debug!(uid = ?self.uid, encoding = ?self.encoding, "own shell ready");
        self.begin_step("commands");
        Ok(())
    }

    async fn exit_own_shell(&mut self) -> Result<(), ShellError> {
        if self.levels.last() == Some(&Level::Own) {
            self.levels.pop();
            let restore = self.restoring_line();
            self.type_text(&format!("{restore}exit\r")).await?;
            self.observe(self.timeouts.login).await?;
        }
        Ok(())
    }

    /// Whether the shell we found open is root's (asked in one round trip). What is typed next
    /// waits in the terminal until the shell reads it, so only a refusal, whose reason is read
    /// off the screen, waits for the prompt to come back.
    async fn shell_found_is_root(&mut self) -> Result<bool, ShellError> {
        let id = command::marker_id();
        self.type_text(&format!("{}\r", command::sync_line(&id, false)))
            .await?;
        let sync = Needles::new(&[("shell sync", &command::sync_pattern(&id))]).expect("pattern");
        let taken = self.expecter.expect(&sync, self.timeouts.login).await?;
        let root = String::from_utf8_lossy(&taken.matched).contains(":0:");
        if !root {
            self.observe(self.timeouts.quiet * 2).await?;
        }
        Ok(root)
    }

    /// Sends `keys`, then reports the state once the console has gone quiet: a console that
    /// answers a key at all answers within a few seconds.
    async fn nudge(&mut self, keys: &[u8]) -> Result<ConsoleState, ShellError> {
        self.expecter.discard_pending();
        self.write(keys).await?;
        self.observe(NUDGE_WAIT).await
    }

    /// Ctrl-C, then the state the console shows. A console with nothing to cancel may say
    /// nothing at all (a login prompt does not echo it): after one quiet spell without an
    /// answer the screen is taken as it is, not watched for the whole nudge; the next nudge
    /// (a cleared line and Enter) makes any console answer.
    async fn cancel(&mut self) -> Result<ConsoleState, ShellError> {
        self.expecter.discard_pending();
        self.write(b"\x03").await?;
        let deadline = Instant::now() + NUDGE_WAIT;
        let answer = self
            .expecter
            .settle(self.timeouts.quiet, NUDGE_WAIT)
            .await?;
        let deadline = if answer.is_empty() {
            Instant::now()
        } else {
            deadline
        };
        self.watch(deadline, answer, false).await
    }

    /// Watches the console until it is quiet and shows a known state (or `limit` passes).
    async fn observe(&mut self, limit: Duration) -> Result<ConsoleState, ShellError> {
        self.observe_after(limit, false).await
    }

    /// [`Session::observe`]; with `answered`, a state counts only once the console has said
    /// something: until then the screen still shows the prompt just answered.
    async fn observe_after(
        &mut self,
        limit: Duration,
        answered: bool,
    ) -> Result<ConsoleState, ShellError> {
        let deadline = Instant::now() + limit;
        let recent = self.expecter.settle(self.timeouts.quiet, limit).await?;
        self.watch(deadline, recent, answered).await
    }

    /// Classifies the screen with `recent` (what arrived since the last key), and goes on
    /// reading quiet spell by quiet spell until the state is known or `deadline` passes.
    async fn watch(
        &mut self,
        deadline: Instant,
        mut recent: Vec<u8>,
        answered: bool,
    ) -> Result<ConsoleState, ShellError> {
        loop {
            if self.console().kernel_panicked() {
                return Err(ShellError::KernelPanic);
            }
            let state = classify(
                &self.console().screen().cursor_line(),
                &String::from_utf8_lossy(&recent),
            );
            let heard = !answered || !recent.is_empty();
            if (heard && state != ConsoleState::Unknown) || Instant::now() >= deadline {
                return Ok(state);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            recent.extend(self.expecter.settle(self.timeouts.quiet, remaining).await?);
        }
    }

    fn screen_says(&self, pattern: &str) -> bool {
        regex::Regex::new(pattern)
            .map(|re| re.is_match(&self.console().screen().contents()))
            .unwrap_or(false)
    }

    /// Types a password at a prompt that does not echo and returns the state the console
    /// answers with. A loaded machine may take seconds to say anything (login's newline
    /// included), and the prompt stays on the screen meanwhile: only an answer counts.
    async fn answer_secret(&mut self, secret: &Secret) -> Result<ConsoleState, ShellError> {
        self.secrets.register(secret);
        self.enter_line(&format!("{}\r", secret.expose())).await
    }

    /// Types `line` (a user name or a command, with its Enter) at a prompt and returns the
    /// state it led to, counted only once the console has said something: until the echo
    /// comes (seconds on a loaded guest) the screen still shows the prompt it was typed at,
    /// which is no answer (a login prompt taken for a fresh one read as a refused login).
    async fn enter_line(&mut self, line: &str) -> Result<ConsoleState, ShellError> {
        self.expecter.discard_pending();
        self.type_text(line).await?;
        self.observe_after(self.timeouts.login, true).await
    }

    async fn type_text(&mut self, text: &str) -> Result<(), ShellError> {
        self.write(text.as_bytes()).await
    }

    /// Writes while reading: the echo of a long input must be able to flow back, or the far
    /// end stops reading and both sides wait on each other.
    async fn write(&mut self, bytes: &[u8]) -> Result<(), ShellError> {
        let mut rest = bytes;
        while !rest.is_empty() {
            tokio::select! {
                written = self.writer.write(rest) => {
                    let n = written.map_err(ShellError::Write)?;
                    if n == 0 {
                        return Err(ShellError::Write(std::io::ErrorKind::WriteZero.into()));
                    }
                    rest = &rest[n..];
                    self.sent += n as u64;
                    self.expecter.note_sent();
                }
                read = self.expecter.pump() => read?,
            }
        }
        self.writer.flush().await.map_err(ShellError::Write)
    }
}

fn last_nonempty_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string()
}
