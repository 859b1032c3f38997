//! Questions on the terminal that Ctrl-C can end.
//!
//! The runtime's SIGINT handler replaces the default action, so a plain blocking read of stdin
//! would keep waiting through a Ctrl-C: the command future that reads cannot be cancelled while
//! it blocks. The answer is read on the runtime instead, beside a SIGINT listener.

use anyhow::Result;
use tokio::io::AsyncBufReadExt;

/// The person at the terminal pressed Ctrl-C at a question (exits 130).
#[derive(Debug, thiserror::Error)]
#[error("interrupted at the question; nothing changed")]
pub struct Interrupted;

/// One line from stdin, or [`Interrupted`] when SIGINT comes first. Blocks the calling
/// thread; callers run inside the command's task on the multi-thread runtime.
pub fn line() -> Result<String> {
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            let mut line = String::new();
            let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
            tokio::select! {
                read = stdin.read_line(&mut line) => {
                    read?;
                    Ok(line)
                }
                _ = tokio::signal::ctrl_c() => Err(Interrupted.into()),
            }
        })
    })
}
