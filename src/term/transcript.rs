//! Session transcripts in asciicast v2 (playable with `asciinema play`), with secrets redacted.
//!
//! Only console output is recorded, the way a person watching the console would have seen it.
//! Bytes pass through a [`Redactor`] first; incomplete UTF-8 at the end of a chunk is held back so
//! that a character split between two reads is not mangled.

use super::redact::Redactor;
use super::withhold::{self, Withhold};
use crate::secret::SecretRegistry;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct Transcript {
    out: Box<dyn Write + Send>,
    started: Instant,
    redactor: Redactor,
    utf8_tail: Vec<u8>,
    withholding: Option<Withhold>,
}

impl Transcript {
    /// Creates (or empties) the transcript file: readable by its owner only, and never through
    /// a symbolic link, which another user could have planted at a path in a shared directory.
    pub fn create(path: &Path, cols: u16, rows: u16, secrets: SecretRegistry) -> io::Result<Self> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)?;
        // An existing file keeps its mode through open(2): narrow it before the first byte.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Self::new(Box::new(BufWriter::new(file)), cols, rows, secrets)
    }

    pub fn new(
        mut out: Box<dyn Write + Send>,
        cols: u16,
        rows: u16,
        secrets: SecretRegistry,
    ) -> io::Result<Self> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = serde_json::json!({
            "version": 2,
            "width": cols,
            "height": rows,
            "timestamp": timestamp,
            "env": {"TERM": "vt220"},
        });
        writeln!(out, "{header}")?;
        Ok(Transcript {
            out,
            started: Instant::now(),
            redactor: Redactor::new(secrets),
            utf8_tail: Vec::new(),
            withholding: None,
        })
    }

    pub fn output(&mut self, raw: &[u8]) -> io::Result<()> {
        let Some(withheld) = self.withholding.as_mut() else {
            return self.record(raw);
        };
        match withheld.push(raw) {
            None => Ok(()),
            Some(after) => {
                self.release()?;
                self.record(&after)
            }
        }
    }

    /// Leaves console output out from now on, up to the echo of `end` at a line's end, with a
    /// note in its place: an upload's echo (see [`withhold`]).
    pub fn withhold_until(&mut self, end: &str) -> io::Result<()> {
        self.release()?;
        self.withholding = Some(Withhold::until(end.as_bytes()));
        Ok(())
    }

    /// Ends withholding (if it is on), with the note.
    pub fn release(&mut self) -> io::Result<()> {
        match self.withholding.take() {
            Some(_) => self.record(withhold::NOTE),
            None => Ok(()),
        }
    }

    fn record(&mut self, raw: &[u8]) -> io::Result<()> {
        let safe = self.redactor.push(raw);
        self.write_event(&safe)
    }

    pub fn finish(&mut self) -> io::Result<()> {
        // The held part of a character comes before what the redactor still held.
        let mut rest = std::mem::take(&mut self.utf8_tail);
        rest.extend(self.redactor.finish());
        if !rest.is_empty() {
            let text = String::from_utf8_lossy(&rest).into_owned();
            self.event(&text)?;
        }
        self.out.flush()
    }

    fn write_event(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.utf8_tail.extend_from_slice(bytes);
        let complete = complete_utf8_prefix(&self.utf8_tail);
        if complete == 0 {
            return Ok(());
        }
        let rest = self.utf8_tail.split_off(complete);
        let chunk = std::mem::replace(&mut self.utf8_tail, rest);
        let text = String::from_utf8_lossy(&chunk).into_owned();
        self.event(&text)
    }

    fn event(&mut self, text: &str) -> io::Result<()> {
        let t = self.started.elapsed().as_secs_f64();
        let line = serde_json::to_string(&(t, "o", text)).map_err(io::Error::other)?;
        writeln!(self.out, "{line}")
    }
}

/// Length of `bytes` without a trailing, still incomplete UTF-8 sequence.
fn complete_utf8_prefix(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        // Invalid bytes in the middle: emit them (lossily) rather than stall.
        Err(_) => bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_transcript_file_is_private_and_never_written_through_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ll-transcript-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (path, victim, link) = (dir.join("t.cast"), dir.join("victim"), dir.join("link"));
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        Transcript::create(&path, 80, 24, SecretRegistry::default()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::write(&victim, "victim").unwrap();
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(Transcript::create(&link, 80, 24, SecretRegistry::default()).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "victim");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn writes_asciicast_v2_with_secrets_redacted_and_split_characters_whole() {
        let sink = Shared::default();
        let secrets = SecretRegistry::default();
        secrets.register(&Secret::new("pa55word"));
        let mut t = Transcript::new(Box::new(sink.clone()), 80, 24, secrets).unwrap();
        t.output(b"login: pa5").unwrap();
        t.output(b"5word \xe2\x97").unwrap();
        t.output(b"\x8f done\r\n").unwrap();
        t.finish().unwrap();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let mut lines = text.lines();
        let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(header["version"], 2);
        assert_eq!(header["width"], 80);
        let played: String = lines
            .map(|l| {
                let ev: (f64, String, String) = serde_json::from_str(l).unwrap();
                assert_eq!(ev.1, "o");
                ev.2
            })
            .collect();
        assert_eq!(played, "login: [redacted] \u{25cf} done\r\n");
        assert!(!text.contains("pa55word"));
    }
}
