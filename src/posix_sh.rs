//! POSIX sh text as lifeline sends it to a guest: words quoted for the shell, and scripts
//! without comments, blank lines and indentation (over a 115200-baud console every byte costs).

/// Quotes `s` as one word for a POSIX shell.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `script` without comment lines, blank lines and leading blanks (a `#` after code stays).
/// Safe for scripts written so that no line inside a multi-line quoted string starts with a
/// blank or `#`, as probe.sh and the remedy libraries are.
pub fn minify(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    for line in script.lines().map(str::trim_start) {
        if !line.is_empty() && !line.starts_with('#') {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("printf %s {}", quote("a 'b' $c \\d"))])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a 'b' $c \\d");
    }

    #[test]
    fn minified_text_keeps_code_and_drops_comments() {
        assert_eq!(
            minify("# head\n\nf() {\n    echo a # tail\n}\n"),
            "f() {\necho a # tail\n}\n"
        );
    }
}
