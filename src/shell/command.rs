//! How one command crosses the console and comes back exact.
//!
//! The typed line carries the command encoded (`eval "$(echo … | base64 -d)"`), so its echo
//! holds nothing that can match a marker, and shell history never holds the command text. On
//! the guest the command runs with stdin from /dev/null, its stdout and stderr are encoded again
//! on the way out, and a random per-command marker reports the exit status:
//!
//! ```text
//! ll-<id>-begin
//! <base64 of the output, 76 columns a line>
//! ll-<id>-end:<status>
//! ```
//!
//! Encoded output survives everything a serial console does to text: wrapping, tabs, carriage
//! returns, bytes that are not UTF-8, and kernel messages landing mid-line (the base64 alphabet
//! has no `[`, so a kernel line inside the payload is unambiguous and is removed below the
//! matcher). Guests without `base64` use `printf` octal escapes in and `od` hex out.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Longest line typed at a shell: canonical-mode ttys cut lines at 4095 bytes.
pub const MAX_TYPED_LINE: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Base64,
    Hex,
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
        }
    }

    /// The line to type that makes the guest run `script`.
    pub fn typed_line(self, script: &str) -> String {
        match self {
            Encoding::Base64 => format!(
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
            Encoding::Base64 => c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='),
            Encoding::Hex => c.is_ascii_hexdigit() || c == ' ',
        }
    }
}

/// The guest-side script for one command, framed by markers carrying `id`.
pub fn script(command: &str, id: &str, encoding: Encoding) -> String {
    // fds 3 and 4 carry the status and the encoded output past the pipeline; the command must
    // not inherit them, or a background child it leaves behind would hold the capture open.
    format!(
        "printf 'll-%s-begin\\n' '{id}'\n\
         {{ __ll_s=$( {{ {{ (\n{command}\n) </dev/null 2>&1 3>&- 4>&-; echo $? >&3; }} | {enc} >&4; }} 3>&1 ); }} 4>&1\n\
         printf 'll-%s-end:%s\\n' '{id}' \"$__ll_s\"\n",
        enc = encoding.encoder()
    )
}

/// Regex source of the begin marker for `id`.
pub fn begin_pattern(id: &str) -> String {
    format!(r"ll-{id}-begin\r*\n")
}

/// Regex source of the end marker for `id`; group 1 is the exit status.
pub fn end_pattern(id: &str) -> String {
    format!(r"ll-{id}-end:([0-9]+)\r*\n")
}

/// The line that tells us a shell is listening and what it can do: its uid and whether it has
/// `base64`. The marker is assembled by `printf`, so its echo cannot match.
pub fn sync_line(id: &str) -> String {
    format!(
        "printf '%s-%s:%s:%s\\n' ll {id} \"$(id -u)\" \"$(command -v base64 >/dev/null 2>&1 && echo base64 || echo hex)\""
    )
}

/// Regex source matching [`sync_line`]'s output; groups: uid, encoding.
pub fn sync_pattern(id: &str) -> String {
    format!(r"ll-{id}:([0-9]+):(base64|hex)\r*\n")
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

/// Decodes the encoded payload between the markers back into the command's exact output.
pub fn decode_payload(text: &[u8], encoding: Encoding) -> Result<Vec<u8>, Damaged> {
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
    if !noise.is_empty() {
        return Err(Damaged {
            reason: "lines that are not part of the encoded output".into(),
            noise,
        });
    }
    encoding.decode(&payload).map_err(|reason| Damaged {
        reason,
        noise: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typed_line_never_contains_the_markers() {
        let id = marker_id();
        for enc in [Encoding::Base64, Encoding::Hex] {
            let line = enc.typed_line(&script("echo ll-x-end:0", &id, enc));
            assert!(!line.contains(&id), "{line}");
            assert!(!line.contains('\n'));
        }
        assert!(!sync_line(&id).contains(&format!("ll-{id}")));
    }

    #[test]
    fn base64_payload_with_kernel_damage_removed_decodes_exactly() {
        let out = b"bin\x00ary\r\n\tlines\r no newline";
        let mut payload = STANDARD.encode(out);
        payload.insert_str(10, "\r\n");
        let decoded = decode_payload(format!("{payload}\r\n").as_bytes(), Encoding::Base64);
        assert_eq!(decoded.unwrap(), out);
    }

    #[test]
    fn hex_payload_from_od_decodes() {
        let text = b" 68 65 6c 6c 6f 0a 00 ff\r\n 21\r\n";
        assert_eq!(
            decode_payload(text, Encoding::Hex).unwrap(),
            b"hello\n\x00\xff!"
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
    fn empty_output_is_empty() {
        assert_eq!(decode_payload(b"", Encoding::Base64).unwrap(), b"");
    }

    #[test]
    fn marker_ids_differ() {
        assert_ne!(marker_id(), marker_id());
    }

    #[test]
    fn the_script_runs_under_a_real_sh_and_reports_status_and_output() {
        for (enc, sh) in [
            (Encoding::Base64, "sh"),
            (Encoding::Hex, "sh"),
            (Encoding::Base64, "bash"),
        ] {
            let id = "abc123";
            let s = script("printf 'a\\tb\\r\\n'; echo err >&2; exit 3", id, enc);
            let out = std::process::Command::new(sh)
                .arg("-c")
                .arg(enc.typed_line(&s))
                .output()
                .unwrap();
            let text = String::from_utf8(out.stdout).unwrap();
            let begin = regex::Regex::new(&begin_pattern(id))
                .unwrap()
                .find(&text)
                .unwrap();
            let end = regex::Regex::new(&end_pattern(id))
                .unwrap()
                .captures(&text)
                .unwrap();
            assert_eq!(&end[1], "3");
            let payload = &text[begin.end()..end.get(0).unwrap().start()];
            assert_eq!(
                decode_payload(payload.as_bytes(), enc).unwrap(),
                b"a\tb\r\nerr\n"
            );
        }
    }
}
