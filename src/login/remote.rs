//! The login from this machine to the guest's address, over russh.
//!
//! russh (warp-tech) is the maintained Rust SSH implementation, client and server, used in
//! production (Warpgate among others) and released often. It runs on the tokio runtime lifeline
//! already uses, and on the aws-lc-rs crypto backend already linked for TLS, so SSH adds no
//! second crypto library. Each login gets its own connection: after a successful
//! authentication the server accepts no other method on that connection.

use super::{HostKey, LoginCheck, Proven, Vantage};
use crate::secret::Secret;
use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the user logs in with; each given one is tried.
#[derive(Default)]
pub struct Credentials<'a> {
    pub key: Option<&'a PrivateKey>,
    pub password: Option<&'a Secret>,
}

/// Reads an OpenSSH or PEM private key (`--verify-key`); passphrase-protected keys are refused
/// with a message, since lifeline has no agent.
pub fn load_key(path: &Path) -> Result<PrivateKey, String> {
    russh::keys::load_secret_key(path, None)
        .map_err(|e| format!("could not read the private key {}: {e}", path.display()))
}

/// How long each step of one login may take.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Connecting and the SSH handshake.
    pub handshake: Duration,
    /// Authenticating, opening the session and running `true`: on the user's first login after
    /// a boot the session waits while systemd starts the user's own manager (user@UID.service),
    /// 18 s and more on a loaded machine.
    pub login: Duration,
}

impl Budget {
    /// What a rescue allows: the login gets the in-guest login's 90 s (guest.sh).
    pub const RESCUE: Budget = Budget {
        handshake: Duration::from_secs(30),
        login: Duration::from_secs(90),
    };
}

/// Logs in at `address` (`HOST[:PORT]`) as `user` with each credential and runs `true`.
/// `known` holds the host key fingerprints (`SHA256:…`) the probe read on the guest; a server
/// with another key is refused before any credential is offered.
pub async fn check(
    address: &str,
    user: &str,
    credentials: &Credentials<'_>,
    known: &[String],
    budget: Budget,
) -> LoginCheck {
    let address = with_port(address);
    let mut check = LoginCheck::new(Vantage::Here, &address, user);
    let methods = credentials
        .key
        .map(Method::Key)
        .into_iter()
        .chain(credentials.password.map(Method::Password));
    for method in methods {
        let seen = Arc::new(Mutex::new(None));
        let witness = Witness {
            known: known.to_vec(),
            seen: seen.clone(),
        };
        let attempt = tokio::time::timeout(budget.handshake, connect(&address, witness)).await;
        let host_key = seen.lock().expect("host key slot").take();
        let handle = match attempt {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                check.error = Some(refusal(&address, host_key.as_ref(), &e));
                check.host_key = host_key;
                return check;
            }
            Err(_) => {
                check.error = Some(format!(
                    "{address}: no SSH handshake within {}s",
                    budget.handshake.as_secs()
                ));
                return check;
            }
        };
        if check.host_key.is_none() {
            check.proven.push(Proven::Handshake);
            if host_key
                .as_ref()
                .is_some_and(|k| k.matches_probe == Some(true))
            {
                check.proven.push(Proven::HostKey);
            }
            check.host_key = host_key;
        }
        let result = tokio::time::timeout(budget.login, login(handle, user, &method))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {}s", budget.login.as_secs())));
        check.record(method.name(), result);
    }
    if check.attempts.is_empty() && check.error.is_none() {
        check.error = Some(
            "no credential to log in with: give --verify-key FILE (the user's private key) or \
             the console password of the same user"
                .into(),
        );
    }
    check
}

enum Method<'a> {
    Key(&'a PrivateKey),
    Password(&'a Secret),
}

impl Method<'_> {
    fn name(&self) -> &'static str {
        match self {
            Method::Key(_) => "publickey",
            Method::Password(_) => "password",
        }
    }
}

async fn connect(address: &str, witness: Witness) -> Result<Handle<Witness>, russh::Error> {
    let config = Arc::new(client::Config::default());
    client::connect(config, address, witness).await
}

/// Authenticates on a fresh connection, runs `true`, and says goodbye.
async fn login(
    mut handle: Handle<Witness>,
    user: &str,
    method: &Method<'_>,
) -> Result<Proven, String> {
    let auth = match method {
        Method::Key(key) => {
            let hash = handle
                .best_supported_rsa_hash()
                .await
                .map_err(|e| e.to_string())?
                .flatten();
            let key = PrivateKeyWithHashAlg::new(Arc::new((*key).clone()), hash);
            handle.authenticate_publickey(user, key).await
        }
        Method::Password(password) => handle.authenticate_password(user, password.expose()).await,
    }
    .map_err(|e| format!("authentication broke off: {e}"))?;
    if let client::AuthResult::Failure {
        remaining_methods, ..
    } = auth
    {
        let offered: Vec<&str> = remaining_methods.iter().map(|m| m.into()).collect();
        return Err(format!(
            "{} refused; the server offers: {}",
            method.name(),
            offered.join(",")
        ));
    }
    let ran = run_true(&handle).await;
    // The goodbye is a courtesy: the verdict is already in.
    let _ = handle
        .disconnect(Disconnect::ByApplication, "lifeline login check", "en")
        .await;
    ran?;
    Ok(match method {
        Method::Key(_) => Proven::KeyLogin,
        Method::Password(_) => Proven::PasswordLogin,
    })
}

/// Opens a session, runs `true`, and wants exit status 0 (a forced command or a shell that
/// cannot start answers otherwise).
async fn run_true(handle: &Handle<Witness>) -> Result<(), String> {
    let mut channel = handle
        .channel_open_session()
        .await
        .map_err(|e| format!("logged in, but no session opened: {e}"))?;
    channel
        .exec(true, "true")
        .await
        .map_err(|e| format!("logged in, but the command was not sent: {e}"))?;
    let mut status = None;
    let mut said = Vec::new();
    while let Some(message) = channel.wait().await {
        match message {
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            ChannelMsg::Failure => {
                return Err("logged in, but the server refused to run a command".into());
            }
            ChannelMsg::Data { data } | ChannelMsg::ExtendedData { data, .. }
                if said.len() < 400 =>
            {
                said.extend_from_slice(&data)
            }
            _ => {}
        }
    }
    let said = String::from_utf8_lossy(&said).trim().to_string();
    let said = if said.is_empty() {
        String::new()
    } else {
        format!(" (it said: {said})")
    };
    match status {
        Some(0) => Ok(()),
        Some(code) => Err(format!("logged in, but `true` exited {code}{said}")),
        None => Err(format!(
            "logged in, but the session closed without an exit status{said}"
        )),
    }
}

/// Records the server's host key and refuses one the probe did not read on the guest.
struct Witness {
    known: Vec<String>,
    seen: Arc<Mutex<Option<HostKey>>>,
}

impl client::Handler for Witness {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key: PublicKey = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(cert) => PublicKey::from(cert.public_key().clone()),
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let matches_probe = (!self.known.is_empty()).then(|| self.known.contains(&fingerprint));
        *self.seen.lock().expect("host key slot") = Some(HostKey {
            algorithm: key.algorithm().to_string(),
            fingerprint,
            matches_probe,
        });
        Ok(matches_probe != Some(false))
    }
}

/// Why the connection failed, in the operator's terms.
fn refusal(address: &str, host_key: Option<&HostKey>, error: &russh::Error) -> String {
    match host_key {
        Some(key) if key.matches_probe == Some(false) => format!(
            "{address} answers with host key {} {}, which is not one of the guest's host keys: \
             another machine answers at that address, or the keys changed; nothing was sent",
            key.algorithm, key.fingerprint
        ),
        _ => format!("{address}: {error}"),
    }
}

/// `HOST[:PORT]` with the port made explicit (22 by default); a bare IPv6 address is bracketed.
fn with_port(address: &str) -> String {
    if address.parse::<std::net::SocketAddr>().is_ok() {
        return address.to_string();
    }
    if address.parse::<std::net::Ipv6Addr>().is_ok() {
        return format!("[{address}]:22");
    }
    match address.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok() => address.to_string(),
        _ => format!("{address}:22"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::ssh_key::private::Ed25519Keypair;
    use russh::server::{self, Auth, ChannelOpenHandle, Msg, Session};
    use russh::{Channel, ChannelId};

    const SHORT: Budget = Budget {
        handshake: Duration::from_secs(5),
        login: Duration::from_secs(5),
    };

    #[test]
    fn the_port_is_made_explicit() {
        assert_eq!(with_port("10.0.0.4"), "10.0.0.4:22");
        assert_eq!(with_port("10.0.0.4:2222"), "10.0.0.4:2222");
        assert_eq!(with_port("vm.example"), "vm.example:22");
        assert_eq!(with_port("vm.example:2200"), "vm.example:2200");
        assert_eq!(with_port("::1"), "[::1]:22");
        assert_eq!(with_port("[::1]:2222"), "[::1]:2222");
    }

    #[tokio::test]
    async fn nothing_listening_is_an_error_that_names_the_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let password = Secret::new("unused");
        let credentials = Credentials {
            key: None,
            password: Some(&password),
        };
        let check = check(&address, "alice", &credentials, &[], SHORT).await;
        assert!(!check.logged_in());
        assert!(check.attempts.is_empty());
        assert!(
            check.error.as_deref().unwrap().starts_with(&address),
            "{check:?}"
        );
    }

    #[tokio::test]
    async fn without_a_credential_nothing_is_proven() {
        let check = check("127.0.0.1:1", "alice", &Credentials::default(), &[], SHORT).await;
        assert!(!check.logged_in());
        assert!(check.error.unwrap().contains("--verify-key"));
    }

    /// A server that accepts any password and answers `true` only after `delay`, as sshd does
    /// while systemd starts the user's manager on a first login.
    struct SlowSessions {
        delay: Duration,
    }

    impl server::Handler for SlowSessions {
        type Error = russh::Error;

        async fn auth_password(&mut self, _: &str, _: &str) -> Result<Auth, Self::Error> {
            Ok(Auth::Accept)
        }

        async fn channel_open_session(
            &mut self,
            _: Channel<Msg>,
            reply: ChannelOpenHandle,
            _: &mut Session,
        ) -> Result<(), Self::Error> {
            reply.accept().await;
            Ok(())
        }

        async fn exec_request(
            &mut self,
            channel: ChannelId,
            _: &[u8],
            session: &mut Session,
        ) -> Result<(), Self::Error> {
            session.channel_success(channel)?;
            let handle = session.handle();
            let delay = self.delay;
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = handle.exit_status_request(channel, 0).await;
                let _ = handle.eof(channel).await;
                let _ = handle.close(channel).await;
            });
            Ok(())
        }
    }

    /// Serves one connection with sessions that start after `delay`; the server's address.
    async fn slow_server(delay: Duration) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        // A host key made for the test; nothing checks it (no fingerprints are known).
        let key = PrivateKey::from(Ed25519Keypair::from_seed(&[7; 32]));
        let config = Arc::new(server::Config {
            keys: vec![key],
            ..Default::default()
        });
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let running = server::run_stream(config, stream, SlowSessions { delay }).await;
            let _ = running.unwrap().await;
        });
        address
    }

    #[tokio::test]
    async fn a_session_slower_than_the_handshake_budget_still_logs_in() {
        let address = slow_server(Duration::from_secs(3)).await;
        let password = Secret::new("pw");
        let credentials = Credentials {
            key: None,
            password: Some(&password),
        };
        let budget = Budget {
            handshake: Duration::from_secs(2),
            login: Duration::from_secs(20),
        };
        let check = check(&address, "alice", &credentials, &[], budget).await;
        assert!(check.logged_in(), "{check:?}");
        assert!(check.proven.contains(&Proven::PasswordLogin), "{check:?}");
    }
}
