//! The plain-text view of console output: what the lines say, without escape sequences,
//! carriage-return overwrites resolved and lines wrapped by the terminal joined again.
//!
//! Readline wraps a long input line by printing `" \r"` at the right margin (the space forces the
//! terminal to wrap, the CR returns to column 0 of the new row). Any other CR moves to the start
//! of the current screen row, and what follows overwrites it, as on a real terminal.

use super::ansi;

/// Renders console bytes as plain lines for a terminal `width` columns wide.
pub fn plain_text(raw: &[u8], width: usize) -> String {
    let text = String::from_utf8_lossy(&ansi::strip(raw)).into_owned();
    let width = width.max(1);
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.extend(resolve_line(line, width));
    }
    out
}

fn resolve_line(line: &str, width: usize) -> Vec<char> {
    let chars: Vec<char> = line.chars().collect();
    let mut cells: Vec<char> = Vec::with_capacity(chars.len());
    let mut cursor = 0usize;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            ' ' if chars.get(i + 1) == Some(&'\r')
                && cursor > 0
                && cursor.is_multiple_of(width) =>
            {
                // Readline's wrap marker at the margin: the logical line simply continues.
                i += 2;
                continue;
            }
            '\r' => {
                // A CR in the pending-wrap state (just past the margin) returns to the row the
                // cursor is still on, not to the next one.
                let column = cursor % width;
                cursor -= if column == 0 && cursor > 0 {
                    width
                } else {
                    column
                };
            }
            '\u{8}' => cursor = cursor.saturating_sub(1),
            c => {
                if cursor < cells.len() {
                    cells[cursor] = c;
                } else {
                    cells.push(c);
                }
                cursor += 1;
            }
        }
        i += 1;
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_line_endings_become_plain_lines() {
        assert_eq!(plain_text(b"one\r\ntwo\r\n", 80), "one\ntwo\n");
    }

    #[test]
    fn carriage_return_overwrites_like_a_progress_bar() {
        assert_eq!(plain_text(b"10%\r50%\r100%\r\n", 80), "100%\n");
        assert_eq!(plain_text(b"abcdef\rXY\r\n", 80), "XYcdef\n");
    }

    #[test]
    fn readline_wrap_marker_joins_the_wrapped_line() {
        // Prompt of 21 columns plus typed text reaching column 80, then " \r" and the rest.
        let prompt = "azureuser@rescue-gu:~$ ";
        let first = "y".repeat(80 - prompt.len());
        let raw = format!("{prompt}{first} \ryyyy | wc -c\r\n");
        assert_eq!(
            plain_text(raw.as_bytes(), 80),
            format!("{prompt}{first}yyyy | wc -c\n")
        );
    }

    #[test]
    fn a_long_line_wrapped_by_the_terminal_stays_one_line() {
        let long = "x".repeat(200);
        assert_eq!(
            plain_text(format!("{long}\r\n").as_bytes(), 80),
            format!("{long}\n")
        );
    }

    #[test]
    fn systemd_status_lines_with_colours_and_double_cr() {
        let raw = b"[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mssh.service\x1b[0m - OpenBSD Secure Shell server.\r\r\n";
        assert_eq!(
            plain_text(raw, 80),
            "[  OK  ] Started ssh.service - OpenBSD Secure Shell server.\n"
        );
    }
}
