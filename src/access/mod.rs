//! The ladder of ways to root, and what a way in gives back.
//!
//! Opening a session takes a [`Target`], the [`Access`] the operator allows (the rungs and
//! their credentials) and [`OpenOptions`]; it gives back a [`Channel`] and an
//! [`AccessRecord`] naming the rung that got in and why every other rung it came to did not.
//! Rungs in order: `login` (the given login, then sudo), `root` (root's password at the login
//! prompt, with `su`, or at systemd's maintenance prompts), `expired` (a password login says
//! must be changed, changed to the operator's new one), `agent` (a one-time login through the
//! cloud's guest agent, only with `--allow-agent-login`) and `break-in` (a restart into a root
//! shell, only with `--allow-reboot`). Nothing restarts and no account is added unless the
//! operator allows it.

mod agent_channel;
mod agent_rung;
mod breakin;
mod channel;
mod ladder;
mod mend;
mod record;
mod target;

pub use agent_channel::AgentChannel;
pub use breakin::BreakInError;
pub use channel::Channel;
pub use record::{AccessRecord, Attempt, Outcome, Rung};
pub use target::{AzureHandle, OpenConsole, OpenError, Target};
// What opening a session takes and gives back, named where sessions are opened: a serial
// target's link spec, the login's credentials (made of secrets) and the timeouts, the console
// session a channel holds and what it cost, and the wait for dropped sessions to close their
// shells before the process ends.
pub use crate::link::LinkSpec;
pub use crate::secret::Secret;
pub use crate::shell::{Credentials, Ledger, Session, Timeouts, closed as sessions_closed};

use crate::exit::ExitClass;
use crate::secret::SecretRegistry;
use crate::shell::{BootStop, ShellError};
use crate::term::{Console, Transcript};
use ladder::Stop;
use std::path::PathBuf;

/// The console size every session uses.
pub const ROWS: u16 = 24;
pub const COLS: u16 = 80;

/// What the operator allows: the login and each rung's credential.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The login (user and password) and root's password for the `root` rung.
    pub credentials: Credentials,
    /// The `expired` rung: what a password that must be changed is changed to.
    pub new_password: Option<Secret>,
    /// The `agent` rung: lifeline may add a one-time uid-0 login through the VM agent.
    pub allow_agent_login: bool,
    /// The `break-in` rung: lifeline may restart the VM.
    pub allow_reboot: bool,
    /// How a local target is restarted (`--reset-cmd`); Azure machines use the reset admin
    /// command.
    pub reset_command: Option<String>,
    /// The way in: the console's ladder, or the VM agent alone.
    pub via: Via,
    /// Where the packages of damaged files are fetched from (`--package-mirror`), else the
    /// distribution's archive: for the break-in's offline shell, whose own tools may load them.
    pub package_mirrors: Vec<azure_core::http::Url>,
}

/// How root is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    /// The serial console, climbing the ladder (whose `agent` rung may use the VM agent).
    #[default]
    Console,
    /// Azure's Run Command through the VM agent, without the console.
    Agent,
}

/// The shell a session needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any logged-in shell (`exec` without `--root`).
    Shell,
    /// A root shell.
    Root,
}

impl Need {
    fn as_str(self) -> &'static str {
        match self {
            Need::Shell => "a shell",
            Need::Root => "root",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub need: Need,
    /// Where to record the session (asciicast), if anywhere.
    pub record: Option<PathBuf>,
    pub timeouts: Timeouts,
    /// A break-in hands back its offline shell (before the boot goes on) rather than a login
    /// after the boot: the caller repairs what stops the boot there, then calls
    /// [`Channel::boot_on`].
    pub offline_first: bool,
}

impl OpenOptions {
    pub fn new(need: Need) -> OpenOptions {
        OpenOptions {
            need,
            record: None,
            timeouts: Timeouts::default(),
            offline_first: false,
        }
    }
}

/// A way in: the channel, the record of the climb, and for Azure what admin commands need.
pub struct Opened {
    pub channel: Channel,
    pub access: AccessRecord,
    pub description: String,
    pub azure: Option<AzureHandle>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("could not create the transcript {path}: {source}")]
    Transcript {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reaching a shell on {target}: {source}")]
    Console {
        target: String,
        #[source]
        source: ShellError,
    },
    #[error("no way to {need} on {target}: {record}")]
    NoWayIn {
        target: String,
        need: &'static str,
        record: AccessRecord,
    },
}

impl AccessError {
    /// Where the boot had stopped, when the console was found stuck before a login prompt.
    pub fn boot_stop(&self) -> Option<BootStop> {
        match self {
            AccessError::Console { source, .. } => source.boot_stop(),
            AccessError::NoWayIn { record, .. } => record.console,
            _ => None,
        }
    }

    /// What the ladder did, when it climbed and found no way in.
    pub fn record(&self) -> Option<&AccessRecord> {
        match self {
            AccessError::NoWayIn { record, .. } => Some(record),
            _ => None,
        }
    }

    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        match self {
            AccessError::Open(e) => e.exit_class(),
            AccessError::Transcript { .. } => ExitClass::Software,
            AccessError::Console { source, .. } => source.exit_class(),
            AccessError::NoWayIn { .. } => ExitClass::Auth,
        }
    }
}

/// Where the boot had stopped, for a failure with `error` anywhere in its chain of sources:
/// what the ladder saw, when it is an [`AccessError`], else what a console error says.
pub fn boot_stop_of(error: &(dyn std::error::Error + 'static)) -> Option<BootStop> {
    let chain = || std::iter::successors(Some(error), |e| e.source());
    match chain().find_map(|e| e.downcast_ref::<AccessError>()) {
        Some(access) => access.boot_stop(),
        None => chain().find_map(|e| {
            e.downcast_ref::<ShellError>()
                .and_then(ShellError::boot_stop)
        }),
    }
}

/// Opens the target's console and climbs the ladder to the shell `options.need` asks for.
pub async fn open(
    target: &Target,
    access: &Access,
    options: &OpenOptions,
) -> Result<Opened, AccessError> {
    let secrets = SecretRegistry::default();
    for secret in [
        &access.credentials.password,
        &access.credentials.root_password,
        &access.new_password,
    ]
    .into_iter()
    .flatten()
    {
        secrets.register(secret);
    }
    let agent = match target {
        Target::Azure { arm, vm, .. } => Some(AgentChannel {
            arm: (**arm).clone(),
            vm: vm.clone(),
        }),
        Target::Serial(_) => None,
    };
    if access.via == Via::Agent {
        return through_agent(target, agent).await;
    }
    let console = console(options.record.as_ref(), &secrets)?;
    let opened = target.open().await?;
    let description = opened.description;
    let mut session = Session::new(opened.link, console, secrets, options.timeouts);
    let restart = match (&access.reset_command, &opened.azure) {
        (Some(command), _) => Some(breakin::Restart::Command(command.clone())),
        (None, Some(handle)) => Some(breakin::Restart::azure(handle)),
        (None, None) => None,
    };
    let climbed = {
        let _step = crate::progress::step(&format!(
            "reaching {} on the console",
            options.need.as_str()
        ));
        ladder::climb(
            &mut session,
            access,
            options.need,
            restart.as_ref(),
            agent.as_ref(),
            options.offline_first,
        )
        .await
    };
    match climbed {
        Ok(climbed) => Ok(Opened {
            channel: Channel::Console {
                session,
                one_time: climbed.one_time,
                offline: climbed.offline,
                restart,
                package_mirrors: access.package_mirrors.clone(),
            },
            access: climbed.record,
            description,
            azure: opened.azure,
        }),
        Err(stop) => {
            // The console is left as found (logged out) whatever the ladder got to.
            if let Err(e) = session.leave().await {
                tracing::warn!("leaving the console: {e}");
            }
            Err(match stop {
                Stop::Console(source) => AccessError::Console {
                    target: description,
                    source,
                },
                Stop::NoWayIn(record) => AccessError::NoWayIn {
                    target: description,
                    need: options.need.as_str(),
                    record,
                },
            })
        }
    }
}

/// `--via agent`: the VM agent alone, if Azure says it is ready.
async fn through_agent(
    target: &Target,
    agent: Option<AgentChannel>,
) -> Result<Opened, AccessError> {
    let description = format!("{} (VM agent)", target.description());
    let mut record = AccessRecord::default();
    let Some(agent) = agent else {
        record.note(
            Rung::Agent,
            Outcome::Skipped,
            "--via agent needs an Azure VM (-g RG -n VM)",
        );
        return Err(AccessError::NoWayIn {
            target: description,
            need: Need::Root.as_str(),
            record,
        });
    };
    if let Some(why) = agent_rung::not_ready(&agent).await {
        record.note(Rung::Agent, Outcome::Failed, why);
        return Err(AccessError::NoWayIn {
            target: description,
            need: Need::Root.as_str(),
            record,
        });
    }
    record.note(
        Rung::Agent,
        Outcome::GotIn,
        "--via agent: scripts run as root through Run Command; the console was not used",
    );
    Ok(Opened {
        channel: Channel::Agent(agent),
        access: record,
        description,
        azure: None,
    })
}

/// The console view every session uses, with a transcript when one is asked for.
fn console(record: Option<&PathBuf>, secrets: &SecretRegistry) -> Result<Console, AccessError> {
    let transcript = match record {
        Some(path) => Some(
            Transcript::create(path, COLS, ROWS, secrets.clone()).map_err(|source| {
                AccessError::Transcript {
                    path: path.clone(),
                    source,
                }
            })?,
        ),
        None => None,
    };
    Ok(Console::new(ROWS, COLS, transcript))
}
