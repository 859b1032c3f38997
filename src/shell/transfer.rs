//! Files across the console, in one round trip.
//!
//! The content goes up as a here-document of base64 lines typed in one write (76 characters a
//! line, so no tty line limit applies), decoded into a staging file; the verification command
//! is typed right behind it without waiting, so the only wait is for its result. The guest
//! checks the SHA-256 against ours and only then moves the file into place: nothing is left
//! behind on a mismatch. The staging file is private to its owner from its creation on.

use super::{CommandOutput, Session, ShellError, command};
use crate::posix_sh::quote;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::time::Duration;

impl Session {
    /// Writes `content` to `path` on the guest (mode `mode`, octal), verified by SHA-256.
    pub async fn send_file(
        &mut self,
        path: &str,
        content: &[u8],
        mode: u32,
    ) -> Result<(), ShellError> {
        let id = command::marker_id();
        let upload = upload(path, content, mode, &id);
        let mut typed = upload.heredoc.join("\r");
        typed.push('\r');
        self.type_text(&typed).await?;
        let verify = upload.verify;
        let verify_id = command::marker_id();
        let line = command::typed_line(&verify, &verify_id, self.encoding);
        let out = self
            .run_line(&line, &verify_id, self.timeouts.command)
            .await?;
        if out.exit_status != 0 {
            return Err(ShellError::Transfer(format!(
                "sending {path}: the file on the guest did not match its checksum ({})",
                out.text().trim()
            )));
        }
        Ok(())
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

    /// Runs a script too long for one typed line: it goes up as a file first, in the same
    /// round trip.
    pub(super) async fn run_long_script(
        &mut self,
        script: &str,
        id: &str,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        let path = format!("{}/.ll-{id}.sh", self.scratch_dir);
        self.send_file(&path, script.as_bytes(), 0o600).await?;
        let quoted = quote(&path);
        self.type_text(&format!(". {quoted}; rm -f {quoted}\r"))
            .await?;
        self.collect(id, limit).await
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The shell text that writes a file: a here-document decoded into a staging file, and the
/// command that checks it, sets its mode and moves it into place.
pub(crate) struct Upload {
    pub heredoc: Vec<String>,
    pub verify: String,
}

/// [`Upload`] of `content` to `path` (mode `mode`), `id` making its names unique.
pub(crate) fn upload(path: &str, content: &[u8], mode: u32, id: &str) -> Upload {
    let staging = quote(&format!("{path}.ll-{id}"));
    let target = quote(path);
    // Created 0600 (umask 077) and only if absent (noclobber: O_EXCL, so never through a
    // planted link) before the first byte: a script can hold a password hash.
    let mut heredoc = vec![format!(
        "(umask 077; set -C; base64 -d > {staging}) <<'LL_EOF_{id}'"
    )];
    for line in STANDARD.encode(content).as_bytes().chunks(76) {
        heredoc.push(
            std::str::from_utf8(line)
                .expect("base64 is ascii")
                .to_string(),
        );
    }
    heredoc.push(format!("LL_EOF_{id}"));
    let digest = hex(&Sha256::digest(content));
    let verify = format!(
        "[ \"$(sha256sum < {staging} | cut -d' ' -f1)\" = {digest} ] && chmod {mode:o} {staging} && \
         mv -f {staging} {target} || {{ rm -f {staging}; exit 1; }}"
    );
    Upload { heredoc, verify }
}
