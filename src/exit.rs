//! Process exit codes: one table, used by every subcommand and documented in the README.
//!
//! `exec` passes the guest command's own status through (0–255), like `ssh` does. lifeline's own
//! failures use the BSD `sysexits.h` range so scripts can tell them from ordinary statuses.

/// Success; for `diagnose`, a healthy guest.
pub const OK: u8 = 0;
/// `diagnose` found problems; `rescue` could not verify SSH.
pub const PROBLEMS: u8 = 1;
/// Bad command line (clap's own code for usage errors).
pub const USAGE: u8 = 2;
/// A bug or an unexpected internal state.
pub const SOFTWARE: u8 = 70;
/// The console could not be reached, or the link broke.
pub const LINK: u8 = 74;
/// The console did not answer in time (no prompt, command timed out).
pub const TIMEOUT: u8 = 75;
/// Login or privilege escalation was refused (wrong password, no sudo rights).
pub const AUTH: u8 = 77;
