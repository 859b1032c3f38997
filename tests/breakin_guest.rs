//! The `break-in` rung on the real guest booting through GRUB on its serial console (a hidden
//! menu, timeout 0, as Azure's Ubuntu images have): lifeline restarts it with `--reset-cmd`,
//! catches GRUB with Esc, boots `init=/bin/sh`, adds a one-time login, lets the boot go on,
//! rescues SSH, and removes the login. Each reboot costs minutes under TCG: this file boots
//! its own guest and runs one scenario.

mod support;

use std::process::{Command, Stdio};
use support::{Guest, sh};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_account_without_roots_password_is_rescued_by_the_break_in() {
    let name = format!("bi{}", std::process::id());
    let guest = Guest::boot_with(&name, &["--grub", "hidden", "--timeout", "300"]);
    let mut session = guest.root_login().await;
    sh(
        &mut session,
        &format!(
            "usermod -L {u}; sed -i 's/^UsePAM yes/UsePAM no/' /etc/ssh/sshd_config; systemctl restart ssh",
            u = guest.user
        ),
    )
    .await;
    session.leave().await.expect("leave the console");
    assert!(guest.ssh_works().is_err(), "the break did not take");

    let reset = format!(
        "{} power-reset --name {name}",
        support::repo_root().join("scripts/guest").display()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["--serial", &format!("unix:{}", guest.serial.display())])
        .args(["--user", &guest.user, "--password-env", "GUEST_PW"])
        .args(["--allow-reboot", "--reset-cmd", &reset, "-o", "json"])
        .args(["rescue", "--yes"])
        .env("GUEST_PW", &guest.password)
        .stdin(Stdio::null())
        .output()
        .expect("run lifeline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}); stderr: {stderr}"));
    assert_eq!(json["access"]["rung"], "break-in", "{json}\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{json}\n{stderr}");
    guest.ssh_works().expect("SSH after the rescue");

    let mut session = guest.root_login().await;
    let left = sh(
        &mut session,
        "grep -c '^lifeline-' /etc/passwd /etc/shadow || true",
    )
    .await;
    session.leave().await.expect("leave the console");
    assert_eq!(
        left.trim(),
        "/etc/passwd:0\n/etc/shadow:0",
        "a one-time login remains"
    );
}
