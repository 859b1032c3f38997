//! Files across the console, in one round trip.
//!
//! The content goes up gzipped where the guest has `gzip` (and that makes it smaller), as a
//! here-document of base64 lines typed in one write (76 characters a
//! line, so no tty line limit applies), decoded into a staging file; the verification command
//! is typed right behind it without waiting, so the only wait is for its result. The guest
//! checks the SHA-256 against ours and only then moves the file into place: nothing is left
//! behind on a mismatch. The staging file is private to its owner from its creation on.

use super::{CommandOutput, Session, ShellError, command};
use crate::posix_sh::quote;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::time::Duration;

impl Session {
    /// Writes `content` to `path` on the guest (mode `mode`, octal), verified by SHA-256.
    pub async fn send_file(
        &mut self,
        path: &str,
        content: &[u8],
        mode: u32,
    ) -> Result<(), ShellError> {
        let upload = self.upload(path, content, mode);
        let verify = upload.verify();
        let verify_id = command::marker_id();
        let line = command::typed_line(&verify, &verify_id, self.encoding);
        self.withhold(&upload)?;
        let out = async {
            self.type_text(&upload.typed()).await?;
            self.run_line(&line, &verify_id, self.timeouts.command)
                .await
        }
        .await;
        self.release()?;
        let out = out?;
        if out.exit_status != 0 {
            return Err(ShellError::Transfer(format!(
                "sending {path}: the file on the guest did not match its checksum ({})",
                out.text().trim()
            )));
        }
        Ok(())
    }

    /// [`upload`] of `content` to `path`, compressed where this guest has `gzip`.
    fn upload(&self, path: &str, content: &[u8], mode: u32) -> Upload {
        upload(path, content, mode, &command::marker_id(), self.gzip)
    }

    /// Keeps the echo of `upload`'s base64 out of the transcript, up to its end marker.
    fn withhold(&mut self, upload: &Upload) -> Result<(), ShellError> {
        let console = self.expecter.console_mut();
        console.withhold_until(&upload.end).map_err(transcript)
    }

    /// Ends [`Session::withhold`], whatever happened in between.
    fn release(&mut self) -> Result<(), ShellError> {
        self.expecter.console_mut().release().map_err(transcript)
    }

    /// Reads `path` from the guest, byte for byte.
    pub async fn fetch_file(&mut self, path: &str) -> Result<Vec<u8>, ShellError> {
        let out = self.run(&format!("cat -- {}", quote(path))).await?;
        if out.exit_status != 0 {
            return Err(ShellError::Transfer(format!(
                "reading {path}: {}",
                out.text().trim()
            )));
        }
        Ok(out.output)
    }

    /// Runs a command too long for one typed line: its script goes up as a file, and runs on
    /// the line that checks it, so upload and run cost one round trip.
    pub(super) async fn run_long_script(
        &mut self,
        command: &str,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        let id = command::marker_id();
        let script = command::script(command, &id, self.long_output_encoding());
        let path = format!("{}/.ll-{id}.sh", self.scratch_dir);
        let quoted = quote(&path);
        let then = format!(". {quoted}; rm -f {quoted}");
        self.upload_and_run(&path, script.as_bytes(), 0o600, &then, &id, limit)
            .await
    }

    /// Writes `script` to `path` (mode `mode`) and runs it with `sh` on the line that checks
    /// the upload: one round trip where [`Session::send_file`] and a run would take two.
    /// Exact output and exit status, as [`Session::run_with_timeout`] gives them.
    pub async fn run_file(
        &mut self,
        path: &str,
        script: &str,
        mode: u32,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        let id = command::marker_id();
        let run = format!("sh {}", quote(path));
        let then = command::typed_line(&run, &id, self.long_output_encoding());
        self.upload_and_run(path, script.as_bytes(), mode, &then, &id, limit)
            .await
    }

    /// Uploads `content` to `path` and, on the same line, runs `then` (which prints the
    /// markers of command `id`) once the upload checks out. A file that arrived damaged is
    /// removed and says so with its own marker instead of running: a
    /// [`ShellError::Transfer`]. The output comes back in [`Session::long_output_encoding`].
    async fn upload_and_run(
        &mut self,
        path: &str,
        content: &[u8],
        mode: u32,
        then: &str,
        id: &str,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        // Charged to the caller's step, split in the upload and the run (output included).
        let step = self.ledger.current().unwrap_or_default();
        let step = step.split(':').next().unwrap_or_default().to_string();
        self.begin_step(&format!("{step}: upload"));
        let upload = self.upload(path, content, mode);
        let typed = format!(
            "{}if {}; then {then}; else rm -f {}; printf 'll-%s-damaged\\n' {id}; fi\r",
            upload.typed(),
            upload.check,
            upload.staging
        );
        self.withhold(&upload)?;
        let out = async {
            self.type_text(&typed).await?;
            self.begin_step(&format!("{step}: run"));
            let encoding = self.long_output_encoding();
            self.collect(id, encoding, limit).await
        }
        .await;
        self.release()?;
        out
    }

    /// The encoding of a long script's output: such scripts (the probe, a plan) say much, so it
    /// comes back gzipped where the guest has `gzip`.
    fn long_output_encoding(&self) -> command::Encoding {
        match self.encoding {
            command::Encoding::Base64 if self.gzip => command::Encoding::GzipBase64,
            other => other,
        }
    }
}

/// A file on its way to the guest: a here-document decoded into a staging file, and the
/// command that checks it, sets its mode and moves it into place.
pub(crate) struct Upload {
    /// The here-document's lines, its end marker last.
    pub heredoc: Vec<String>,
    /// What the guest prints once it has read the here-document (`ll-ID-up`): the transcript
    /// withholds the console up to it, the base64's echo included where the tty echoes. The
    /// guest's own output marks the end because our shell types without echo, so the
    /// here-document's end marker never comes back.
    end: String,
    /// The command typed on the here-document's first line that prints `end`; its echo
    /// never holds `end` itself.
    announce: String,
    /// The command that succeeds only once the file is in place, checked.
    check: String,
    /// The staging file's name, quoted.
    staging: String,
}

impl Upload {
    /// The here-document as typed on a console, announcing its end once decoded.
    fn typed(&self) -> String {
        let (first, rest) = self
            .heredoc
            .split_first()
            .expect("a here-document's first line");
        let mut typed = format!("{first}; {}\r", self.announce);
        for line in rest {
            typed.push_str(line);
            typed.push('\r');
        }
        typed
    }

    /// The check, removing the staging file and failing when it does not hold.
    pub fn verify(&self) -> String {
        format!("{} || {{ rm -f {}; exit 1; }}", self.check, self.staging)
    }
}

/// [`Upload`] of `content` to `path` (mode `mode`), `id` making its names unique; gzipped
/// when `gzip` (the guest can inflate it) and that makes it smaller, since every byte typed on
/// a console is also echoed back.
pub(crate) fn upload(path: &str, content: &[u8], mode: u32, id: &str, gzip: bool) -> Upload {
    let staging = quote(&format!("{path}.ll-{id}"));
    let target = quote(path);
    let (decoder, payload) = match gzip.then(|| gzipped(content)).flatten() {
        Some(smaller) => ("base64 -d | gzip -dc", smaller),
        None => ("base64 -d", content.to_vec()),
    };
    // Created 0600 (umask 077) and only if absent (noclobber: O_EXCL, so never through a
    // planted link) before the first byte: a script can hold a password hash.
    let mut heredoc = vec![format!(
        "(umask 077; set -C; {decoder} > {staging}) <<'LL_EOF_{id}'"
    )];
    for line in STANDARD.encode(&payload).as_bytes().chunks(76) {
        heredoc.push(
            std::str::from_utf8(line)
                .expect("base64 is ascii")
                .to_string(),
        );
    }
    heredoc.push(format!("LL_EOF_{id}"));
    let digest = hex(&Sha256::digest(content));
    let check = format!(
        "[ \"$(sha256sum < {staging} | cut -d' ' -f1)\" = {digest} ] && chmod {mode:o} {staging} && \
         mv -f {staging} {target}"
    );
    Upload {
        heredoc,
        end: format!("ll-{id}-up"),
        announce: format!("printf 'll-%s-up\\n' {id}"),
        check,
        staging,
    }
}

/// `content` gzipped, when that makes it smaller.
fn gzipped(content: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(content).ok()?;
    let packed = encoder.finish().ok()?;
    (packed.len() < content.len()).then_some(packed)
}

fn transcript(e: std::io::Error) -> ShellError {
    ShellError::Expect(e.into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
