//! The SSH service: restarted when its configuration changed, started when it is not running,
//! unmasked and enabled on the way, with the unit name and socket activation each distribution
//! uses; without systemd, sysvinit's init script (linked into the runlevels, restarted or
//! started); nothing is started with neither (a chroot or an emergency shell). The guest side is
//! `service.sh`.

use serde::Serialize;

pub(super) const SCRIPT: &str = include_str!("service.sh");

/// What was done to the SSH unit at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceAction {
    /// `ssh.service`, `sshd.socket`, …; `-` when there is none.
    pub unit: String,
    /// `restarted`, `unchanged` (it was active and nothing required a restart), `failed` or
    /// `skipped` (systemd is not PID 1).
    pub status: String,
    pub message: String,
}
