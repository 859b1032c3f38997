//! Files across the console, in one round trip.
//!
//! The content goes up gzipped where the guest has `gzip` (and that makes it smaller), as a
//! here-document of base64 lines typed in one write (76 characters a
//! line, so no tty line limit applies), decoded into a staging file; the verification command
//! is typed right behind it without waiting, so the only wait is for its result. The guest
//! checks the SHA-256 against ours and only then puts the file in place ([`Placement`]):
//! nothing is left behind on a mismatch. The staging file is private to its owner from its
//! creation on.

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
        self.place(path, content, Placement::Rename { mode }).await
    }

    /// Writes `content` through the file at `path` ([`Placement::Overwrite`]), verified by
    /// SHA-256: for a guest whose `mv` cannot run.
    pub async fn overwrite_file(&mut self, path: &str, content: &[u8]) -> Result<(), ShellError> {
        self.place(path, content, Placement::Overwrite).await
    }

    async fn place(
        &mut self,
        path: &str,
        content: &[u8],
        placement: Placement,
    ) -> Result<(), ShellError> {
        let upload = self.upload(path, content, placement);
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
                "sending {path}: the file on the guest did not match its checksum, or could not be put in place ({})",
                out.text().trim()
            )));
        }
        Ok(())
    }

    /// [`upload`] of `content` to `path`, compressed where this guest has `gzip`.
    fn upload(&self, path: &str, content: &[u8], placement: Placement) -> Upload {
        upload(path, content, placement, &command::marker_id(), self.gzip)
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
        let upload = self.upload(path, content, Placement::Created { mode });
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

/// Where an upload's file ends up once its checksum holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Its mode set, then renamed over the target: the target changes at once, and a link
    /// planted at the target is replaced, never followed.
    Rename { mode: u32 },
    /// The staging file is the target, created where nothing was (noclobber), its mode set
    /// when it is not 0600: for a script run from there, which removes it. No `mv`: it loads
    /// libselinux, and a guest where that library is damaged must still run our scripts.
    Created { mode: u32 },
    /// Written through the target (`cat`), which keeps its inode, owner and mode (a new file
    /// gets 0644), then the staging file removed. Only where nothing else runs (the
    /// break-in's offline shell) and `mv` or `chmod` may not (a library they load damaged).
    Overwrite,
}

/// A file on its way to the guest: a here-document decoded into a staging file, and the
/// command that checks it and puts it in place.
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

/// [`Upload`] of `content` to `path`, put there as `placement` says, `id` making its names
/// unique; gzipped when `gzip` (the guest can inflate it) and that makes it smaller, since
/// every byte typed on a console is also echoed back.
pub(crate) fn upload(
    path: &str,
    content: &[u8],
    placement: Placement,
    id: &str,
    gzip: bool,
) -> Upload {
    let staging = match placement {
        Placement::Created { .. } => quote(path),
        _ => quote(&format!("{path}.ll-{id}")),
    };
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
    let sound = format!("[ \"$(sha256sum < {staging} | cut -d' ' -f1)\" = {digest} ]");
    let check = match placement {
        Placement::Rename { mode } => {
            format!("{sound} && chmod {mode:o} {staging} && mv -f {staging} {target}")
        }
        Placement::Created { mode: 0o600 } => sound,
        Placement::Created { mode } => format!("{sound} && chmod {mode:o} {staging}"),
        Placement::Overwrite => {
            format!("{sound} && (umask 022; cat {staging} > {target}) && rm -f {staging}")
        }
    };
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

#[cfg(test)]
mod tests {
    use super::{Placement, upload};
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::process::Command;

    /// Runs `placement`'s upload of `content` to `path` as a guest's shell would, with `mv`
    /// and `chmod` that always fail (a library they load damaged); its exit status.
    fn place(path: &std::path::Path, content: &[u8], placement: Placement) -> bool {
        let up = upload(&path.display().to_string(), content, placement, "t1", true);
        let bin = path.parent().unwrap().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for tool in ["mv", "chmod"] {
            std::fs::write(bin.join(tool), "#!/bin/sh\nexit 1\n").unwrap();
            std::fs::set_permissions(bin.join(tool), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        let script = format!("{}\n{}\n", up.heredoc.join("\n"), up.verify());
        Command::new("sh")
            .args(["-c", &script])
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .status()
            .unwrap()
            .success()
    }

    /// Written through the file: same inode, owner and mode, the new content, no staging file
    /// left; and a file that was gone is made. Neither `mv` nor `chmod` runs.
    #[test]
    fn an_overwrite_keeps_the_file_and_needs_no_mv() {
        let dir = std::env::temp_dir().join(format!("ll-overwrite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lib = dir.join("libx.so.1");
        std::fs::write(&lib, "damaged").unwrap();
        std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o751)).unwrap();
        let inode = std::fs::metadata(&lib).unwrap().ino();
        let content: Vec<u8> = (0..20_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        assert!(place(&lib, &content, Placement::Overwrite));
        let meta = std::fs::metadata(&lib).unwrap();
        assert_eq!((meta.ino(), meta.mode() & 0o777), (inode, 0o751));
        assert_eq!(std::fs::read(&lib).unwrap(), content);
        let gone = dir.join("libgone.so.2");
        assert!(place(&gone, b"whole", Placement::Overwrite));
        assert_eq!(std::fs::read(&gone).unwrap(), b"whole");
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(left, ["bin", "libgone.so.2", "libx.so.1"]);
    }

    /// A script's file is made where nothing was, 0600, without `mv`; a link planted where it
    /// goes is refused, and the file it points to is left as it was.
    #[test]
    fn a_created_file_needs_no_mv_and_takes_no_file_already_there() {
        let dir = std::env::temp_dir().join(format!("ll-created-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("s.sh");
        assert!(place(
            &script,
            b"echo hi\n",
            Placement::Created { mode: 0o600 }
        ));
        assert_eq!(std::fs::read(&script).unwrap(), b"echo hi\n");
        let mode = std::fs::metadata(&script).unwrap().mode() & 0o777;
        let (victim, planted) = (dir.join("victim"), dir.join("p.sh"));
        std::fs::write(&victim, "victim").unwrap();
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let refused = !place(&planted, b"echo hi\n", Placement::Created { mode: 0o600 });
        let kept = std::fs::read(&victim).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(mode, 0o600);
        assert!(refused);
        assert_eq!(kept, b"victim");
    }
}
