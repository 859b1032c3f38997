//! A stretch of console output the transcript leaves out: the echo of an upload, whose base64
//! can carry a password hash (a plan's script holds one). It runs from the moment lifeline
//! types the upload to a marker the guest prints once it has read the here-document (our shell
//! types without echo, so nothing lifeline typed can end it), and a note stands in its place.
//! The marker counts only followed by a line end.

/// What stands in the transcript for withheld output.
pub const NOTE: &[u8] = b"[upload withheld]";

pub struct Withhold {
    end: Vec<u8>,
    /// The last bytes seen, which may be the start of the marker: never more than the marker
    /// and the byte after it.
    held: Vec<u8>,
}

impl Withhold {
    pub fn until(end: &[u8]) -> Self {
        Withhold {
            end: end.to_vec(),
            held: Vec::new(),
        }
    }

    /// Takes console bytes: `None` while they are still withheld, else what follows the end
    /// marker (from its line end on).
    pub fn push(&mut self, raw: &[u8]) -> Option<Vec<u8>> {
        self.held.extend_from_slice(raw);
        let len = self.end.len();
        let found = self
            .held
            .windows(len + 1)
            .position(|w| w.starts_with(&self.end) && matches!(w[len], b'\r' | b'\n'));
        match found {
            Some(at) => Some(self.held.split_off(at + len)),
            None => {
                let keep = self.held.len().saturating_sub(len);
                self.held.drain(..keep);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_withheld_up_to_the_marker_at_a_line_end_whatever_the_chunks() {
        // With the echo on (a shell that would not turn it off): the echo of the typed line
        // names the marker only in pieces.
        let echo: &[u8] = b"(base64 -d >f) <<'LL_EOF_1'; printf 'll-%s-up\\n' 1\r\nc2VjcmV0\r\n> LL_EOF_1\r\nll-1-up\r\n$ next";
        for size in 1..echo.len() {
            let mut w = Withhold::until(b"ll-1-up");
            let mut after: Option<Vec<u8>> = None;
            for chunk in echo.chunks(size) {
                match after.as_mut() {
                    Some(after) => after.extend_from_slice(chunk),
                    None => after = w.push(chunk),
                }
            }
            assert_eq!(
                after.as_deref(),
                Some(&b"\r\n$ next"[..]),
                "chunks of {size}"
            );
        }
        let mut w = Withhold::until(b"ll-1-up");
        assert_eq!(w.push(echo).unwrap(), b"\r\n$ next");
    }

    #[test]
    fn what_is_held_stays_bounded_without_a_marker() {
        let mut w = Withhold::until(b"ll-1-up");
        for _ in 0..1000 {
            assert!(w.push(&[b'A'; 4096]).is_none());
            assert!(w.held.len() <= 8);
        }
    }
}
