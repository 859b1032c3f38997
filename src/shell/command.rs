//! How one command crosses the console and comes back exact.
//!
//! On the guest the command runs in a subshell with stdin from /dev/null; its stdout and stderr
//! are encoded on the way out, with its exit status appended by an EXIT trap as three digits, and
//! random per-command markers frame the result:
//!
//! ```text
//! ll-<id>-begin
//! <base64 of (output + "003"), 76 columns a line>
//! ll-<id>-end
//! ```
//!
//! Encoded output survives everything a serial console does to text: wrapping, tabs, carriage
//! returns, bytes that are not UTF-8, and kernel messages landing mid-line (the base64 alphabet
//! has no `[`, so a kernel line inside the payload is unambiguous and is removed below the
//! matcher). The status travels inside the encoded stream, so it cannot overtake the output.
//!
//! A simple one-line command is typed as it is (the markers are assembled by `printf`, so their
//! echo cannot match); anything else (several lines, comments, control characters, non-ASCII)
//! is typed encoded, `eval "$(echo … | base64 -d)"`. Each form costs the guest as few processes
//! as possible: over a slow console every fork counts. Guests without `base64` use `printf`
//! octal escapes in and `od` hex out.
//! The long scripts (the probe, a plan) say much: where the guest has `gzip`, their output is
//! gzipped before the base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io::Read;

/// Longest line typed at a shell: canonical-mode ttys cut lines at 4095 bytes.
pub const MAX_TYPED_LINE: usize = 4000;

/// The most a command's compressed output may unpack to: what the matcher holds of plain output.
pub const MAX_UNPACKED: usize = crate::expect::DEFAULT_LIMIT;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Base64,
    Hex,
    /// Base64 of the gzipped output: for long outputs, where the guest has `gzip`.
    GzipBase64,
}

impl Encoding {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "base64" => Some(Encoding::Base64),
            "hex" => Some(Encoding::Hex),
            _ => None,
        }
    }

    /// The shell fragment that encodes stdin to stdout on the guest.
    fn encoder(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "od -An -v -tx1",
            Encoding::GzipBase64 => "gzip -c | base64",
        }
    }

    /// The line to type that makes the guest run `script`.
    pub fn typed_line(self, script: &str) -> String {
        match self {
            Encoding::Base64 | Encoding::GzipBase64 => format!(
                "eval \"$(echo {} | base64 -d)\"",
                STANDARD.encode(script.as_bytes())
            ),
            Encoding::Hex => {
                let octal: String = script.bytes().map(|b| format!("\\{b:03o}")).collect();
                format!("eval \"$(printf '{octal}')\"")
            }
        }
    }

    fn decode(self, payload: &str) -> Result<Vec<u8>, String> {
        match self {
            Encoding::Base64 => STANDARD.decode(payload).map_err(|e| e.to_string()),
            Encoding::GzipBase64 => {
                let packed = STANDARD.decode(payload).map_err(|e| e.to_string())?;
                // Unpacked output has the same bound as output read plain.
                let out =
                    gunzip_bounded(&packed, MAX_UNPACKED).map_err(|e| format!("gzip: {e}"))?;
                if out.len() > MAX_UNPACKED {
                    return Err(format!(
                        "the compressed output unpacks to more than {MAX_UNPACKED} bytes"
                    ));
                }
                Ok(out)
            }
            Encoding::Hex => {
                if !payload.len().is_multiple_of(2) {
                    return Err("odd number of hex digits".into());
                }
                (0..payload.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&payload[i..i + 2], 16).map_err(|e| e.to_string()))
                    .collect()
            }
        }
    }

    fn in_alphabet(self, c: char) -> bool {
        match self {
            Encoding::Base64 | Encoding::GzipBase64 => {
                c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
            }
            Encoding::Hex => c.is_ascii_hexdigit() || c == ' ',
        }
    }
}

/// The guest-side script for one command, framed by markers carrying `id`.
pub fn script(command: &str, id: &str, encoding: Encoding) -> String {
    framed(command, "\n", id, encoding)
}

/// `command` between the begin and end markers, its output and exit status encoded;
/// `separator` ends the command inside its group (a newline lets it end in a comment).
fn framed(command: &str, separator: &str, id: &str, encoding: Encoding) -> String {
    format!(
        "printf 'll-%s-begin\\n' {id}; {{ trap 'printf %03d \"$?\"' EXIT; {command}{separator}}} </dev/null 2>&1 | {enc}; printf 'll-%s-end\\n' {id}",
        enc = encoding.encoder()
    )
}

/// The line to type for `command`: the script itself when it is one plain line, otherwise the
/// script encoded.
pub fn typed_line(command: &str, id: &str, encoding: Encoding) -> String {
    let plain = command.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !command.contains('#')
        && !command.trim_end().ends_with('&');
    if plain {
        framed(command, " ; ", id, encoding)
    } else {
        encoding.typed_line(&script(command, id, encoding))
    }
}

/// Regex source of the begin marker for `id`.
pub fn begin_pattern(id: &str) -> String {
    format!(r"ll-{id}-begin\r*\n")
}

/// Regex source of the end marker for `id`.
pub fn end_pattern(id: &str) -> String {
    format!(r"ll-{id}-end\r*\n")
}

/// Regex source of the marker a long script prints instead of running when its upload arrived
/// damaged.
pub fn damaged_pattern(id: &str) -> String {
    format!(r"ll-{id}-damaged\r*\n")
}

/// The shell's effective uid, even where `id` cannot run (a library it loads is gone): then
/// /proc says it (the `Uid:` line's second field, read by the shell itself); without /proc,
/// PID 1 (the break-in's `init=/bin/sh`) is root, and so is a shell PID 1 started (our own
/// shell in the break-in, bash gone: only a boot with no init runs without /proc); else bash's
/// read-only `$EUID` answers; empty when nothing does, which counts as not root.
const UID: &str = "$(id -u 2>/dev/null || \
    { [ -r /proc/self/status ] && while read -r k r e x; do [ \"$k\" = Uid: ] && echo \"$e\" && break; done </proc/self/status; } || \
    { [ ! -d /proc/1 ] && { [ $$ = 1 ] || [ $PPID = 1 ]; } && echo 0; } || echo \"$EUID\")";

/// The line that tells us a shell is listening and what it can do: its uid, whether it has
/// `base64`, where scratch files can go, whether it has `gzip`, and, when `quiet_kernel` is set and the shell is root's, the console log level it
/// found before lowering it to 1 (so kernel messages stop interleaving; empty otherwise). The
/// marker is assembled by `printf`, so its echo cannot match.
pub fn sync_line(id: &str, quiet_kernel: bool) -> String {
    let quiet = if quiet_kernel {
        format!(
            "$([ \"{UID}\" = 0 ] && read l r </proc/sys/kernel/printk && echo 1 >/proc/sys/kernel/printk && echo \"$l\")"
        )
    } else {
        String::new()
    };
    format!(
        "printf '%s-%s:%s:%s:%s:%s:%s\\n' ll {id} \"{UID}\" \"$(command -v base64 >/dev/null 2>&1 && echo base64 || echo hex)\" \"{quiet}\" \"$([ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo /tmp)\" \"$(command -v gzip >/dev/null 2>&1 && echo gzip)\""
    )
}

/// Regex source matching [`sync_line`]'s output; groups: uid (empty when unknown), encoding,
/// saved log level, the directory for scratch files (memory-backed `/dev/shm` when writable: a
/// full disk must not stop a rescue), and `gzip` when uploads can go compressed.
pub fn sync_pattern(id: &str) -> String {
    format!(r"ll-{id}:([0-9]*):(base64|hex):([0-9]*):(/[^:\r\n]*):(gzip)?\r*\n")
}

/// A random marker id: 12 hex digits, fresh for every command.
pub fn marker_id() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// Why the text between the markers could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the command's output was damaged on the console ({reason}); unexpected text: {noise:?}")]
pub struct Damaged {
    pub reason: String,
    pub noise: Vec<String>,
}

/// Unpacks gzip the guest chose, reading at most `limit + 1` bytes of it: a few kilobytes can
/// unpack to gigabytes. A result longer than `limit` means the output was past the bound.
pub fn gunzip_bounded(packed: &[u8], limit: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(packed)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)?;
    Ok(out)
}

/// Decodes the encoded payload between the markers back into the command's exact output and
/// its exit status.
pub fn decode_payload(text: &[u8], encoding: Encoding) -> Result<(Vec<u8>, i32), Damaged> {
    let text = String::from_utf8_lossy(text);
    let mut payload = String::with_capacity(text.len());
    let mut noise = Vec::new();
    for line in text.split('\n') {
        let line = line.trim_matches(|c: char| c == '\r' || c == ' ');
        if line.chars().all(|c| encoding.in_alphabet(c)) {
            payload.extend(line.chars().filter(|c| *c != ' '));
        } else {
            noise.push(line.to_string());
        }
    }
    let damaged = |reason: String, noise: Vec<String>| Damaged { reason, noise };
    if !noise.is_empty() {
        return Err(damaged(
            "lines that are not part of the encoded output".into(),
            noise,
        ));
    }
    let mut output = encoding
        .decode(&payload)
        .map_err(|r| damaged(r, Vec::new()))?;
    let status = output
        .len()
        .checked_sub(3)
        .map(|at| output.split_off(at))
        .and_then(|digits| std::str::from_utf8(&digits).ok()?.parse::<i32>().ok())
        .ok_or_else(|| damaged("the exit status is missing".into(), Vec::new()))?;
    Ok((output, status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_output_that_unpacks_past_the_bound_is_refused_not_held() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..=(MAX_UNPACKED >> 20) {
            gz.write_all(&zeros).unwrap();
        }
        let packed = STANDARD.encode(gz.finish().unwrap());
        assert!(packed.len() < 64 << 10, "a small payload: {}", packed.len());
        let err = decode_payload(packed.as_bytes(), Encoding::GzipBase64).unwrap_err();
        assert!(
            err.reason.contains("unpacks to more than"),
            "{}",
            err.reason
        );
    }

    fn run_in(sh: &str, command: &str, enc: Encoding) -> (Vec<u8>, i32) {
        let id = "abc123";
        let line = typed_line(command, id, enc);
        let out = std::process::Command::new(sh)
            .arg("-c")
            .arg(&line)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let begin = regex::Regex::new(&begin_pattern(id))
            .unwrap()
            .find(&text)
            .unwrap();
        let end = regex::Regex::new(&end_pattern(id))
            .unwrap()
            .find(&text)
            .unwrap();
        decode_payload(&text.as_bytes()[begin.end()..end.start()], enc).unwrap()
    }

    #[test]
    fn the_typed_line_never_contains_the_markers() {
        let id = marker_id();
        for enc in [Encoding::Base64, Encoding::Hex] {
            for command in ["echo ll-x-end", "echo a\necho b # two lines"] {
                let line = typed_line(command, &id, enc);
                assert!(!line.contains(&format!("ll-{id}")), "{line}");
                assert!(!line.contains('\n'));
            }
        }
        assert!(!sync_line(&id, true).contains(&format!("ll-{id}")));
    }

    /// The sync line's fields, as `sh` prints them with `path` as its PATH.
    fn sync_fields(sh: &str, path: &str) -> Vec<String> {
        let mut shell = std::process::Command::new(sh);
        shell.arg("-c");
        sync_fields_of(shell, path)
    }

    /// The sync line's fields as `command` prints it, given the line as its last argument.
    fn sync_fields_of(mut command: std::process::Command, path: &str) -> Vec<String> {
        let id = "abc123";
        let sh = format!("{command:?}");
        let out = command
            .arg(sync_line(id, true))
            .env_clear()
            .env("PATH", path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let fields = regex::Regex::new(&sync_pattern(id))
            .unwrap()
            .captures(&text)
            .unwrap_or_else(|| panic!("{sh}: {text:?}"));
        (1..=5)
            .map(|i| fields.get(i).map_or("", |m| m.as_str()).to_string())
            .collect()
    }

    #[test]
    fn the_sync_line_answers_even_where_id_cannot_load_its_libraries() {
        let euid = rustix::process::geteuid().as_raw().to_string();
        let system = std::env::var("PATH").unwrap();
        // An `id` that fails as a binary whose library is gone does.
        let dir = std::env::temp_dir().join(format!("ll-noid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let id = dir.join("id");
        std::fs::write(
            &id,
            "#!/bin/sh\necho 'id: error while loading shared libraries: libselinux.so.1' >&2\nexit 127\n",
        )
        .unwrap();
        std::fs::set_permissions(&id, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let broken = format!("{}:{system}", dir.display());
        for sh in ["sh", "bash"] {
            assert_eq!(sync_fields(sh, &system)[0], euid, "{sh} with id");
        }
        // Without `id`, /proc tells sh and bash.
        for sh in ["sh", "bash"] {
            assert_eq!(sync_fields(sh, &broken)[0], euid, "{sh} without id");
        }
        // Without /proc as well (a mount namespace of its own, /proc hidden): sh started by
        // PID 1 is root (the break-in's own shell where bash is gone; a PID namespace of its
        // own makes the outer sh PID 1, and `; exit` keeps a bash-as-sh from exec'ing the
        // inner one as PID 1); bash knows its uid; sh started by anyone else says nothing.
        let hidden_proc = |pid_namespace: bool, sh: &str| {
            let mut outer = std::process::Command::new("unshare");
            outer.arg("--mount");
            if pid_namespace {
                outer.args(["--pid", "--fork"]);
            }
            outer
                .args(["sh", "-c"])
                .arg(format!(
                    "mount -t tmpfs none /proc && {sh} -c \"$1\"; exit $?"
                ))
                .arg("outer");
            sync_fields_of(outer, &broken)[0].clone()
        };
        let found = [
            hidden_proc(true, "sh"),
            hidden_proc(false, "bash"),
            hidden_proc(false, "sh"),
        ];
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            found,
            ["0".to_string(), euid, String::new()],
            "needs unshare --mount --pid (root)"
        );
    }

    #[test]
    fn output_and_status_come_back_exact_under_dash_and_bash() {
        let cases: [(&str, &[u8], i32); 5] = [
            (
                "printf 'a\\tb\\r\\n'; echo err >&2; exit 3",
                b"a\tb\r\nerr\n",
                3,
            ),
            ("true", b"", 0),
            ("false", b"", 1),
            ("printf '%s' '100%'  # comment", b"100%", 0),
            ("echo one\necho two\nexit 255", b"one\ntwo\n", 255),
        ];
        for sh in ["sh", "bash"] {
            for enc in [Encoding::Base64, Encoding::Hex, Encoding::GzipBase64] {
                for (command, want, status) in cases {
                    let (out, st) = run_in(sh, command, enc);
                    assert_eq!(
                        (out.as_slice(), st),
                        (want, status),
                        "{sh} {enc:?} {command:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn base64_payload_with_kernel_damage_removed_decodes_exactly() {
        let out = b"bin\x00ary\r\n\tlines\r no newline042";
        let mut payload = STANDARD.encode(out);
        payload.insert_str(10, "\r\n");
        let decoded = decode_payload(format!("{payload}\r\n").as_bytes(), Encoding::Base64);
        assert_eq!(
            decoded.unwrap(),
            (b"bin\x00ary\r\n\tlines\r no newline".to_vec(), 42)
        );
    }

    #[test]
    fn hex_payload_from_od_decodes() {
        let text = b" 68 65 6c 6c 6f 0a 00 ff\r\n 21 30 30 37\r\n";
        assert_eq!(
            decode_payload(text, Encoding::Hex).unwrap(),
            (b"hello\n\x00\xff!".to_vec(), 7)
        );
    }

    #[test]
    fn foreign_text_in_the_payload_is_reported_not_decoded() {
        let err = decode_payload(
            b"aGVsbG8=\r\nBroadcast message from root\r\n",
            Encoding::Base64,
        )
        .unwrap_err();
        assert_eq!(err.noise, vec!["Broadcast message from root".to_string()]);
    }

    #[test]
    fn a_payload_without_status_is_damaged() {
        assert!(decode_payload(b"", Encoding::Base64).is_err());
    }

    #[test]
    fn marker_ids_differ() {
        assert_ne!(marker_id(), marker_id());
    }
}
