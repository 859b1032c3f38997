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
use crate::expect::{ExpectError, Needles};
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

    /// Writes `content` to `path` with a hard link in place of a rename
    /// ([`Placement::Link`]), verified by SHA-256: for a guest whose `mv` cannot run. The file
    /// keeps its mode, or where it is gone gets `mode`.
    pub async fn link_file(
        &mut self,
        path: &str,
        content: &[u8],
        mode: u32,
    ) -> Result<(), ShellError> {
        self.place(path, content, Placement::Link { mode }).await
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
        console.withhold_until(&upload.end()).map_err(transcript)
    }

    /// Ends [`Session::withhold`], whatever happened in between.
    fn release(&mut self) -> Result<(), ShellError> {
        self.expecter.console_mut().release().map_err(transcript)
    }

    /// Types every piece of `upload` but the last, each once the guest has acknowledged the
    /// one before; returns the last, which the caller types with what follows it. A piece the
    /// guest could not write, or did not acknowledge in time (the shell is interrupted out of
    /// its here-document), ends the upload, and what came of it is removed.
    async fn type_pieces(&mut self, upload: &Upload) -> Result<String, ShellError> {
        let mut pieces = upload.typed();
        let last = pieces.pop().expect("an upload has a piece");
        for piece in pieces {
            self.type_text(&piece.text).await?;
            let needles = Needles::new(&[
                ("upload piece", piece.ack.as_str()),
                ("upload piece not written", upload.refused().as_str()),
            ])
            .expect("pattern");
            let limit = self.timeouts.command;
            let failed = match self.expecter.expect(&needles, limit).await {
                Ok(taken) if taken.needle == 0 => continue,
                Ok(_) => ShellError::Transfer(format!(
                    "sending {}: the guest could not write it (a read-only or full file system?)",
                    upload.path
                )),
                Err(ExpectError::Timeout { pending, .. }) => self.interrupt(limit, pending).await,
                Err(e) => return Err(e.into()),
            };
            // Nothing of it stays: a script's pieces may carry a password's hash. (One typed
            // line: a long script would come back here.)
            let id = command::marker_id();
            let line = command::typed_line(&upload.discard(), &id, self.encoding);
            self.run_line(&line, &id, self.timeouts.command).await?;
            return Err(failed);
        }
        Ok(last.text)
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
    /// Its mode set as the target's (`mode` where there is none), then hard-linked over the
    /// target: only for the break-in's offline shell, where nothing else runs and a library
    /// that `mv` loads may be damaged. A program that has the old file mapped (the shell
    /// itself maps libc) keeps it, as a rename would leave it.
    Link { mode: u32 },
}

/// How much base64 one typed piece of an upload holds at most: well under what a guest's tty
/// buffers hold (the serial tty's 64 KiB of flip buffers, then 4 KiB per line discipline), so
/// nothing is dropped however slowly the guest reads.
const PIECE: usize = 16 * 1024;

/// The length of a base64 line typed (a carriage return after each): short of any tty's line
/// limit.
const LINE: usize = 76;

/// A file on its way to the guest: its base64, the here-documents that carry it into a
/// staging file, and the command that checks it and puts it in place.
pub(crate) struct Upload {
    /// The content (gzipped where `gzip`), in base64 lines of 76 characters.
    lines: Vec<String>,
    gzip: bool,
    id: String,
    /// The command that succeeds only once the file is in place, checked.
    check: String,
    /// The staging file's name, quoted.
    staging: String,
    /// The name of the base64 gathered piece by piece, quoted.
    gathered: String,
    /// Where the file goes, as given.
    path: String,
}

/// `command`'s output in `file`, created 0600 (umask 077) and only if absent (noclobber:
/// O_EXCL, so never through a planted link) before the first byte: a script can hold a password
/// hash.
fn created(command: &str, file: &str) -> String {
    format!("(umask 077; set -C; {command} > {file})")
}

/// One piece of an upload as typed, and the pattern of what the guest prints once it has it.
struct Piece {
    text: String,
    ack: String,
}

impl Upload {
    /// What the guest prints once it has the whole staging file (`ll-ID-up`): the transcript
    /// withholds the console up to it, the base64's echo included where the tty echoes. The
    /// guest's own output marks the end because our shell types without echo, so the
    /// here-document's end marker never comes back.
    fn end(&self) -> String {
        format!("ll-{}-up", self.id)
    }

    /// The pattern of what the guest prints when it could not write a piece.
    fn refused(&self) -> String {
        format!(r"ll-{}-unwritten\r*\n", self.id)
    }

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

    /// The staging file decoded from `from`, else from standard input.
    fn decode(&self, from: Option<&str>) -> String {
        let from = from.map(|f| format!(" < {f}")).unwrap_or_default();
        let inflate = if self.gzip { " | gzip -dc" } else { "" };
        created(&format!("base64 -d{from}{inflate}"), &self.staging)
    }

    /// As typed on a console: pieces of at most [`PIECE`] bytes of base64, each with the
    /// pattern of what the guest prints once it has read it (`end` for the last). One piece
    /// is a here-document decoded into the staging file; more are gathered in a base64 file
    /// beside it, created as the staging file is, and decoded after the last. A piece the
    /// guest could not write says so ([`Upload::refused`]).
    fn typed(&self) -> Vec<Piece> {
        let lines_per_piece = PIECE / (LINE + 1);
        let pieces: Vec<&[String]> = self.lines.chunks(lines_per_piece).collect();
        let up = format!("printf 'll-%s-up\\n' {}", self.id);
        let end = regex::escape(&self.end());
        if pieces.len() <= 1 {
            let text = self.typed_doc(&self.decode(None), &self.lines, &format!("; {up}"));
            return vec![Piece { text, ack: end }];
        }
        let last = pieces.len() - 1;
        (pieces.iter().enumerate())
            .map(|(k, lines)| {
                let gather = match k {
                    0 => created("cat", &self.gathered),
                    _ => format!("cat >> {}", self.gathered),
                };
                if k == last {
                    let decode = self.decode(Some(&self.gathered));
                    let then = format!("; {decode}; rm -f {}; {up}", self.gathered);
                    let text = self.typed_doc(&gather, lines, &then);
                    return Piece {
                        text,
                        ack: end.clone(),
                    };
                }
                let then = format!(
                    " && printf 'll-%s-part%s\\n' {id} {k} || printf 'll-%s-unwritten\\n' {id}",
                    id = self.id
                );
                Piece {
                    text: self.typed_doc(&gather, lines, &then),
                    ack: format!(r"ll-{}-part{k}\r*\n", self.id),
                }
            })
            .collect()
    }

    /// `command` reading the here-document of `lines`, then `then` (which starts with its
    /// operator), as typed (`\r` ends each line).
    fn typed_doc(&self, command: &str, lines: &[String], then: &str) -> String {
        let mut typed = format!("{command} <<'LL_EOF_{}'{then}\r", self.id);
        for line in lines {
            typed.push_str(line);
            typed.push('\r');
        }
        typed.push_str(&format!("LL_EOF_{}\r", self.id));
        typed
    }

    /// Removes whatever an upload cut short left on the guest.
    fn discard(&self) -> String {
        format!("rm -f {} {}", self.gathered, self.staging)
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
    let lines = (STANDARD.encode(&payload).as_bytes().chunks(LINE))
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
        Placement::Link { mode } => format!(
            "{sound} && {{ chmod --reference={target} {staging} 2>/dev/null || chmod {mode:o} {staging}; }} && \
             ln -f {staging} {target} && rm -f {staging}"
        ),
    };
    Upload {
        lines,
        gzip,
        id: id.to_string(),
        check,
        gathered: quote(&format!("{staging_path}.b64")),
        staging,
        path: path.to_string(),
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

    /// Runs `placement`'s upload of `content` to `path` as a guest's shell would, with an `mv`
    /// that always fails (a library it loads damaged); its exit status.
    fn place(path: &std::path::Path, content: &[u8], placement: Placement) -> bool {
        let up = upload(&path.display().to_string(), content, placement, "t1", true);
        let bin = path.parent().unwrap().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("mv"), "#!/bin/sh\nexit 1\n").unwrap();
        std::fs::set_permissions(bin.join("mv"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = format!("{}{}\n", up.heredoc(), up.verify());
        Command::new("sh")
            .args(["-c", &script])
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .status()
            .unwrap()
            .success()
    }

    /// `script` run by sh from its standard input, as a console types it (an argument this
    /// long is refused): what it printed, and whether it succeeded.
    fn typed_into_sh(script: &str) -> (String, bool) {
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
        (said, out.status.success())
    }

    /// `n` bytes from xorshift: `text` makes them hex digits and newlines, which gzip halves.
    fn noise(n: usize, text: bool) -> Vec<u8> {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                match (text, i % 64) {
                    (false, _) => x as u8,
                    (true, 63) => b'\n',
                    (true, _) => b"0123456789abcdef"[(x % 16) as usize],
                }
            })
            .collect()
    }

    /// Content larger than a piece goes up in pieces of at most [`PIECE`] bytes of base64,
    /// each acknowledged with its own marker, the last with the upload's end; typed into a
    /// shell as the console would (`\r` read as `\n`), they give the file back whole and leave
    /// no base64 behind: gzipped where that makes it smaller, else as it is.
    #[test]
    fn a_large_upload_goes_up_in_acknowledged_pieces() {
        for (content, gzipped) in [(noise(100_000, false), false), (noise(300_000, true), true)] {
            let dir = std::env::temp_dir().join(format!("ll-pieces-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let target = dir.join("big");
            let path = target.display().to_string();
            let up = upload(
                &path,
                &content,
                Placement::Rename { mode: 0o640 },
                "t2",
                true,
            );
            assert_eq!(up.gzip, gzipped);
            let pieces = up.typed();
            assert!(pieces.len() >= 8, "{} pieces", pieces.len());
            let mut script: String = pieces.iter().map(|p| p.text.replace('\r', "\n")).collect();
            script.push_str(&up.verify());
            let (said, ok) = typed_into_sh(&script);
            let got = std::fs::read(&target).ok();
            let mode = std::fs::metadata(&target).map(|m| m.mode() & 0o777).ok();
            let left = std::fs::read_dir(&dir).unwrap().count();
            let _ = std::fs::remove_dir_all(&dir);
            assert!(ok, "{said}");
            let mut at = 0;
            for piece in &pieces {
                let ack = regex::Regex::new(&piece.ack).unwrap();
                let found = (ack.find_at(&said, at)).unwrap_or_else(|| panic!("{ack} in {said}"));
                at = found.end();
            }
            assert!(
                got.as_deref() == Some(&content[..]),
                "the file came back changed"
            );
            assert_eq!((mode, left), (Some(0o640), 1));
        }
    }

    /// A piece the guest cannot write (its directory gone) says so instead of acknowledging.
    #[test]
    fn a_piece_that_cannot_be_written_is_not_acknowledged() {
        let content = noise(100_000, false);
        let up = upload(
            "/nonexistent-ll/big",
            &content,
            Placement::Rename { mode: 0o600 },
            "t3",
            true,
        );
        let first = &up.typed()[0];
        let (said, _) = typed_into_sh(&first.text.replace('\r', "\n"));
        assert!(
            !regex::Regex::new(&first.ack).unwrap().is_match(&said),
            "{said}"
        );
        assert!(
            regex::Regex::new(&up.refused()).unwrap().is_match(&said),
            "{said}"
        );
    }

    /// Linked over the damaged file: the new content with the old file's mode, and the old
    /// file itself untouched for a program that has it open (in the offline shell, the shell
    /// maps libc); a file that was gone is made with the package's mode. No `mv` runs, and no staging file is
    /// left.
    #[test]
    fn a_linked_file_replaces_the_damaged_one_without_mv() {
        let dir = std::env::temp_dir().join(format!("ll-link-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lib = dir.join("libx.so.1");
        std::fs::write(&lib, "damaged").unwrap();
        std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o751)).unwrap();
        let mut mapped = std::fs::File::open(&lib).unwrap();
        let content = noise(20_000, true);
        assert!(place(&lib, &content, Placement::Link { mode: 0o755 }));
        let mode = std::fs::metadata(&lib).unwrap().mode() & 0o777;
        let mut old = String::new();
        std::io::Read::read_to_string(&mut mapped, &mut old).unwrap();
        assert_eq!((mode, old.as_str()), (0o751, "damaged"));
        assert!(
            std::fs::read(&lib).unwrap() == content,
            "the file came back changed"
        );
        let gone = dir.join("libgone.so.2");
        assert!(place(&gone, b"whole", Placement::Link { mode: 0o755 }));
        assert_eq!(std::fs::read(&gone).unwrap(), b"whole");
        let gone_mode = std::fs::metadata(&gone).unwrap().mode() & 0o777;
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(gone_mode, 0o755);
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
