//! The access ladder on the real guest, through the `lifeline` binary: logins that are refused,
//! a sudo that refuses, a password that must be changed. Each ends with SSH working and the
//! report naming the rung that got in.

mod support;

use std::process::{Command, Output, Stdio};
use support::ssh_password::{Login, ssh_as};
use support::{Guest, shared_guest};

/// Which rung's credential lifeline gets besides the login.
enum Allow<'a> {
    RootPassword,
    NewPassword(&'a str),
}

/// Runs lifeline on the guest's serial console with its login and one more credential.
fn lifeline(guest: &Guest, allow: Allow, args: &[&str]) -> (Output, serde_json::Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lifeline"));
    command
        .args(["--serial", &format!("unix:{}", guest.serial.display())])
        .args([
            "--user",
            &guest.user,
            "--password-env",
            "GUEST_PW",
            "-o",
            "json",
        ])
        .env("GUEST_PW", &guest.password)
        .stdin(Stdio::null());
    match allow {
        Allow::RootPassword => command
            .args(["--root-password-env", "GUEST_EXTRA_PW"])
            .env("GUEST_EXTRA_PW", &guest.root_password),
        Allow::NewPassword(new) => command
            .args(["--new-password-env", "GUEST_EXTRA_PW"])
            .env("GUEST_EXTRA_PW", new),
    };
    let out = command.args(args).output().expect("run lifeline");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON from lifeline ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, json)
}

fn rung_failed(json: &serde_json::Value, rung: &str) -> String {
    let tried = json["access"]["tried"].as_array().expect("access.tried");
    let attempt = tried
        .iter()
        .find(|a| a["rung"] == rung)
        .unwrap_or_else(|| panic!("{rung} not tried: {json}"));
    assert_eq!(attempt["outcome"], "failed", "{attempt}");
    attempt["why"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_account_is_rescued_with_roots_password() {
    let guest = shared_guest().await;
    guest.as_root(&guest.lock_out()).await;
    assert!(guest.ssh_works().is_err(), "the break did not take");
    let (out, json) = lifeline(&guest, Allow::RootPassword, &["rescue", "--yes"]);
    assert_eq!(json["access"]["rung"], "root", "{json}");
    assert!(rung_failed(&json, "login").contains("refused"));
    assert_eq!(out.status.code(), Some(0), "{json}");
    guest.ssh_works().expect("SSH after the rescue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sudo_that_refuses_climbs_to_su() {
    let guest = shared_guest().await;
    guest
        .as_root(
            // sudo skips a line it cannot parse: the user's rule goes, and with the sudo group
            // gone too nothing lets the user in.
            &format!(
                "printf '%s ALL=(ALL) ALL,\\n' {u} > /etc/sudoers.d/90-{u}; gpasswd -d {u} sudo",
                u = guest.user
            ),
        )
        .await;
    let (out, json) = lifeline(&guest, Allow::RootPassword, &["rescue", "--yes"]);
    assert_eq!(json["access"]["rung"], "root", "{json}");
    assert!(rung_failed(&json, "login").contains("sudo refused"));
    assert_eq!(out.status.code(), Some(0), "{json}");
    guest.ssh_works().expect("SSH after the rescue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_password_is_changed_at_the_console() {
    let guest = shared_guest().await;
    guest.as_root(&format!("chage -d 0 {}", guest.user)).await;
    let new = "Fresh-console-pw-42";
    let (out, json) = lifeline(
        &guest,
        Allow::NewPassword(new),
        &["exec", "--root", "--", "id -u"],
    );
    assert_eq!(json["access"]["rung"], "expired", "{json}");
    assert!(rung_failed(&json, "login").contains("expired"));
    assert_eq!(json["output"], "0\n", "{json}");
    assert_eq!(out.status.code(), Some(0));
    let who = ssh_as(&guest, &guest.user, Login::Password(new), "id -un")
        .expect("SSH with the new password");
    assert_eq!(String::from_utf8_lossy(&who.stdout).trim(), guest.user);
    guest
        .ssh(support::SshAuth::Key, "true")
        .expect("SSH by key");
}
