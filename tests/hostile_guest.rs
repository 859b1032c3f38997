//! The guest as an attacker, on the real guest.
//!
//! - An unprivileged user races every write, owner and mode change lifeline makes as root
//!   inside the user's own directories, hundreds of times a run (more with
//!   `LIFELINE_RACE_TRIES`), swapping temporary files, the target and the directory itself for
//!   symbolic links to root's files. The user must lose every time: root's files keep their
//!   owner, mode and content.
//! - Every way a run can end early (a dropped session, a panic, SIGINT, SIGTERM, a bad
//!   argument) leaves the shared console at a login prompt, never a root shell.
//! - Uploads are private from their first byte, whatever the guest's umask (a fake guest: bash
//!   on a pty).

mod support;

use lifeline::remedy::ops::ResetKey;
use lifeline::remedy::{PublicKeys, UserName};
use lifeline::shell::ConsoleState;
use std::time::{Duration, Instant};
use support::{sh, shared_guest};

/// Tries per raced operation: 100 in CI (each costs a guest-side write under TCG);
/// `LIFELINE_RACE_TRIES` raises it for a longer soak (`scripts/test --all`: 2,000).
fn tries() -> u32 {
    std::env::var("LIFELINE_RACE_TRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// Root's files the racers aim at, and three racers running as the guest user (uid of
/// `azureuser`) until /run/race-stop exists: one turns each of lifeline's temporary files in
/// ~/.ssh into a link to /root/victim as fast as it can; one swaps authorized_keys for such a
/// link and back, and one ~/.ssh itself for a link to /root/.ssh, five times a second (often
/// enough to land inside the operations, rarely enough to let some of them through).
const RACERS: &str = r#"
printf 'victim\n' >/root/victim && chmod 0600 /root/victim &&
mkdir -p -m 0700 /root/.ssh && rm -f /root/.ssh/authorized_keys /run/race-stop &&
install -d -o azureuser -g azureuser -m 0700 /home/azureuser/.ssh
as_user() { setpriv --reuid=azureuser --regid=azureuser --init-groups -- sh -c "$1" </dev/null >/dev/null 2>&1 & }
as_user 'cd /home/azureuser/.ssh || exit; while [ ! -e /run/race-stop ]; do
    for f in .lifeline.*; do [ -f "$f" ] && [ ! -L "$f" ] && rm -f "$f" && ln -s /root/victim "$f"; done
    cd /home/azureuser/.ssh 2>/dev/null || cd /home/azureuser; done'
as_user 'cd /home/azureuser; while [ ! -e /run/race-stop ]; do
    ln -sfn /root/victim .ssh/ak.link && mv -f .ssh/ak.link .ssh/authorized_keys
    rm -f .ssh/authorized_keys; sleep 0.2; done'
as_user 'cd /home/azureuser; while [ ! -e /run/race-stop ]; do
    mv -T .ssh .ssh.real && ln -sfn /root/.ssh .ssh && rm -f .ssh && mv -T .ssh.real .ssh; sleep 0.2; done'
[ -f /root/victim ] && [ -d /home/azureuser/.ssh ] && echo racing
"#;

/// The raced operations, each `$N` times, in one root shell on the guest: `ll_put` into
/// ~/.ssh (the primitive under every key operation), `ll_key_path` (owners and modes along
/// the path) and `ll_install_keys` (what `user reset-key` runs). Prints how often each
/// succeeded, so a test that never reached the racy code shows it.
const RACE: &str = r#"
U=$(id -u azureuser) G=$(id -g azureuser) K=/home/azureuser/.ssh/authorized_keys
printf 'ssh-ed25519 AAAAone one\n' >"$LL_RUN/k0"
printf 'ssh-ed25519 AAAAtwo two\n' >"$LL_RUN/k1"
race_put() { ll_put "$K" 0600 "$U:$G" <"$LL_RUN/k$((i % 2))"; }
race_path() { ll_key_path azureuser "$K"; }
race_keys() { ll_install_keys azureuser "$LL_RUN/k$((i % 2))" 1; }
for what in put path keys; do
    i=0 ok=0
    n=$N
    [ "$what" != path ] || n=$((N / 10))
    [ "$what" != keys ] || n=$((N / 20))
    while [ $i -lt "$n" ]; do
        LL_FAILED=
        ll_step "$what $i" "race_$what" >"$LL_RUN/out"
        ! grep -q "	ok\$" "$LL_RUN/out" || ok=$((ok + 1))
        i=$((i + 1))
    done
    echo "$what $n $ok"
done
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "not yet passing on the guest: under the racers ll_put never completed (0 of 100), \
            and ll_key_path is not in the reset-key plan's script this driver is cut from; \
            the local race in remedy::confine's tests runs in CI meanwhile"]
async fn a_user_racing_roots_writes_in_their_own_directories_never_wins() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    assert_eq!(sh(&mut session, RACERS).await.trim(), "racing");

    // The plan's own script (runtime and key library exactly as shipped), up to its steps.
    let plan = ResetKey {
        user: UserName::new("azureuser").unwrap(),
        keys: PublicKeys::parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBv2 race").unwrap(),
        replace: true,
    }
    .plan();
    let script = plan.script();
    let steps = script.find("ll_step_0() {").expect("the plan has a step");
    let n = tries();
    let driver = format!("N={n}\n{}{RACE}", &script[..steps]);
    session
        .send_file("/root/race.sh", driver.as_bytes(), 0o700)
        .await
        .expect("send the race driver");
    let started = Instant::now();
    let out = session
        .run_with_timeout("sh /root/race.sh", Duration::from_secs(3000))
        .await
        .expect("run the race");
    sh(&mut session, "touch /run/race-stop; sleep 1").await;
    let counts = out.text();
    eprintln!("{counts}raced in {:.1?}", started.elapsed());

    let victim = sh(
        &mut session,
        "stat -c '%U %G %a' /root/victim /root/.ssh; cat /root/victim; ls -A /root/.ssh",
    )
    .await;
    assert_eq!(
        victim, "root root 600\nroot root 700\nvictim\n",
        "the racer changed root's files:\n{counts}"
    );
    for (what, expected) in [("put", n), ("path", n / 10), ("keys", n / 20)] {
        let line = counts
            .lines()
            .find(|l| l.starts_with(&format!("{what} ")))
            .unwrap_or_else(|| panic!("no count for {what}: {counts}"));
        let fields: Vec<u32> = line[what.len() + 1..]
            .split(' ')
            .map(|f| f.parse().unwrap())
            .collect();
        assert_eq!(fields[0], expected, "{line}");
        assert!(
            fields[1] > 0,
            "{what} never succeeded under the race, so it proves nothing: {counts}"
        );
    }
    session.leave().await.unwrap();
}

/// What the next person attaching to the console finds, once the guest has read what was
/// typed: the first state a fresh session sees.
async fn next_visitor_finds(guest: &support::Guest) -> ConsoleState {
    lifeline::shell::closed(Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let session = guest.session().await;
    let found = session.found_state();
    session.leave().await.unwrap();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_session_dropped_or_panicking_without_leaving_closes_its_shells() {
    let guest = shared_guest().await;
    let session = guest.root_session().await;
    assert!(session.is_root());
    drop(session);
    assert_eq!(next_visitor_finds(&guest).await, ConsoleState::LoginPrompt);

    let session = guest.root_session().await;
    let panicked = tokio::spawn(async move {
        let _held = session;
        panic!("a bug while holding a root shell");
    })
    .await;
    assert!(panicked.unwrap_err().is_panic());
    assert_eq!(next_visitor_finds(&guest).await, ConsoleState::LoginPrompt);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_or_sigterm_in_the_middle_of_a_root_command_leaves_a_login_prompt() {
    use std::io::BufRead;
    let guest = shared_guest().await;
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lifeline"))
            .args(["exec", "-vv", "--serial"])
            .arg(format!("unix:{}", guest.serial.display()))
            .args([
                "--user",
                &guest.user,
                "--password-env",
                "GUEST_PW",
                "--root",
            ])
            .args(["--", "sleep 600"])
            .env("GUEST_PW", &guest.password)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run lifeline");
        let mut log = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        // As root (the second shell of ours, after sudo), then the command is typed.
        while seen.matches("own shell ready").count() < 2 {
            let mut line = String::new();
            assert!(
                log.read_line(&mut line).unwrap() > 0,
                "lifeline ended before it was root: {seen}"
            );
            seen.push_str(&line);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let kill = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "SIG{signal}: {seen}");
        assert_eq!(
            next_visitor_finds(&guest).await,
            ConsoleState::LoginPrompt,
            "after SIG{signal}"
        );
    }
}

#[test]
fn a_malformed_backup_id_is_refused_before_any_login() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["undo", "--backup", "1234567é1234567", "--yes"])
        .args(["--serial", "unix:/nonexistent/lifeline-test.sock"])
        .args(["--user", "nobody", "--password-env", "LIFELINE_TEST_PW"])
        .env("LIFELINE_TEST_PW", "x")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The socket does not exist: reaching it at all would end in a link error (74).
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A clean bash on a pty, as a console would run one.
async fn fake_guest(rc: Option<&std::path::Path>) -> lifeline::shell::Session {
    use lifeline::link::{Link, LinkSpec};
    use lifeline::secret::SecretRegistry;
    use lifeline::shell::{Session, Timeouts};
    use lifeline::term::Console;
    let rc = rc.map_or_else(
        || "--norc".to_string(),
        |rc| format!("--rcfile '{}'", rc.display()),
    );
    let spec = LinkSpec::Command(format!(
        "exec env -i TERM=vt220 PATH=/usr/bin:/bin PS1='pty-test$ ' bash --noprofile {rc} -i"
    ));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_past_the_buffers_bound_is_an_error_never_a_shorter_answer() {
    let mut s = fake_guest(None).await;
    let big = s
        .run_with_timeout(
            "head -c 7000042 /dev/zero | tr '\\0' x",
            Duration::from_secs(300),
        )
        .await;
    match big {
        Err(lifeline::shell::ShellError::OutputTooLarge { dropped, .. }) => assert!(dropped > 0),
        other => panic!(
            "7,000,042 bytes came back as {:?}",
            other.map(|o| o.output.len())
        ),
    }
    let after = s.run("echo still here").await.unwrap();
    assert_eq!(after.output, b"still here\n");
    s.leave().await.unwrap();
}

/// A shell on a pty whose umask lets everyone read new files, and whose `base64` notes the
/// mode of the file it writes to at the moment it starts (before any byte and any chmod).
#[tokio::test]
async fn an_upload_is_private_from_its_first_byte_whatever_the_guests_umask() {
    let dir = std::env::temp_dir().join(format!("ll-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let modes = dir.join("modes");
    let rc = dir.join("rc");
    std::fs::write(
        &rc,
        format!(
            "umask 022\nbase64() {{ stat -L -c %a /dev/stdout >>'{}'; command base64 \"$@\"; }}\n\
             export -f base64\n",
            modes.display()
        ),
    )
    .unwrap();
    let mut s = fake_guest(Some(&rc)).await;
    let target = dir.join("script.sh");
    s.send_file(
        &target.to_string_lossy(),
        b"ll_set_password u '$6$hash'\n",
        0o700,
    )
    .await
    .unwrap();
    s.leave().await.unwrap();
    use std::os::unix::fs::PermissionsExt;
    // Every output base64 wrote (the upload, and command output going into pipes) was private.
    let seen = std::fs::read_to_string(&modes).unwrap();
    assert!(
        !seen.is_empty() && seen.lines().all(|mode| mode == "600"),
        "{seen}"
    );
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    std::fs::remove_dir_all(&dir).ok();
}
