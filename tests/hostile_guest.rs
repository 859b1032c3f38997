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
//! - A console that imitates a maintenance, login or sudo prompt and asks again whatever is
//!   typed gets each password once per prompt kind, and the climb ends within its deadline.

mod support;

use lifeline::shell::ConsoleState;
use std::time::{Duration, Instant};
use support::{sh, shared_guest};

/// Tries per raced operation: 40 in CI (each costs a guest-side write under TCG);
/// `LIFELINE_RACE_TRIES` raises it for a longer soak (`scripts/test --all`: 2,000).
fn tries() -> u32 {
    std::env::var("LIFELINE_RACE_TRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

/// Root's files the racers aim at, and three racers running as the guest user (uid of
/// `azureuser`) until /run/race-stop exists: one turns each of lifeline's temporary files in
/// ~/.ssh into a link to /root/victim as fast as it can; one swaps authorized_keys for such a
/// link and removes it again; one swaps ~/.ssh itself for a link to /root/.ssh and back. They
/// race while /run/race-on exists, each holding its lock in /run/race while it acts, so that
/// the driver can stop them between two tries (`race_off`) and let a try run undisturbed: a
/// race in which nothing can complete would prove nothing.
const RACERS: &str = r#"
printf 'victim\n' >/root/victim && chmod 0600 /root/victim &&
mkdir -p -m 0700 /root/.ssh && rm -f /root/.ssh/authorized_keys /run/race-stop /run/race-on &&
install -d -o azureuser -g azureuser -m 0700 /home/azureuser/.ssh &&
mkdir -p -m 0755 /run/race && : >/run/race/1 && : >/run/race/2 && : >/run/race/3
as_user() {
    setpriv --reuid=azureuser --regid=azureuser --init-groups -- sh -c "
        exec 9</run/race/$1
        cd /home/azureuser || exit
        while [ ! -e /run/race-stop ]; do
            flock 9; [ ! -e /run/race-on ] || { $2; }; flock -u 9; $3
        done" </dev/null >/dev/null 2>&1 &
}
as_user 1 'n=0; while [ $n -lt 50 ]; do n=$((n + 1))
        cd .ssh 2>/dev/null && for f in .lifeline.*; do
            [ -f $f ] && [ ! -L $f ] && rm -f $f && ln -s /root/victim $f; done
        cd /home/azureuser; done' 'sleep 0.05'
as_user 2 'ln -sfn /root/victim .ssh/ak.link && mv -f .ssh/ak.link .ssh/authorized_keys
    sleep 0.1; rm -f .ssh/authorized_keys' 'sleep 0.1'
as_user 3 'mv -T .ssh .ssh.real && ln -sfn /root/.ssh .ssh && sleep 0.1 && rm -f .ssh &&
    mv -T .ssh.real .ssh' 'sleep 0.1'
[ -f /root/victim ] && [ -d /home/azureuser/.ssh ] && echo racing
"#;

/// The raced operations in one root shell on the guest, `$N` tries in all, every other one
/// raced: `ll_put` into ~/.ssh (the primitive under every key operation), `ll_key_path`
/// (owners and modes along the path, after the racers have had a go at them) and
/// `ll_install_keys` (what `user reset-key` runs). Prints, for each, the tries, how many
/// completed, and how many of the raced ones did.
const RACE: &str = r#"
U=$(id -u azureuser) G=$(id -g azureuser) K=/home/azureuser/.ssh/authorized_keys
for k in 0 1; do ssh-keygen -q -t ed25519 -N '' -C "race $k" -f "$LL_RUN/id$k" && mv "$LL_RUN/id$k.pub" "$LL_RUN/k$k"; done
race_put() { ll_put "$K" 0600 "$U:$G" <"$LL_RUN/k$((i % 2))"; }
race_path() {
    ll_as "$U" chmod 0755 "$K" "${K%/*}" || true
    chown -h 0 "$K" 2>/dev/null
    ll_key_path azureuser "$K"
}
race_keys() { ll_install_keys azureuser "$LL_RUN/k$((i % 2))" 1; }
race_off() {
    rm -f /run/race-on
    for lock in /run/race/*; do flock "$lock" true; done
    # A racer cut short by another (~/.ssh moved away under it) leaves its links behind, and
    # lifeline rightly refuses to write through them: an undisturbed try starts from a plain
    # ~/.ssh again. The racers are stopped, so root tidies without a race.
    h=/home/azureuser
    [ ! -L "$h/.ssh" ] || rm -f "$h/.ssh"
    if [ -d "$h/.ssh.real" ] && [ ! -L "$h/.ssh.real" ]; then
        [ -e "$h/.ssh" ] || mv -T "$h/.ssh.real" "$h/.ssh"
        rm -rf "$h/.ssh.real"
    fi
    [ ! -d "$h/.ssh" ] || find "$h/.ssh" -maxdepth 1 -type l -exec rm -f {} +
}
for what in put path keys; do
    i=0 ok=0 raced=0
    n=$((N / 4))
    [ "$what" != put ] || n=$((N / 2))
    while [ $i -lt "$n" ]; do
        if [ $((i % 2)) = 1 ]; then : >/run/race-on; sleep 0.2; else race_off; fi
        LL_FAILED=
        ll_step "$what $i" "race_$what" >"$LL_RUN/out"
        if grep -q "	ok\$" "$LL_RUN/out"; then
            ok=$((ok + 1))
            [ $((i % 2)) = 0 ] || raced=$((raced + 1))
        elif [ $((i % 2)) = 0 ]; then
            # Why an undisturbed try failed: the evidence a failed assertion needs.
            sed "s/^/calm $what $i: /" "$LL_RUN/out"
            ls -la /home/azureuser /home/azureuser/.ssh 2>&1 | sed "s/^/calm $what $i: /"
        fi
        i=$((i + 1))
    done
    race_off
    echo "$what $n $ok $raced"
done
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_racing_roots_writes_in_their_own_directories_never_wins() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    assert_eq!(sh(&mut session, RACERS).await.trim(), "racing");

    // The runtime and the operations' libraries exactly as plans ship them.
    let n = tries();
    let driver = lifeline::remedy::program(&format!("N={n}\n{RACE}"));
    session
        .send_file("/root/race.sh", driver.as_bytes(), 0o700)
        .await
        .expect("send the race driver");
    let started = Instant::now();
    let out = session
        .run_with_timeout("sh /root/race.sh", Duration::from_secs(3000))
        .await
        .expect("run the race");
    sh(&mut session, "touch /run/race-stop; wait").await;
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
    for (what, tries) in [("put", n / 2), ("path", n / 4), ("keys", n / 4)] {
        let line = counts
            .lines()
            .find(|l| l.starts_with(&format!("{what} ")))
            .unwrap_or_else(|| panic!("no count for {what}: {counts}"));
        let fields: Vec<u32> = line[what.len() + 1..]
            .split(' ')
            .map(|f| f.parse().unwrap())
            .collect();
        let [n, ok, raced] = fields[..] else {
            panic!("{line}")
        };
        assert_eq!(n, tries, "{line}");
        // Undisturbed tries completing show that a failure under the race is the race's (a
        // raced try can leave a link the next one refuses, so not every one need complete).
        let calm_tries = tries.div_ceil(2);
        assert!(
            (ok - raced) * 2 >= calm_tries && ok > 0,
            "{what} failed even undisturbed, so the race proves nothing: {counts}"
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
        // Our own shell as root (sudo runs from the login shell), then the command is typed.
        while !seen
            .lines()
            .any(|l| l.contains("own shell ready") && l.contains("Some(0)"))
        {
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
    recorded_fake_guest(rc, None).await
}

/// The same, recorded to `transcript`.
async fn recorded_fake_guest(
    rc: Option<&std::path::Path>,
    transcript: Option<lifeline::term::Transcript>,
) -> lifeline::shell::Session {
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
        Console::new(24, 80, transcript),
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

/// A guest on which every upload arrives damaged (its checksum never matches): `run_file`
/// says so, runs nothing, and leaves no file behind; the session goes on.
#[tokio::test]
async fn a_damaged_upload_is_removed_never_run() {
    let dir = std::env::temp_dir().join(format!("ll-damaged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rc = dir.join("rc");
    std::fs::write(&rc, "sha256sum() { echo 0; }\nexport -f sha256sum\n").unwrap();
    let mut s = fake_guest(Some(&rc)).await;
    let ran = dir.join("ran");
    let script = format!("touch '{}'\n", ran.display());
    let target = dir.join("script.sh");
    let err = s
        .run_file(
            &target.to_string_lossy(),
            &script,
            0o700,
            Duration::from_secs(30),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, lifeline::shell::ShellError::Transfer(_)),
        "{err}"
    );
    let after = s.run("echo still here").await.unwrap();
    assert_eq!(after.output, b"still here\n");
    s.leave().await.unwrap();
    assert!(!ran.exists(), "the damaged script ran");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["rc"], "files left behind: {left:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A script holding a password hash goes up (its base64 echoed by a console that echoes; our
/// shell types without echo); the transcript shows a note in its place, and what came after:
/// also the output of a script run on the line that checks its upload, which ends the
/// withholding by what the guest prints, not by an echo.
#[tokio::test]
async fn an_upload_is_left_out_of_the_transcript() {
    use base64::Engine;
    let dir = std::env::temp_dir().join(format!("ll-cast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cast = dir.join("session.cast");
    let transcript = lifeline::term::Transcript::create(&cast, 80, 24, Default::default()).unwrap();
    let mut s = recorded_fake_guest(None, Some(transcript)).await;
    let script = "ll_set_password u '$6$rounds=100000$salt$HASHofTHEnewPASSWORD'\n".repeat(4);
    s.send_file(
        &dir.join("script.sh").to_string_lossy(),
        script.as_bytes(),
        0o700,
    )
    .await
    .unwrap();
    s.run("echo after the upload").await.unwrap();
    let plan = s
        .run_file(
            &dir.join("plan.sh").to_string_lossy(),
            // The hash again, in comments: the plan's upload is withheld too.
            &format!("# {}\necho the plan ran\n", script.replace('\n', "\n# ")),
            0o700,
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(plan.text(), "the plan ran\n");
    s.leave().await.unwrap();
    let recorded = std::fs::read_to_string(&cast).unwrap();
    // The plan's output (between its markers, in whatever encoding) follows the last note.
    let after_plan = recorded
        .rsplit_once("[upload withheld]")
        .unwrap_or_else(|| panic!("no note in {recorded}"))
        .1;
    assert!(
        after_plan.contains("-begin") && after_plan.contains("-end"),
        "the plan's output is missing after its upload: {recorded}"
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(&script);
    for piece in encoded.as_bytes().chunks(20) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(!recorded.contains(piece), "{piece} in {recorded}");
    }
    assert!(!recorded.contains("HASHofTHE"), "{recorded}");
    // The transcript goes on after the note: the next command's output, which comes back
    // plain or base64-encoded as the session's encoding has it.
    let after = recorded
        .split_once("[upload withheld]")
        .unwrap_or_else(|| panic!("no note in {recorded}"))
        .1;
    let encoded = base64::engine::general_purpose::STANDARD.encode("after the uploa");
    assert!(
        after.contains("after the upload") || after.contains(&encoded),
        "{recorded}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A guest whose os-release `PRETTY_NAME` sets the window title, moves the cursor up and
/// erases the line (enough to overwrite the verdict printed above it): `diagnose`'s text
/// report shows the sequences spelled out, and no control byte reaches the terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_in_the_guests_os_name_never_reach_the_terminal() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    sh(
        &mut session,
        r#"{ grep -v '^PRETTY_NAME=' /etc/os-release
        printf 'PRETTY_NAME="Debian\033]0;owned\007\033[1A\033[2K"\n'; } >/run/os-release &&
        rm -f /etc/os-release && mv /run/os-release /etc/os-release"#,
    )
    .await;
    session.leave().await.unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["diagnose", "--serial"])
        .arg(format!("unix:{}", guest.serial.display()))
        .args(["--user", &guest.user, "--password-env", "GUEST_PW"])
        .env("GUEST_PW", &guest.password)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run lifeline");
    let report = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        report.contains(r"Debian\x1b]0;owned\x07\x1b[1A\x1b[2K"),
        "the name is not shown spelled out:\n{report}\n{stderr}"
    );
    let acted_on = |c: char| c.is_control() && c != '\n' && c != '\t';
    assert!(!report.chars().any(acted_on), "{report:?}");
}

/// A console that asks for a password again whatever is typed (fixtures/console/liar.sh in
/// `mode`): the climb to root gives up within its deadline, and each password reached the
/// console exactly as often as `typed` says: once per prompt kind that asks for it.
async fn climb_against_a_liar(mode: &str, typed: &[(&str, usize)]) {
    use lifeline::access::{self, Access, Need, OpenOptions, Target};
    use lifeline::link::LinkSpec;
    use lifeline::secret::Secret;
    use lifeline::shell::Credentials;
    let log = std::env::temp_dir().join(format!(
        "lifeline-liar-{}-{:x}.log",
        std::process::id(),
        rand::random::<u64>()
    ));
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/console/liar.sh");
    let spec = LinkSpec::Command(format!(
        "exec env -i PATH=/usr/bin:/bin TERM=vt220 LIAR_MODE={mode} LIAR_USER_PW=alice-pw \
         LIAR_LOG={} bash {}",
        log.display(),
        script.display()
    ));
    let access = Access {
        credentials: Credentials {
            user: "alice".into(),
            password: Some(Secret::new("alice-pw")),
            root_password: Some(Secret::new("root-pw")),
        },
        ..Access::default()
    };
    let started = Instant::now();
    let climbed = access::open(
        &Target::Serial(spec),
        &access,
        &OpenOptions::new(Need::Root),
    )
    .await;
    let took = started.elapsed();
    let heard = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(climbed.is_err(), "a lying console gave a way in: {heard}");
    assert!(took < Duration::from_secs(180), "the climb took {took:?}");
    for (password, expected) in typed {
        let times = heard.lines().filter(|l| l == password).count();
        assert_eq!(times, *expected, "{password} typed {times} times: {heard}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_dressed_as_the_maintenance_prompt_gets_roots_password_once() {
    climb_against_a_liar("maintenance-shell", &[("root-pw", 1), ("alice-pw", 0)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_that_refuses_every_password_gets_each_once() {
    climb_against_a_liar("login", &[("alice-pw", 1), ("root-pw", 1)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sudo_that_asks_for_ever_gets_the_password_once_after_the_login() {
    // Once at the login, once at sudo; root's password at no prompt of root's.
    climb_against_a_liar("sudo", &[("alice-pw", 2), ("root-pw", 0)]).await;
}
