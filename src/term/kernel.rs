//! Kernel log lines on the console.
//!
//! With `console=ttyS0` the kernel prints its messages (`[   12.345678] text\r\n`) straight onto
//! the serial line, bypassing the tty, so they land anywhere, even in the middle of a command's
//! output line. Each one carries the printk timestamp and runs to the end of its line, which is
//! what makes it removable without touching anything else.
//!
//! [`KernelLineFilter`] removes them from a stream. It holds back a `[` only while what follows
//! can still be a timestamp, so ordinary text (a `[root@host ~]# ` prompt) passes at once.
//! Both what it holds and what it drops are bounded by what the kernel can print: a guest that
//! sends `[` and spaces forever, or a "kernel line" with no end, is passed on, not buffered.

/// The longest `[` + padding + seconds a printk timestamp has (`[%5lu`, and uptime in seconds
/// never needs more than 12 digits).
const MAX_PREFIX: usize = 16;

/// The longest kernel line (the kernel's own record limit is 1024 bytes); past it, what looked
/// like one is shown again.
const MAX_LINE: usize = 2048;

/// How far into `[ *N.NNNNNN] ` a candidate has got.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Stage {
    #[default]
    Text,
    /// After `[` and optional spaces.
    Open,
    /// In the seconds digits.
    Seconds,
    /// After the dot, with this many fraction digits.
    Fraction(u8),
    /// After `]`, expecting a space.
    Close,
    /// Inside a kernel line: dropping up to and including `\n`.
    Dropping,
}

#[derive(Debug, Default)]
pub struct KernelLineFilter {
    stage: Stage,
    held: Vec<u8>,
    /// Bytes dropped of the current kernel line.
    dropped: usize,
}

impl KernelLineFilter {
    pub fn filter(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            self.step(b, &mut out);
        }
        out
    }

    fn step(&mut self, b: u8, out: &mut Vec<u8>) {
        let next = match (self.stage, b) {
            (Stage::Dropping, b'\n') => Stage::Text,
            (Stage::Dropping, _) if self.dropped < MAX_LINE => {
                self.dropped += 1;
                return;
            }
            (Stage::Dropping, _) => {
                // No kernel line is this long: whatever this is, show it from here on.
                self.stage = Stage::Text;
                out.push(b);
                return;
            }
            (Stage::Text, b'[') => Stage::Open,
            (Stage::Text, _) => {
                out.push(b);
                return;
            }
            (Stage::Open, b' ') if self.held.len() < MAX_PREFIX => Stage::Open,
            (Stage::Open | Stage::Seconds, b'0'..=b'9') if self.held.len() < MAX_PREFIX => {
                Stage::Seconds
            }
            (Stage::Seconds, b'.') => Stage::Fraction(0),
            (Stage::Fraction(n), b'0'..=b'9') if n < 6 => Stage::Fraction(n + 1),
            (Stage::Fraction(6), b']') => Stage::Close,
            (Stage::Close, b' ') => Stage::Dropping,
            _ => {
                // Not a kernel line after all: release what was held, then look at this byte
                // afresh (it may open a new candidate).
                out.append(&mut self.held);
                self.stage = Stage::Text;
                self.step(b, out);
                return;
            }
        };
        match next {
            Stage::Dropping | Stage::Text => {
                self.held.clear();
                self.dropped = 0;
            }
            _ => self.held.push(b),
        }
        self.stage = next;
    }
}

/// Watches the raw stream for a kernel panic, across read boundaries.
#[derive(Debug, Default)]
pub struct PanicWatch {
    tail: Vec<u8>,
    seen: bool,
}

const PANIC: &[u8] = b"Kernel panic - not syncing";

impl PanicWatch {
    pub fn scan(&mut self, raw: &[u8]) {
        if self.seen {
            return;
        }
        self.tail.extend_from_slice(raw);
        self.seen = self.tail.windows(PANIC.len()).any(|w| w == PANIC);
        let keep = self.tail.len().saturating_sub(PANIC.len() - 1);
        self.tail.drain(..keep);
    }

    pub fn seen(&self) -> bool {
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filtered(chunks: &[&[u8]]) -> Vec<u8> {
        let mut f = KernelLineFilter::default();
        chunks.iter().flat_map(|c| f.filter(c)).collect()
    }

    #[test]
    fn a_panic_split_across_reads_is_seen() {
        let mut w = PanicWatch::default();
        w.scan(b"[    3.1] Kernel pan");
        assert!(!w.seen());
        w.scan(b"ic - not syncing: VFS");
        assert!(w.seen());
    }

    #[test]
    fn colour_sequences_and_systemd_status_pass_through() {
        let raw: &[u8] = b"[\x1b[0;32m  OK  \x1b[0m] Started\r\r\n\x1b[1;2H";
        assert_eq!(filtered(&[raw]), raw);
    }

    #[test]
    fn removes_a_kernel_line_in_the_middle_of_a_line() {
        let raw = b"partial-line-without-newline...[   29.889765] kmsg-midline\r\n end\r\n";
        assert_eq!(filtered(&[raw]), b"partial-line-without-newline... end\r\n");
    }

    #[test]
    fn removes_kernel_lines_on_their_own_lines_and_keeps_the_rest() {
        let raw =
            b"line-3\r\n[   35.687324] guestrig: kernel line during shell output\r\nline-4\r\n";
        assert_eq!(filtered(&[raw]), b"line-3\r\nline-4\r\n");
    }

    #[test]
    fn a_kernel_line_split_across_reads_is_removed() {
        assert_eq!(
            filtered(&[b"ab[  1", b"2.3456", b"78] sys", b"rq: HELP\r", b"\ncd"]),
            b"abcd"
        );
    }

    #[test]
    fn keeps_text_that_only_resembles_a_timestamp() {
        let raw: &[u8] = b"[1] done\r\n[ 12.34] short\r\n[root@rhel ~]# [[x\r\n[  1.000000]x\r\n";
        assert_eq!(filtered(&[raw]), raw);
    }

    #[test]
    fn a_bracket_followed_by_endless_padding_is_passed_on_not_held() {
        let mut f = KernelLineFilter::default();
        let mut passed = f.filter(b"[").len();
        for _ in 0..1000 {
            passed += f.filter(&[b' '; 1000]).len();
            assert!(f.held.len() <= MAX_PREFIX, "held {} bytes", f.held.len());
        }
        passed += f.filter(b"x").len();
        assert_eq!(passed, 1 + 1_000_000 + 1);
        let mut f = KernelLineFilter::default();
        let digits = f.filter(&[b"[".as_slice(), &[b'7'; 100_000]].concat());
        assert_eq!(digits.len() + f.held.len(), 100_001);
        assert!(f.held.len() <= MAX_PREFIX);
    }

    #[test]
    fn a_kernel_line_without_an_end_stops_hiding_what_follows() {
        let mut tail = vec![b'k'; MAX_LINE];
        tail.extend_from_slice(b"shown");
        assert_eq!(filtered(&[b"a[    1.000000] ", &tail]), b"ashown");
    }

    #[test]
    fn a_held_prefix_followed_by_a_new_candidate_is_released_correctly() {
        assert_eq!(filtered(&[b"[ 1[  2.000000] k\r\nz"]), b"[ 1z");
    }
}
