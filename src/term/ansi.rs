//! A streaming remover of terminal escape sequences (CSI, OSC, charset and other ESC sequences).
//!
//! It keeps state between calls, so a sequence split across two reads is still removed whole.
//! Line structure (`\r`, `\n`, `\t`, backspace) is kept; other C0 controls such as BEL and NUL
//! are dropped because they carry no text.

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Ground,
    /// After ESC.
    Escape,
    /// After ESC and an intermediate byte (`ESC ( B`): one more byte ends it.
    EscapeIntermediate,
    /// Inside `ESC [` … final byte.
    Csi,
    /// Inside an OSC/DCS/APC string, which ends with BEL or `ESC \`.
    String,
    /// ESC seen inside a string: `\` ends it.
    StringEscape,
}

#[derive(Default, Debug)]
pub struct Stripper {
    state: State,
}

impl Stripper {
    pub fn strip(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            self.state = match self.step(b, &mut out) {
                Some(next) => next,
                // A byte that cannot continue the sequence ends it and counts as text, as on a
                // terminal (systemd cuts long status lines mid-sequence: `ESC` then `…`).
                None => {
                    self.state = State::Ground;
                    self.step(b, &mut out).unwrap_or(State::Ground)
                }
            };
        }
        out
    }

    /// The next state after `b`; `None` when `b` cannot continue the current sequence.
    fn step(&self, b: u8, out: &mut Vec<u8>) -> Option<State> {
        Some(match (self.state, b) {
            (State::Ground, 0x1b) => State::Escape,
            (State::Ground, b'\r' | b'\n' | b'\t' | 0x08) => {
                out.push(b);
                State::Ground
            }
            (State::Ground, 0x00..=0x1f | 0x7f) => State::Ground,
            (State::Ground, _) => {
                out.push(b);
                State::Ground
            }
            (State::Escape, b'[') => State::Csi,
            (State::Escape, b']' | b'P' | b'_' | b'^' | b'X') => State::String,
            (State::Escape, 0x20..=0x2f) => State::EscapeIntermediate,
            (State::Escape, 0x1b) => State::Escape,
            (State::Escape, 0x30..=0x7e) => State::Ground,
            (State::EscapeIntermediate, 0x30..=0x7e) => State::Ground,
            (State::EscapeIntermediate, 0x20..=0x2f) => State::EscapeIntermediate,
            (State::Csi, 0x40..=0x7e) => State::Ground,
            (State::Csi, 0x20..=0x3f) => State::Csi,
            (State::String, 0x07) => State::Ground,
            (State::String, 0x1b) => State::StringEscape,
            (State::String, _) => State::String,
            (State::StringEscape, b'\\') => State::Ground,
            (State::StringEscape, _) => State::String,
            _ => return None,
        })
    }
}

/// Strips a complete byte string in one go.
pub fn strip(input: &[u8]) -> Vec<u8> {
    Stripper::default().strip(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_colours_bracketed_paste_and_osc8_links() {
        let raw = b"\x1b[?2004hazureuser@rescue-guest:~$ ls\r\n\x1b[?2004l\r\x1b[0;1;32m\xe2\x97\x8f\x1b[0m \x1b]8;;file://rescue-guest/lib/systemd/system/ssh.service\x07ssh.service\x1b]8;;\x07\r\n";
        assert_eq!(
            String::from_utf8(strip(raw)).unwrap(),
            "azureuser@rescue-guest:~$ ls\r\n\r\u{25cf} ssh.service\r\n"
        );
    }

    #[test]
    fn a_sequence_split_across_reads_is_removed_whole() {
        let mut s = Stripper::default();
        let mut out = s.strip(b"ab\x1b[0;3");
        out.extend(s.strip(b"2mcd\x1b]0;title"));
        out.extend(s.strip(b"\x1b\\ef\x1b("));
        out.extend(s.strip(b"Bgh"));
        assert_eq!(out, b"abcdefgh");
    }

    #[test]
    fn a_sequence_cut_short_by_text_gives_the_text_back() {
        // systemd truncating a status line: ESC of `ESC[0m`, then the ellipsis.
        assert_eq!(
            strip(b"mount\x1b\xe2\x80\xa6POSIX"),
            "mount\u{2026}POSIX".as_bytes()
        );
        assert_eq!(strip(b"a\x1b[0;3\xc3\xa9b"), "a\u{e9}b".as_bytes());
    }

    #[test]
    fn keeps_line_structure_and_drops_bell_and_nul() {
        assert_eq!(strip(b"a\tb\x07\x00c\x08\r\n"), b"a\tbc\x08\r\n");
    }
}
