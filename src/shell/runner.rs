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

    /// Writes `script` to `path` (mode `mode`), created private before its first byte, and
    /// runs it with `sh`; its output and exit status, as [`Runner::run_with_timeout`] gives
    /// them. A file that arrived damaged is removed, not run: [`ShellError::Transfer`].
    fn run_file(
        &mut self,
        path: &str,
        script: &str,
        mode: u32,
        limit: Duration,
    ) -> impl Future<Output = Result<CommandOutput, ShellError>> + Send;
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

    fn run_file(
        &mut self,
        path: &str,
        script: &str,
        mode: u32,
        limit: Duration,
    ) -> impl Future<Output = Result<CommandOutput, ShellError>> + Send {
        Session::run_file(self, path, script, mode, limit)
    }
}
