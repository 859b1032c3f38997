//! `lifeline rescue` on the real guest beyond the scenario table: the command line end to end
//! (JSON, exit code, a login from here by key and password) after a password reset, with no secret left
//! anywhere; a rescue cut off while its script runs; undo of a rescue, byte for byte; and a
//! playbook over two targets, one of which cannot be reached; a corrupted library put back from
//! its package, and a deleted library link made again.

mod support;

use lifeline::link::Link;
use lifeline::remedy::ops::Undo;
use lifeline::remedy::{BackupId, Plan};
use lifeline::rescue::{RescueOptions, RescueReport, rescue};
use lifeline::secret::Secret;
use lifeline::shell::Session;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::ssh_password::{Login, ssh_as};
use support::watched::Watched;
use support::{Guest, sh, shared_guest};

fn options(guest: &Guest) -> RescueOptions {
    RescueOptions {
        user: guest.user.clone(),
        ..RescueOptions::default()
    }
}

/// Runs the lifeline binary against the guest's serial socket with `env`, stdin closed.
fn lifeline(guest: &Guest, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lifeline"));
    command
        .arg("--serial")
        .arg(format!("unix:{}", guest.serial.display()))
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run lifeline")
}

/// `rescue --yes`, proven by a login from here at `verify` with the guest's key.
fn verified_rescue<'a>(guest: &'a Guest, verify: &'a str) -> [&'a str; 6] {
    [
        "rescue",
        "--yes",
        "--verify-host",
        verify,
        "--verify-key",
        guest.key.to_str().unwrap(),
    ]
}

/// Checks that SSH fails after a break, then rescues (every plan confirmed) and shows the report.
async fn rescued_once_ssh_fails(session: &mut Session, guest: &Guest) -> RescueReport {
    assert!(tokio::task::block_in_place(|| guest.ssh_works()).is_err());
    let report = rescue(session, &options(guest), &mut |_, _| true)
        .await
        .expect("rescue");
    eprintln!("{report}");
    report
}

/// Every command line on the host, sampled until `stop` is set.
fn watch_process_lists(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut seen = String::new();
        while !stop.load(Ordering::SeqCst) {
            if let Ok(out) = Command::new("ps").args(["-eo", "args"]).output() {
                seen.push_str(&String::from_utf8_lossy(&out.stdout));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        seen
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_resets_a_password_then_rescues_and_no_secret_is_left_anywhere() {
    let guest = shared_guest().await;
    let new_password = format!("Ll-{:016x}", rand::random::<u64>());
    let dir = std::env::temp_dir().join(format!("lifeline-rescue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cast = dir.join("rescue.cast");
    let cast_arg = cast.to_string_lossy().into_owned();
    let serial_before = guest.serial_log().len();
    let mut session = guest.root_session().await;
    sh(
        &mut session,
        "systemctl stop ssh; chmod 0777 /home/azureuser; echo 'AllowUsers nobody' >> /etc/ssh/sshd_config",
    )
    .await;
    session.leave().await.unwrap();
    tokio::task::block_in_place(|| assert!(guest.ssh_works().is_err()));

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_process_lists(stop.clone());
    let env = [
        ("GUEST_PW", guest.password.as_str()),
        ("NEW_PW", new_password.as_str()),
    ];
    let user = guest.user.as_str();
    let reset = lifeline(
        &guest,
        &[
            "-vvv",
            "--user",
            user,
            "--password-env",
            "GUEST_PW",
            "user",
            "reset-password",
            user,
            "--new-password-env",
            "NEW_PW",
            "--yes",
        ],
        &env,
    );
    let verify = format!("127.0.0.1:{}", guest.ssh_port);
    let out = lifeline(
        &guest,
        &[
            "-vvv",
            "--record",
            &cast_arg,
            "--user",
            user,
            "--password-env",
            "NEW_PW",
            "-o",
            "json",
        ]
        .into_iter()
        .chain(verified_rescue(&guest, &verify))
        .collect::<Vec<_>>(),
        &env,
    );
    stop.store(true, Ordering::SeqCst);
    let process_lists = watcher.join().unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&reset.stderr),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        reset.status.success(),
        "user reset-password: {}\n{logs}",
        String::from_utf8_lossy(&reset.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "rescue: {stdout}\n{logs}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(report["verified"], true, "{report:#}");
    assert_eq!(report["changed"], true);
    // The proof is a login from here with the key and the new password, at the guest's own
    // host key.
    let login = &report["login"][0];
    assert_eq!(login["from"], "here", "{report:#}");
    for proof in ["handshake", "host_key", "key_login", "password_login"] {
        assert!(
            login["proven"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == proof),
            "{proof} not proven: {report:#}"
        );
    }
    let before: Vec<&str> = report["before"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    // The password reset started sshd; the home's mode and AllowUsers are the rescue's.
    assert!(
        before.contains(&"SSH207") && before.contains(&"SSH104"),
        "{before:?}"
    );
    assert!(report["after"].as_array().unwrap().is_empty(), "{report:#}");

    tokio::task::block_in_place(|| {
        ssh_as(&guest, user, Login::Password(&new_password), "true")
            .expect("SSH with the new password after the rescue");
        guest
            .ssh(support::SshAuth::Key, "true")
            .expect("SSH by key after the rescue");
    });
    let transcript = std::fs::read_to_string(&cast).expect("the transcript");
    let serial = guest.serial_log()[serial_before..].to_string();
    let mut session = guest.root_login().await;
    let guest_side = sh(
        &mut session,
        "cat /root/.bash_history /home/*/.bash_history 2>/dev/null; \
         journalctl --no-pager -q 2>/dev/null; cat /var/log/auth.log /var/log/syslog 2>/dev/null; \
         ps -eo args",
    )
    .await;
    session.leave().await.unwrap();
    for secret in [new_password.as_str(), guest.password.as_str()] {
        for (place, text) in [
            ("the CLI's logs", logs.as_str()),
            ("the CLI's output", stdout.as_ref()),
            ("the transcript", transcript.as_str()),
            ("the serial console", serial.as_str()),
            (
                "the guest's histories, logs or processes",
                guest_side.as_str(),
            ),
            ("the host's process list", process_lists.as_str()),
        ] {
            assert!(!text.contains(secret), "a password appears in {place}");
        }
    }
    assert!(
        !logs.contains("$6$") && !guest_side.contains("$6$"),
        "a password hash leaked"
    );
    std::fs::remove_dir_all(dir).ok();
}

/// What the session types to run a plan's script (at the end of the line that uploads it).
const RUN_SCRIPT: &[u8] = b"sh '/run/lifeline-";

/// What the guest prints as it starts a command, after the whole line typed for it was read
/// (the tty may add a carriage return; an echo of the line typed would show `-begin\\n'`).
const BEGUN: [&[u8]; 2] = [b"-begin\n", b"-begin\r\n"];

/// Whether `chunk`, after the tail of what came before it (`seen`, kept to the longest needle's
/// length), completes one of `needles`.
fn completes(seen: &mut Vec<u8>, chunk: &[u8], needles: &[&[u8]]) -> bool {
    seen.extend_from_slice(chunk);
    let found = needles
        .iter()
        .any(|needle| seen.windows(needle.len()).any(|w| w == *needle));
    let longest = needles.iter().map(|n| n.len()).max().unwrap_or(0);
    let keep = seen.len().saturating_sub(longest);
    seen.drain(..keep);
    found
}

/// Watches on both sides of a serial link that cut it, both ways, a moment after the guest
/// starts a plan's script: the writing side sees the session send the command that runs it,
/// the reading side then sees that command's begin marker (the guest read the whole upload
/// and runs it; a cut while it still reads would lose the script, however loaded the guest).
/// The console goes away while the script runs. `socket` is a second handle on the link's
/// socket, to shut it down with. Returns the writer's watch and the reader's.
fn tripwire(
    socket: std::os::unix::net::UnixStream,
    tripped: Arc<AtomicBool>,
) -> (impl FnMut(&[u8]) + Unpin, impl FnMut(&[u8]) + Unpin) {
    let sent = Arc::new(AtomicBool::new(false));
    let mut written = Vec::new();
    let on_write = {
        let sent = sent.clone();
        move |chunk: &[u8]| {
            if completes(&mut written, chunk, &[RUN_SCRIPT]) {
                sent.store(true, Ordering::SeqCst);
            }
        }
    };
    let mut socket = Some(socket);
    let mut read = Vec::new();
    let on_read = move |chunk: &[u8]| {
        if !sent.load(Ordering::SeqCst) || !completes(&mut read, chunk, &BEGUN) {
            return;
        }
        if let Some(socket) = socket.take() {
            let tripped = tripped.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                tripped.store(true, Ordering::SeqCst);
                let _ = socket.shutdown(std::net::Shutdown::Both);
            });
        }
    };
    (on_write, on_read)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescue_cut_off_while_applying_leaves_sshd_valid_and_the_next_one_completes() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    sh(
        &mut session,
        "echo 'Bogus yes' >> /etc/ssh/sshd_config; echo 'ListenAddress 10.9.9.9' >> /etc/ssh/sshd_config; \
         chmod 0644 /etc/ssh/ssh_host_*_key; systemctl restart ssh; true",
    )
    .await;
    session.leave().await.unwrap();

    let socket =
        std::os::unix::net::UnixStream::connect(&guest.serial).expect("open the serial socket");
    socket.set_nonblocking(true).unwrap();
    let handle = socket.try_clone().unwrap();
    let (reader, writer) = tokio::net::UnixStream::from_std(socket)
        .unwrap()
        .into_split();
    let tripped = Arc::new(AtomicBool::new(false));
    let (on_write, on_read) = tripwire(handle, tripped.clone());
    let link = Link::new(
        Box::new(Watched {
            inner: reader,
            watch: on_read,
        }),
        Box::new(Watched {
            inner: writer,
            watch: on_write,
        }),
        "serial with a tripwire",
    );
    let mut cut = guest.session_over(link).await;
    cut.become_root(&guest.user, Some(&Secret::new(guest.password.clone())))
        .await
        .expect("sudo");
    let result = rescue(&mut cut, &options(&guest), &mut |_, _| true).await;
    assert!(tripped.load(Ordering::SeqCst), "the link was never cut");
    assert!(
        result.is_err(),
        "a rescue across a cut link reported success"
    );
    drop(cut);

    // The script goes on without its console; give it time to end, then look. (Attaching
    // while it still runs would put a new login in the middle of it.) Its last steps restart
    // sshd where it listens again and check the banner: SSH answering is the sign, watched from
    // outside, since a fixed wait was too short on a guest slowed by other guests (45 s at load
    // 5). A script that never gets there leaves the look below to say what is wrong.
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(300)
        && tokio::task::block_in_place(|| guest.ssh_works()).is_err()
    {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    tokio::time::sleep(Duration::from_secs(15)).await;
    let mut session = guest.root_session().await;
    sh(&mut session, "sshd -t").await;
    let report = rescue(&mut session, &options(&guest), &mut |_, _| true)
        .await
        .expect("the next rescue");
    assert!(report.verified, "{report}");
    assert!(report.after.is_empty(), "{report}");
    session.leave().await.unwrap();
    tokio::task::block_in_place(|| guest.ssh_works()).expect("SSH after the second rescue");
}

async fn sha256_and_stat(session: &mut Session, paths: &str) -> String {
    sh(
        session,
        &format!(
            "for p in {paths}; do sha256sum \"$p\" 2>/dev/null; stat -c '%n %a %u %g' \"$p\"; done"
        ),
    )
    .await
}

/// The breaks keep sshd answering: an undo that would leave sshd unable to answer (a
/// configuration sshd -t rejects) is itself put back by the plan's safety net, by design.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_takes_a_rescue_back_byte_for_byte() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    let paths = "/etc/ssh/sshd_config /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_rsa_key \
                 /home/azureuser /home/azureuser/.ssh /home/azureuser/.ssh/authorized_keys /etc/passwd";
    sh(
        &mut session,
        "echo 'AllowUsers nobody' >> /etc/ssh/sshd_config; chmod 0666 /home/azureuser/.ssh/authorized_keys; \
         chmod 0777 /home/azureuser; usermod -s /usr/sbin/nologin azureuser; systemctl restart ssh",
    )
    .await;
    let broken = sha256_and_stat(&mut session, paths).await;

    let report = rescue(&mut session, &options(&guest), &mut |_, _| true)
        .await
        .expect("rescue");
    assert!(report.verified, "{report}");
    tokio::task::block_in_place(|| guest.ssh_works()).expect("SSH after the rescue");
    assert_ne!(sha256_and_stat(&mut session, paths).await, broken);

    for backup in report.backups.iter().rev() {
        let plan: Plan = Undo {
            backup: Some(BackupId::parse(backup.id.as_str()).unwrap()),
        }
        .plan();
        let outcome = plan.apply(&mut session).await.expect("undo");
        assert!(!outcome.restored.is_empty(), "{outcome}");
    }
    assert_eq!(
        sha256_and_stat(&mut session, paths).await,
        broken,
        "undo did not restore the files exactly"
    );
    session.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playbook_rescues_the_reachable_target_and_reports_the_other() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    sh(&mut session, "systemctl stop ssh").await;
    session.leave().await.unwrap();
    let dir = std::env::temp_dir().join(format!("lifeline-playbook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let playbook = dir.join("fleet.toml");
    std::fs::write(
        &playbook,
        format!(
            "[defaults]\nuser = \"{user}\"\npassword_env = \"GUEST_PW\"\nparallel = 2\n\n\
             [[target]]\nname = \"guest\"\nserial = \"unix:{serial}\"\nverify_host = \"127.0.0.1:{port}\"\n\n\
             [[target]]\nname = \"gone\"\nserial = \"unix:{dir}/no-such.sock\"\n",
            user = guest.user,
            serial = guest.serial.display(),
            port = guest.ssh_port,
            dir = dir.display(),
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["-o", "json", "rescue", "--yes", "--targets"])
        .arg(&playbook)
        .env("GUEST_PW", &guest.password)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(report["summary"]["targets"], 2);
    assert_eq!(report["summary"]["ok"], 1);
    let guest_result = &report["targets"][0];
    assert_eq!(guest_result["name"], "guest");
    assert_eq!(guest_result["ok"], true, "{guest_result:#}");
    assert_eq!(guest_result["operations"][0]["rescue"]["verified"], true);
    // The playbook's login password proves a password login at its verify_host.
    let login = &guest_result["operations"][0]["rescue"]["login"][0];
    assert_eq!(login["from"], "here", "{guest_result:#}");
    assert!(
        login["proven"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "password_login"),
        "{guest_result:#}"
    );
    let gone = &report["targets"][1];
    assert_eq!(gone["name"], "gone");
    assert_eq!(gone["ok"], false);
    assert_eq!(gone["exit_code"], 74, "{gone:#}");
    assert!(
        gone["error"].as_str().unwrap().contains("no-such.sock"),
        "{gone:#}"
    );
    tokio::task::block_in_place(|| guest.ssh_works()).expect("SSH after the playbook");
    std::fs::remove_dir_all(dir).ok();
}

/// The user's shadow entry gone (as when /etc/shadow comes back from a backup older than the
/// account): PAM's account check refuses their every login, by key and by password. The rescue
/// makes the entry again with the password it was given, and both logins work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_shadow_entry_is_made_again_with_the_password_given() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    sh(
        &mut session,
        &format!("sed -i '/^{}:/d' /etc/shadow", guest.user),
    )
    .await;
    let given = RescueOptions {
        password: Some(Secret::new(guest.password.clone())),
        ..options(&guest)
    };
    assert!(tokio::task::block_in_place(|| guest.ssh_works()).is_err());
    let report = rescue(&mut session, &given, &mut |_, _| true)
        .await
        .expect("rescue");
    eprintln!("{report}");
    assert!(report.verified, "{report}");
    let text = report.to_string();
    assert!(text.contains("SSH309") && !text.contains("$6$"), "{text}");
    session.leave().await.unwrap();
    tokio::task::block_in_place(|| guest.ssh_works()).expect("SSH by key and password");
}

/// sshd answers, its banner comes back and the handshake completes, but every session runs a
/// forced command that fails (one no rule judges, unlike `false` or `nologin`): no login works,
/// so the rescue must not call SSH verified, and the command line exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_command_that_fails_every_session_is_not_verified() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    sh(
        &mut session,
        "echo 'ForceCommand exit 3' > /etc/ssh/sshd_config.d/00-forced.conf && systemctl restart ssh",
    )
    .await;
    let report = rescue(&mut session, &options(&guest), &mut |_, _| true)
        .await
        .expect("rescue");
    eprintln!("{report}");
    assert!(!report.verified, "{report}");
    let last = report.login.last().expect("a login check");
    assert!(!last.logged_in(), "{report}");
    assert!(report.to_string().contains("SSH still FAILS"), "{report}");
    session.leave().await.unwrap();

    let verify = format!("127.0.0.1:{}", guest.ssh_port);
    let out = lifeline(
        &guest,
        &["--user", &guest.user, "--password-env", "GUEST_PW"]
            .into_iter()
            .chain(verified_rescue(&guest, &verify))
            .collect::<Vec<_>>(),
        &[("GUEST_PW", &guest.password)],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("`true` exited 3"), "{stdout}");
}

/// Options on sshd's command line, from a unit drop-in and from /etc/default/ssh, move the port
/// and shut the user out while sshd_config looks right: the rescue takes exactly those
/// overrides out (the drop-in goes, SSHD_OPTS is emptied) and a login proves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_on_sshds_command_line_are_taken_out() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    sh(
        &mut session,
        "mkdir -p /etc/systemd/system/ssh.service.d && \
         printf '[Service]\\nExecStart=\\nExecStart=/usr/sbin/sshd -D -p 2222 $SSHD_OPTS\\n' \
           > /etc/systemd/system/ssh.service.d/port.conf && \
         echo 'SSHD_OPTS=\"-o AllowUsers=nobody\"' >> /etc/default/ssh && \
         systemctl daemon-reload && systemctl restart ssh",
    )
    .await;
    let report = rescued_once_ssh_fails(&mut session, &guest).await;
    assert!(report.before.iter().any(|f| f.id == "SSH011"), "{report}");
    assert!(report.verified, "{report}");
    let left = sh(
        &mut session,
        "ls /etc/systemd/system/ssh.service.d/ 2>/dev/null; grep SSHD_OPTS /etc/default/ssh",
    )
    .await;
    assert!(!left.contains("port.conf"), "{left}");
    assert!(!left.contains("AllowUsers"), "{left}");
    session.leave().await.unwrap();
    tokio::task::block_in_place(|| guest.ssh_works()).expect("SSH after the rescue");
}

/// libwrap, which sshd loads, emptied (as the breakage generator's truncations leave a library:
/// sshd cannot start, `file too short`): the rescue names the file and its package, fetches
/// that exact version from Debian's archive where it runs (the guest has no route out), sends
/// the library because its checksum is the one the guest's dpkg recorded, and a login from
/// here proves SSH. Needs deb.debian.org, as the guest image's build does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_library_comes_back_from_its_package() {
    const LIB: &str = "/lib/x86_64-linux-gnu/libwrap.so.0";
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    let record = sh(
        &mut session,
        &format!(
            "f=$(readlink -f {LIB}) && grep \" ${{f#/}}\\$\" /var/lib/dpkg/info/libwrap0*.md5sums | cut -d' ' -f1 && \
             : > \"$f\" && \
             systemctl restart ssh 2>/dev/null; true"
        ),
    )
    .await;
    let record = record.lines().next().unwrap_or_default().to_string();
    assert_eq!(record.len(), 32, "dpkg's record of libwrap: {record:?}");
    let report = rescued_once_ssh_fails(&mut session, &guest).await;
    let found = report.before.iter().find(|f| f.id == "SSH010");
    let found = found.unwrap_or_else(|| panic!("SSH010 not found: {report}"));
    assert!(
        found
            .evidence
            .iter()
            .any(|e| e.contains("libwrap0") && e.contains("deb.debian.org") && e.contains(&record)),
        "{found:?}"
    );
    assert!(report.verified, "{report}");
    let now = sh(&mut session, &format!("md5sum < $(readlink -f {LIB})")).await;
    assert!(now.starts_with(&record), "{now} vs dpkg's {record}");
    session.leave().await.unwrap();
    tokio::task::block_in_place(|| guest.ssh_works()).expect("SSH after the rescue");
}

/// libwrap's soname link deleted (the breakage generator's `delete` of a library sshd loads:
/// ldd names the link, and the file behind it stays whole): sshd cannot start ("not found"),
/// no checksum is wrong, and the rescue's ldconfig makes the link again; a login proves SSH.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_library_link_is_made_again() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    sh(
        &mut session,
        "rm /lib/x86_64-linux-gnu/libwrap.so.0 && systemctl restart ssh 2>/dev/null; true",
    )
    .await;
    let report = rescued_once_ssh_fails(&mut session, &guest).await;
    assert!(report.before.iter().any(|f| f.id == "SSH010"), "{report}");
    assert!(report.verified, "{report}");
    let link = sh(&mut session, "readlink /lib/x86_64-linux-gnu/libwrap.so.0").await;
    assert_eq!(link.trim(), "libwrap.so.0.7.6");
    session.leave().await.unwrap();
    tokio::task::block_in_place(|| guest.ssh_works()).expect("SSH after the rescue");
}
