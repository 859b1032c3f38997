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

/// The GRUB guest of this binary, handed to one test at a time after a reset.
async fn grub_guest() -> MutexGuard<'static, Guest> {
    static GUEST: OnceLock<Mutex<Guest>> = OnceLock::new();
    let guest = GUEST.get_or_init(|| {
        let name = format!("bi{}", std::process::id());
        Mutex::new(Guest::boot_with(
            &name,
            &["--grub", "hidden", "--timeout", "300"],
        ))
    });
    let guard = guest.lock().await;
    guard.reset();
    guard
}

/// Breaks the guest as root with `command` and checks that SSH by key fails.
async fn break_with(guest: &Guest, command: &str) {
    let mut session = guest.root_login().await;
    sh(&mut session, command).await;
    session.leave().await.expect("leave the console");
    assert!(
        guest.ssh(SshAuth::Key, "true").is_err(),
        "the break did not take"
    );
}

/// `lifeline rescue` with a break-in allowed (`scripts/guest power-reset` as the reset
/// button) and `args`; returns its output and JSON report.
fn rescue_by_break_in(guest: &Guest, args: &[&str]) -> (Output, serde_json::Value) {
    // The reset command gets no more of lifeline's environment than a `cmd:` console: it
    // names the guests' directory itself.
    let run_dir = guest
        .serial
        .parent()
        .and_then(|state| state.parent())
        .expect("the guest's state directory");
    let reset = format!(
        "LIFELINE_RUN_DIR='{}' {} power-reset --name {}",
        run_dir.display(),
        support::repo_root().join("scripts/guest").display(),
        guest.name
    );
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["--serial", &format!("unix:{}", guest.serial.display())])
        .args(["--user", &guest.user])
        .args(["--allow-reboot", "--reset-cmd", &reset, "-o", "json"])
        .args(["rescue", "--yes"])
        .args(args)
        .env("GUEST_PW", &guest.password)
        .stdin(Stdio::null())
        .output()
        .expect("run lifeline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}); stderr: {stderr}"));
    assert_eq!(json["access"]["rung"], "break-in", "{json}\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{json}\n{stderr}");
    (out, json)
}

/// How many one-time logins /etc/passwd and /etc/shadow hold, as `grep -c` says.
const ONE_TIME_LOGINS: &str = "grep -c '^lifeline-' /etc/passwd /etc/shadow || true";
const NONE_LEFT: &str = "/etc/passwd:0\n/etc/shadow:0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_account_without_roots_password_is_rescued_by_the_break_in() {
    let guest = grub_guest().await;
    break_with(
        &guest,
        &format!(
            "usermod -L {u}; sed -i 's/^UsePAM yes/UsePAM no/' /etc/ssh/sshd_config; systemctl restart ssh",
            u = guest.user
        ),
    )
    .await;
    rescue_by_break_in(&guest, &["--password-env", "GUEST_PW"]);
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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_only_user_whose_key_was_deleted_gets_it_back_through_the_break_in() {
    let guest = grub_guest().await;
    break_with(
        &guest,
        &format!(
            "echo '{u} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-cloud-init-users; \
             usermod -p '*' {u}; passwd -l root; rm /home/{u}/.ssh/authorized_keys",
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

    let out = guest
        .ssh(
            SshAuth::Key,
            &format!("sudo -n sh -c \"{ONE_TIME_LOGINS}\""),
        )
        .expect("SSH by key after the rescue");
    let left = String::from_utf8_lossy(&out.stdout);
    assert_eq!(left.trim(), NONE_LEFT, "a one-time login remains");
}
