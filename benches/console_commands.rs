//! Commands per second over the real guest's serial console, as a ratio to a minimal loop.
//!
//! The baseline is the least a script can do on the raw socket: type a line and wait for the
//! prompt to come back, with no output capture and no exit status. lifeline's `Session::run`
//! does the full job: encoded command, markers, exact output, exit status, prompt. Both run on
//! the same freshly booted guest, one after the other, as the guest user.
//!
//! Run: `cargo bench --bench console_commands` (boots a guest: needs scripts/guest build).

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

const COMMANDS: usize = 100;

/// Reads from `s` until `needle` appears.
fn wait_for(s: &mut UnixStream, needle: &[u8]) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(needle.len()).any(|w| w == needle) {
        let n = s.read(&mut buf).expect("read serial");
        assert!(
            n > 0,
            "serial closed while waiting for {:?}",
            String::from_utf8_lossy(needle)
        );
        seen.extend_from_slice(&buf[..n]);
    }
}

fn raw_loop(guest: &support::Guest, command: &str) -> Duration {
    let mut s = UnixStream::connect(&guest.serial).expect("connect serial");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"\r").unwrap();
    wait_for(&mut s, b"login: ");
    s.write_all(format!("{}\r", guest.user).as_bytes()).unwrap();
    wait_for(&mut s, b"Password: ");
    s.write_all(format!("{}\r", guest.password).as_bytes())
        .unwrap();
    wait_for(&mut s, b"$ ");
    s.write_all(b"PS1='raw''> '\r").unwrap();
    wait_for(&mut s, b"raw> ");
    let started = Instant::now();
    for _ in 0..COMMANDS {
        s.write_all(format!("{command}\r").as_bytes()).unwrap();
        wait_for(&mut s, b"raw> ");
    }
    let elapsed = started.elapsed();
    s.write_all(b"exit\r").unwrap();
    wait_for(&mut s, b"login: ");
    elapsed
}

async fn lifeline_loop(guest: &support::Guest, command: &str) -> Duration {
    let mut session = guest.session().await;
    let started = Instant::now();
    for _ in 0..COMMANDS {
        let out = session.run(command).await.expect("run");
        assert_eq!(out.exit_status, 0);
    }
    let elapsed = started.elapsed();
    session.leave().await.expect("leave");
    elapsed
}

#[tokio::main]
async fn main() {
    let guest = support::Guest::boot("bench");
    let rate = |d: Duration| COMMANDS as f64 / d.as_secs_f64();
    println!(
        "commands per second over the guest's serial console ({COMMANDS} commands each, TCG guest)"
    );
    for command in ["true", "ls -l /etc/ssh"] {
        guest.reset();
        let raw = raw_loop(&guest, command);
        guest.reset();
        let full = lifeline_loop(&guest, command).await;
        println!("  {command:?}");
        println!(
            "    baseline: type the line, wait for the prompt  {:>7.2} cmd/s",
            rate(raw)
        );
        println!(
            "    lifeline run(): exact output + exit status    {:>7.2} cmd/s",
            rate(full)
        );
        println!(
            "    ratio lifeline / baseline: {:.3}",
            rate(full) / rate(raw)
        );
    }
}
