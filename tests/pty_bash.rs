//! The shell session against a real bash on a pseudo-terminal: state detection, exact output
//! and exit status for many kinds of output, and markers that output cannot fake.

use lifeline::link::{Link, LinkSpec};
use lifeline::secret::SecretRegistry;
use lifeline::shell::{ConsoleState, Session, Timeouts};
use lifeline::term::Console;
use std::time::Duration;

async fn bash_session() -> Session {
    // A clean interactive bash, as a console would run one (echo on, prompt, readline).
    let spec = LinkSpec::Command(
        "exec env -i TERM=vt220 PS1='pty-test$ ' bash --norc --noprofile -i".into(),
    );
    let link = Link::open(&spec).await.expect("spawn bash on a pty");
    let mut s = Session::new(
        link,
        Console::new(24, 80, None),
        SecretRegistry::default(),
        Timeouts::default(),
    );
    s.attach(&Default::default()).await.expect("attach to bash");
    s
}

#[tokio::test]
async fn finds_the_shell_and_runs_commands_exactly() {
    let mut s = bash_session().await;
    assert_eq!(s.found_state(), ConsoleState::Shell);
    let cases: Vec<(String, Vec<u8>, i32)> = vec![
        ("true".into(), b"".to_vec(), 0),
        ("false".into(), b"".to_vec(), 1),
        ("exit 42".into(), b"".to_vec(), 42),
        ("echo hello".into(), b"hello\n".to_vec(), 0),
        ("printf 'no newline'".into(), b"no newline".to_vec(), 0),
        (
            "printf 'a\\tb\\r\\nc\\rd'".into(),
            b"a\tb\r\nc\rd".to_vec(),
            0,
        ),
        (
            "printf '\\000\\001\\377\\033[31mred'".into(),
            b"\x00\x01\xff\x1b[31mred".to_vec(),
            0,
        ),
        (
            "echo out; echo err >&2; exit 3".into(),
            b"out\nerr\n".to_vec(),
            3,
        ),
        (
            "head -c 5000 /dev/zero | tr '\\0' x".into(),
            vec![b'x'; 5000],
            0,
        ),
        (
            "printf 'll-000000000000-end:0\\n'".into(),
            b"ll-000000000000-end:0\n".to_vec(),
            0,
        ),
        (
            "printf 'root@host:~# \\nlogin: '".into(),
            b"root@host:~# \nlogin: ".to_vec(),
            0,
        ),
        (
            "printf '[   12.345678] looks like a kernel line\\n'".into(),
            b"[   12.345678] looks like a kernel line\n".to_vec(),
            0,
        ),
        ("cat".into(), b"".to_vec(), 0),
        ("sh -c 'kill -TERM $$'".into(), b"".to_vec(), 143),
    ];
    for (cmd, want, status) in cases {
        let out = s.run(&cmd).await.unwrap_or_else(|e| panic!("{cmd}: {e}"));
        assert_eq!(out.output, want, "output of {cmd:?}");
        assert_eq!(out.exit_status, status, "status of {cmd:?}");
    }
    s.leave().await.unwrap();
}

#[tokio::test]
async fn a_half_typed_line_is_cleared_not_run() {
    let spec = LinkSpec::Command(
        "exec env -i TERM=vt220 PS1='pty-test$ ' bash --norc --noprofile -i".into(),
    );
    let mut link = Link::open(&spec).await.unwrap();
    use tokio::io::AsyncWriteExt;
    tokio::time::sleep(Duration::from_millis(300)).await;
    link.writer
        .write_all(b"touch /tmp/lifeline-must-not-exist-$$")
        .await
        .unwrap();
    let mut s = Session::new(
        link,
        Console::new(24, 80, None),
        SecretRegistry::default(),
        Timeouts::default(),
    );
    s.attach(&Default::default()).await.unwrap();
    let out = s
        .run("ls /tmp | grep -c lifeline-must-not-exist || true")
        .await
        .unwrap();
    assert_eq!(out.text().trim(), "0");
    s.leave().await.unwrap();
}

#[tokio::test]
async fn a_command_that_outlives_its_timeout_is_interrupted_and_the_session_goes_on() {
    let mut s = bash_session().await;
    let err = s
        .run_with_timeout("echo started; sleep 30", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    let out = s.run("echo still here").await.unwrap();
    assert_eq!(out.output, b"still here\n");
    s.leave().await.unwrap();
}

#[tokio::test]
async fn long_scripts_and_files_cross_in_checksummed_chunks() {
    let mut s = bash_session().await;
    let content: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let path = format!("/tmp/lifeline-transfer-{}", std::process::id());
    s.send_file(&path, &content, 0o640).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), content);
    assert_eq!(s.fetch_file(&path).await.unwrap(), content);
    // Incompressible and larger than a piece: typed in acknowledged pieces.
    let mut x: u32 = 0x2545_f491;
    let noise: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    s.send_file(&path, &noise, 0o600).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), noise);
    // A piece the guest cannot write ends the upload at once, and the shell goes on.
    let err = s
        .send_file("/nonexistent-lifeline/x", &noise, 0o600)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not write it"), "{err}");
    assert_eq!(s.run("echo on").await.unwrap().text(), "on\n");
    let long = format!("echo {} | wc -c", "z".repeat(6000));
    assert_eq!(s.run(&long).await.unwrap().text().trim(), "6001");
    std::fs::remove_file(&path).unwrap();
    s.leave().await.unwrap();
}

/// A script that `run_file` sends runs on the line that checks its upload: its exact output
/// and exit status come back in one round trip, and it arrived with its mode.
#[tokio::test]
async fn a_file_goes_up_and_runs_in_one_round_trip() {
    let mut s = bash_session().await;
    let path = format!("/tmp/lifeline-run-file-{}.sh", std::process::id());
    // Long enough to be typed over many lines, as a plan is.
    let padding = "# padding\n".repeat(600);
    let script =
        format!("stat -c %a \"$0\"; rm -f -- \"$0\"\n{padding}printf 'a\\tb\\r\\n\\001'; exit 3\n");
    s.begin_step("apply");
    let out = s
        .run_file(&path, &script, 0o700, Duration::from_secs(30))
        .await
        .unwrap();
    s.begin_step("after");
    assert_eq!(out.output, b"700\na\tb\r\n\x01");
    assert_eq!(out.exit_status, 3);
    assert!(!std::path::Path::new(&path).exists());
    let trips: u64 = s
        .ledger()
        .steps()
        .iter()
        .filter(|step| step.step.starts_with("apply"))
        .map(|step| step.round_trips)
        .sum();
    assert_eq!(trips, 1);
    s.leave().await.unwrap();
}
