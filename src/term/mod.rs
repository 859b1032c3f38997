//! What the console shows: a vt100 [`screen`] (what a person would see), a plain-text view with
//! escape sequences removed ([`ansi`], [`plain`]), kernel-message filtering ([`kernel`]), and a
//! redacted asciicast [`transcript`], and guest text escaped for the operator's terminal
//! ([`escape`]).
//!
//! [`Console`] is the single tap every received byte goes through: it updates the screen, writes
//! the transcript, and hands the ANSI-free text to the matcher above.

pub mod ansi;
pub mod escape;
pub mod kernel;
pub mod plain;
pub mod redact;
pub mod screen;
pub mod transcript;
pub mod withhold;

use std::io;

pub use screen::Screen;
pub use transcript::Transcript;

/// The receiving side of a console: raw bytes in, plain text out, screen and transcript kept.
///
/// Kernel log lines go to the transcript (they are part of what happened) but not to the
/// screen or the text: the console state and command output are read as if they were absent.
pub struct Console {
    screen: Screen,
    stripper: ansi::Stripper,
    kernel: kernel::KernelLineFilter,
    panic: kernel::PanicWatch,
    transcript: Option<Transcript>,
}

impl Console {
    pub fn new(rows: u16, cols: u16, transcript: Option<Transcript>) -> Self {
        Console {
            screen: Screen::new(rows, cols),
            stripper: ansi::Stripper::default(),
            kernel: kernel::KernelLineFilter::default(),
            panic: kernel::PanicWatch::default(),
            transcript,
        }
    }

    /// Takes raw bytes from the link; returns the text without escape sequences and without
    /// kernel log lines.
    pub fn receive(&mut self, raw: &[u8]) -> io::Result<Vec<u8>> {
        if let Some(t) = self.transcript.as_mut() {
            t.output(raw)?;
        }
        self.panic.scan(raw);
        let without_kernel = self.kernel.filter(raw);
        self.screen.feed(&without_kernel);
        Ok(self.stripper.strip(&without_kernel))
    }

    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// Whether the kernel has printed a panic since the session began or the machine last
    /// restarted.
    pub fn kernel_panicked(&self) -> bool {
        self.panic.seen()
    }

    /// The machine restarted: a panic printed before is no longer the kernel's state.
    pub fn restarted(&mut self) {
        self.panic = kernel::PanicWatch::default();
    }

    /// Leaves what arrives from now on out of the transcript, up to the echo of `end` at a
    /// line's end (an upload's here-document marker): see [`withhold`].
    pub fn withhold_until(&mut self, end: &str) -> io::Result<()> {
        match self.transcript.as_mut() {
            Some(t) => t.withhold_until(end),
            None => Ok(()),
        }
    }

    /// Ends withholding, whether or not its end marker came (a console that does not echo).
    pub fn release(&mut self) -> io::Result<()> {
        match self.transcript.as_mut() {
            Some(t) => t.release(),
            None => Ok(()),
        }
    }

    /// Writes what the transcript still holds back (a partial secret match, a split character).
    pub fn finish(&mut self) -> io::Result<()> {
        match self.transcript.as_mut() {
            Some(t) => t.finish(),
            None => Ok(()),
        }
    }
}
