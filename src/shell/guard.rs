//! The drop guard: a session dropped without [`Session::leave`] (an early error, a panic,
//! Ctrl-C or SIGTERM cancelling the command) still types what closes every shell it opened,
//! so the next person to attach to the shared, recorded console finds a login prompt, never a
//! shell of ours.
//!
//! A destructor cannot wait, and the lines cannot all be typed at once: `sudo` relays what is
//! typed ahead into its own pty, and what its shell had not read when it exited is lost. So
//! the link's writer moves to a task that types one line at a time with a pause between;
//! [`closed`] waits for such tasks, and the CLI calls it before the process ends.

use super::Session;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;

/// Long enough for a shell to exit and the one below it (or sudo's relay) to take the console
/// back, even on a slow emulated guest.
const PAUSE: Duration = Duration::from_secs(2);

/// The tasks still closing shells of dropped sessions.
static CLOSERS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// Waits up to `within` for every dropped session's shells to be closed.
pub async fn closed(within: Duration) {
    let tasks = std::mem::take(&mut *CLOSERS.lock().unwrap_or_else(|e| e.into_inner()));
    let _ = tokio::time::timeout(within, async {
        for task in tasks {
            let _ = task.await;
        }
    })
    .await;
}

impl Session {
    /// The lines [`Session::leave`] would type, in order: an interrupt for a command still
    /// running, the echo and the console log level put back, one `exit` per shell we opened.
    fn closing_lines(&self) -> Vec<String> {
        let mut lines = vec!["\x03".to_string(), "stty echo 2>/dev/null\r".to_string()];
        if let Some(level) = &self.saved_printk {
            lines.push(format!("echo {level} > /proc/sys/kernel/printk\r"));
        }
        lines.extend(self.levels.iter().map(|_| "exit\r".to_string()));
        lines
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.levels.is_empty() {
            return;
        }
        let lines = self.closing_lines();
        tracing::warn!(
            shells = self.levels.len(),
            "the session ended without leaving the console: closing its shells"
        );
        self.levels.clear();
        let _ = self.expecter.console_mut().finish();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            write_without_waiting(&mut self.writer, lines.concat().as_bytes());
            return;
        };
        let mut writer = std::mem::replace(&mut self.writer, Box::new(tokio::io::sink()));
        let keepalive = std::mem::take(&mut self._keepalive);
        let task = runtime.spawn(async move {
            let _keepalive = keepalive;
            for line in lines {
                if writer.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
                let _ = writer.flush().await;
                tokio::time::sleep(PAUSE).await;
            }
            let _ = writer.shutdown().await;
        });
        CLOSERS.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }
}

/// Writes as much of `bytes` as the link takes right now: the fallback outside a runtime.
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
