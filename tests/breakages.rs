//! The breakage generator: random breakages of SSH on the real guest, each rescued by the
//! `lifeline` command line and checked by a real login from here, by key and by password.
//!
//! Driven by `scripts/breakages --count N --seed S [--allow-reboot]` (the environment variables
//! `LIFELINE_BREAKAGES_COUNT`, `LIFELINE_BREAKAGES_SEED` and `LIFELINE_BREAKAGES_REBOOT`, and
//! the ledger's `LIFELINE_BREAKAGES_LEDGER`, `_COMMIT` and `_FLAGS`); without them a small
//! fixed-seed sample runs, as in CI, and nothing is added to the ledger. With reboots allowed the draws run on
//! a guest booting through GRUB and the rescue may break in (`--allow-reboot`, the guest's
//! reset button as `--reset-cmd`) and repair offline: breakages that shut out the console
//! login too are rescued only so. Draw `i` has seed `S + i`, so `--count 1 --seed SEED` replays one.
//! A draw that leaves SSH working is skipped and counted. On every draw: a rescue that exits 0
//! while a login fails is a lie and fails the run at once; the rate is printed with every
//! failure and its seed, and whether the user's settings (`sshd -T`) survived.

#[path = "breakages/draw.rs"]
mod draw;
mod support;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use support::{Guest, shared_guest};

/// The CI sample: small enough for a few minutes under TCG.
const SAMPLE_COUNT: u64 = 1;
const SAMPLE_SEED: u64 = 5;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

/// What one draw came to.
enum Verdict {
    Skipped,
    /// The harness could not break the clean guest (no root session).
    NotDrawn,
    Rescued {
        settings_lost: Vec<String>,
    },
    Failed(String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_breakages_are_rescued_and_no_rescue_lies() {
    let count = setting("LIFELINE_BREAKAGES_COUNT", SAMPLE_COUNT);
    let seed = setting("LIFELINE_BREAKAGES_SEED", SAMPLE_SEED);
    let reboot = setting("LIFELINE_BREAKAGES_REBOOT", 0) == 1;
    let (shared, grub);
    let guest: &Guest = if reboot {
        grub = Guest::boot_with(
            &format!("bkg{}", std::process::id()),
            &["--grub", "hidden", "--timeout", "300"],
        );
        &grub
    } else {
        shared = shared_guest().await;
        &shared
    };
    let pool = {
        let mut session = guest.root_session().await;
        let listed = support::sh(&mut session, &draw::pool_command(&guest.user, reboot)).await;
        session.leave().await.ok();
        listed
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('/'))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert!(pool.len() > 20, "the file pool is too small: {pool:?}");
    let baseline = settings(guest).await;

    let (mut skipped, mut rescued, mut failures, mut lost) = (0, 0, Vec::new(), Vec::new());
    let mut not_drawn = 0;
    for draw_seed in seed..seed + count {
        reset(guest);
        let breakage = draw::draw(draw_seed, &guest.user, &pool);
        eprintln!("breakages: seed {draw_seed}: {breakage}");
        let verdict = one(guest, &breakage, &baseline, reboot).await;
        // Each outcome as it comes, so a run cut short still tells.
        match &verdict {
            Verdict::Skipped => eprintln!("breakages: seed {draw_seed}: SSH still worked, skipped"),
            Verdict::NotDrawn => {
                eprintln!("breakages: seed {draw_seed}: not drawn (no root session)")
            }
            Verdict::Rescued { .. } => eprintln!("breakages: seed {draw_seed}: rescued"),
            Verdict::Failed(why) => eprintln!("breakages: seed {draw_seed}: FAILED: {why}"),
        }
        ledger(draw_seed, &breakage, &verdict);
        match verdict {
            Verdict::Skipped => skipped += 1,
            Verdict::NotDrawn => not_drawn += 1,
            Verdict::Rescued { settings_lost } => {
                rescued += 1;
                if !settings_lost.is_empty() {
                    lost.push(format!("seed {draw_seed}: {breakage}: {settings_lost:?}"));
                }
            }
            Verdict::Failed(why) => {
                failures.push(format!("seed {draw_seed}: {breakage}\n    {why}"))
            }
        }
    }
    let broken = rescued + failures.len();
    let rate = if broken == 0 {
        100.0
    } else {
        100.0 * rescued as f64 / broken as f64
    };
    eprintln!(
        "\nbreakages: {count} drawn from seed {seed}; {not_drawn} not drawn (no root session); \
         {skipped} left SSH working (skipped); {rescued} of {broken} rescued: {rate:.1} %"
    );
    for failure in &failures {
        eprintln!("  FAILED {failure}");
    }
    for l in &lost {
        eprintln!("  settings changed by the rescue: {l}");
    }
    assert!(
        failures.is_empty(),
        "{} breakages not rescued",
        failures.len()
    );
    assert_eq!(
        not_drawn, 0,
        "draws the harness could not make count as failed"
    );
}

/// Adds the draw to the ledger `scripts/breakages` names (`LIFELINE_BREAKAGES_LEDGER`), with
/// the date, the commit and the flags it gives: one line a draw, written as the draw ends, so
/// that a run cut short still counts what it drew.
fn ledger(seed: u64, breakage: &draw::Breakage, verdict: &Verdict) {
    let Some(path) = std::env::var_os("LIFELINE_BREAKAGES_LEDGER") else {
        return;
    };
    let env = |name| std::env::var(name).unwrap_or_else(|_| "-".into());
    let date = Command::new("date")
        .args(["-u", "+%FT%TZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let (outcome, cause) = match verdict {
        Verdict::Skipped => ("skipped", "-".to_string()),
        Verdict::NotDrawn => ("not-drawn", "no root session on the clean guest".into()),
        Verdict::Rescued { settings_lost } if settings_lost.is_empty() => ("rescued", "-".into()),
        Verdict::Rescued { settings_lost } => {
            ("rescued", format!("settings changed: {settings_lost:?}"))
        }
        Verdict::Failed(why) => ("failed", why.clone()),
    };
    let field = |text: &str| text.replace(['\t', '\n', '\r'], " ");
    let line = format!(
        "{date}\t{}\t{seed}\t{}\t{}\t{outcome}\t{}\n",
        env("LIFELINE_BREAKAGES_COMMIT"),
        env("LIFELINE_BREAKAGES_FLAGS"),
        field(&breakage.what),
        field(&cause)
    );
    let written = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
    if let Err(e) = written {
        panic!("cannot add the draw to the ledger {}: {e}", path.display());
    }
}

/// A root session on the clean guest to break it from. Under load sudo can take the typed
/// password for a wrong one (a keystroke lost); that is the harness's trouble, not a rescue's:
/// the guest is reset and asked once more, then the draw is counted as not drawn.
async fn root_session(guest: &Guest) -> Option<lifeline::shell::Session> {
    for attempt in 1..=2 {
        match guest.try_root_session().await {
            Ok(session) => return Some(session),
            Err(e) => {
                eprintln!("breakages: sudo on the clean guest failed ({e}), try {attempt} of 2")
            }
        }
        reset(guest);
    }
    None
}

/// Back to the clean state. Under load the restored guest's sshd can miss the reset's deadline
/// once, which must not end a run of hundreds of draws: one more try, then the failure stands.
fn reset(guest: &Guest) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| guest.reset())).is_err() {
        eprintln!("breakages: the guest's reset failed; trying once more");
        guest.reset();
    }
}

/// Breaks, checks SSH fails, rescues (breaking in if `reboot` allows), checks SSH by key and
/// password, compares the settings.
async fn one(
    guest: &Guest,
    breakage: &draw::Breakage,
    baseline: &BTreeSet<String>,
    reboot: bool,
) -> Verdict {
    let Some(mut session) = root_session(guest).await else {
        return Verdict::NotDrawn;
    };
    // The breakage may take the console shell with it; what counts is SSH afterwards.
    let _ = session.run(&breakage.shell).await;
    let _ = session.leave().await;
    if tokio::task::block_in_place(|| guest.ssh_works()).is_ok() {
        return Verdict::Skipped;
    }
    let verify = format!("127.0.0.1:{}", guest.ssh_port);
    let reset = guest.reset_command();
    let break_in = ["--allow-reboot", "--reset-cmd", &reset];
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .arg("--serial")
        .arg(format!("unix:{}", guest.serial.display()))
        .args(if reboot { &break_in[..] } else { &[] })
        .args([
            "--user",
            &guest.user,
            "--password-env",
            "GUEST_PW",
            "-o",
            "json",
            "rescue",
            "--yes",
        ])
        .args(["--verify-host", &verify, "--verify-key"])
        .arg(&guest.key)
        .env("GUEST_PW", &guest.password)
        .stdin(Stdio::null())
        .output()
        .expect("run lifeline");
    let works = tokio::task::block_in_place(|| guest.ssh_works());
    let code = out.status.code();
    if !(works.is_ok() && code == Some(0)) {
        keep_report(guest, breakage, &out);
    }
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    assert!(
        !(code == Some(0) && works.is_err()),
        "LIE: rescue exited 0 but SSH fails ({breakage}): {}\n{}",
        works.unwrap_err(),
        String::from_utf8_lossy(&out.stdout)
    );
    match works {
        Ok(()) if code == Some(0) => Verdict::Rescued {
            settings_lost: baseline
                .difference(&settings(guest).await)
                .cloned()
                .collect(),
        },
        Ok(()) => Verdict::Failed(format!(
            "SSH works but the rescue exited {code:?}: {}",
            summary(&report, &out.stderr)
        )),
        Err(e) => Verdict::Failed(format!(
            "{e}; rescue exited {code:?}: {}",
            summary(&report, &out.stderr)
        )),
    }
}

/// A failed draw's whole report and lifeline's log beside the guest's state directory
/// (`breakages-PID-N.json`, `.log`), for the reason behind the one-line summary.
fn keep_report(guest: &Guest, breakage: &draw::Breakage, out: &std::process::Output) {
    let n = std::fs::read_dir(guest.run_dir()).map_or(0, |d| d.count());
    let base = guest
        .run_dir()
        .join(format!("breakages-{}-{n}", std::process::id()));
    let json = base.with_extension("json");
    std::fs::write(&json, &out.stdout).ok();
    std::fs::write(base.with_extension("log"), &out.stderr).ok();
    // What the console showed: a failed login or break-in is read there.
    std::fs::write(base.with_extension("console"), guest.serial_log()).ok();
    eprintln!("breakages: {breakage}: the report is in {}", json.display());
}

/// What the rescue left, in one line: the findings still there, and its error.
fn summary(report: &serde_json::Value, stderr: &[u8]) -> String {
    if report.is_null() {
        let text = String::from_utf8_lossy(stderr);
        return text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string();
    }
    let ids = |key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    format!(
        "found {:?}, after {:?}, error {}, login {}",
        ids("before"),
        ids("after"),
        report["error"],
        report["login"]
            .as_array()
            .and_then(|l| l.last())
            .map(|l| format!("{} {}", l["attempts"], l["error"]))
            .unwrap_or_default()
    )
}

/// The user's effective sshd settings (`sshd -T`), one line each.
async fn settings(guest: &Guest) -> BTreeSet<String> {
    let mut session = guest.root_session().await;
    let out = session.run("sshd -T 2>&1").await.expect("sshd -T");
    let _ = session.leave().await;
    out.text()
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}
