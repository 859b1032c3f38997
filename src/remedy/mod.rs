//! Changes to the guest, made the way a careful administrator makes them: every path is backed
//! up before it changes (`/var/backups/lifeline/<id>/`, with a manifest), written atomically with
//! its owner, mode and SELinux label kept, every sshd configuration is judged by `sshd -t`
//! before anything restarts (a step it rejects is rolled back), SSH is restarted the way the
//! distribution wants, and the result is proved by reading sshd's banner from inside the guest.
//! Running an operation twice changes nothing the second time, and says so.
//!
//! An operation ([`ops`]) makes a [`Plan`]: ordered steps rendered into one POSIX sh script,
//! sent and run in one go ([`Plan::apply`]), which reports what it did as records that become
//! an [`Outcome`]. The shell side lives in the `.sh` files beside each module: `plan.sh` (steps,
//! records, the end of a run), `confine.sh` (acting in directories a user controls),
//! `backup.sh`, `write.sh`, `validate.sh`, `service.sh`, `verify.sh`, `firewall.sh`, and one
//! per operation under `ops/`.
//!
//! On Azure's side, [`nsg`] adds (and undoes) the one allow rule a rescue may need in the
//! NIC's network security group, through ARM.
//!
//! Passwords never reach the guest: the client makes a sha512-crypt hash (`crypt.rs`) and only
//! the hash crosses the console, inside the script file, to `chpasswd -e`'s standard input.

mod backup;
mod confine;
pub(crate) mod crypt;
mod firewall;
mod key;
#[cfg(test)]
mod library_coverage;
pub mod nsg;
pub mod ops;
mod outcome;
pub(crate) mod plan;
mod service;
#[cfg(test)]
mod sshd_stand_in;
mod user;
mod validate;
mod verify;
mod write;

pub use backup::{BACKUP_ROOT, Backup, BackupId};
pub use key::PublicKeys;
pub use ops::list_backups;
pub use outcome::{BackupLocation, Change, Outcome, StepResult, StepStatus};
pub use plan::{Plan, program};
#[cfg(test)]
pub(crate) use plan::{run_locally, run_over_private_etc, scrubbed};
pub use service::ServiceAction;
#[cfg(test)]
pub(crate) use sshd_stand_in::over_empty_etc;
pub use user::UserName;
pub use validate::Validation;
pub use verify::PortCheck;

use crate::exit::ExitClass;
use crate::shell::ShellError;

#[derive(Debug, thiserror::Error)]
pub enum RemedyError {
    #[error(
        "changing the guest needs a root shell, and the session is not root: become root first \
         (lifeline's --root, or sudo rights for the login user)"
    )]
    NotRoot,
    #[error(transparent)]
    Shell(#[from] ShellError),
    #[error("{name:?} is not a user name lifeline accepts: {why}")]
    UserName { name: String, why: String },
    #[error("the SSH public key file is not usable (line {line}): {why}")]
    PublicKey { line: usize, why: String },
    #[error(
        "{0:?} is not a backup id: ids are UTC times like 20261121T095012Z; \
         `lifeline undo --list` shows the guest's backups"
    )]
    BackupId(String),
    #[error(
        "the guest script ended (exit status {exit_status}) without reporting anything; \
         it printed:\n{output}"
    )]
    NoResult { exit_status: i32, output: String },
}

impl RemedyError {
    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        match self {
            RemedyError::Shell(e) => e.exit_class(),
            RemedyError::UserName { .. }
            | RemedyError::PublicKey { .. }
            | RemedyError::BackupId(_) => ExitClass::Usage,
            RemedyError::NotRoot | RemedyError::NoResult { .. } => ExitClass::Software,
        }
    }
}
