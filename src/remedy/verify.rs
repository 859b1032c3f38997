//! Verification from inside the guest: sshd's `SSH-2.0-` banner read on every port it is
//! configured for (loopback for wildcard listeners), with whatever the guest has to open a TCP
//! connection (bash's /dev/tcp, python3, nc), bounded in time. The guest side is `verify.sh`.

use serde::Serialize;

pub(super) const SCRIPT: &str = include_str!("verify.sh");

/// One port's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortCheck {
    pub port: String,
    pub address: String,
    pub ok: bool,
    /// The banner, or what came instead.
    pub answer: String,
}
