//! The operations, VMAccess's and more, each a value that makes a [`Plan`](super::Plan):
//!
//! | operation | VMAccess | what lifeline adds |
//! |---|---|---|
//! | [`ResetSsh`] | `reset_ssh` | the package's pristine sshd_config (Include kept), drop-ins that break `sshd -t` repaired and those that override reported, the firewall of whatever kind opened persistently, `sshd -t`, rollback |
//! | [`ResetPassword`] | `password` | hash made on the client; PasswordAuthentication made effective for the user (drop-ins and Match blocks); expiry, lock and faillock lifted |
//! | [`ResetKey`] | `ssh_key` | the AuthorizedKeysFile sshd really uses; StrictModes owners and modes along the path; any OpenSSH key type |
//! | [`AddUser`] | `username` + sudo | a sudoers drop-in of its own checked by visudo |
//! | [`RemoveUser`] | `remove_user` | root and system accounts refused; the home archived in the backup |
//! | [`Repair`] | — | `lifeline rescue`: a fix for each finding of a diagnosis that has a safe one, in the order sshd needs them |
//! | [`Undo`] | `restore_backup_ssh` | any backup, byte for byte, itself backed up |

mod add_user;
mod password;
mod remove_user;
mod repair;
mod reset_key;
mod reset_ssh;
mod undo;

pub use add_user::AddUser;
pub use password::ResetPassword;
pub use remove_user::RemoveUser;
pub use repair::Repair;
pub use reset_key::ResetKey;
pub use reset_ssh::ResetSsh;
pub use undo::{Undo, list_backups};

/// Every operation's shell library, and the firewall's that two of them use.
pub(super) const LIBRARIES: [&str; 7] = [
    super::firewall::SCRIPT,
    reset_key::SCRIPT,
    add_user::SCRIPT,
    password::SCRIPT,
    repair::SCRIPT,
    reset_ssh::SCRIPT,
    undo::SCRIPT,
];
