//! Secrets (passwords, tokens) and the registry that every output path consults before it writes.
//!
//! A [`Secret`] never prints itself: its `Debug` is a fixed placeholder, so a stray `{:?}` in a log
//! line cannot leak it. Every secret a session learns is added to the shared [`SecretRegistry`],
//! which the transcript writer uses to redact anything that slips through.

use std::fmt;
use std::sync::{Arc, RwLock};

/// What redacted text is replaced with.
pub const REDACTED: &[u8] = b"[redacted]";

/// A secret value held in memory only.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The clear text, for the one place that must type it (a prompt that does not echo).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// The set of secrets known to one process; cheap to clone and share between layers.
#[derive(Clone, Default, Debug)]
pub struct SecretRegistry {
    inner: Arc<RwLock<Vec<Secret>>>,
}

impl SecretRegistry {
    pub fn register(&self, secret: &Secret) {
        if secret.0.is_empty() {
            return;
        }
        let mut all = self.inner.write().expect("secret registry poisoned");
        if !all.contains(secret) {
            all.push(secret.clone());
        }
    }

    /// The secrets as byte patterns, longest first so that a secret containing another is
    /// redacted whole.
    pub fn patterns(&self) -> Vec<Pattern> {
        let all = self.inner.read().expect("secret registry poisoned");
        let mut patterns: Vec<Pattern> = all
            .iter()
            .map(|s| Pattern {
                bytes: s.0.as_bytes().to_vec(),
                alone: s.0.len() < SHORT,
            })
            .collect();
        patterns.sort_by_key(|p| std::cmp::Reverse(p.bytes.len()));
        patterns
    }

    /// The longest registered secret, in bytes (0 when none).
    pub fn longest(&self) -> usize {
        let all = self.inner.read().expect("secret registry poisoned");
        all.iter().map(|s| s.0.len()).max().unwrap_or(0)
    }
}

/// Secrets shorter than this are redacted only where they stand alone. Replacing every `e` of
/// a transcript because a password is `e` would ruin the transcript and, worse, show the
/// password to anyone who sees which letter went missing. An echoed password stands alone
/// (after `Password: `, before the line's end), so it is still caught there; lifeline types
/// passwords only with echo off, so that is the only way one reaches a transcript.
pub const SHORT: usize = 4;

/// A secret as the redactor looks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub bytes: Vec<u8>,
    /// Matches only between whitespace or control bytes (or the ends of the stream).
    pub alone: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn patterns_are_longest_first_and_unique() {
        let r = SecretRegistry::default();
        r.register(&Secret::new("ab"));
        r.register(&Secret::new("abcd"));
        r.register(&Secret::new("ab"));
        r.register(&Secret::new(""));
        let bytes: Vec<Vec<u8>> = r.patterns().into_iter().map(|p| p.bytes).collect();
        assert_eq!(bytes, vec![b"abcd".to_vec(), b"ab".to_vec()]);
        let alone: Vec<bool> = r.patterns().iter().map(|p| p.alone).collect();
        assert_eq!(alone, vec![false, true]);
        assert_eq!(r.longest(), 4);
    }
}
