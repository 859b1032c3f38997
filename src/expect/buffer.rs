//! The matcher's buffer: bounded, and searched incrementally.
//!
//! Rescanning the whole buffer on every read would make a long session quadratic. Needles match
//! within one line, so after a failed search only the unfinished last line (capped at `window`
//! bytes) can still become a match: the next search starts there. Each byte is therefore scanned
//! a bounded number of times, and the cost is linear in the bytes read.
//!
//! The buffer holds at most `limit` bytes. Older bytes are dropped (and counted) so a chatty
//! console cannot exhaust memory; a match reports whether its preceding text was cut. Dropping
//! and taking only move where the held bytes begin; they are moved to the front once the bytes
//! let go of outnumber half of those held, so a flood of small reads past the limit costs a few
//! moves per byte, not the whole buffer per read.

use super::needles::{Hit, Needles};

pub struct ExpectBuffer {
    data: Vec<u8>,
    /// Where the held bytes begin in `data`: those before it were dropped or taken.
    head: usize,
    /// Offset in the held bytes where the next search starts.
    scan_from: usize,
    limit: usize,
    window: usize,
    /// Bytes dropped from the front since the last match was taken.
    dropped: u64,
}

/// A match taken out of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub needle: usize,
    /// Text between the previous match (or the start) and this one.
    pub before: Vec<u8>,
    pub matched: Vec<u8>,
    /// How many bytes of `before` were dropped because the buffer limit was reached.
    pub dropped: u64,
}

impl ExpectBuffer {
    pub fn new(limit: usize, window: usize) -> Self {
        ExpectBuffer {
            data: Vec::new(),
            head: 0,
            scan_from: 0,
            limit: limit.max(window * 2),
            window,
            dropped: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
        let held = self.data.len() - self.head;
        if held > self.limit {
            let excess = held - self.limit;
            self.let_go(excess);
            self.dropped += excess as u64;
            self.scan_from = self.scan_from.saturating_sub(excess);
        }
    }

    /// Searches the unscanned part; on a match, removes everything up to its end.
    pub fn take_match(&mut self, needles: &Needles) -> Option<Taken> {
        let held = &self.data[self.head..];
        match needles.find_at(held, self.scan_from) {
            Some(Hit { needle, start, end }) => {
                let taken = Taken {
                    needle,
                    before: held[..start].to_vec(),
                    matched: held[start..end].to_vec(),
                    dropped: std::mem::take(&mut self.dropped),
                };
                self.let_go(end);
                self.scan_from = 0;
                Some(taken)
            }
            None => {
                // A newline before `scan_from` could not move it back: look after it only.
                let line_start = held[self.scan_from..]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| self.scan_from + i + 1);
                let window_start = held.len().saturating_sub(self.window);
                self.scan_from = line_start.max(window_start).max(self.scan_from);
                None
            }
        }
    }

    /// Everything not yet taken (for error reports and state detection).
    pub fn pending(&self) -> &[u8] {
        &self.data[self.head..]
    }

    /// Removes and returns everything not yet taken.
    pub fn take_all(&mut self) -> Vec<u8> {
        self.scan_from = 0;
        self.dropped = 0;
        let held = self.data.split_off(self.head);
        self.data.clear();
        self.head = 0;
        held
    }

    /// Lets the first `count` held bytes go; moves the rest to the front once what was let go
    /// is at least half of what is held (each byte moves at most twice, on average).
    fn let_go(&mut self, count: usize) {
        self.head += count;
        if self.head * 2 >= self.data.len() - self.head {
            self.data.drain(..self.head);
            self.head = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt() -> Needles {
        Needles::new(&[("prompt", r"[$#] $"), ("marker", r"END:[0-9]+\r?\n")]).unwrap()
    }

    #[test]
    fn a_match_split_across_pushes_is_found() {
        let mut b = ExpectBuffer::new(1 << 20, 4096);
        let n = prompt();
        b.push(b"output line\r\nEN");
        assert!(b.take_match(&n).is_none());
        b.push(b"D:1");
        assert!(b.take_match(&n).is_none());
        b.push(b"7\r\nrest");
        let t = b.take_match(&n).unwrap();
        assert_eq!(t.before, b"output line\r\n");
        assert_eq!(t.matched, b"END:17\r\n");
        assert_eq!(b.pending(), b"rest");
    }

    #[test]
    fn two_matches_in_one_chunk_are_taken_one_by_one() {
        let mut b = ExpectBuffer::new(1 << 20, 4096);
        let n = prompt();
        b.push(b"a\r\nEND:1\r\nb\r\nEND:2\r\n");
        assert_eq!(b.take_match(&n).unwrap().before, b"a\r\n");
        assert_eq!(b.take_match(&n).unwrap().before, b"b\r\n");
        assert!(b.take_match(&n).is_none());
    }

    #[test]
    fn the_limit_drops_old_bytes_and_says_so() {
        let mut b = ExpectBuffer::new(16, 4);
        let n = prompt();
        b.push(b"0123456789abcdefghij");
        assert_eq!(b.pending().len(), 16);
        b.push(b"END:3\n");
        let t = b.take_match(&n).unwrap();
        assert_eq!(t.dropped, 10);
        assert_eq!(t.matched, b"END:3\n");
    }

    #[test]
    fn a_flood_past_the_limit_in_small_reads_keeps_exactly_the_newest_bytes() {
        let mut b = ExpectBuffer::new(64, 8);
        let n = prompt();
        let flood: Vec<u8> = (0..1000u32).map(|i| b'a' + (i % 26) as u8).collect();
        for (i, chunk) in flood.chunks(3).enumerate() {
            b.push(chunk);
            assert!(b.take_match(&n).is_none());
            assert!(b.pending().len() <= 64, "read {i}");
            assert!(
                b.data.len() <= 64 * 3 / 2 + 3,
                "read {i}: {} bytes kept",
                b.data.len()
            );
        }
        assert_eq!(b.pending(), &flood[flood.len() - 64..]);
        b.push(b"END:9\n");
        let t = b.take_match(&n).unwrap();
        assert_eq!(t.dropped, 1000 + 6 - 64);
        assert_eq!(t.before, &flood[flood.len() - 58..]);
        assert_eq!(t.matched, b"END:9\n");
        assert!(b.pending().is_empty());
        assert_eq!(b.take_all(), b"");
    }

    #[test]
    fn completed_lines_are_not_rescanned() {
        let mut b = ExpectBuffer::new(1 << 20, 8);
        let n = prompt();
        b.push(b"first line\r\nsecond par");
        assert!(b.take_match(&n).is_none());
        assert_eq!(
            b.scan_from,
            b"first line\r\n".len().max(b.pending().len() - 8)
        );
    }
}
