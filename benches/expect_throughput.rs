//! Matcher throughput on a console-like stream, as a ratio to one `Regex::find_iter` pass.
//!
//! The stream (10 MB and 1 MB) mixes what a serial console carries: shell output, systemd status
//! lines with colours, kernel lines, prompts and base64 payloads. Eight needles are searched;
//! the stream is fed in 4 KiB reads, and every match is taken as it appears. The baseline is a
//! single `find_iter` over the whole stream with the same eight needles as one alternation: the
//! least work any regex-based matcher can do. A linear matcher keeps the 10 MB / 1 MB time ratio
//! near 10.
//!
//! A flood is measured too: 10 MB past the matcher's 8 MiB bound in 256-byte reads, one line
//! with no match (what a hostile guest can send), against the baseline over the same bytes.
//!
//! Run: `cargo bench --bench expect_throughput`

use lifeline::expect::{ExpectBuffer, Needles};
use lifeline::term::Console;
use regex::bytes::Regex;
use std::hint::black_box;
use std::time::{Duration, Instant};

const NEEDLES: [(&str, &str); 8] = [
    ("login", r"login: $"),
    ("password", r"(?i)password: $"),
    ("sudo", r"\[sudo\] password for [^:]*: $"),
    ("prompt", r"ll-[0-9a-f]{6}> $"),
    ("end marker", r"ll-[0-9a-f]{12}-end:[0-9]+\r?\n"),
    ("incorrect", r"Login incorrect"),
    ("maintenance", r"(?i)give root password for maintenance"),
    ("pager", r"^\(END\)$"),
];

fn console_stream(bytes: usize) -> Vec<u8> {
    let pieces: [&[u8]; 6] = [
        b"root         232  0.0  1.9  15448  9216 ?        Ss   08:08   0:00 sshd: /usr/sbin/sshd -D\r\n",
        b"[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mssh.service\x1b[0m - OpenBSD Secure Shell server.\r\r\n",
        b"[   15.641510] powernow_k8: Power state transitions not supported\r\n",
        b"UG9ydCAyMgojQWRkcmVzc0ZhbWlseSBhbnkKI0xpc3RlbkFkZHJlc3MgMC4wLjAuMApIb3N0S2V5\r\n",
        b"\x1b[?2004hazureuser@rescue-guest:~$ ls -la /etc/ssh\r\n\x1b[?2004l\r",
        b"drwxr-xr-x 4 root root 4096 Nov 21 08:00 sshd_config.d\r\n",
    ];
    let mut out = Vec::with_capacity(bytes + 128);
    let mut i = 0usize;
    while out.len() < bytes {
        out.extend_from_slice(pieces[i % pieces.len()]);
        if i.is_multiple_of(997) {
            out.extend_from_slice(b"ll-0123456789ab-end:0\r\nll-abcdef> ");
        }
        i += 1;
    }
    out
}

/// Feeds `stream` in reads of `read` bytes through the matcher alone, taking every match.
fn matcher_pass(stream: &[u8], needles: &Needles, read: usize) -> usize {
    let mut buffer = ExpectBuffer::new(8 << 20, 4096);
    let mut matches = 0;
    for chunk in stream.chunks(read) {
        buffer.push(chunk);
        while buffer.take_match(needles).is_some() {
            matches += 1;
        }
    }
    matches
}

/// The whole receive path: vt100 screen, kernel-line filter, ANSI stripping, then the matcher.
fn receive_path_pass(stream: &[u8], needles: &Needles) -> usize {
    let mut console = Console::new(24, 80, None);
    let mut buffer = ExpectBuffer::new(8 << 20, 4096);
    let mut matches = 0;
    for chunk in stream.chunks(4096) {
        buffer.push(&console.receive(chunk).expect("no transcript"));
        while buffer.take_match(needles).is_some() {
            matches += 1;
        }
    }
    matches
}

fn baseline_pass(stream: &[u8], combined: &Regex) -> usize {
    combined.find_iter(stream).count()
}

/// Best of `runs` timings, to keep scheduler noise out of the ratios.
fn best<F: FnMut() -> usize>(runs: usize, mut f: F) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .min()
        .expect("at least one run")
}

fn main() {
    let needles = Needles::new(&NEEDLES).expect("needles");
    let alternation = NEEDLES
        .iter()
        .map(|(_, p)| format!("(?:{p})"))
        .collect::<Vec<_>>()
        .join("|");
    let combined = regex::bytes::RegexBuilder::new(&alternation)
        .multi_line(true)
        .crlf(true)
        .build()
        .expect("baseline regex");

    let big = console_stream(10_000_000);
    let small = console_stream(1_000_000);
    let mb = |d: Duration, n: usize| n as f64 / 1e6 / d.as_secs_f64();

    let base = best(5, || baseline_pass(&big, &combined));
    let matcher = best(5, || matcher_pass(&big, &needles, 4096));
    let matcher_small = best(5, || matcher_pass(&small, &needles, 4096));
    let receive = best(3, || receive_path_pass(&big, &needles));
    let flood = vec![b'A'; (8 << 20) + 10_000_000];
    let flood_base = best(3, || baseline_pass(&flood, &combined));
    let flooded = best(3, || matcher_pass(&flood, &needles, 256));

    println!("expect throughput, 10 MB console-like stream, 8 needles, 4 KiB reads (best of runs)");
    println!(
        "  baseline: one Regex::find_iter pass   {:>8.1} ms  {:>7.1} MB/s",
        ms(base),
        mb(base, big.len())
    );
    println!(
        "  matcher (ExpectBuffer + Needles)      {:>8.1} ms  {:>7.1} MB/s",
        ms(matcher),
        mb(matcher, big.len())
    );
    println!(
        "  receive path (screen+filters+matcher) {:>8.1} ms  {:>7.1} MB/s",
        ms(receive),
        mb(receive, big.len())
    );
    println!(
        "ratio matcher / baseline:        {:.2}",
        ratio(matcher, base)
    );
    println!(
        "ratio receive path / baseline:   {:.2}",
        ratio(receive, base)
    );
    println!(
        "linearity, matcher 10 MB / 1 MB: {:.2} (10.00 is linear)",
        ratio(matcher, matcher_small)
    );
    println!(
        "flood, 10 MB past the bound in 256-byte reads: {:.1} ms, ratio to baseline {:.2}",
        ms(flooded),
        ratio(flooded, flood_base)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
