//! The drop guard: a session dropped without [`Session::leave`] (an error returned early, a
//! panic, Ctrl-C or SIGTERM cancelling the command) still types what closes every shell it
//! opened, so the next person to attach to the shared, recorded console finds a login prompt,
//! never a root shell of ours.
//!
//! A destructor cannot wait, so the keys are written without waiting: an interrupt (for a
//! command still running), the console log level put back, then one `exit` per level, all in
//! one write the console's input queue holds until each shell reads its line.

use super::Session;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tokio::io::AsyncWrite;

impl Session {
    /// What closes the shells still open: the keys [`Session::leave`] would type, unwaited.
    fn closing_keys(&self) -> String {
        let mut keys = String::from("\x03");
        if let Some(level) = &self.saved_printk {
            keys.push_str(&format!("echo {level} > /proc/sys/kernel/printk\r"));
        }
        keys.push_str(&"exit\r".repeat(self.levels.len()));
        keys
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.levels.is_empty() {
            return;
        }
        let keys = self.closing_keys();
        tracing::warn!(
            shells = self.levels.len(),
            "the session ended without leaving: closing its shells"
        );
        write_without_waiting(&mut self.writer, keys.as_bytes());
        self.levels.clear();
        let _ = self.expecter.console_mut().finish();
    }
}

/// Writes as much of `bytes` as the link takes right now (a socket or pty buffer takes a few
/// lines at once; a websocket link queues them for its sender).
fn write_without_waiting(writer: &mut (impl AsyncWrite + Unpin + ?Sized), mut bytes: &[u8]) {
    let mut cx = Context::from_waker(Waker::noop());
    while !bytes.is_empty() {
        match Pin::new(&mut *writer).poll_write(&mut cx, bytes) {
            Poll::Ready(Ok(n)) if n > 0 => bytes = &bytes[n..],
            _ => break,
        }
    }
    let _ = Pin::new(&mut *writer).poll_flush(&mut cx);
}
