//! The stable toolchain's fuzz pass over every parser that reads guest or gateway bytes
//! (`fuzz/checks.rs` says what each asserts). It mutates the project's fixtures and a few
//! hostile seeds with a fixed-seed generator, so a run is repeatable and a failure names the
//! input it saved. CI runs a short pass; `scripts/fuzz SECONDS` runs libFuzzer where the
//! toolchain has it, else this pass for that long (`LIFELINE_FUZZ_SECONDS`).
//!
//! Not coverage-guided: libFuzzer (`fuzz/fuzz_targets`) is the deep search; this pass keeps
//! every target exercised on every change, on any toolchain.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Inputs per target when no time is given: a few seconds each in a debug build.
const SHORT_PASS: u64 = 1_000;
const MAX_INPUT: usize = 16 * 1024;

/// xorshift64*: small, fast and repeatable; the quality of a cryptographic generator is not
/// needed to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes the parsers treat specially: escapes, kernel timestamps, prompts, markers, frames.
const INTERESTING: &[u8] =
    b"\x1b[]0123456789.;:=@#$ \r\n\t\x00\x07\x08\x7f\xff\x81\x82\x7e\x7f\\'\"";

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(7) {
            0 if len > 0 => {
                let at = rng.below(len);
                input[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                input[at] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let at = rng.below(len + 1);
                let byte = INTERESTING[rng.below(INTERESTING.len())];
                // Now and then a long run: the bounds on held bytes are the point.
                let most = if rng.below(8) == 0 { 4096 } else { 4 };
                let count = 1 + rng.below(most);
                input.splice(at..at, std::iter::repeat_n(byte, count));
            }
            3 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(64)).min(len);
                input.drain(at..end);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(256)).min(len);
                let copy = input[at..end].to_vec();
                let to = rng.below(len + 1);
                input.splice(to..to, copy);
            }
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let at = rng.below(other.len());
                    let end = (at + 1 + rng.below(512)).min(other.len());
                    let to = rng.below(len + 1);
                    input.splice(to..to, other[at..end].iter().copied());
                }
            }
            _ => {
                let at = rng.below(len + 1);
                input.insert(at, rng.next() as u8);
            }
        }
    }
}

/// The fixtures (console logs, probe reports, playbooks) and seeds no fixture has.
fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut seeds: Vec<Vec<u8>> = vec![
        b"[    3.141592] EXT4-fs (vda): mounted\r\nroot@vm:~# ".to_vec(),
        b"\x1b]0;title\x07\x1b[1;31mred\x1b[0m \x1bP1$r\x1b\\ login: ".to_vec(),
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x05hello\x82\x7e\x00\x02hi\x88\x00".to_vec(),
        b"(base64 -d) <<'LL_EOF_7'\r\naGk=\r\n> LL_EOF_7\r\n# ".to_vec(),
        b"aGVsbG8KICAw\r\n".to_vec(),
        b"H4sIAAAAAAACA8tIzcnJ51JQMAAAayJWVQkAAAA=\r\n".to_vec(),
        b"Port 22\nMatch User azureuser\n  PasswordAuthentication no\nAllowUsers a*z?\n".to_vec(),
    ];
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read fixtures").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                seeds.push(bytes.into_iter().take(MAX_INPUT).collect());
            }
        }
    }
    seeds
}

/// Runs one target on inputs of at most `max_len` bytes until `budget` says stop; a failing
/// input is saved and named.
fn run(name: &str, check: checks::Check, max_len: usize, seeds: &[Vec<u8>], budget: Budget) -> u64 {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    let started = Instant::now();
    let mut tried = 0u64;
    while budget.goes_on(tried, started) {
        let mut input = seeds[rng.below(seeds.len())].clone();
        if tried >= seeds.len() as u64 {
            mutate(&mut rng, &mut input, seeds);
        }
        input.truncate(max_len);
        if catch_unwind(AssertUnwindSafe(|| check(&input))).is_err() {
            panic!(
                "fuzz target {name} failed on the input saved at {}",
                save(name, &input).display()
            );
        }
        tried += 1;
    }
    tried
}

fn save(name: &str, input: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    std::fs::create_dir_all(&dir).expect("create the failures directory");
    let path = dir.join(format!("{name}-{:016x}.bin", fnv(input)));
    std::fs::write(&path, input).expect("save the failing input");
    path
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[derive(Clone, Copy)]
enum Budget {
    Inputs(u64),
    Time(Duration),
}

impl Budget {
    fn from_env() -> Budget {
        match std::env::var("LIFELINE_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            Some(seconds) => Budget::Time(Duration::from_secs(seconds)),
            None => Budget::Inputs(SHORT_PASS),
        }
    }

    fn goes_on(self, tried: u64, started: Instant) -> bool {
        match self {
            Budget::Inputs(n) => tried < n,
            Budget::Time(t) => started.elapsed() < t,
        }
    }
}

#[test]
fn every_parser_survives_mutated_guest_and_gateway_bytes() {
    let seeds = seeds();
    let budget = Budget::from_env();
    for (name, check, max_len) in checks::TARGETS {
        let started = Instant::now();
        let tried = run(name, *check, *max_len, &seeds, budget);
        eprintln!(
            "fuzz {name}: {tried} inputs in {:.1?}, none failing",
            started.elapsed()
        );
    }
}

/// The pass can fail: a check that breaks on some input is caught and its input saved.
#[test]
fn a_broken_property_is_caught_and_its_input_saved() {
    fn fails_on_escape(data: &[u8]) {
        assert!(!data.contains(&0x1b), "an escape");
    }
    let seeds = vec![b"plain text".to_vec()];
    let caught = catch_unwind(|| {
        run(
            "canary",
            fails_on_escape,
            64,
            &seeds,
            Budget::Inputs(100_000),
        )
    });
    let message = *caught
        .expect_err("the pass finds an escape byte")
        .downcast::<String>()
        .unwrap();
    let saved = message.rsplit(' ').next().unwrap();
    assert!(std::fs::read(saved).unwrap().contains(&0x1b), "{message}");
}
