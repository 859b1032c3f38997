//! What probe, plan and verify need from a root way in: run a script, send a file. The
//! console [`Session`] is one; the access layer's channel through the cloud's guest agent is
//! another, so those layers do not care which carried them.

use super::{CommandOutput, Session, ShellError};
use std::time::Duration;

pub trait Runner: Send {
    /// Whether scripts run as root.
    fn is_root(&self) -> bool;

    /// Runs `script` and returns its output (stdout and stderr together) and exit status.
    fn run_with_timeout(
        &mut self,
        script: &str,
        limit: Duration,
    ) -> impl Future<Output = Result<CommandOutput, ShellError>> + Send;

    /// Charges what follows to `step` in the console's cost ledger (`--timings`); a way in
    /// without a console keeps none.
    fn begin_step(&self, step: &str);

    /// Writes `content` to `path` (mode `mode`), created private before its first byte.
    fn send_file(
        &mut self,
        path: &str,
        content: &[u8],
        mode: u32,
    ) -> impl Future<Output = Result<(), ShellError>> + Send;
}

impl Runner for Session {
    fn is_root(&self) -> bool {
        Session::is_root(self)
    }

    fn begin_step(&self, step: &str) {
        Session::begin_step(self, step);
    }

    fn run_with_timeout(
        &mut self,
        script: &str,
        limit: Duration,
    ) -> impl Future<Output = Result<CommandOutput, ShellError>> + Send {
        Session::run_with_timeout(self, script, limit)
    }

    fn send_file(
        &mut self,
        path: &str,
        content: &[u8],
        mode: u32,
    ) -> impl Future<Output = Result<(), ShellError>> + Send {
        Session::send_file(self, path, content, mode)
    }
}
