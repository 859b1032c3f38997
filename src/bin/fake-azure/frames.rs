//! Serial output → websocket frames, in the framing a test asks for.
//!
//! Whether the real gateway sends text or binary frames is not known (docs/azure-serial-console.md), and a
//! serial port emits arbitrary bytes, so the fake can send text, binary, or both in turn.
//! A text frame must hold UTF-8 for a conforming peer: by default the fake keeps text frames
//! valid by holding back a character split across two reads and replacing invalid bytes with
//! U+FFFD. With `invalid_utf8_text_frames` it sends the raw bytes in text frames instead, which
//! is what a gateway that does not validate would do; tungstenite refuses to build such a
//! `Message::Text`, so those go out as a pre-built text `Frame`.

use crate::state::FrameMode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// The framing in force for one chunk of output (read from the run-time behaviour each time).
#[derive(Debug, Clone, Copy)]
pub struct Framing {
    pub mode: FrameMode,
    pub invalid_utf8_text_frames: bool,
    /// Largest frame payload (0: one frame per chunk).
    pub max_frame_bytes: usize,
}

/// Per-session framing state.
#[derive(Debug, Default)]
pub struct Framer {
    /// The start of a UTF-8 character whose end has not been read yet.
    carry: Vec<u8>,
    /// In mixed mode, whether the next frame is binary.
    next_binary: bool,
}

impl Framer {
    pub fn frames(&mut self, bytes: &[u8], framing: Framing) -> Vec<Message> {
        let raw = framing.mode == FrameMode::Binary || framing.invalid_utf8_text_frames;
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(bytes);
        let pieces: Vec<Vec<u8>> = if raw {
            split_bytes(&buf, framing.max_frame_bytes)
        } else {
            let (text, carry) = decode_keeping_tail(&buf);
            self.carry = carry;
            split_text(&text, framing.max_frame_bytes)
        };
        pieces
            .into_iter()
            .map(|piece| {
                let binary = match framing.mode {
                    FrameMode::Text => false,
                    FrameMode::Binary => true,
                    FrameMode::Mixed => {
                        self.next_binary = !self.next_binary;
                        !self.next_binary
                    }
                };
                if binary {
                    Message::Binary(piece.into())
                } else {
                    match String::from_utf8(piece) {
                        Ok(text) => Message::text(text),
                        Err(e) => Message::Frame(Frame::message(
                            e.into_bytes(),
                            OpCode::Data(Data::Text),
                            true,
                        )),
                    }
                }
            })
            .collect()
    }
}

/// Decodes UTF-8, replacing invalid bytes, and returns an incomplete character at the end
/// separately so that the next read can complete it.
fn decode_keeping_tail(buf: &[u8]) -> (String, Vec<u8>) {
    let mut out = String::with_capacity(buf.len());
    let mut rest = buf;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return (out, Vec::new());
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                match e.error_len() {
                    None => return (out, bad.to_vec()),
                    Some(n) => {
                        out.push('\u{FFFD}');
                        rest = &bad[n..];
                    }
                }
            }
        }
    }
}

fn split_bytes(buf: &[u8], max: usize) -> Vec<Vec<u8>> {
    if buf.is_empty() {
        return Vec::new();
    }
    if max == 0 {
        return vec![buf.to_vec()];
    }
    buf.chunks(max).map(<[u8]>::to_vec).collect()
}

/// Splits text into pieces of at most `max` bytes without cutting a character (a character
/// longer than `max` makes a piece of its own).
fn split_text(text: &str, max: usize) -> Vec<Vec<u8>> {
    if text.is_empty() {
        return Vec::new();
    }
    if max == 0 {
        return vec![text.as_bytes().to_vec()];
    }
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = max.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end == 0 {
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        pieces.push(rest.as_bytes()[..end].to_vec());
        rest = &rest[end..];
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framing(mode: FrameMode, invalid: bool, max: usize) -> Framing {
        Framing {
            mode,
            invalid_utf8_text_frames: invalid,
            max_frame_bytes: max,
        }
    }

    #[test]
    fn text_frames_stay_valid_across_split_characters() {
        let mut f = Framer::default();
        let box_drawing = "┌─┐".as_bytes();
        let first = f.frames(&box_drawing[..4], framing(FrameMode::Text, false, 0));
        assert_eq!(first, vec![Message::text("┌")]);
        let second = f.frames(&box_drawing[4..], framing(FrameMode::Text, false, 0));
        assert_eq!(second, vec![Message::text("─┐")]);
        let bad = f.frames(b"a\xffb", framing(FrameMode::Text, false, 0));
        assert_eq!(bad, vec![Message::text("a\u{FFFD}b")]);
    }

    #[test]
    fn raw_text_frames_carry_invalid_bytes() {
        let mut f = Framer::default();
        let out = f.frames(b"a\xffb", framing(FrameMode::Text, true, 0));
        match &out[..] {
            [Message::Frame(frame)] => {
                assert_eq!(frame.header().opcode, OpCode::Data(Data::Text));
                assert_eq!(frame.payload(), b"a\xffb");
            }
            other => panic!("expected one raw text frame, got {other:?}"),
        }
    }

    #[test]
    fn mixed_mode_alternates_and_splits() {
        let mut f = Framer::default();
        let out = f.frames(b"abcdef", framing(FrameMode::Mixed, false, 2));
        assert_eq!(
            out,
            vec![
                Message::text("ab"),
                Message::Binary(b"cd".to_vec().into()),
                Message::text("ef"),
            ]
        );
        assert_eq!(split_text("é€", 1), vec!["é".as_bytes(), "€".as_bytes()]);
    }
}
