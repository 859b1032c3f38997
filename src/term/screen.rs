//! A vt100 screen fed with everything the console prints: what a person at the console would see.
//!
//! State detection reads the row under the cursor from here, because full-screen programs
//! (`less`, `systemctl status`) redraw with cursor movement that a byte stream does not show.

use std::num::NonZeroU16;

pub struct Screen {
    parser: vt100::Parser,
}

impl Screen {
    pub fn new(rows: u16, cols: u16) -> Self {
        Screen {
            parser: vt100::Parser::new(
                NonZeroU16::new(rows).unwrap_or(NonZeroU16::MIN),
                NonZeroU16::new(cols).unwrap_or(NonZeroU16::MIN),
                0,
            ),
        }
    }

    pub fn feed(&mut self, raw: &[u8]) {
        self.parser.process(raw);
    }

    /// The text of the cursor's row up to the cursor: the prompt a person would be typing at.
    pub fn cursor_line(&self) -> String {
        let screen = self.parser.screen();
        let (row, col) = screen.cursor_position();
        let (_, cols) = screen.size();
        screen
            .rows(0, cols.get())
            .nth(usize::from(row))
            .map(|line| line.chars().take(usize::from(col)).collect())
            .unwrap_or_default()
    }

    /// The whole visible screen as text, one line per row, trailing blanks trimmed.
    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_line_is_the_prompt_being_typed_at() {
        let mut s = Screen::new(24, 80);
        s.feed(b"Debian GNU/Linux 12 rescue-guest ttyS0\r\n\r\nrescue-guest login: ");
        assert_eq!(s.cursor_line(), "rescue-guest login: ");
    }

    #[test]
    fn full_screen_redraws_are_followed() {
        let mut s = Screen::new(24, 80);
        s.feed(b"$ less file\r\n\x1b[?1049h\x1b[H\x1b[2Jline one\r\nline two\x1b[24;1H(END)");
        assert_eq!(s.cursor_line(), "(END)");
        s.feed(b"\x1b[?1049l\r\x1b[K$ ");
        assert_eq!(s.cursor_line(), "$ ");
    }
}
