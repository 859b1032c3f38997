//! lifeline: reach a Linux VM's serial console, log in like a person would, find out why SSH is
//! down, repair it safely, and prove that SSH answers again.
//!
//! The layers follow the path of the data, each knowing only the one below it:
//! [`link`] (a byte stream) → [`term`] (screen, plain text, transcript) → [`expect`] (matching
//! with deadlines) → [`shell`] (console state, login, root, commands with exit status).
//! [`cli`] is the command-line edge on top.

pub mod azure;
pub mod cli;
pub mod exit;
pub mod expect;
pub mod link;
pub mod secret;
pub mod shell;
pub mod term;
