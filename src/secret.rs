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
    pub fn patterns(&self) -> Vec<Vec<u8>> {
        let all = self.inner.read().expect("secret registry poisoned");
        let mut patterns: Vec<Vec<u8>> = all.iter().map(|s| s.0.as_bytes().to_vec()).collect();
        patterns.sort_by_key(|p| std::cmp::Reverse(p.len()));
        patterns
    }

    /// The longest registered secret, in bytes (0 when none).
    pub fn longest(&self) -> usize {
        let all = self.inner.read().expect("secret registry poisoned");
        all.iter().map(|s| s.0.len()).max().unwrap_or(0)
    }
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
        assert_eq!(r.patterns(), vec![b"abcd".to_vec(), b"ab".to_vec()]);
        assert_eq!(r.longest(), 4);
    }
}
