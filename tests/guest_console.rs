//! The console engine on the real guest, from every starting state a rescuer may find: a fresh
//! login prompt, a user's shell left open, a root shell left open, a half-typed line, `less`
//! open, and a kernel writing messages onto the console every 100 ms. In each, 200 commands with
//! varied output must come back exact, and the console must be left as the issue prescribes.

mod support;

use lifeline::expect::{Expecter, Needles};
use lifeline::link::Link;
use lifeline::shell::ConsoleState;
use lifeline::term::Console;
use std::time::Duration;
use support::{Guest, shared_guest};
use tokio::io::AsyncWriteExt;

const COMMANDS: usize = 200;

/// Types on the raw console, as a person left it: keys, then wait for `until`.
async fn type_raw(guest: &Guest, steps: &[(&str, &str)]) {
    let link = Link::open(&guest.serial_spec()).await.expect("open serial");
    let mut writer = link.writer;
    let mut expecter = Expecter::new(link.reader, Console::new(24, 80, None));
    for (keys, until) in steps {
        writer.write_all(keys.as_bytes()).await.unwrap();
        writer.flush().await.unwrap();
        if !until.is_empty() {
            let needle = Needles::new(&[("wanted", until)]).unwrap();
            expecter
                .expect(&needle, Duration::from_secs(30))
                .await
                .unwrap_or_else(|e| panic!("preparing the console: after {keys:?}: {e}"));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn login_raw(guest: &Guest, user: &str, password: &str, prompt: &str) {
    type_raw(
        guest,
        &[
            ("\r", "login: $"),
            (&format!("{user}\r"), "Password: $"),
            (&format!("{password}\r"), prompt),
        ],
    )
    .await;
}

/// The commands and what each must return: empty output, non-zero exits, long lines, bytes that
/// are not text, and output that looks like our markers, a prompt or a kernel line.
fn cases() -> Vec<(String, Vec<u8>, i32)> {
    (0..COMMANDS)
        .map(|i| match i % 10 {
            0 => ("true".to_string(), Vec::new(), 0),
            1 => (format!("exit {}", i % 256), Vec::new(), (i % 256) as i32),
            2 => {
                let n = 1 + i % 40;
                let want: String = (1..=n).map(|k| format!("line-{k}\n")).collect();
                (format!("seq -f 'line-%g' 1 {n}"), want.into_bytes(), 0)
            }
            3 => {
                let len = 100 + i * 37;
                (
                    format!("head -c {len} /dev/zero | tr '\\0' y"),
                    vec![b'y'; len],
                    0,
                )
            }
            4 => {
                let bytes: Vec<u8> = (0..48).map(|k| ((i * 131 + k * 37) % 256) as u8).collect();
                let escaped: String = bytes.iter().map(|b| format!("\\{b:03o}")).collect();
                (format!("printf '{escaped}'"), bytes, 0)
            }
            5 => (
                "printf 'll-0123456789ab-end:0\\nll-0123456789ab-begin\\n'".to_string(),
                b"ll-0123456789ab-end:0\nll-0123456789ab-begin\n".to_vec(),
                0,
            ),
            6 => (
                "printf 'root@rescue-guest:~# \\nrescue-guest login: \\n[sudo] password for x: '"
                    .to_string(),
                b"root@rescue-guest:~# \nrescue-guest login: \n[sudo] password for x: ".to_vec(),
                0,
            ),
            7 => (
                format!("echo out-{i}; echo err-{i} >&2; exit 3"),
                format!("out-{i}\nerr-{i}\n").into_bytes(),
                3,
            ),
            8 => (
                "printf 'a\\tb\\r\\nc\\rd\\n[   12.345678] not a kernel line\\n'".to_string(),
                b"a\tb\r\nc\rd\n[   12.345678] not a kernel line\n".to_vec(),
                0,
            ),
            _ => (
                "cat /etc/hostname".to_string(),
                b"rescue-guest\n".to_vec(),
                0,
            ),
        })
        .collect()
}

async fn run_all_cases(guest: &Guest, expect_found: ConsoleState) -> lifeline::shell::Session {
    let mut session = guest.session().await;
    assert_eq!(session.found_state(), expect_found);
    for (command, want, status) in cases() {
        let out = session
            .run(&command)
            .await
            .unwrap_or_else(|e| panic!("{command}: {e}"));
        assert_eq!(
            out.output,
            want,
            "output of {command:?}: got {:?}",
            String::from_utf8_lossy(&out.output)
        );
        assert_eq!(out.exit_status, status, "exit status of {command:?}");
    }
    session
}

/// What the console shows to a new visitor after we left: its next prompt (after a logout,
/// getty's comes back seconds later on a slow guest).
async fn screen_after_leaving(guest: &Guest) -> String {
    let link = Link::open(&guest.serial_spec()).await.expect("open serial");
    let mut writer = link.writer;
    let mut expecter = Expecter::new(link.reader, Console::new(24, 80, None));
    writer.write_all(b"\r").await.unwrap();
    let prompt = Needles::new(&[("a prompt", r"(login: |[#$] )$")]).unwrap();
    expecter
        .expect(&prompt, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("no prompt after leaving: {e}"));
    expecter.console().screen().cursor_line()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_fresh_login_prompt() {
    let guest = shared_guest().await;
    run_all_cases(&guest, ConsoleState::LoginPrompt)
        .await
        .leave()
        .await
        .unwrap();
    assert!(screen_after_leaving(&guest).await.ends_with("login: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_user_shell_left_open() {
    let guest = shared_guest().await;
    login_raw(&guest, &guest.user, &guest.password, r"\$ $").await;
    run_all_cases(&guest, ConsoleState::Shell)
        .await
        .leave()
        .await
        .unwrap();
    assert!(screen_after_leaving(&guest).await.ends_with("login: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_root_shell_left_open_which_stays_open() {
    let guest = shared_guest().await;
    login_raw(&guest, "root", &guest.root_password, r"# $").await;
    let mut session = run_all_cases(&guest, ConsoleState::Shell).await;
    assert!(session.is_root());
    let level = session
        .run("cat /proc/sys/kernel/printk")
        .await
        .unwrap()
        .text();
    assert!(
        level.starts_with("1\t"),
        "console log level lowered while we work: {level:?}"
    );
    session.leave().await.unwrap();
    let line = screen_after_leaving(&guest).await;
    assert!(line.starts_with("root@rescue-guest"), "left as {line:?}");
    // ... the console log level is back to what it was, and what is typed echoes again (`:`
    // prints nothing: only the echo can show the line).
    type_raw(
        &guest,
        &[
            ("cat /proc/sys/kernel/printk\r", r"^7\s+4\s+1\s+7"),
            (": typed-text-echoes\r", r": typed-text-echoes"),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_half_typed_line_which_is_never_run() {
    let guest = shared_guest().await;
    login_raw(&guest, &guest.user, &guest.password, r"\$ $").await;
    type_raw(&guest, &[("touch /tmp/half-typed-was-run", "")]).await;
    let mut session = run_all_cases(&guest, ConsoleState::Shell).await;
    let check = session
        .run("test -e /tmp/half-typed-was-run")
        .await
        .unwrap();
    assert_eq!(check.exit_status, 1, "the half-typed line was executed");
    session.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_less_open() {
    let guest = shared_guest().await;
    login_raw(&guest, &guest.user, &guest.password, r"\$ $").await;
    type_raw(
        &guest,
        &[("less /etc/services\r", r"^:$|\(END\)$|services")],
    )
    .await;
    run_all_cases(&guest, ConsoleState::Pager)
        .await
        .leave()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_kernel_messages_every_100_ms() {
    let guest = shared_guest().await;
    login_raw(&guest, "root", &guest.root_password, r"# $").await;
    type_raw(
        &guest,
        &[
            (
                "setsid sh -c 'while :; do echo lifeline-noise > /dev/kmsg; sleep 0.1; done' </dev/null >/dev/null 2>&1 &\r",
                r"# $",
            ),
            ("exit\r", "login: $"),
        ],
    )
    .await;
    let mut session = run_all_cases(&guest, ConsoleState::LoginPrompt).await;
    // The noise really was on the console during the run.
    let noise = guest.serial_log().matches("lifeline-noise").count();
    assert!(noise > 100, "only {noise} kernel lines reached the console");
    session.run("true").await.unwrap();
    session.leave().await.unwrap();
}
