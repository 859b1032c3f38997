//! The identification-line exchange that opens every SSH connection (RFC 4253 §4.2).
//!
//! A server may print other lines before its `SSH-2.0-…` line (a legal notice, say), so those
//! are skipped; but a port that is not SSH at all must fail fast and say what it sent instead,
//! so each line is bounded to 255 bytes and the number of lines is bounded too.

use super::error::Fault;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// RFC 4253 §4.2: the identification line, CR LF included, is at most 255 bytes.
const MAX_LINE: usize = 255;
/// Lines tolerated before the identification line.
const MAX_LINES: usize = 32;
/// How much of what came before the banner is kept for the error message.
const MAX_SEEN: usize = 1024;

/// What this client sends as its identification (without CR LF; the exchange hash uses it so).
pub fn client_version() -> String {
    format!("SSH-2.0-lifeline_{}", env!("CARGO_PKG_VERSION"))
}

/// Reads up to the server's identification line and returns it without its line ending. Every
/// byte read is also appended to `seen` (up to [`MAX_SEEN`]), so that a caller whose time runs
/// out can still say what arrived.
pub async fn read_server_version<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    seen: &mut Vec<u8>,
) -> Result<String, Fault> {
    for _ in 0..MAX_LINES {
        let line = read_line(reader, seen).await?;
        let line = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(&line);
        if !line.starts_with(b"SSH-") {
            continue;
        }
        let line = String::from_utf8(line.to_vec())
            .map_err(|_| Fault::Protocol("the server's SSH banner is not text".to_string()))?;
        if line.starts_with("SSH-2.0-") || line.starts_with("SSH-1.99-") {
            return Ok(line);
        }
        return Err(Fault::UnsupportedVersion(line));
    }
    Err(Fault::NoBanner("too many lines without one"))
}

/// One line, newline included, of at most [`MAX_LINE`] bytes.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    seen: &mut Vec<u8>,
) -> Result<Vec<u8>, Fault> {
    let mut line = Vec::new();
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Err(Fault::NoBanner("it closed the connection"));
        }
        let newline = buf.iter().position(|&b| b == b'\n');
        let chunk = newline.map_or(buf.len(), |i| i + 1);
        let keep = chunk.min(MAX_SEEN.saturating_sub(seen.len()));
        seen.extend_from_slice(&buf[..keep]);
        if line.len() + chunk > MAX_LINE {
            return Err(Fault::NoBanner("a line longer than 255 bytes"));
        }
        line.extend_from_slice(&buf[..chunk]);
        reader.consume(chunk);
        if newline.is_some() {
            return Ok(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(input: &[u8]) -> (Result<String, Fault>, Vec<u8>) {
        let mut seen = Vec::new();
        let mut reader = input;
        let result = read_server_version(&mut reader, &mut seen).await;
        (result, seen)
    }

    #[tokio::test]
    async fn the_banner_is_found_after_other_lines() {
        let (version, _) =
            read(b"Authorized use only\r\n\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\nKEX").await;
        assert_eq!(version.unwrap(), "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
    }

    #[tokio::test]
    async fn a_bare_newline_ends_the_line_too_and_1_99_is_ssh_2() {
        let (version, _) = read(b"SSH-1.99-Cisco-1.25\n").await;
        assert_eq!(version.unwrap(), "SSH-1.99-Cisco-1.25");
    }

    #[tokio::test]
    async fn ssh_1_5_is_refused() {
        let (result, _) = read(b"SSH-1.5-OldServer\r\n").await;
        assert!(
            matches!(result, Err(Fault::UnsupportedVersion(ref v)) if v == "SSH-1.5-OldServer"),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_foreign_service_is_no_banner_and_its_words_are_kept() {
        let (result, seen) = read(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        assert!(matches!(result, Err(Fault::NoBanner(_))), "{result:?}");
        assert_eq!(seen, b"HTTP/1.1 400 Bad Request\r\n\r\n");
    }

    #[tokio::test]
    async fn lines_and_their_number_are_bounded() {
        let (result, seen) = read(&[b'x'; 10_000]).await;
        assert!(matches!(result, Err(Fault::NoBanner(why)) if why.contains("255")));
        assert_eq!(seen.len(), MAX_SEEN, "what came is kept, bounded");

        let many = b"hello\n".repeat(MAX_LINES + 1);
        let (result, _) = read(&many).await;
        assert!(matches!(result, Err(Fault::NoBanner(why)) if why.contains("too many")));
    }

    #[tokio::test]
    async fn the_longest_allowed_line_is_accepted() {
        let mut line = b"SSH-2.0-".to_vec();
        line.resize(MAX_LINE - 2, b'v');
        line.extend_from_slice(b"\r\n");
        let (version, _) = read(&line).await;
        assert_eq!(version.unwrap().len(), MAX_LINE - 2);
    }
}
