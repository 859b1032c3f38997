//! Playbooks: one TOML file naming many targets and what to do on each, for
//! `lifeline rescue --targets FILE` (a fleet locked out at once). See `docs/playbook.md`.
//!
//! Loading only reads and checks the file; nothing connects anywhere. Every mistake is
//! reported before the first console is opened, as `FILE:LINE:COLUMN: message`, because a
//! playbook that stops on its tenth target for a typo leaves a fleet half repaired.
//!
//! Secrets never live in a playbook: it names environment variables and files, and neither is
//! read here, so a playbook can be checked on a machine that does not have them.
//!
//! The file is read in two passes: `raw` (serde: syntax, known keys, types, with the place
//! of every value) and then the rules, in `target`, `operation` and `unique`.

mod error;
mod operation;
mod raw;
mod source;
mod target;
#[cfg(test)]
mod tests;
mod unique;

pub use error::PlaybookError;

use crate::azure::VmTarget;
use crate::link::LinkSpec;
use source::Source;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Playbooks larger than this are refused: a fleet of thousands fits in far less, and a
/// bigger file is most likely not a playbook at all.
const MAX_SIZE: usize = 1024 * 1024;

/// The most targets worked on at once: each is a console session and a login, and Azure
/// throttles a subscription's Serial Console connections well before this.
const MAX_PARALLEL: i64 = 64;

/// A checked playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playbook {
    /// The file it was read from, as given.
    pub path: PathBuf,
    /// How many targets to work on at once (`parallel` in `[defaults]`); the CLI's
    /// `--parallel` takes precedence.
    pub parallel: Option<usize>,
    /// The targets, in the order of the file, with the defaults applied.
    pub targets: Vec<PlaybookTarget>,
}

/// One machine and what to do on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookTarget {
    /// The label in reports: `name`, or derived from the console (`rg/vm`,
    /// `rg/scale-set/instance`, the serial spec). Unique within the playbook.
    pub name: String,
    pub console: Console,
    pub login: Login,
    /// What to do, in order; never empty.
    pub operations: Vec<Operation>,
    /// `host[:port]` whose SSH should answer after the operations, when given.
    pub verify_host: Option<String>,
    /// How this local target is restarted for a break-in (`--reset-cmd` for one target).
    pub reset_cmd: Option<String>,
}

/// How to reach the target's console, as the CLI's target flags say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Console {
    /// `serial = "unix:PATH" | "tcp:HOST:PORT" | "cmd:COMMAND"` (`--serial`).
    Serial(LinkSpec),
    /// `id = "/subscriptions/…"` (`--ids`): a VM or a scale-set instance.
    AzureId(VmTarget),
    /// `resource_group` + `vm` (`-g` / `-n`); without a subscription the CLI's default applies.
    AzureVm {
        subscription: Option<String>,
        resource_group: String,
        vm: String,
    },
    /// `resource_group` + `vmss` + `instance_id` (`-g` / `--vmss` / `--instance-id`).
    AzureScaleSet {
        subscription: Option<String>,
        resource_group: String,
        scale_set: String,
        instance_id: String,
    },
}

/// How to log in on the console (`--user`, `--password-env`/`--password-file`,
/// `--root-password-env`); what is not given is asked for or defaulted as on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Login {
    pub user: Option<String>,
    pub password: Option<SecretSource>,
    /// The variable holding root's password, for systemd's maintenance-mode prompt.
    pub root_password_env: Option<String>,
}

/// Where a secret is read from when the playbook runs (never at load time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The value of this environment variable.
    Env(String),
    /// The first line of this file (already resolved against the playbook's directory).
    File(PathBuf),
}

/// One thing to do on a target; each is the command of the same name on one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `lifeline rescue`: diagnose, repair safely, verify.
    Rescue,
    /// `lifeline reset-ssh [--keep-ports]`.
    ResetSsh { keep_ports: bool },
    /// `lifeline user reset-password USER`.
    ResetPassword {
        user: String,
        password: SecretSource,
    },
    /// `lifeline user reset-key USER --ssh-key-file FILE`.
    ResetKey { user: String, ssh_key_file: PathBuf },
    /// `lifeline user add USER [--sudo] [--ssh-key-file FILE] [--new-password-*]`.
    AddUser {
        user: String,
        sudo: bool,
        ssh_key_file: Option<PathBuf>,
        password: Option<SecretSource>,
    },
    /// `lifeline user remove USER`.
    RemoveUser { user: String },
}

impl Operation {
    /// The operation as the command line names it, for progress lines and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Rescue => "rescue",
            Operation::ResetSsh { .. } => "reset-ssh",
            Operation::ResetPassword { .. } => "user reset-password",
            Operation::ResetKey { .. } => "user reset-key",
            Operation::AddUser { .. } => "user add",
            Operation::RemoveUser { .. } => "user remove",
        }
    }
}

impl Playbook {
    /// Reads and checks the playbook at `path`.
    pub fn load(path: &Path) -> Result<Playbook, PlaybookError> {
        let read_error = |source| PlaybookError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        // Read one byte past the limit, never the whole of whatever the path names.
        let mut text = String::new();
        file.take(MAX_SIZE as u64 + 1)
            .read_to_string(&mut text)
            .map_err(read_error)?;
        Playbook::parse(&text, path)
    }

    /// Checks the text of a playbook; `path` is where it came from, for messages and for
    /// resolving the relative paths in it.
    pub fn parse(text: &str, path: &Path) -> Result<Playbook, PlaybookError> {
        if text.len() > MAX_SIZE {
            return Err(PlaybookError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let source = Source {
            path,
            text,
            home: std::env::var_os("HOME").map(PathBuf::from),
        };
        let raw = raw::read(&source)?;
        let defaults = target::defaults(&source, &raw.defaults)?;
        let parallel = raw
            .defaults
            .parallel
            .as_ref()
            .map(|p| parallel(&source, p))
            .transpose()?;
        if raw.targets.is_empty() {
            return Err(source.error(
                0..0,
                "the playbook names no target; add a [[target]] table for each machine",
            ));
        }
        let targets = raw
            .targets
            .iter()
            .map(|t| target::target(&source, t, &defaults))
            .collect::<Result<Vec<_>, _>>()?;
        unique::check_unique(&source, &targets)?;
        Ok(Playbook {
            path: path.to_path_buf(),
            parallel,
            targets: targets.into_iter().map(|(target, _)| target).collect(),
        })
    }
}

fn parallel(source: &Source, value: &toml::Spanned<i64>) -> Result<usize, PlaybookError> {
    let n = *value.get_ref();
    if !(1..=MAX_PARALLEL).contains(&n) {
        return Err(source.error(
            value.span(),
            format!(
                "parallel = {n}: it is how many targets are worked on at once, from 1 to \
                 {MAX_PARALLEL}"
            ),
        ));
    }
    Ok(n as usize)
}
