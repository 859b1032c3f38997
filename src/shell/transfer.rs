//! Files across the console, in one round trip.
//!
//! The content goes up gzipped where the guest has `gzip` (and that makes it smaller), as a
//! here-document of base64 lines (76 characters a line, so no tty line limit applies), decoded
//! into a staging file; the verification command is typed right behind it without waiting, so
//! the only wait is for its result. Content larger than [`PIECE`] goes up in pieces, each
//! acknowledged by the guest before the next is typed: a serial port has no flow control that
//! reaches us, and a guest that reads slower than the line delivers (a loaded TCG guest, sudo's
//! pty in between) drops what its tty buffers cannot hold (the kernel counts it as `bo:` in
//! /proc/tty/driver/serial), after which the here-document never ends. The guest
//! checks the SHA-256 against ours and only then puts the file in place ([`Placement`]):
//! nothing is left behind on a mismatch. The staging file is private to its owner from its
//! creation on.

use super::{CommandOutput, Session, ShellError, command};
use crate::expect::Needles;
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
            let last = self.type_pieces(&upload).await?;
            self.type_text(&last).await?;
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

    /// Types every piece of `upload` but the last, each once the guest has acknowledged the
    /// one before; returns the last, which the caller types with what follows it.
    async fn type_pieces(&mut self, upload: &Upload) -> Result<String, ShellError> {
        let mut pieces = upload.typed();
        let last = pieces.pop().expect("an upload has a piece");
        for (piece, ack) in pieces {
            self.type_text(&piece).await?;
            let needle = Needles::new(&[("upload piece", &ack)]).expect("pattern");
            self.expecter.expect(&needle, self.timeouts.command).await?;
        }
        Ok(last.0)
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
        let run = format!(
            "if {}; then {then}; else rm -f {}; printf 'll-%s-damaged\\n' {id}; fi\r",
            upload.check, upload.staging
        );
        self.withhold(&upload)?;
        let out = async {
            let last = self.type_pieces(&upload).await?;
            self.type_text(&format!("{last}{run}")).await?;
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

/// How much base64 one typed piece of an upload holds at most: well under what a guest's tty
/// buffers hold (the serial tty's 64 KiB of flip buffers, then 4 KiB per line discipline), so
/// nothing is dropped however slowly the guest reads.
const PIECE: usize = 16 * 1024;

/// A file on its way to the guest: its base64, the here-documents that carry it into a
/// staging file, and the command that checks it and puts it in place.
pub(crate) struct Upload {
    /// The content (gzipped where `gzip`), in base64 lines of 76 characters.
    lines: Vec<String>,
    gzip: bool,
    id: String,
    /// What the guest prints once it has the whole staging file (`ll-ID-up`): the transcript
    /// withholds the console up to it, the base64's echo included where the tty echoes. The
    /// guest's own output marks the end because our shell types without echo, so the
    /// here-document's end marker never comes back.
    end: String,
    /// The command that succeeds only once the file is in place, checked.
    check: String,
    /// The staging file's name, quoted.
    staging: String,
    /// The name of the base64 gathered piece by piece, quoted.
    gathered: String,
}

impl Upload {
    /// The whole content as one here-document decoded into the staging file: for a script
    /// that carries it, with no tty in between (Run Command).
    pub fn heredoc(&self) -> String {
        let mut doc = format!("{} <<'LL_EOF_{}'\n", self.decode(None), self.id);
        for line in &self.lines {
            doc.push_str(line);
            doc.push('\n');
        }
        doc.push_str(&format!("LL_EOF_{}\n", self.id));
        doc
    }

    /// Created 0600 (umask 077) and only if absent (noclobber: O_EXCL, so never through a
    /// planted link) before the first byte: a script can hold a password hash. From `from`,
    /// else from standard input.
    fn decode(&self, from: Option<&str>) -> String {
        let from = from.map(|f| format!(" < {f}")).unwrap_or_default();
        let inflate = if self.gzip { " | gzip -dc" } else { "" };
        format!(
            "(umask 077; set -C; base64 -d{from}{inflate} > {})",
            self.staging
        )
    }

    /// As typed on a console: pieces of at most [`PIECE`] bytes of base64, each with the
    /// pattern of what the guest prints once it has read it (`end` for the last). One piece
    /// is a here-document decoded into the staging file; more are gathered in a base64 file
    /// beside it, created as the staging file is, and decoded after the last.
    fn typed(&self) -> Vec<(String, String)> {
        let lines_per_piece = PIECE / 77;
        let pieces: Vec<&[String]> = self.lines.chunks(lines_per_piece).collect();
        let up = format!("printf 'll-%s-up\\n' {}", self.id);
        if pieces.len() <= 1 {
            let doc = self.typed_doc(&self.decode(None), &self.lines, &up);
            return vec![(doc, regex::escape(&self.end))];
        }
        let last = pieces.len() - 1;
        (pieces.iter().enumerate())
            .map(|(k, lines)| {
                let gather = match k {
                    0 => format!("(umask 077; set -C; cat > {})", self.gathered),
                    _ => format!("cat >> {}", self.gathered),
                };
                if k == last {
                    let decode = self.decode(Some(&self.gathered));
                    let then = format!("{decode}; rm -f {}; {up}", self.gathered);
                    return (
                        self.typed_doc(&gather, lines, &then),
                        regex::escape(&self.end),
                    );
                }
                let ack = format!("printf 'll-%s-part%s\\n' {} {k}", self.id);
                let pattern = format!(r"ll-{}-part{k}\r?\n", self.id);
                (self.typed_doc(&gather, lines, &ack), pattern)
            })
            .collect()
    }

    /// `command` reading the here-document of `lines`, then `then`, as typed (`\r` ends each
    /// line).
    fn typed_doc(&self, command: &str, lines: &[String], then: &str) -> String {
        let mut typed = format!("{command} <<'LL_EOF_{}'; {then}\r", self.id);
        for line in lines {
            typed.push_str(line);
            typed.push('\r');
        }
        typed.push_str(&format!("LL_EOF_{}\r", self.id));
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
    let staging_path = match placement {
        Placement::Created { .. } => path.to_string(),
        _ => format!("{path}.ll-{id}"),
    };
    let staging = quote(&staging_path);
    let target = quote(path);
    let (gzip, payload) = match gzip.then(|| gzipped(content)).flatten() {
        Some(smaller) => (true, smaller),
        None => (false, content.to_vec()),
    };
    let lines = (STANDARD.encode(&payload).as_bytes().chunks(76))
        .map(|line| {
            std::str::from_utf8(line)
                .expect("base64 is ascii")
                .to_string()
        })
        .collect();
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
        lines,
        gzip,
        id: id.to_string(),
        end: format!("ll-{id}-up"),
        check,
        gathered: quote(&format!("{staging_path}.b64")),
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
    use super::{PIECE, Placement, upload};
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
        let script = format!("{}{}\n", up.heredoc(), up.verify());
        Command::new("sh")
            .args(["-c", &script])
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .status()
            .unwrap()
            .success()
    }

    /// Content larger than a piece goes up in pieces of at most [`PIECE`] bytes of base64,
    /// each acknowledged with its own marker, the last with the upload's end; typed into a
    /// shell as the console would (`\r` read as `\n`), they give the file back whole and leave
    /// no base64 behind.
    #[test]
    fn a_large_upload_goes_up_in_acknowledged_pieces() {
        let dir = std::env::temp_dir().join(format!("ll-pieces-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("big");
        // Not compressible, so every byte travels: about nine pieces.
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let content: Vec<u8> = (0..100_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let up = upload(
            &target.display().to_string(),
            &content,
            Placement::Rename { mode: 0o640 },
            "t2",
            true,
        );
        let pieces = up.typed();
        assert!(pieces.len() >= 8, "{} pieces", pieces.len());
        for (piece, _) in &pieces {
            assert!(
                piece.len() <= PIECE + 300,
                "a piece of {} bytes",
                piece.len()
            );
        }
        let mut script: String = pieces.iter().map(|(p, _)| p.replace('\r', "\n")).collect();
        script.push_str(&up.verify());
        // On standard input, as a console types it (an argument this long is refused).
        let out = Command::new("sh")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut sh| {
                use std::io::Write;
                sh.stdin.take().unwrap().write_all(script.as_bytes())?;
                sh.wait_with_output()
            })
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        let got = std::fs::read(&target).ok();
        let mode = std::fs::metadata(&target).map(|m| m.mode() & 0o777).ok();
        let left = std::fs::read_dir(&dir).unwrap().count();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(out.status.success(), "{said}");
        let acks: Vec<regex::Regex> = pieces
            .iter()
            .map(|(_, ack)| regex::Regex::new(ack).unwrap())
            .collect();
        let mut at = 0;
        for ack in &acks {
            let found = ack
                .find_at(&said, at)
                .unwrap_or_else(|| panic!("{ack} in {said}"));
            at = found.end();
        }
        assert_eq!(got.as_deref(), Some(&content[..]));
        assert_eq!((mode, left), (Some(0o640), 1));
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
