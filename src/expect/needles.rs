//! Precompiled needles: a set of named patterns searched in one pass.
//!
//! All needles are compiled once into a single alternation, so finding the earliest match of any
//! of them costs one regex scan, not one per needle. The needle that matched is then identified by
//! running the individual (anchored) patterns at the match start only.

use regex::bytes::{Regex, RegexBuilder};

/// Where one needle matched, in the searched haystack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub needle: usize,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone)]
pub struct Needles {
    names: Vec<&'static str>,
    combined: Regex,
    anchored: Vec<Regex>,
}

impl Needles {
    /// Compiles `(name, regex)` pairs. Patterns are matched on ANSI-free console text and must
    /// not span more than one line (see [`super::ExpectBuffer`] for why).
    pub fn new(needles: &[(&'static str, &str)]) -> Result<Self, regex::Error> {
        let alternation = needles
            .iter()
            .map(|(_, p)| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|");
        let combined = build(&alternation)?;
        let anchored = needles
            .iter()
            .map(|(_, p)| build(&format!("^(?:{p})")))
            .collect::<Result<_, _>>()?;
        Ok(Needles {
            names: needles.iter().map(|(n, _)| *n).collect(),
            combined,
            anchored,
        })
    }

    pub fn name(&self, needle: usize) -> &'static str {
        self.names[needle]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The earliest match at or after `from`. When two needles match at the same start, the
    /// one listed first wins (leftmost-first, as in the alternation).
    pub fn find_at(&self, haystack: &[u8], from: usize) -> Option<Hit> {
        let m = self.combined.find_at(haystack, from)?;
        let needle = self
            .anchored
            .iter()
            .position(|re| {
                re.find(&haystack[m.start()..])
                    .is_some_and(|x| x.end() == m.len())
            })
            // The alternation matched, so some needle matches here; fall back to any that
            // matches at this start if lengths differ (cannot happen with leftmost-first).
            .or_else(|| {
                self.anchored
                    .iter()
                    .position(|re| re.is_match(&haystack[m.start()..]))
            })
            .unwrap_or(0);
        Some(Hit {
            needle,
            start: m.start(),
            end: m.end(),
        })
    }
}

fn build(pattern: &str) -> Result<Regex, regex::Error> {
    // Multi-line so that `^`/`$` mean line start/end on console text; CRLF so `$` accepts `\r\n`.
    RegexBuilder::new(pattern)
        .multi_line(true)
        .crlf(true)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_match_wins_whatever_the_order() {
        let n = Needles::new(&[("shell", r"\$ $"), ("login", r"login: $")]).unwrap();
        let hay = b"host login: ";
        let hit = n.find_at(hay, 0).unwrap();
        assert_eq!(n.name(hit.needle), "login");
        let hay = b"user@host:~$ ";
        assert_eq!(n.name(n.find_at(hay, 0).unwrap().needle), "shell");
    }

    #[test]
    fn tells_which_needle_matched_and_where() {
        let n = Needles::new(&[("a", "foo"), ("b", "bar[0-9]+")]).unwrap();
        let hit = n.find_at(b"xx bar42 foo", 0).unwrap();
        assert_eq!(
            hit,
            Hit {
                needle: 1,
                start: 3,
                end: 8
            }
        );
        let hit = n.find_at(b"xx bar42 foo", 8).unwrap();
        assert_eq!(
            hit,
            Hit {
                needle: 0,
                start: 9,
                end: 12
            }
        );
    }

    #[test]
    fn same_start_prefers_the_needle_listed_first() {
        let n = Needles::new(&[("long", "abc"), ("short", "ab")]).unwrap();
        assert_eq!(n.find_at(b"abc", 0).unwrap().needle, 0);
    }
}
