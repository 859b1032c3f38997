//! The operator's own side of "can't SSH", read on this machine: the private key file ssh
//! would be given (its mode and owner: OpenSSH refuses a key others can read), and what the
//! user's `known_hosts` holds for the VM's address (an entry left from before a rebuild makes
//! ssh refuse the new host key), and that key's fingerprint (to look for among the user's
//! authorized keys on the guest). Judged by the SSH8xx rules ([`crate::rules::client`]).

use serde::Serialize;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Serialize)]
pub struct ClientFacts {
    pub key: Option<KeyFileState>,
    /// The public half of that key, by fingerprint.
    pub login_key: Option<LoginKey>,
    /// The address the operator connects to (`HOST:PORT`), as known_hosts was searched for it.
    pub address: Option<String>,
    /// known_hosts entries for that address.
    pub known_hosts: Vec<KnownHost>,
    /// What could not be read, and why.
    pub unread: Vec<String>,
}

/// The private key file's permissions, as OpenSSH checks them before using it.
#[derive(Debug, Clone, Serialize)]
pub struct KeyFileState {
    pub path: String,
    /// The permission bits (`0o644`).
    pub mode: u32,
    pub owner: u32,
    /// The uid lifeline runs as (whose ssh would read the key).
    pub uid: u32,
}

impl KeyFileState {
    /// OpenSSH's own test (`sshkey_perm_ok`): group or others may read or write it, or it
    /// belongs to someone else than the user (or root).
    pub fn refused_by_ssh(&self) -> bool {
        self.mode & 0o077 != 0 || (self.owner != self.uid && self.owner != 0)
    }
}

/// The key ssh would log in with, as the guest's authorized keys would name it.
#[derive(Debug, Clone, Serialize)]
pub struct LoginKey {
    /// The private key file given.
    pub file: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The public key file beside the private key (`KEY.pub`), which `user reset-key` can
    /// install; `None` when the fingerprint came from the private key file alone.
    pub public_file: Option<String>,
}

impl LoginKey {
    /// Reads the public half of the private key at `path`: from `PATH.pub` when it is there
    /// (ssh's own habit, and the only way for a PEM key with a passphrase), else from the
    /// private key file (an OpenSSH key holds its public half unencrypted).
    pub fn read(path: &Path) -> Result<LoginKey, String> {
        use russh::keys::{HashAlg, PrivateKey, load_public_key, load_secret_key};
        let mut public_file = path.as_os_str().to_owned();
        public_file.push(".pub");
        let public_file = PathBuf::from(public_file);
        let (key, public_file) = match load_public_key(&public_file) {
            Ok(key) => (key, Some(public_file.display().to_string())),
            Err(_) => {
                let key = match PrivateKey::read_openssh_file(path) {
                    Ok(private) => private.public_key().clone(),
                    // PEM (PKCS#1, PKCS#8) keys, readable without a passphrase only.
                    Err(_) => load_secret_key(path, None)
                        .map_err(|e| format!("{}: {e}", path.display()))?
                        .public_key()
                        .clone(),
                };
                (key, None)
            }
        };
        Ok(LoginKey {
            file: path.display().to_string(),
            fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
            public_file,
        })
    }
}

/// One known_hosts entry for the address: its file and its key's SHA256 fingerprint. (No line
/// number: russh's reader does not count comment lines, and `ssh-keygen -R` needs none.)
#[derive(Debug, Clone, Serialize)]
pub struct KnownHost {
    pub file: String,
    pub fingerprint: String,
}

/// Reads the key file's state and the known_hosts entries for `address` (`HOST:PORT` or
/// `HOST`) in `known_hosts`.
pub fn gather(key: Option<&Path>, address: Option<&str>, known_hosts: &Path) -> ClientFacts {
    let mut facts = ClientFacts {
        address: address.map(str::to_string),
        ..ClientFacts::default()
    };
    if let Some(path) = key {
        match std::fs::metadata(path) {
            Ok(m) => {
                facts.key = Some(KeyFileState {
                    path: path.display().to_string(),
                    mode: m.mode() & 0o7777,
                    owner: m.uid(),
                    uid: rustix::process::getuid().as_raw(),
                })
            }
            Err(e) => facts
                .unread
                .push(format!("the key file {}: {e}", path.display())),
        }
        match LoginKey::read(path) {
            Ok(key) => facts.login_key = Some(key),
            Err(e) => facts.unread.push(format!("the key's fingerprint: {e}")),
        }
    }
    if let Some(address) = address {
        // The same `HOST:PORT`, `[V6]:PORT` or bare-host reading as sshd_config's addresses.
        let (host, port) = crate::probe::sshd_config::split_host_port(address);
        match russh::keys::known_hosts::known_host_keys_path(&host, port.unwrap_or(22), known_hosts)
        {
            Ok(entries) => {
                facts.known_hosts = entries
                    .into_iter()
                    .map(|(_, key)| KnownHost {
                        file: known_hosts.display().to_string(),
                        fingerprint: key.fingerprint(russh::keys::HashAlg::Sha256).to_string(),
                    })
                    .collect()
            }
            Err(e) => facts
                .unread
                .push(format!("known_hosts {}: {e}", known_hosts.display())),
        }
    }
    facts
}

/// [`gather`] with the user's own known_hosts (`~/.ssh/known_hosts`, as ssh reads it).
pub fn of_this_user(key: Option<&Path>, address: Option<&str>) -> ClientFacts {
    match std::env::var_os("HOME") {
        Some(home) => gather(key, address, &PathBuf::from(home).join(".ssh/known_hosts")),
        None => ClientFacts {
            unread: vec!["known_hosts: HOME is not set".into()],
            ..gather(key, None, Path::new(""))
        },
    }
}

/// Runs ssh-keygen with `args` and returns what it printed: tests compare lifeline's
/// fingerprints with OpenSSH's own.
#[cfg(test)]
pub(crate) fn ssh_keygen(args: &[&str]) -> String {
    let out = std::process::Command::new("ssh-keygen")
        .args(args)
        .output()
        .expect("ssh-keygen is needed to test key fingerprints");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ll-client-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_key_others_can_read_is_refused_as_ssh_refuses_it() {
        let dir = temp("key");
        let key = dir.join("id_ed25519");
        std::fs::write(&key, "not a key: only its mode matters here").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let facts = gather(Some(&key), None, &dir.join("none"));
        let state = facts.key.expect("stat");
        assert_eq!(state.mode, 0o644);
        assert!(state.refused_by_ssh());
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(
            !gather(Some(&key), None, &dir.join("none"))
                .key
                .unwrap()
                .refused_by_ssh()
        );
        let missing = gather(Some(&dir.join("gone")), None, &dir.join("none"));
        assert!(missing.key.is_none() && missing.unread[0].contains("gone"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The fingerprint lifeline computes is the one `ssh-keygen -l` prints on the guest, from
    /// `KEY.pub` or, without it, from the private key (with a passphrase too).
    #[test]
    fn the_login_key_fingerprint_is_the_one_ssh_keygen_prints() {
        let dir = temp("login-key");
        let key = dir.join("id_ed25519");
        let path = key.to_str().unwrap();
        ssh_keygen(&["-q", "-t", "ed25519", "-N", "a passphrase", "-f", path]);
        let printed = ssh_keygen(&["-lf", &format!("{path}.pub")]);
        let want = printed.split_whitespace().nth(1).unwrap();
        let from_pub = LoginKey::read(&key).unwrap();
        assert_eq!(from_pub.fingerprint, want);
        assert_eq!(from_pub.public_file, Some(format!("{path}.pub")));
        std::fs::remove_file(dir.join("id_ed25519.pub")).unwrap();
        let from_private = LoginKey::read(&key).unwrap();
        assert_eq!(
            (from_private.fingerprint.as_str(), from_private.public_file),
            (want, None)
        );
        assert_eq!(
            gather(Some(&key), None, &dir.join("none"))
                .login_key
                .unwrap()
                .fingerprint,
            want
        );
        std::fs::write(&key, "not a key").unwrap();
        assert!(LoginKey::read(&key).unwrap_err().contains("id_ed25519"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn known_hosts_entries_are_found_by_address_and_port() {
        let dir = temp("known");
        let file = dir.join("known_hosts");
        let key = "AAAAC3NzaC1lZDI1NTE5AAAAIHv7kZC1Lx0Z2QeV4jv2cYVnIu8c5fCyrW3Q0DkqvQ4y";
        std::fs::write(
            &file,
            format!(
                "# a comment\n20.1.2.3 ssh-ed25519 {key}\n[127.0.0.1]:2222 ssh-ed25519 {key}\nother ssh-ed25519 {key}\n"
            ),
        )
        .unwrap();
        let at_22 = gather(None, Some("20.1.2.3:22"), &file);
        assert_eq!(at_22.known_hosts.len(), 1, "{at_22:?}");
        assert!(at_22.known_hosts[0].fingerprint.starts_with("SHA256:"));
        assert_eq!(
            gather(None, Some("127.0.0.1:2222"), &file)
                .known_hosts
                .len(),
            1
        );
        assert!(
            gather(None, Some("127.0.0.1"), &file)
                .known_hosts
                .is_empty()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
