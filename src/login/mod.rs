//! Proving that the user can log in over SSH and run a command: what `rescue` calls verified.
//!
//! A banner or a completed handshake shows that sshd answers; only a login that runs `true`
//! shows that the user gets in (a forced command, a broken session setup or a key lookup that
//! moved all let the handshake through and the user out). Two vantage points:
//!
//! - [`remote`]: from this machine to the guest's address, with the operator's private key
//!   (`--verify-key`) and, when password logins are meant to work, the console password. The
//!   server's host key is compared with the fingerprints the probe read on the guest first, so a
//!   password is never offered to another machine.
//! - [`guest`]: where the address is not given, from inside the guest to its own sshd, as the
//!   user, through the user's own authorized_keys file (a throw-away key put there for the one
//!   login and taken out again). No secret crosses the console for it.

pub mod client_facts;
pub mod guest;
pub mod remote;

use serde::Serialize;

/// Where the login was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Vantage {
    /// This machine, to the address given with `--verify-host`.
    Here,
    /// The guest itself, to its own sshd.
    Guest,
}

/// What a check established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proven {
    /// The SSH key exchange completed (sshd answers and speaks SSH).
    Handshake,
    /// The server's host key is one of the host keys the probe read on the guest.
    HostKey,
    /// The user logged in with the operator's private key and `true` ran.
    KeyLogin,
    /// The user logged in with the password and `true` ran.
    PasswordLogin,
    /// From inside the guest, a key placed in the user's authorized_keys file let the user in
    /// and `true` ran: sshd consults that file and sessions start.
    KeyFileLogin,
}

/// One way of logging in that was tried.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// `publickey`, `password`, or `authorized_keys` (the in-guest check).
    pub method: &'static str,
    pub ok: bool,
    /// What happened, in words (the server's refusal, the command's exit status).
    pub detail: String,
}

/// The server's host key as the client saw it.
#[derive(Debug, Clone, Serialize)]
pub struct HostKey {
    pub algorithm: String,
    pub fingerprint: String,
    /// Whether it is one the probe read on the guest; `None` when the probe read none.
    pub matches_probe: Option<bool>,
}

/// The result of a login check, for the report and its JSON.
#[derive(Debug, Clone, Serialize)]
pub struct LoginCheck {
    pub from: Vantage,
    /// `HOST:PORT` the client connected to.
    pub address: String,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_key: Option<HostKey>,
    pub attempts: Vec<Attempt>,
    pub proven: Vec<Proven>,
    /// Why nothing could be tried, or why the check stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl LoginCheck {
    pub(crate) fn new(from: Vantage, address: &str, user: &str) -> LoginCheck {
        LoginCheck {
            from,
            address: address.to_string(),
            user: user.to_string(),
            host_key: None,
            attempts: Vec::new(),
            proven: Vec::new(),
            error: None,
        }
    }

    /// The user logged in: at least one login was tried, every one tried ran its command, and
    /// nothing stopped the check.
    pub fn logged_in(&self) -> bool {
        self.error.is_none() && !self.attempts.is_empty() && self.attempts.iter().all(|a| a.ok)
    }

    pub(crate) fn record(&mut self, method: &'static str, result: Result<Proven, String>) {
        let (ok, detail) = match result {
            Ok(proof) => {
                self.proven.push(proof);
                (true, "logged in, `true` ran".to_string())
            }
            Err(detail) => (false, detail),
        };
        self.attempts.push(Attempt { method, ok, detail });
    }
}
