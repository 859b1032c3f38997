//! Proof from the client's side that SSH answers: a real SSH handshake up to authentication.
//!
//! After a repair on the serial console, "sshd is running" on the guest is not the same as
//! "a client can reach SSH". [`handshake`] connects like an SSH client would: it exchanges
//! identification lines, negotiates algorithms, runs a curve25519 key exchange, checks the
//! server's host key signature, switches to AES-GCM, asks for the `ssh-userauth` service and
//! makes a `none` authentication request, which the server answers with the methods it would
//! accept. Then it disconnects politely. It never authenticates for real.
//!
//! The protocol is written out here (RFC 4253 transport, RFC 4252 authentication request)
//! rather than taken from an SSH crate, because only this small part of SSH is needed and the
//! cryptography comes from aws-lc-rs, which is already linked for TLS. One module per job:
//! `address` (what to connect to), `banner` (identification lines), `wire` (SSH's data
//! types), `transport` (packets), `cipher` (AES-GCM), `negotiate` (KEXINIT), `kex`
//! (curve25519 and key derivation), `hostkey` (fingerprint and signature).

mod address;
mod banner;
mod cipher;
mod error;
mod hostkey;
mod kex;
mod negotiate;
mod transport;
mod wire;

pub use error::{HandshakeError, Stage};

use address::Target;
use error::{Fault, escaped};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use transport::Transport;
use wire::{Reader, Writer, msg};

/// What a successful handshake showed about the server.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HandshakeReport {
    /// `host:port` as connected (`[v6]:port` for IPv6).
    pub address: String,
    /// The server's identification line, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`.
    pub server_version: String,
    pub kex_algorithm: String,
    pub host_key_algorithm: String,
    /// `SHA256:…`, exactly as `ssh-keygen -lf` prints it for the server's host key.
    pub host_key_fingerprint: String,
    /// The cipher, or both when the two directions differ.
    pub cipher: String,
    pub user: String,
    /// The methods the server offered after the `none` request (e.g. `publickey`,
    /// `password`); empty if `none` itself was accepted.
    pub auth_methods: Vec<String>,
    pub elapsed_ms: u64,
}

/// Performs the handshake with `address` (`HOST`, `HOST:PORT` or `[IPv6]:PORT`; port 22 by
/// default) up to a `none` authentication request as `user`, all within `timeout`.
pub async fn handshake(
    address: &str,
    user: &str,
    timeout: Duration,
) -> Result<HandshakeReport, HandshakeError> {
    let started = Instant::now();
    let target = Target::parse(address).map_err(|reason| HandshakeError::InvalidAddress {
        address: address.to_string(),
        reason,
    })?;
    let shown = target.to_string();
    let mut progress = Progress {
        stage: Stage::Connect,
        before_banner: Vec::new(),
    };
    let outcome = tokio::time::timeout(timeout, exchange(&target, user, &mut progress)).await;
    let after_ms = millis(started.elapsed());
    match outcome {
        Ok(Ok(mut report)) => {
            report.elapsed_ms = after_ms;
            tracing::debug!(?report, "SSH handshake complete");
            Ok(report)
        }
        Ok(Err(fault)) => Err(fault.into_error(&shown, progress.stage, &progress.before_banner)),
        Err(_) => Err(match progress.stage {
            Stage::Connect => HandshakeError::ConnectTimedOut {
                address: shown,
                after_ms,
            },
            Stage::Banner if !progress.before_banner.is_empty() => HandshakeError::NoBanner {
                address: shown,
                why: format!("none within {after_ms} ms"),
                received: escaped(&progress.before_banner),
            },
            stage => HandshakeError::TimedOut {
                address: shown,
                after_ms,
                stage,
            },
        }),
    }
}

/// What the exchange got to, kept outside it so that a timeout can still report it.
struct Progress {
    stage: Stage,
    /// What the server sent before (and including) its banner.
    before_banner: Vec<u8>,
}

async fn exchange(
    target: &Target,
    user: &str,
    progress: &mut Progress,
) -> Result<HandshakeReport, Fault> {
    let stream = connect(target).await?;

    progress.stage = Stage::Banner;
    let mut stream = BufReader::new(stream);
    let client_version = banner::client_version();
    stream
        .get_mut()
        .write_all(format!("{client_version}\r\n").as_bytes())
        .await?;
    let server_version =
        banner::read_server_version(&mut stream, &mut progress.before_banner).await?;
    tracing::debug!(%server_version, "SSH banner");

    progress.stage = Stage::KeyExchange;
    let mut transport = Transport::new(stream);
    let keys = key_exchange(&mut transport, &client_version, &server_version).await?;

    progress.stage = Stage::Authentication;
    let auth_methods = auth_methods(&mut transport, user).await?;
    // The answer is in; a server that has already gone does not make it less true.
    let goodbye = Writer::message(msg::DISCONNECT)
        .u32(11) // SSH_DISCONNECT_BY_APPLICATION
        .string(b"lifeline handshake check complete")
        .string(b"")
        .finish();
    if let Err(e) = transport.close(&goodbye).await {
        tracing::debug!("SSH disconnect not delivered: {e}");
    }

    let agreed = keys.agreed;
    Ok(HandshakeReport {
        address: target.to_string(),
        server_version,
        kex_algorithm: agreed.kex,
        host_key_algorithm: agreed.host_key,
        host_key_fingerprint: keys.fingerprint,
        cipher: if agreed.cipher_c2s == agreed.cipher_s2c {
            agreed.cipher_c2s
        } else {
            format!(
                "{} (client to server), {} (server to client)",
                agreed.cipher_c2s, agreed.cipher_s2c
            )
        },
        user: user.to_string(),
        auth_methods,
        elapsed_ms: 0,
    })
}

/// The first address of `target` that accepts a TCP connection.
async fn connect(target: &Target) -> Result<TcpStream, Fault> {
    let addrs: Vec<_> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(Fault::Resolve)?
        .collect();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Every step is a small request and a small answer; do not let Nagle delay them.
                stream.set_nodelay(true)?;
                tracing::debug!(%addr, "connected");
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(Fault::Connect(last))
}

/// What the key exchange established.
struct Keys {
    agreed: negotiate::Agreed,
    fingerprint: String,
}

/// KEXINIT both ways, curve25519 exchange, host key check, NEWKEYS both ways; afterwards the
/// transport is encrypted in both directions.
async fn key_exchange<S: AsyncRead + AsyncWrite + Unpin>(
    transport: &mut Transport<S>,
    client_version: &str,
    server_version: &str,
) -> Result<Keys, Fault> {
    let client_kexinit = negotiate::client_kexinit()?;
    transport.send(&client_kexinit).await?;
    let server_kexinit = transport.receive().await?;
    if server_kexinit[0] != msg::KEXINIT {
        return Err(transport.unexpected(&server_kexinit, "KEXINIT"));
    }
    let offer = negotiate::ServerOffer::parse(&server_kexinit)?;
    let agreed = negotiate::negotiate(&offer)?;
    tracing::debug!(?agreed, "SSH algorithms");
    if offer.first_kex_packet_follows && agreed.server_guessed_wrong(&offer) {
        transport.receive().await?;
    }

    let ephemeral = kex::Ephemeral::generate()?;
    let client_public = ephemeral.public.clone();
    transport.send(&ephemeral.init_message()).await?;
    let reply = transport.receive().await?;
    if reply[0] != msg::KEX_ECDH_REPLY {
        return Err(transport.unexpected(&reply, "KEX_ECDH_REPLY"));
    }
    let reply = kex::EcdhReply::parse(&reply)?;
    let shared_secret = ephemeral.agree(&reply.server_public)?;
    let h = kex::exchange_hash(&kex::HashInput {
        client_version,
        server_version,
        client_kexinit: &client_kexinit,
        server_kexinit: &server_kexinit,
        host_key: &reply.host_key,
        client_public: &client_public,
        server_public: &reply.server_public,
        shared_secret: &shared_secret,
    });
    hostkey::verify(&agreed.host_key, &reply.host_key, &reply.signature, &h)?;

    // The first exchange hash is the session id.
    let derive = |letter, len| kex::derive(&shared_secret, &h, letter, &h, len);
    transport.send(&[msg::NEWKEYS]).await?;
    transport.encrypt_outgoing(cipher::Gcm::new(
        &agreed.cipher_c2s,
        &derive(b'C', cipher::key_len(&agreed.cipher_c2s)?),
        &derive(b'A', cipher::IV_LEN),
    )?);
    let newkeys = transport.receive().await?;
    if newkeys[0] != msg::NEWKEYS {
        return Err(transport.unexpected(&newkeys, "NEWKEYS"));
    }
    transport.decrypt_incoming(cipher::Gcm::new(
        &agreed.cipher_s2c,
        &derive(b'D', cipher::key_len(&agreed.cipher_s2c)?),
        &derive(b'B', cipher::IV_LEN),
    )?);
    Ok(Keys {
        fingerprint: hostkey::fingerprint(&reply.host_key),
        agreed,
    })
}

/// Asks for the user authentication service and makes a `none` request as `user`; returns the
/// methods the server would accept (empty when `none` itself succeeded).
async fn auth_methods<S: AsyncRead + AsyncWrite + Unpin>(
    transport: &mut Transport<S>,
    user: &str,
) -> Result<Vec<String>, Fault> {
    let request = Writer::message(msg::SERVICE_REQUEST)
        .string(b"ssh-userauth")
        .finish();
    transport.send(&request).await?;
    let accept = transport.receive().await?;
    if accept[0] != msg::SERVICE_ACCEPT {
        return Err(transport.unexpected(&accept, "SERVICE_ACCEPT"));
    }

    let none = Writer::message(msg::USERAUTH_REQUEST)
        .string(user.as_bytes())
        .string(b"ssh-connection")
        .string(b"none")
        .finish();
    transport.send(&none).await?;
    let answer = transport.receive().await?;
    match answer[0] {
        msg::USERAUTH_FAILURE => Reader::new(&answer[1..], "USERAUTH_FAILURE").name_list(),
        msg::USERAUTH_SUCCESS => Ok(Vec::new()),
        _ => Err(transport.unexpected(&answer, "USERAUTH_FAILURE or USERAUTH_SUCCESS")),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
