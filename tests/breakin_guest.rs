//! The `break-in` rung on the real guest booting through GRUB on its serial console (a hidden
//! menu, timeout 0, as Azure's Ubuntu images have): lifeline restarts it with `--reset-cmd`,
//! catches GRUB with Esc, boots `init=/bin/sh`, adds a one-time login, lets the boot go on,
//! rescues SSH, and removes the login. Each reboot costs minutes under TCG: the tests share
//! one GRUB guest, one at a time, reset to its clean state before each.

mod support;

use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use support::{Guest, SshAuth, sh};
use tokio::sync::{Mutex, MutexGuard};

/// The GRUB guest of this binary (hidden menu), handed to one test at a time after a reset.
async fn grub_guest() -> MutexGuard<'static, Guest> {
    static GUEST: OnceLock<Mutex<Guest>> = OnceLock::new();
    shared_grub_guest(&GUEST, "hidden").await
}

/// A GRUB guest whose menu shows with a countdown, as RHEL's images have it.
async fn visible_menu_guest() -> MutexGuard<'static, Guest> {
    static GUEST: OnceLock<Mutex<Guest>> = OnceLock::new();
    shared_grub_guest(&GUEST, "menu").await
}

/// The guest in `cell`, booted on first use with GRUB's menu of `kind`, after a reset.
async fn shared_grub_guest(
    cell: &'static OnceLock<Mutex<Guest>>,
    kind: &str,
) -> MutexGuard<'static, Guest> {
    let guest = cell.get_or_init(|| {
        let name = format!("bi{}{}", &kind[..1], std::process::id());
        Mutex::new(Guest::boot_with(
            &name,
            &["--grub", kind, "--timeout", "300"],
        ))
    });
    let guard = guest.lock().await;
    guard.reset();
    guard
}

/// Breaks the guest as root with `command` and checks that SSH by key fails.
async fn break_with(guest: &Guest, command: &str) {
    guest.as_root(command).await;
    assert!(
        guest.ssh(SshAuth::Key, "true").is_err(),
        "the break did not take"
    );
}

/// Runs lifeline on the guest's serial console as its user with `args` (the password is in
/// GUEST_PW for the flags that name it); its output and JSON report.
fn lifeline(guest: &Guest, args: &[&str]) -> (Output, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["--serial", &format!("unix:{}", guest.serial.display())])
        .args(["--user", &guest.user, "-o", "json"])
        .args(args)
        .env("GUEST_PW", &guest.password)
        .stdin(Stdio::null())
        .output()
        .expect("run lifeline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}); stderr: {stderr}"));
    (out, json)
}

/// `lifeline rescue` with a break-in allowed (`scripts/guest power-reset` as the reset
/// button) and `args`; returns its output and JSON report.
fn rescue_by_break_in(guest: &Guest, args: &[&str]) -> (Output, serde_json::Value) {
    let reset = guest.reset_command();
    let mut all = vec!["--allow-reboot", "--reset-cmd", &reset, "rescue", "--yes"];
    all.extend(args);
    let (out, json) = lifeline(guest, &all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(json["access"]["rung"], "break-in", "{json}\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{json}\n{stderr}");
    (out, json)
}

/// How many one-time logins /etc/passwd and /etc/shadow hold, as `grep -c` says.
const ONE_TIME_LOGINS: &str = "grep -c '^lifeline-' /etc/passwd /etc/shadow || true";
const NONE_LEFT: &str = "/etc/passwd:0\n/etc/shadow:0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_account_without_roots_password_is_rescued_by_the_break_in() {
    rescue_a_locked_account(&*grub_guest().await).await;
}

/// GRUB's visible menu with its countdown, as RHEL's images show it: the break-in stops the
/// countdown and edits the default entry as it does behind a hidden menu. A GRUB guest of its
/// own and a reboot: runs with `scripts/test --all`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a second GRUB guest and a reboot (minutes under TCG): runs with scripts/test --all"]
async fn a_locked_account_is_rescued_through_a_visible_grub_menu() {
    rescue_a_locked_account(&*visible_menu_guest().await).await;
}

/// The demo's locked account (sshd without PAM, so the lock shuts SSH too) rescued by the
/// break-in: SSH by key and password after it, no one-time login left.
async fn rescue_a_locked_account(guest: &Guest) {
    break_with(guest, &guest.lock_out()).await;
    rescue_by_break_in(guest, &["--password-env", "GUEST_PW"]);
    guest.ssh_works().expect("SSH after the rescue");

    let mut session = guest.root_login().await;
    let left = sh(&mut session, ONE_TIME_LOGINS).await;
    session.leave().await.expect("leave the console");
    assert_eq!(left.trim(), NONE_LEFT, "a one-time login remains");
}

/// A key-only VM as Azure makes them: the user has no password (`*`) and sudo without one
/// (cloud-init's drop-in), root is locked; then its authorized_keys is deleted. No credential
/// the operator holds logs in: the break-in's one-time login is the only way, and
/// `--ssh-key-file` brings the operator's key back.
///
/// And libselinux is corrupted (as the breakage generator's seed 3036 did): login, sshd and
/// the offline shell's own `mount`, `sed` and `mv` load it, so the offline shell must put it
/// back from its package (fetched from deb.debian.org) before anything else can run. And
/// /bin/bash, the user's shell, is deleted (seed 5052): it goes back from its package, the
/// user keeping the shell they had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_only_user_whose_key_was_deleted_gets_it_back_through_the_break_in() {
    let guest = grub_guest().await;
    break_with(
        &guest,
        &format!(
            "echo '{u} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-cloud-init-users; \
             usermod -p '*' {u}; passwd -l root; rm /home/{u}/.ssh/authorized_keys; \
             f=$(readlink -f /lib/x86_64-linux-gnu/libselinux.so.1) && \
             printf 'x#%%\\000garbage\\n' | dd of=\"$f\" bs=1 seek=1260 conv=notrunc 2>/dev/null; \
             rm /bin/bash",
            u = guest.user
        ),
    )
    .await;
    let public = guest.key.with_extension("pub");
    let key = Command::new("ssh-keygen")
        .args(["-y", "-f"])
        .arg(&guest.key)
        .output()
        .expect("run ssh-keygen -y");
    std::fs::write(&public, &key.stdout).expect("write the public key");
    let verify_host = format!("127.0.0.1:{}", guest.ssh_port);
    let (_, json) = rescue_by_break_in(
        &guest,
        &[
            "--ssh-key-file",
            public.to_str().expect("a UTF-8 path"),
            "--verify-host",
            &verify_host,
            "--verify-key",
            guest.key.to_str().expect("a UTF-8 path"),
        ],
    );
    let login = &json["access"]["tried"][0];
    assert_eq!(
        (&login["rung"], &login["outcome"]),
        (&"login".into(), &"failed".into()),
        "the login rung first, refused: {login}"
    );
    let broke_in = json["access"]["tried"]
        .as_array()
        .and_then(|tried| tried.last())
        .and_then(|last| last["why"].as_str())
        .unwrap_or_default();
    assert!(
        broke_in
            .contains("put back from their packages: /usr/lib/x86_64-linux-gnu/libselinux.so.1"),
        "the break-in did not put libselinux back: {json}"
    );

    // Root is locked here and the user has no password: /etc/passwd is what the user can
    // read (the one-time login's shadow line goes with it; the locked-account test reads both).
    // The command runs in the user's shell: bash, put back.
    let out = guest
        .ssh(
            SshAuth::Key,
            "grep -c '^lifeline-' /etc/passwd; getent passwd \"$USER\" | cut -d: -f7; echo \"bash ${BASH_VERSION%%.*}\"",
        )
        .expect("SSH by key after the rescue");
    let out = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["0", "/bin/bash", "bash 5"],
        "a one-time login remains, or the user's shell is not bash: {json}"
    );
    // bash came back with its package's mode: nothing was left for the online rounds to fix.
    assert!(
        !json["before"].to_string().contains("SSH012"),
        "bash came back without its mode: {json}"
    );
}

/// A data disk gone from a running VM: its /etc/fstab entry without `nofail` would stop the
/// next boot. A rescue (the login works) adds `nofail` to that line alone, after a backup, and
/// `undo` puts the line back. No reboot: the boot that stops is the emergency-mode case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_fstab_entry_for_a_missing_disk_gets_nofail_and_undo_puts_it_back() {
    const ENTRY: &str = "UUID=0a3c1d2e-5f60-4b7c-8d9e-00000000dead /data ext4 defaults 0 2";
    let guest = grub_guest().await;
    guest
        .as_root(&format!("mkdir -p /data && echo '{ENTRY}' >> /etc/fstab"))
        .await;
    // The user reads /etc/fstab over SSH: the console stays free for lifeline.
    let entry = || {
        let out = guest
            .ssh(SshAuth::Key, "grep /data /etc/fstab")
            .expect("SSH by key");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };

    let (out, json) = lifeline(&guest, &["rescue", "--yes", "--password-env", "GUEST_PW"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{json}\n{stderr}");
    assert_eq!(json["access"]["rung"], "login", "{json}");
    assert_eq!(json["before"][0]["id"], "SSH506", "{json}");
    assert_eq!(json["after"], serde_json::json!([]), "{json}");
    assert_eq!(
        entry(),
        ENTRY.replace("defaults", "defaults,nofail"),
        "{json}"
    );

    let backup = json["backups"][0]["id"].as_str().expect("a backup id");
    let (out, undone) = lifeline(
        &guest,
        &[
            "undo",
            "--backup",
            backup,
            "--yes",
            "--password-env",
            "GUEST_PW",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{undone}");
    assert_eq!(entry(), ENTRY, "{undone}");
}

/// Restarts the guest as its power button would (`scripts/guest power-reset`).
fn power_reset(guest: &Guest) {
    let reset = Command::new(support::repo_root().join("scripts/guest"))
        .args(["power-reset", "--name", &guest.name])
        .env("LIFELINE_RUN_DIR", guest.run_dir())
        .status()
        .expect("run scripts/guest power-reset");
    assert!(reset.success(), "power-reset failed");
}

/// Restarts the guest with `scripts/guest power-reset` and waits until its console shows
/// `needle`; the console is closed again before this returns.
fn power_reset_until(guest: &Guest, needle: &str, key: Option<&[u8]>) {
    let mut console =
        std::os::unix::net::UnixStream::connect(&guest.serial).expect("open the serial socket");
    power_reset(guest);
    let limit = std::time::Duration::from_secs(420);
    assert!(
        read_until(&mut console, needle, key, limit),
        "{needle:?} not on the console within {limit:?} of the reset"
    );
}

/// A data disk gone while the VM was off, as after a detach: its /etc/fstab entry has no
/// `nofail` and root is locked (a VM created with a key), so the boot stops in emergency mode
/// with "Cannot open access to console, the root account is locked". No login works there.
/// lifeline breaks in; in the offline shell the probe finds the entry and the fix adds
/// `nofail` (backed up); the boot goes on; the rescue after it proves SSH. The entry waits 5 s
/// for its disk rather than systemd's 90 s, to spare two minutes of TCG. Two reboots: runs
/// with `scripts/test --all`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "two reboots of the GRUB guest (minutes under TCG): runs with scripts/test --all"]
async fn a_vm_in_emergency_mode_on_a_missing_disk_boots_on_after_an_offline_fix() {
    const ENTRY: &str = "UUID=0a3c1d2e-5f60-4b7c-8d9e-00000000beef /data ext4 defaults,x-systemd.device-timeout=5s 0 2";
    let guest = grub_guest().await;
    // A hard reset follows: sync, or the changes may not be on the disk.
    guest
        .as_root(&format!(
            "mkdir -p /data && echo '{ENTRY}' >> /etc/fstab && usermod -p '*' root && sync"
        ))
        .await;
    power_reset_until(&guest, "root account is locked", None);

    let (_, json) = rescue_by_break_in(&guest, &["--password-env", "GUEST_PW"]);
    assert_eq!(json["offline"]["pid1"], "sh", "{json}");
    let fixed = offline_fixes(&json);
    assert_eq!(fixed, ["SSH506"], "{json}");
    let outcome = &json["offline"]["outcome"];
    assert!(outcome["backup"]["id"].is_string(), "no backup: {json}");
    assert_eq!(json["backups"][0], outcome["backup"], "{json}");
    guest.ssh_works().expect("SSH after the rescue");

    // Root is locked: the user reads what is left over SSH.
    let out = guest
        .ssh(
            SshAuth::Key,
            "grep /data /etc/fstab; grep -c '^lifeline-' /etc/passwd || true",
        )
        .expect("SSH by key after the rescue");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        seen.trim(),
        format!(
            "{}\n0",
            ENTRY.replace("device-timeout=5s", "device-timeout=5s,nofail")
        ),
        "the entry without nofail, or a one-time login left: {json}"
    );
}

/// Reads `stream` until `needle` has arrived, pressing `key` every 150 ms meanwhile when one
/// is given; false when it has not arrived within `limit`.
fn read_until(
    stream: &mut std::os::unix::net::UnixStream,
    needle: &str,
    key: Option<&[u8]>,
    limit: std::time::Duration,
) -> bool {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + limit;
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    stream
        .set_read_timeout(Some(std::time::Duration::from_millis(150)))
        .expect("a read timeout");
    while !String::from_utf8_lossy(&seen).contains(needle) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        if let Some(key) = key {
            stream.write_all(key).expect("type on the console");
        }
        match stream.read(&mut chunk) {
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("reading the console: {e}"),
        }
    }
    true
}

/// A console someone left at GRUB's command line (`c` at the menu): nothing logs in there and
/// the break-in cannot edit an entry, so lifeline names the state and the next step and exits
/// 75. One reboot: runs with `scripts/test --all`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a reboot of the GRUB guest (minutes under TCG): runs with scripts/test --all"]
async fn a_console_left_at_grubs_prompt_is_named_with_the_next_step() {
    use std::io::Write;
    let guest = grub_guest().await;
    let mut console =
        std::os::unix::net::UnixStream::connect(&guest.serial).expect("open the serial socket");
    power_reset(&guest);
    let minutes = std::time::Duration::from_secs(180);
    assert!(
        read_until(&mut console, "GNU GRUB", Some(b"\x1b"), minutes),
        "no GRUB menu after the reset"
    );
    // `c` once the menu has settled (a queued Esc would swallow it), again if no prompt.
    let at_prompt = (0..3).any(|_| {
        std::thread::sleep(std::time::Duration::from_secs(2));
        console.write_all(b"c").expect("type on the console");
        read_until(
            &mut console,
            "grub>",
            None,
            std::time::Duration::from_secs(10),
        )
    });
    assert!(at_prompt, "no grub> after pressing c at the menu");
    drop(console);

    let (out, json) = lifeline(
        &guest,
        &["--password-env", "GUEST_PW", "exec", "--root", "--", "true"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(json["console"]["state"], "grub_prompt", "{json}");
    assert_eq!(out.status.code(), Some(75), "{json}\n{stderr}");
}

/// Corrupts the PAM module `module` as scripts/breakages' seed 403 did (bytes written into
/// it at offset 2250), or deletes it with `delete`, then syncs: a hard reset follows.
fn damage_pam_module(module: &str, delete: bool) -> String {
    let damage = if delete {
        "rm -f \"$1\"".to_string()
    } else {
        "printf 'x#%\\000garbage\\n' | dd of=\"$1\" bs=1 seek=2250 conv=notrunc 2>/dev/null"
            .to_string()
    };
    format!("set -- /usr/lib/*/security/{module}; [ -f \"$1\" ] && {damage} && sync")
}

/// No package archive answers here: a damaged PAM module cannot be fetched, so SSH310 falls
/// back to what it does without a copy (by default it fetches the module's package, as the
/// breakage draws 1415, 1427, 1429 and 1503 show).
const NO_MIRROR: &str = "http://127.0.0.1:9/";

/// A PAM module the console's login stack loads, corrupted (scripts/breakages' seed 403):
/// the console refuses every login, the break-in's one-time login too, and SSH fails after
/// authentication. In the break-in's offline shell SSH310 comments out the session lines that
/// load it (apt's cache holds no copy on this guest, and no mirror answers); the boot goes on, the one-time login
/// gets in, the rescue proves SSH, and no one-time login is left. A reboot and the boot after
/// it: runs with `scripts/test --all`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a reboot of the GRUB guest and the boot after it (minutes under TCG): runs with scripts/test --all"]
async fn a_corrupted_pam_module_of_the_login_stack_is_set_aside_offline() {
    let guest = grub_guest().await;
    break_with(&guest, &damage_pam_module("pam_env.so", false)).await;
    let (_, json) = rescue_by_break_in(
        &guest,
        &["--password-env", "GUEST_PW", "--package-mirror", NO_MIRROR],
    );
    let fixed = offline_fixes(&json);
    assert!(fixed.contains(&"SSH310"), "{json}");
    guest.ssh_works().expect("SSH after the rescue");
    let out = guest
        .ssh(
            SshAuth::Key,
            "grep -c 'lifeline rescue: pam_env.so cannot be loaded' /etc/pam.d/login; \
             grep -c '^lifeline-' /etc/passwd || true",
        )
        .expect("SSH by key after the rescue");
    let seen = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<&str> = seen.split_whitespace().collect();
    assert!(
        counts.len() == 2 && counts[0] != "0" && counts[1] == "0",
        "pam_env's lines in /etc/pam.d/login not set aside, or a one-time login left: \
         {seen}\n{json}"
    );
}

/// A PAM module every login runs, deleted (pam_permit.so, the end of Debian's auth and
/// account stacks; pam_deny.so would do nothing, jumped over on success), and no mirror to
/// fetch it from: nothing may comment it out, so the break-in's one-time login is refused
/// after the boot too. The rescue fails,
/// but a second restart removes the one-time login offline: no uid-0 login is left behind.
/// Two reboots and the boots after them: runs with `scripts/test --all`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "two reboots of the GRUB guest (minutes under TCG): runs with scripts/test --all"]
async fn a_one_time_login_refused_after_the_boot_is_removed_by_a_second_restart() {
    let guest = grub_guest().await;
    break_with(&guest, &damage_pam_module("pam_permit.so", true)).await;
    let reset = guest.reset_command();
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["--serial", &format!("unix:{}", guest.serial.display())])
        .args([
            "--user",
            &guest.user,
            "--allow-reboot",
            "--reset-cmd",
            &reset,
        ])
        .args(["rescue", "--yes", "--password-env", "GUEST_PW"])
        .args(["--package-mirror", NO_MIRROR])
        .env("GUEST_PW", &guest.password)
        .stdin(Stdio::null())
        .output()
        .expect("run lifeline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    // The removal's own check: it succeeds only when no one-time login is left.
    assert!(
        stderr.contains(
            "the one-time login was removed offline after a second restart (removed: lifeline-"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("remains in /etc/passwd"), "{stderr}");
}

/// The rules whose fixes the break-in's offline shell applied, as the rescue's JSON lists them.
fn offline_fixes(json: &serde_json::Value) -> Vec<&str> {
    json["offline"]["fixes"]
        .as_array()
        .expect("the offline fixes")
        .iter()
        .filter_map(|fix| fix["id"].as_str())
        .collect()
}

/// A library PID 1 loads, emptied as scripts/breakages' seed 108 left it: systemd dies when it
/// next touches it, the kernel panics, and sshd (which loads it through libsystemd) could not
/// start anyway. The rescue restarts the VM from the panic, breaks in, and in the offline shell
/// SSH010 puts liblzma back from its package, fetched from Debian's archive where lifeline runs
/// and checked against dpkg's record; the boot goes on, SSH works, and no one-time login is
/// left. A reboot and the boot after it: runs with `scripts/test --all`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a reboot of the GRUB guest and the boot after it (minutes under TCG): runs with scripts/test --all"]
async fn a_library_pid_1_loads_is_put_back_offline_after_the_panic() {
    let guest = grub_guest().await;
    // The console may die under the command (the panic): its answer, and the leave, are
    // not waited for as a plain break's are.
    let mut session = guest.root_login().await;
    let _ = session
        .run(
            "f=$(readlink -f /lib/x86_64-linux-gnu/liblzma.so.5) && : > \"$f\" && sync; \
             systemctl daemon-reload; systemctl restart ssh.service; true",
        )
        .await;
    let _ = session.leave().await;
    assert!(
        guest.ssh(SshAuth::Key, "true").is_err(),
        "the break did not take"
    );
    let (_, json) = rescue_by_break_in(&guest, &["--password-env", "GUEST_PW"]);
    eprintln!("console: {}", json["access"]["console"]);
    assert!(offline_fixes(&json).contains(&"SSH010"), "{json}");
    guest.ssh_works().expect("SSH after the rescue");
    let left = guest.as_root(ONE_TIME_LOGINS).await;
    assert_eq!(left.trim(), NONE_LEFT, "a one-time login remains");
}
