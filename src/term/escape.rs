//! Guest text made safe for the operator's terminal. Whatever the guest wrote (an
//! `os-release` name, a path, a tool's message) can hold escape sequences that set the window
//! title, move the cursor or erase the verdict printed above it. Every text report passes
//! through [`for_terminal`] on its way out: control characters (except line feed and tab) and
//! the bidirectional overrides that reorder what is shown become visible `\x..`/`\u{..}`
//! escapes.

use std::borrow::Cow;

/// `text` with every character a terminal would act on, rather than show, spelled out.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acted_on) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !acted_on(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

fn acted_on(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_visible_and_ordinary_text_is_untouched() {
        let hostile = "Debian\x1b]0;owned\x07\x1b[1A\x1b[2K \u{9b}31m \u{202e}evil\r\n";
        assert_eq!(
            for_terminal(hostile),
            "Debian\\x1b]0;owned\\x07\\x1b[1A\\x1b[2K \\x9b31m \\u{202e}evil\\x0d\n"
        );
        let plain = "SSH is down\n\tsshd: no hostkeys — überall\n";
        assert!(matches!(for_terminal(plain), Cow::Borrowed(_)));
    }
}
