//! Files across the console: scripts too long for one typed line go up in checksummed chunks.
//!
//! Each chunk is one typed line of base64 appended to a temporary file; the last round trip
//! decodes it, checks its SHA-256 against ours, and moves it into place. Nothing is left behind
//! on a checksum mismatch.

use super::{CommandOutput, Session, ShellError, command};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Base64 characters per chunk: encoded once more for the typed line, it stays under
/// [`command::MAX_TYPED_LINE`].
const CHUNK: usize = 2400;

impl Session {
    /// Runs a short command (one that fits a typed line), for the steps of a transfer.
    async fn run_short(&mut self, command: &str) -> Result<CommandOutput, ShellError> {
        let id = command::marker_id();
        let line = self
            .encoding
            .typed_line(&command::script(command, &id, self.encoding));
        self.run_line(&line, &id, self.timeouts.command).await
    }

    /// Writes `content` to `path` on the guest (mode `mode`, octal), verified by SHA-256.
    pub async fn send_file(
        &mut self,
        path: &str,
        content: &[u8],
        mode: u32,
    ) -> Result<(), ShellError> {
        let encoded = STANDARD.encode(content);
        let staging = format!("{path}.ll-{}", command::marker_id());
        let quoted = shell_quote(&staging);
        self.run_short(&format!(": > {quoted}"))
            .await
            .and_then(check("create the staging file"))?;
        for chunk in encoded.as_bytes().chunks(CHUNK) {
            let chunk = std::str::from_utf8(chunk).expect("base64 is ascii");
            self.run_short(&format!("printf %s {chunk} >> {quoted}"))
                .await
                .and_then(check("append a chunk"))?;
        }
        let digest = hex(&Sha256::digest(content));
        let target = shell_quote(path);
        let finish = format!(
            "base64 -d < {quoted} > {quoted}.d && rm -f {quoted} && \
             [ \"$(sha256sum < {quoted}.d | cut -d' ' -f1)\" = {digest} ] && \
             chmod {mode:o} {quoted}.d && mv -f {quoted}.d {target} || {{ rm -f {quoted} {quoted}.d; exit 1; }}"
        );
        let out = self.run_short(&finish).await?;
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
        let out = self.run(&format!("cat -- {}", shell_quote(path))).await?;
        if out.exit_status != 0 {
            return Err(ShellError::Transfer(format!(
                "reading {path}: {}",
                out.text().trim()
            )));
        }
        Ok(out.output)
    }

    /// Runs a script too long for one typed line: it goes up as a file first.
    pub(super) async fn run_long_script(
        &mut self,
        script: &str,
        id: &str,
        limit: Duration,
    ) -> Result<CommandOutput, ShellError> {
        let path = format!("/tmp/.ll-{id}.sh");
        self.send_file(&path, script.as_bytes(), 0o600).await?;
        let quoted = shell_quote(&path);
        self.type_text(&format!(". {quoted}; rm -f {quoted}\r"))
            .await?;
        self.collect(id, limit).await
    }
}

fn check(what: &'static str) -> impl Fn(CommandOutput) -> Result<(), ShellError> {
    move |out| {
        if out.exit_status == 0 {
            Ok(())
        } else {
            Err(ShellError::Transfer(format!(
                "could not {what}: {}",
                out.text().trim()
            )))
        }
    }
}

/// Quotes `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
