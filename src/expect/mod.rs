//! The matcher: waits on a console for the earliest of several needles, with deadlines.
//!
//! Why not expectrl's `Session::expect` (see the crate notes in the README): it recompiles a
//! regex on every check, cannot take precompiled or custom needles, consumes up to the
//! *right-most* match (losing output between two prompts that arrive in one read), matches only
//! raw bytes (so coloured prompts and bracketed-paste sequences get in the way), and its sync
//! mode busy-waits. This module is the small alternative: precompiled [`Needles`], a bounded,
//! incrementally searched [`ExpectBuffer`], earliest match wins, and tokio deadlines that never
//! spin. Matching runs on the ANSI-free text that [`crate::term::Console`] produces.

mod buffer;
mod needles;

pub use buffer::{ExpectBuffer, Taken};
pub use needles::{Hit, Needles};

use crate::exit::ExitClass;
use crate::term::Console;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::{Instant, timeout_at};

/// Default bound of the match buffer.
pub const DEFAULT_LIMIT: usize = 8 << 20;
/// Longest unfinished line that is searched again when more bytes arrive.
pub const DEFAULT_WINDOW: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    #[error("timed out after {waited:?} waiting for {wanted}")]
    Timeout {
        wanted: String,
        waited: Duration,
        pending: Vec<u8>,
    },
    #[error("the console closed (end of stream) while waiting for {wanted}")]
    Eof { wanted: String, pending: Vec<u8> },
    #[error("reading from the console failed: {0}")]
    Io(#[from] io::Error),
}

impl ExpectError {
    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        match self {
            ExpectError::Timeout { .. } => ExitClass::Timeout,
            ExpectError::Eof { .. } | ExpectError::Io(_) => ExitClass::Link,
        }
    }
}

impl ExpectError {
    /// The unmatched text received before the failure.
    pub fn pending(&self) -> &[u8] {
        match self {
            ExpectError::Timeout { pending, .. } | ExpectError::Eof { pending, .. } => pending,
            ExpectError::Io(_) => &[],
        }
    }
}

/// The reading half of a console session.
pub struct Expecter {
    reader: Box<dyn AsyncRead + Send + Unpin>,
    console: Console,
    buffer: ExpectBuffer,
    chunk: Vec<u8>,
    eof: bool,
    /// Raw bytes read from the link so far.
    received: u64,
    /// Something was sent since the last wait: the next wait is for its answer.
    awaiting_answer: bool,
    /// Waits for an answer to something sent: over a slow link, each costs the link's latency.
    round_trips: u64,
}

impl Expecter {
    pub fn new(reader: Box<dyn AsyncRead + Send + Unpin>, console: Console) -> Self {
        Expecter {
            reader,
            console,
            buffer: ExpectBuffer::new(DEFAULT_LIMIT, DEFAULT_WINDOW),
            chunk: vec![0; 64 * 1024],
            eof: false,
            received: 0,
            awaiting_answer: false,
            round_trips: 0,
        }
    }

    pub fn console(&self) -> &Console {
        &self.console
    }

    /// Raw bytes read from the link so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Round trips so far: waits that followed something sent.
    pub fn round_trips(&self) -> u64 {
        self.round_trips
    }

    /// Says that bytes went out: the next wait counts as a round trip.
    pub fn note_sent(&mut self) {
        self.awaiting_answer = true;
    }

    fn count_round_trip(&mut self) {
        if std::mem::take(&mut self.awaiting_answer) {
            self.round_trips += 1;
        }
    }

    pub fn console_mut(&mut self) -> &mut Console {
        &mut self.console
    }

    /// Waits until one of `needles` matches, for at most `limit`.
    pub async fn expect(
        &mut self,
        needles: &Needles,
        limit: Duration,
    ) -> Result<Taken, ExpectError> {
        self.count_round_trip();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(taken) = self.buffer.take_match(needles) {
                return Ok(taken);
            }
            if self.eof {
                return Err(ExpectError::Eof {
                    wanted: describe(needles),
                    pending: self.buffer.take_all(),
                });
            }
            match timeout_at(deadline, self.read_some()).await {
                Ok(result) => {
                    result?;
                }
                Err(_) => {
                    return Err(ExpectError::Timeout {
                        wanted: describe(needles),
                        waited: limit,
                        pending: self.buffer.pending().to_vec(),
                    });
                }
            }
        }
    }

    /// Reads until the console has been quiet for `quiet` (or `limit` passed) and returns what
    /// arrived, removing it from the buffer. Used to see what state a console is in. Kernel
    /// lines do not count as activity: a console they flood is still quiet.
    pub async fn settle(
        &mut self,
        quiet: Duration,
        limit: Duration,
    ) -> Result<Vec<u8>, ExpectError> {
        self.count_round_trip();
        let deadline = Instant::now() + limit;
        let mut idle = (Instant::now() + quiet).min(deadline);
        while !self.eof {
            match timeout_at(idle, self.read_some()).await {
                Ok(result) => {
                    if result? > 0 {
                        idle = (Instant::now() + quiet).min(deadline);
                    }
                }
                Err(_) => break,
            }
        }
        Ok(self.buffer.take_all())
    }

    /// Reads once into the buffer, without matching: keeps the console's output flowing while
    /// we write (a console that cannot send its echo stops taking input). Cancel-safe.
    pub async fn pump(&mut self) -> Result<(), ExpectError> {
        if self.eof {
            return Err(ExpectError::Eof {
                wanted: "room to type".into(),
                pending: self.buffer.pending().to_vec(),
            });
        }
        self.read_some().await?;
        Ok(())
    }

    /// Drops whatever has been received but not matched.
    pub fn discard_pending(&mut self) -> Vec<u8> {
        self.buffer.take_all()
    }

    /// Reads once; returns how many bytes of text (after the console's filtering) it added.
    async fn read_some(&mut self) -> io::Result<usize> {
        let n = self.reader.read(&mut self.chunk).await?;
        if n == 0 {
            self.eof = true;
            return Ok(0);
        }
        self.received += n as u64;
        let text = self.console.receive(&self.chunk[..n])?;
        self.buffer.push(&text);
        Ok(text.len())
    }
}

fn describe(needles: &Needles) -> String {
    (0..needles.len())
        .map(|i| needles.name(i))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn expecter() -> (Expecter, tokio::io::DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(1024);
        (
            Expecter::new(Box::new(ours), Console::new(24, 80, None)),
            theirs,
        )
    }

    #[tokio::test]
    async fn finds_a_prompt_behind_colour_codes() {
        let (mut e, mut peer) = expecter();
        peer.write_all(b"banner\r\n\x1b[?2004h\x1b[01;32muser@vm\x1b[00m:~$ ")
            .await
            .unwrap();
        let n = Needles::new(&[("prompt", r"\S+@\S+:[^\r\n]*[$#] $")]).unwrap();
        let t = e.expect(&n, Duration::from_secs(2)).await.unwrap();
        assert_eq!(t.before, b"banner\r\n");
        assert_eq!(t.matched, b"user@vm:~$ ");
    }

    #[tokio::test]
    async fn timeout_keeps_the_pending_output() {
        let (mut e, mut peer) = expecter();
        peer.write_all(b"no prompt here").await.unwrap();
        let n = Needles::new(&[("never", "xyzzy")]).unwrap();
        let err = e.expect(&n, Duration::from_millis(100)).await.unwrap_err();
        assert!(matches!(err, ExpectError::Timeout { .. }), "{err}");
        assert_eq!(err.pending(), b"no prompt here");
    }

    #[tokio::test]
    async fn eof_is_distinct_from_timeout_and_keeps_the_output() {
        let (mut e, mut peer) = expecter();
        peer.write_all(b"bye").await.unwrap();
        drop(peer);
        let n = Needles::new(&[("never", "xyzzy")]).unwrap();
        let err = e.expect(&n, Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(err, ExpectError::Eof { .. }), "{err}");
        assert_eq!(err.pending(), b"bye");
    }

    #[tokio::test]
    async fn settle_returns_after_the_console_goes_quiet() {
        let (mut e, mut peer) = expecter();
        peer.write_all(b"login: ").await.unwrap();
        let started = std::time::Instant::now();
        let got = e
            .settle(Duration::from_millis(100), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(got, b"login: ");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
