//! Validation: `sshd -t` judges every sshd configuration a step leaves, before anything is
//! restarted; a step whose result it rejects is rolled back (see `plan.sh`). The guest side is
//! `validate.sh`.

use serde::Serialize;

pub(super) const SCRIPT: &str = include_str!("validate.sh");

/// What `sshd -t` said last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validation {
    pub ok: bool,
    /// sshd's complaint when it rejected the configuration.
    pub message: String,
}
