//! The interactive flows as a person meets them: the real lifeline binary on a pseudo-terminal,
//! driven with expectrl, against the real guest. Rescue's confirmation (no, Ctrl-C, yes) and its
//! --dry-run text; the connect menu sending SysRq, NMI and reset through the fake Azure service.

mod support;

use expectrl::process::unix::WaitStatus;
use expectrl::{ControlCode, Eof, Expect, Regex, Session};
use std::process::Command;
use std::time::Duration;
use support::fake_azure::FakeAzure;
use support::{Guest, sh, shared_guest};

const LIFELINE: &str = env!("CARGO_BIN_EXE_lifeline");
/// Login and probe run under TCG: minutes, not seconds.
const SLOW: Duration = Duration::from_secs(400);
/// A guest under TCG on a loaded machine can take far longer than a VM to log in.
const LOGIN_TIMEOUT: &str = "120";

type Pty = expectrl::session::OsSession;

/// lifeline on a pty with `args`, the guest user's password in GUEST_PW.
fn spawn(guest: &Guest, args: &[&str], env: &[(&str, &str)]) -> Pty {
    let mut command = lifeline(args, env);
    command.env("GUEST_PW", &guest.password);
    on_pty(command)
}

fn lifeline(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(LIFELINE);
    command
        .args(args)
        .env("TERM", "vt220")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

fn on_pty(command: Command) -> Pty {
    let mut pty = Session::spawn(command).expect("spawn lifeline on a pty");
    pty.set_expect_timeout(Some(SLOW));
    pty
}

fn expect(pty: &mut Pty, text: &str) -> String {
    match pty.expect(text) {
        Ok(found) => String::from_utf8_lossy(found.before()).into_owned(),
        Err(e) => panic!("waiting for {text:?}: {e}; {}", unread(pty)),
    }
}

/// Waits until both texts have been written, in either order: lifeline's own line about an
/// admin command (stderr) and the console's answer to it (stdout) race each other to the pty.
/// One pattern that needs both: expectrl consumes up to the right-most match of a pattern, so
/// an alternation of the two would swallow both when they arrive in one read and leave nothing
/// for a second wait.
fn expect_both(pty: &mut Pty, first: &str, second: &str) {
    let (a, b) = (regex::escape(first), regex::escape(second));
    if let Err(e) = pty.expect(Regex(format!("(?s){a}.*?{b}|{b}.*?{a}"))) {
        panic!("waiting for {first:?} and {second:?}: {e}; {}", unread(pty));
    }
}

/// Both texts in one read, in either order, are both taken: the console's answer and lifeline's
/// line about the command came in one read when the menu test failed in CI.
#[test]
fn both_texts_are_found_in_either_order_when_they_arrive_in_one_read() {
    for (written, first, second) in [
        ("a [answer] b [sent] c", "[sent]", "[answer]"),
        ("a [sent] b [answer] c", "[sent]", "[answer]"),
    ] {
        let mut printf = Command::new("printf");
        printf.arg(format!("{written}\\n"));
        let mut pty = on_pty(printf);
        pty.set_expect_timeout(Some(Duration::from_secs(10)));
        expect_both(&mut pty, first, second);
        expect(&mut pty, " c");
    }
}

/// What lifeline wrote that no expectation consumed, without waiting for more.
fn unread(pty: &mut Pty) -> String {
    match pty.check(Regex("(?s).+")) {
        Ok(seen) => format!(
            "lifeline wrote since:\n{}",
            String::from_utf8_lossy(seen.as_bytes())
        ),
        Err(e) => format!("and then: {e}"),
    }
}

/// Waits for the end of lifeline's output and returns how it ended.
fn finished(pty: &mut Pty) -> WaitStatus {
    pty.expect(Eof).expect("lifeline ends");
    pty.get_process().wait().expect("wait for lifeline")
}

fn rescue_args(guest: &Guest) -> Vec<String> {
    [
        "--serial",
        &format!("unix:{}", guest.serial.display()),
        "--user",
        &guest.user,
        "--password-env",
        "GUEST_PW",
        "--login-timeout",
        LOGIN_TIMEOUT,
        "rescue",
    ]
    .map(String::from)
    .to_vec()
}

/// What a rescue could change on the guest: sshd_config and the backups lifeline keeps.
async fn guest_state(guest: &Guest) -> String {
    let mut session = guest.root_session().await;
    let state = sh(
        &mut session,
        "sha256sum /etc/ssh/sshd_config; ls /var/backups/lifeline 2>/dev/null | wc -l",
    )
    .await;
    session.leave().await.unwrap();
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_asks_and_nothing_changes_unless_the_answer_is_yes() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    sh(
        &mut session,
        "echo 'AllowUsers nobody' >> /etc/ssh/sshd_config",
    )
    .await;
    session.leave().await.unwrap();
    let broken = guest_state(&guest).await;
    let args = rescue_args(&guest);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // --dry-run: the plan and the script, no question, nothing changed.
    tokio::task::block_in_place(|| {
        let mut dry = args.clone();
        dry.push("--dry-run");
        let mut pty = spawn(&guest, &dry, &[]);
        expect(&mut pty, "dry run, nothing changed");
        expect(&mut pty, "plan:");
        expect(&mut pty, "the guest script (secrets withheld):");
        let status = finished(&mut pty);
        assert!(matches!(status, WaitStatus::Exited(_, 1)), "{status:?}");
    });
    assert_eq!(
        guest_state(&guest).await,
        broken,
        "a dry run changes nothing"
    );

    // No: nothing changed, exit 2.
    tokio::task::block_in_place(|| {
        let mut pty = spawn(&guest, &args, &[]);
        let shown = expect(&mut pty, "[y/N] ");
        assert!(shown.contains("lifeline found:"), "{shown}");
        assert!(shown.contains("and will:"), "{shown}");
        pty.send_line("n").unwrap();
        expect(&mut pty, "not confirmed, nothing changed");
        let status = finished(&mut pty);
        assert!(matches!(status, WaitStatus::Exited(_, 2)), "{status:?}");
    });
    assert_eq!(guest_state(&guest).await, broken, "no changes nothing");

    // Ctrl-C at the question: lifeline stops, nothing changed.
    tokio::task::block_in_place(|| {
        let mut pty = spawn(&guest, &args, &[]);
        expect(&mut pty, "[y/N] ");
        pty.send(ControlCode::EndOfText).unwrap();
        let status = finished(&mut pty);
        assert!(
            matches!(
                status,
                WaitStatus::Signaled(..) | WaitStatus::Exited(_, 130)
            ),
            "{status:?}"
        );
    });
    assert_eq!(guest_state(&guest).await, broken, "Ctrl-C changes nothing");

    // Yes: repaired, and SSH works again.
    tokio::task::block_in_place(|| {
        let mut pty = spawn(&guest, &args, &[]);
        expect(&mut pty, "[y/N] ");
        pty.send_line("y").unwrap();
        expect(&mut pty, "SSH works again");
        let status = finished(&mut pty);
        assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
        guest.ssh_works().expect("SSH works after the rescue");
    });
    assert_ne!(guest_state(&guest).await, broken, "yes repairs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connect_menu_sends_sysrq_nmi_and_reset_through_the_fake() {
    let guest = shared_guest().await;
    let sub = "00000000-0000-0000-0000-0000000c0de5";
    let fake = FakeAzure::start(
        "pty-menu",
        &[format!("{sub}/rg1/vm1=unix:{}", guest.serial.display())],
    );
    let env = fake.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = fake.url.clone();
    // -vv: should a step fail, what lifeline logged after the last match is in the message.
    let args = [
        "-vv",
        "--arm-endpoint",
        &url,
        "--subscription",
        sub,
        "-g",
        "rg1",
        "-n",
        "vm1",
        "connect",
    ];
    tokio::task::block_in_place(|| {
        let mut pty = spawn(&guest, &args, &env);
        pty.set_expect_timeout(Some(Duration::from_secs(120)));
        expect(&mut pty, "Ctrl-] opens the menu");
        pty.send("\r").unwrap();
        expect(&mut pty, "login: ");

        let menu_key = [0x1d];
        pty.send(menu_key).unwrap();
        expect(&mut pty, "n: NMI   s: SysRq   r: reset");
        pty.send("s").unwrap();
        expect(&mut pty, "SysRq key (h for help): ");
        pty.send("h").unwrap();
        expect_both(&mut pty, "[lifeline] sent SysRq(\"h\")", "sysrq: HELP");

        for (key, name) in [("n", "Nmi"), ("r", "Reset")] {
            pty.send(menu_key).unwrap();
            expect(&mut pty, "n: NMI");
            pty.send(key).unwrap();
            expect(&mut pty, &format!("Really send {name}?"));
            pty.send("y").unwrap();
            expect(&mut pty, &format!("[lifeline] sent {name}"));
        }

        pty.send(menu_key).unwrap();
        expect(&mut pty, "q: quit");
        pty.send("q").unwrap();
        expect(&mut pty, "lifeline: disconnected.");
        let status = finished(&mut pty);
        assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
    });

    let state = fake.state();
    let accepted: Vec<(String, String)> = state["counters"]["admin_commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == 200)
        .map(|c| {
            (
                c["command"].as_str().unwrap().to_string(),
                c["body"]["commandParameters"]["SysRqCommand"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [("sysrq", "h"), ("nmi", ""), ("reset", "")]
        .iter()
        .map(|(c, k)| (c.to_string(), k.to_string()))
        .collect();
    assert_eq!(accepted, want);
}

#[test]
fn progress_shows_on_a_terminal_unless_json_quiet_or_no_color() {
    let sub = "00000000-0000-0000-0000-00000000a11e";
    let fake = FakeAzure::start("pty-progress", &[format!("{sub}/rg1/vm1=echo")]);
    // Long enough to be worth a line of its own.
    fake.control(serde_json::json!({"delay": {"route": "connect", "ms": 2500}}));
    let env = fake.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = fake.url.clone();
    let base = [
        "--arm-endpoint",
        url.as_str(),
        "--subscription",
        sub,
        "-g",
        "rg1",
        "-n",
        "vm1",
        "send",
        "sysrq",
        "h",
    ];
    let shown = |extra: &[&str], more_env: &[(&str, &str)]| -> String {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let mut env = env.clone();
        env.extend_from_slice(more_env);
        let mut pty = on_pty(lifeline(&args, &env));
        let seen = pty.expect(Eof).expect("lifeline ends");
        String::from_utf8_lossy(seen.as_bytes()).into_owned()
    };
    let step = "opening the serial console of VM rg1/vm1";
    let with = shown(&[], &[]);
    // The step's line with its time: at least the fake's delay, more on a loaded machine.
    let took = with
        .split(&format!("✓ {step} ("))
        .nth(1)
        .and_then(|rest| rest.split(" s)").next())
        .and_then(|secs| secs.parse::<f64>().ok());
    assert!(took.is_some_and(|secs| secs >= 2.5), "{with}");
    for (extra, more_env) in [
        (&["-o", "json"][..], &[][..]),
        (&["--quiet"][..], &[][..]),
        (&[][..], &[("NO_COLOR", "1")][..]),
    ] {
        let without = shown(extra, more_env);
        assert!(!without.contains(step), "{extra:?} {more_env:?}: {without}");
        assert!(without.contains("sysrq"), "{without}");
    }
}
