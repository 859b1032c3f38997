//! Streaming redaction of registered secrets.
//!
//! A secret may arrive split across two reads, so the redactor holds back the last
//! `longest secret - 1` bytes of every chunk until the next chunk (or [`Redactor::finish`]) shows
//! whether they start a secret.

use crate::secret::{Pattern, REDACTED, SecretRegistry};

pub struct Redactor {
    secrets: SecretRegistry,
    pending: Vec<u8>,
    /// The last byte before `pending`: whether a short secret at its start stands alone.
    before: Option<u8>,
}

impl Redactor {
    pub fn new(secrets: SecretRegistry) -> Self {
        Redactor {
            secrets,
            pending: Vec::new(),
            before: None,
        }
    }

    /// Returns the bytes that are now safe to write.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        // One byte more than the longest secret: a short one must be seen to end alone.
        let hold = self.secrets.longest();
        self.take(hold)
    }

    /// Returns everything still held back, redacted.
    pub fn finish(&mut self) -> Vec<u8> {
        self.take(0)
    }

    fn take(&mut self, hold: usize) -> Vec<u8> {
        let patterns = self.secrets.patterns();
        let pending = std::mem::take(&mut self.pending);
        let (mut safe, done) = replace_all(&pending, &patterns, hold, self.before);
        if done > 0 {
            self.before = Some(pending[done - 1]);
        }
        self.pending = pending[done..].to_vec();
        safe.shrink_to_fit();
        safe
    }
}

/// Replaces every pattern in `data` (`before` is the byte that preceded it); leaves the last
/// `hold` bytes after the final replacement unexamined, because a later chunk may complete a
/// secret there. Returns the safe bytes and how much of `data` they stand for.
fn replace_all(
    data: &[u8],
    patterns: &[Pattern],
    hold: usize,
    before: Option<u8>,
) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    let limit = data.len().saturating_sub(hold);
    while i < limit {
        let prev = i.checked_sub(1).map(|p| data[p]).or(before);
        match patterns.iter().find(|p| found_at(data, i, p, prev)) {
            Some(p) => {
                out.extend_from_slice(REDACTED);
                i += p.bytes.len();
            }
            None => {
                out.push(data[i]);
                i += 1;
            }
        }
    }
    (out, i.min(data.len()))
}

fn found_at(data: &[u8], at: usize, pattern: &Pattern, prev: Option<u8>) -> bool {
    data[at..].starts_with(&pattern.bytes)
        && (!pattern.alone
            || (separates(prev) && separates(data.get(at + pattern.bytes.len()).copied())))
}

/// Whitespace, control bytes and the ends of the stream set a word apart.
fn separates(byte: Option<u8>) -> bool {
    byte.is_none_or(|b| b <= b' ' || b == 0x7f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn registry(secrets: &[&str]) -> SecretRegistry {
        let r = SecretRegistry::default();
        for s in secrets {
            r.register(&Secret::new(*s));
        }
        r
    }

    #[test]
    fn a_secret_split_across_chunks_is_redacted() {
        let mut r = Redactor::new(registry(&["s3cret-pw"]));
        let mut out = r.push(b"typed s3c");
        out.extend(r.push(b"ret-pw and more"));
        out.extend(r.finish());
        assert_eq!(out, b"typed [redacted] and more");
    }

    #[test]
    fn text_without_secrets_passes_unchanged() {
        let mut r = Redactor::new(registry(&[]));
        assert_eq!(r.push(b"hello"), b"hello");
        assert!(r.finish().is_empty());
    }

    #[test]
    fn a_short_secret_is_redacted_only_where_it_stands_alone() {
        let mut r = Redactor::new(registry(&["e"]));
        let mut out = r.push(b"Password: e\r\nthe e");
        out.extend(r.push(b"\nend e"));
        out.extend(r.finish());
        assert_eq!(
            out,
            b"Password: [redacted]\r\nthe [redacted]\nend [redacted]"
        );
        let mut r = Redactor::new(registry(&["abc"]));
        let mut out = r.push(b"abc abcd xabc ab");
        out.extend(r.push(b"c\t"));
        out.extend(r.finish());
        assert_eq!(out, b"[redacted] abcd xabc [redacted]\t");
    }

    #[test]
    fn a_partial_secret_at_the_end_is_kept() {
        let mut r = Redactor::new(registry(&["abcdef"]));
        let mut out = r.push(b"xxabc");
        out.extend(r.finish());
        assert_eq!(out, b"xxabc");
    }
}
