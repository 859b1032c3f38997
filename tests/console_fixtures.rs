//! The terminal layer and state detection on a recording of the real Debian 12 guest's ttyS0
//! (fixtures/console/debian12-boot-login-session.log: a whole boot with kernel and systemd lines,
//! a login, `systemctl status` with colours and OSC 8 links, sudo's prompt, a line typed one key at
//! a time that readline wrapped at column 80, `less`, a logout), fed in uneven pieces as a link
//! would deliver it.

use lifeline::shell::{ConsoleState, classify};
use lifeline::term::Console;
use lifeline::term::plain::plain_text;

const RECORDING: &[u8] = include_bytes!("../fixtures/console/debian12-boot-login-session.log");

/// Feeds `raw` through a console in pieces of varying size; returns the text it passed on.
fn feed(console: &mut Console, raw: &[u8]) -> Vec<u8> {
    let mut text = Vec::new();
    let mut at = 0;
    let mut size = 1;
    while at < raw.len() {
        let end = (at + size).min(raw.len());
        text.extend(console.receive(&raw[at..end]).unwrap());
        at = end;
        size = size * 7 % 61 + 1;
    }
    text
}

/// The state a console shows after the recording up to the end of the first `marker`.
fn state_after(marker: &[u8]) -> ConsoleState {
    let at = RECORDING
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap_or_else(|| panic!("{:?} not in the recording", String::from_utf8_lossy(marker)))
        + marker.len();
    let mut console = Console::new(24, 80, None);
    let text = feed(&mut console, &RECORDING[..at]);
    let recent = String::from_utf8_lossy(&text[text.len().saturating_sub(300)..]).into_owned();
    classify(&console.screen().cursor_line(), &recent)
}

#[test]
fn kernel_lines_are_taken_out_and_everything_else_kept() {
    let raw_kernel_lines = String::from_utf8_lossy(RECORDING)
        .lines()
        .filter(|l| l.trim_start_matches('\r').starts_with("[    "))
        .count();
    assert!(
        raw_kernel_lines > 100,
        "the recording has kernel lines ({raw_kernel_lines})"
    );
    let mut console = Console::new(24, 80, None);
    let text = String::from_utf8(feed(&mut console, RECORDING)).unwrap();
    let kernel_line = regex::Regex::new(r"\[ *[0-9]+\.[0-9]{6}\] ").unwrap();
    assert!(!kernel_line.is_match(&text), "a kernel line survived");
    assert!(!text.contains('\x1b'), "an escape sequence survived");
    for kept in [
        "Welcome to Debian GNU/Linux 12 (bookworm)!",
        "[  OK  ] Started ssh.service - OpenBSD Secure Shell server.",
        "Debian GNU/Linux 12 rescue-guest ttyS0",
        "Loaded: loaded (/lib/systemd/system/ssh.service; enabled; preset: enabled)",
        "partial-line-without-newline end",
    ] {
        assert!(text.contains(kept), "lost {kept:?}");
    }
}

#[test]
fn the_plain_view_joins_the_line_readline_wrapped() {
    let plain = plain_text(RECORDING, 80);
    let wanted = format!("azureuser@rescue-guest:~$ echo {} | wc -c", "y".repeat(90));
    assert!(plain.contains(&wanted), "the wrapped line is not whole");
    assert!(plain.contains("\n91\n"));
}

#[test]
fn each_prompt_of_the_recording_is_recognised() {
    assert_eq!(
        state_after(b"rescue-guest login: "),
        ConsoleState::LoginPrompt
    );
    assert_eq!(state_after(b"Password: "), ConsoleState::PasswordPrompt);
    assert_eq!(
        state_after(b"\x1b[?2004hazureuser@rescue-guest:~$ "),
        ConsoleState::Shell
    );
    assert_eq!(
        state_after(b"[sudo] password for azureuser: "),
        ConsoleState::SudoPassword
    );
    assert_eq!(
        state_after(b"echo yyyyyyyyyy"),
        ConsoleState::Unknown,
        "a half-typed line"
    );
    assert_eq!(
        state_after(
            b"logout\r\n\r\r\nDebian GNU/Linux 12 rescue-guest ttyS0\r\n\r\nrescue-guest login: "
        ),
        ConsoleState::LoginPrompt
    );
}
