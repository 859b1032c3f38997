//! What each fuzz target asserts about one input, shared by the libFuzzer targets
//! (`fuzz/fuzz_targets/`, coverage-guided, nightly) and the stable pass (`tests/fuzz_short.rs`,
//! mutations of the fixtures). Every parser here reads bytes a guest or a gateway chose.
//!
//! Each check panics on a broken property, never on bad input: the streaming filters must give
//! the same output whatever the chunking, escapes must never reach a terminal, a registered
//! secret must never pass the redactor, and every buffer must keep its bound.

use lifeline::azure::websocket::BinaryFrames;
use lifeline::expect::{ExpectBuffer, Needles};
use lifeline::playbook::Playbook;
use lifeline::probe::parse::{FORMAT_VERSION, parse};
use lifeline::probe::sshd_config::{ConfigLine, SshdConfig, glob_matches, pattern_list_matches};
use lifeline::secret::{Secret, SecretRegistry};
use lifeline::shell::command::{Encoding, MAX_UNPACKED, decode_payload};
use lifeline::term::ansi::{Stripper, strip};
use lifeline::term::escape::for_terminal;
use lifeline::term::kernel::KernelLineFilter;
use lifeline::term::plain::plain_text;
use lifeline::term::redact::Redactor;
use lifeline::term::withhold::Withhold;
use regex::bytes::Regex;
use std::path::Path;
use std::sync::LazyLock;

/// A property checked on one input: it panics when the property breaks.
pub type Check = fn(&[u8]);

/// Every target by name, with the longest input it is given (libFuzzer's `-max_len`, read by
/// `scripts/fuzz`; the stable pass cuts its mutations there too).
///
/// Every check's work grows with its input's length (in step with it, but for the glob in
/// `sshd_config`: pattern × name), so a target's speed is set by the length of what it is
/// fed: libFuzzer grows its inputs towards `-max_len`, and at 16 KiB for all, the slow targets
/// spent their time walking 16 KiB inputs through the sanitizer's per-byte hooks (comparison
/// tracing, allocation bookkeeping). Each length below is several times the largest
/// bound or unit the parser has, so every bound is still crossed and every state still
/// reached within one input; only length that repeats what a shorter input already covers is
/// given up:
/// - the kernel-line filter drops at most 2,048 bytes of a line (`MAX_LINE`): 8 KiB crosses
///   that bound and shows what follows, several times;
/// - the matcher's bound in `expect` is 4 KiB and the command decoder's 8 MiB is reached by
///   inflating a compressed answer; the websocket reader's 16-bit frame lengths go past 16 KiB,
///   and probe reports and playbooks are a few KiB of sections that refer to each other: these
///   keep 16 KiB;
/// - the ANSI stripper, escaper, redactor and withholding carry at most one escape sequence's
///   state, one secret (21 bytes) or one marker (8 bytes) from one read to the next, and are
///   cut into reads of at most 64 bytes: 4 KiB is 64 reads of the largest size; the plain view
///   wraps at 64 columns at most: 4 KiB is 64 full rows;
/// - sshd_config is read line by line, a `Match` block reaching to the end of its file: 4 KiB
///   holds about a hundred lines, several times the active lines of any fixture.
pub const TARGETS: &[(&str, Check, usize)] = &[
    ("ansi", ansi, 4096),
    ("kernel", kernel, 8192),
    ("plain", plain, 4096),
    ("escape", escape, 4096),
    ("redact", redact, 4096),
    ("withhold", withhold, 4096),
    ("expect", expect, 16384),
    ("payload", payload, 16384),
    ("websocket", websocket, 16384),
    ("probe", probe, 16384),
    ("sshd_config", sshd_config, 4096),
    ("playbook", playbook, 16384),
];

/// The input's first byte picks a chunk size (1..=64) for the streaming targets; the rest is
/// the stream.
fn chunked(data: &[u8]) -> (usize, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (usize::from(first % 64) + 1, rest),
        None => (1, data),
    }
}

pub fn ansi(data: &[u8]) {
    let (size, stream) = chunked(data);
    let whole = strip(stream);
    let mut stripper = Stripper::default();
    let pieces: Vec<u8> = stream
        .chunks(size)
        .flat_map(|c| stripper.strip(c))
        .collect();
    assert_eq!(whole, pieces, "stripping depends on how the stream is cut");
    assert!(
        whole
            .iter()
            .all(|&b| b >= 0x20 || matches!(b, b'\r' | b'\n' | b'\t' | 0x08)),
        "a control byte survived stripping: {whole:?}"
    );
}

pub fn kernel(data: &[u8]) {
    let (size, stream) = chunked(data);
    let whole = KernelLineFilter::default().filter(stream);
    let mut filter = KernelLineFilter::default();
    let pieces: Vec<u8> = stream.chunks(size).flat_map(|c| filter.filter(c)).collect();
    assert_eq!(
        whole, pieces,
        "the kernel filter depends on how the stream is cut"
    );
    assert!(whole.len() <= stream.len(), "the kernel filter added bytes");
    if !stream.contains(&b'[') {
        assert_eq!(whole, stream, "text without '[' was changed");
    }
}

pub fn plain(data: &[u8]) {
    let (width, stream) = chunked(data);
    let text = plain_text(stream, width);
    assert!(!text.contains('\x1b'), "an escape survived the plain view");
}

pub fn escape(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let shown = for_terminal(&text);
    assert!(
        shown
            .chars()
            .all(|c| !c.is_control() || c == '\n' || c == '\t'),
        "a control character reaches the terminal: {shown:?}"
    );
    assert!(
        !shown.contains(['\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}'])
            && !shown.contains(['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}']),
        "a bidirectional override reaches the terminal"
    );
}

/// The secret sits somewhere in the stream (the second byte says where); however the stream is
/// cut, it never comes out.
pub fn redact(data: &[u8]) {
    const SECRET: &str = "hunter2-Correct-Horse";
    let (size, rest) = chunked(data);
    let (at, rest) = match rest.split_first() {
        Some((at, rest)) => (usize::from(*at) % (rest.len() + 1), rest),
        None => (0, rest),
    };
    let mut stream = rest[..at].to_vec();
    stream.extend_from_slice(SECRET.as_bytes());
    stream.extend_from_slice(&rest[at..]);
    let secrets = SecretRegistry::default();
    secrets.register(&Secret::new(SECRET));
    let mut redactor = Redactor::new(secrets);
    let mut out: Vec<u8> = stream.chunks(size).flat_map(|c| redactor.push(c)).collect();
    out.extend(redactor.finish());
    assert!(
        !out.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
        "the secret passed the redactor"
    );
}

/// What follows the end marker is the same whatever the chunking, and nothing before it leaks.
pub fn withhold(data: &[u8]) {
    const END: &[u8] = b"LL_EOF_7";
    let (size, stream) = chunked(data);
    let after = |size: usize| {
        let mut w = Withhold::until(END);
        let mut after: Option<Vec<u8>> = None;
        for chunk in stream.chunks(size) {
            match after.as_mut() {
                Some(after) => after.extend_from_slice(chunk),
                None => after = w.push(chunk),
            }
        }
        after
    };
    let whole = after(stream.len().max(1));
    assert_eq!(
        whole,
        after(size),
        "withholding depends on how the stream is cut"
    );
    if let Some(rest) = whole {
        assert!(
            stream.ends_with(&rest),
            "withholding changed what follows the marker"
        );
        let before = &stream[..stream.len() - rest.len()];
        assert!(before.ends_with(END), "released before the end marker");
    }
}

/// The console needles the shell layer waits for, in their shapes.
const NEEDLES: [(&str, &str); 4] = [
    ("prompt", r"[#$] $"),
    ("sync", r"LL_[0-9a-f]{4}_([0-9]+)\r?\n"),
    ("login", r"(?i)login: $"),
    ("password", r"(?i)password[^\n]*: $"),
];

/// The needles compiled as the matcher uses them, and each alone, anchored at both ends.
static COMPILED: LazyLock<(Needles, Vec<Regex>)> = LazyLock::new(|| {
    let needles = Needles::new(&NEEDLES).expect("the needles compile");
    // As the matcher compiles them: multi-line, CRLF-aware.
    let whole = NEEDLES
        .iter()
        .map(|(_, p)| Regex::new(&format!(r"(?mR)\A(?:{p})\z")).expect("compiles"))
        .collect();
    (needles, whole)
});

/// The matcher: bounded whatever arrives, and every match is wholly the needle it names.
pub fn expect(data: &[u8]) {
    const LIMIT: usize = 4096;
    let (needles, whole) = &*COMPILED;
    let (size, stream) = chunked(data);
    let mut buffer = ExpectBuffer::new(LIMIT, 256);
    for chunk in stream.chunks(size) {
        buffer.push(chunk);
        assert!(
            buffer.pending().len() <= LIMIT,
            "the buffer outgrew its limit"
        );
        while let Some(taken) = buffer.take_match(needles) {
            assert!(
                whole[taken.needle].is_match(&taken.matched),
                "{:?} is not wholly the needle {}",
                taken.matched,
                NEEDLES[taken.needle].0
            );
        }
    }
}

/// A command's output between its markers, decoded as each encoding: within the bound, however
/// the guest packed it.
pub fn payload(data: &[u8]) {
    for encoding in [Encoding::Base64, Encoding::Hex, Encoding::GzipBase64] {
        if let Ok((output, _status)) = decode_payload(data, encoding) {
            assert!(
                output.len() <= MAX_UNPACKED,
                "{} bytes unpacked",
                output.len()
            );
        }
    }
}

/// Text frames become binary frames; nothing else of the stream changes, however it is read.
pub fn websocket(data: &[u8]) {
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};
    use tokio::io::{AsyncRead, ReadBuf};

    let (size, stream) = chunked(data);
    let mut frames = BinaryFrames::new(stream);
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::with_capacity(stream.len());
    loop {
        let mut space = vec![0u8; size];
        let mut buf = ReadBuf::new(&mut space);
        match Pin::new(&mut frames).poll_read(&mut cx, &mut buf) {
            Poll::Ready(Ok(())) if buf.filled().is_empty() => break,
            Poll::Ready(Ok(())) => out.extend_from_slice(buf.filled()),
            other => panic!("a slice read gave {other:?}"),
        }
    }
    assert_eq!(out.len(), stream.len(), "relabelling changed the length");
    for (&was, &is) in stream.iter().zip(&out) {
        assert!(
            was == is || (was & 0x0f == 0x1 && is == (was & 0xf0) | 0x2),
            "relabelling changed {was:#04x} into {is:#04x}"
        );
    }
}

/// The probe's report, raw and behind a valid header so the sections get read too.
pub fn probe(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = parse(&text);
    let _ = parse(&format!(
        "@probe\nversion={FORMAT_VERSION}\nuser=azureuser\n{text}"
    ));
}

pub fn sshd_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<ConfigLine> = text
        .lines()
        .zip(1..)
        .filter_map(|(line, n)| ConfigLine::parse("/etc/ssh/sshd_config", n, line))
        .collect();
    let groups = ["sudo".to_string()];
    for config in [
        SshdConfig::from_files(lines.clone(), "azureuser", &groups),
        SshdConfig::from_sshd_t(&text.lines().collect::<Vec<_>>(), lines),
    ] {
        let _ = (config.ports(), config.listen_addresses());
        let _ = (
            config.get("port"),
            config.flag("usepam"),
            config.all("allowusers"),
        );
    }
    // A pattern against a name (the input's first two lines, as a `Match` line and a group
    // name give them): sshd's own matching, which must not backtrack without end on a hostile
    // pattern (libFuzzer's -timeout catches one that does), and must agree with the plain
    // table below wherever that table is small enough to fill.
    let mut two = text.splitn(3, '\n');
    let pattern = two.next().unwrap_or_default();
    let name = two.next().unwrap_or("azureuser");
    let matched = glob_matches(pattern, name);
    if pattern.len() * name.len() <= 1 << 16 {
        assert_eq!(
            matched,
            glob_by_table(pattern.as_bytes(), name.as_bytes()),
            "{pattern:?} on {name:?}"
        );
    }
    let _ = pattern_list_matches(pattern, name);
}

/// `*` and `?` globs by a table of whether each end of the pattern matches each end of the
/// text: slow, but plainly right, to hold `glob_matches` to.
fn glob_by_table(pattern: &[u8], text: &[u8]) -> bool {
    // `next[j]`: whether the pattern after the current byte matches `text[j..]`.
    let mut next = vec![false; text.len() + 1];
    next[text.len()] = true;
    for &p in pattern.iter().rev() {
        let mut row = vec![false; text.len() + 1];
        for j in (0..=text.len()).rev() {
            row[j] = match p {
                b'*' => next[j] || (j < text.len() && row[j + 1]),
                _ => j < text.len() && (p == b'?' || p == text[j]) && next[j + 1],
            };
        }
        next = row;
    }
    next[0]
}

pub fn playbook(data: &[u8]) {
    let _ = Playbook::parse(
        &String::from_utf8_lossy(data),
        Path::new("/fuzz/playbook.toml"),
    );
}
