//! lifeline: reach a Linux VM's serial console, log in like a person would, find out why SSH is
//! down, repair it safely, and prove that SSH answers again.
//!
//! The layers follow the path of the data, each knowing only the one below it:
//! [`link`] (a byte stream; [`azure`] provides one over the Azure Serial Console) → [`term`]
//! (screen, plain text, transcript) → [`expect`] (matching with deadlines) → [`shell`] (console
//! state, login, root, commands with exit status) → [`access`] (the ladder of ways to root, and
//! the channel a way in gives back) → [`probe`] (one read-only script that
//! collects facts) → [`rules`] (one file per cause) → [`report`]. [`diagnose`] runs the middle
//! of that path; [`cli`] is the command-line edge on top. Long steps name themselves to
//! [`progress`], which the command line shows on a terminal.

pub mod access;
pub mod azure;
pub mod cli;
pub mod diagnose;
pub mod exit;
pub mod expect;
pub mod link;
pub mod login;
pub mod packages;
pub mod playbook;
pub mod posix_sh;
pub mod probe;
pub mod progress;
pub mod remedy;
pub mod report;
pub mod rescue;
pub mod rules;
pub mod runtime;
pub mod secret;
pub mod shell;
pub mod term;
