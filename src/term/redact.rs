//! Streaming redaction of registered secrets.
//!
//! A secret may arrive split across two reads, so the redactor holds back the last
//! `longest secret - 1` bytes of every chunk until the next chunk (or [`Redactor::finish`]) shows
//! whether they start a secret.

use crate::secret::{REDACTED, SecretRegistry};

pub struct Redactor {
    secrets: SecretRegistry,
    pending: Vec<u8>,
}

impl Redactor {
    pub fn new(secrets: SecretRegistry) -> Self {
        Redactor {
            secrets,
            pending: Vec::new(),
        }
    }

    /// Returns the bytes that are now safe to write.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        let patterns = self.secrets.patterns();
        let hold = self.secrets.longest().saturating_sub(1);
        let (mut safe, rest) = replace_all(&self.pending, &patterns, hold);
        self.pending = rest;
        safe.shrink_to_fit();
        safe
    }

    /// Returns everything still held back, redacted.
    pub fn finish(&mut self) -> Vec<u8> {
        let patterns = self.secrets.patterns();
        let (safe, _) = replace_all(&std::mem::take(&mut self.pending), &patterns, 0);
        safe
    }
}

/// Replaces every pattern in `data`; the last `hold` bytes that follow the final replacement are
/// returned separately, unexamined, because a later chunk may complete a secret there.
fn replace_all(data: &[u8], patterns: &[Vec<u8>], hold: usize) -> (Vec<u8>, Vec<u8>) {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    let limit = data.len().saturating_sub(hold);
    while i < limit {
        match patterns.iter().find(|p| data[i..].starts_with(p)) {
            Some(p) => {
                out.extend_from_slice(REDACTED);
                i += p.len();
            }
            None => {
                out.push(data[i]);
                i += 1;
            }
        }
    }
    (out, data[i.min(data.len())..].to_vec())
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
    fn a_partial_secret_at_the_end_is_kept() {
        let mut r = Redactor::new(registry(&["abcdef"]));
        let mut out = r.push(b"xxabc");
        out.extend(r.finish());
        assert_eq!(out, b"xxabc");
    }
}
