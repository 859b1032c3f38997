//! SSH logins from the host as any user, with an explicit password or key. `Guest::ssh` is this
//! for the guest's own user; the remedy tests log in as users and with credentials they have
//! just created.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::support::Guest;

/// How to log in.
pub enum Login<'a> {
    Password(&'a str),
    Key(&'a Path),
}

/// Runs `command` as `user` over SSH; `Err` carries ssh's own message.
pub fn ssh_as(
    guest: &Guest,
    user: &str,
    login: Login<'_>,
    command: &str,
) -> Result<Output, String> {
    let mut cmd = Command::new("ssh");
    cmd.args([
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "NumberOfPasswordPrompts=1",
        "-p",
        &guest.ssh_port.to_string(),
    ]);
    match login {
        Login::Key(key) => {
            cmd.args([
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "PasswordAuthentication=no",
                "-i",
            ])
            .arg(key);
        }
        Login::Password(password) => {
            // ssh reads a password only from a terminal or an askpass program; the program gets
            // it from the environment, never from a command line.
            cmd.args([
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "PreferredAuthentications=password,keyboard-interactive",
            ])
            .env("SSH_ASKPASS", askpass())
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("LIFELINE_REMEDY_TEST_PASSWORD", password)
            .stdin(Stdio::null());
        }
    }
    let out = cmd
        .arg(format!("{user}@127.0.0.1"))
        .arg(command)
        .output()
        .map_err(|e| format!("could not run ssh: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "ssh as {user} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A fresh ed25519 key pair made on the host; returns the private key's path (the public key
/// is beside it, `.pub`).
pub fn new_key(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lifeline-remedy-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("key directory");
    let key = dir.join(name);
    let _ = std::fs::remove_file(&key);
    let _ = std::fs::remove_file(key.with_extension("pub"));
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
    key
}

fn askpass() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path =
            std::env::temp_dir().join(format!("lifeline-remedy-askpass-{}", std::process::id()));
        std::fs::write(
            &path,
            "#!/bin/sh\nprintf '%s\\n' \"$LIFELINE_REMEDY_TEST_PASSWORD\"\n",
        )
        .expect("write askpass");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
            .expect("chmod askpass");
        path
    })
    .clone()
}
