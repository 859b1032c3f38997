//! What can go wrong in a handshake, worded for the person who has to fix the server.
//!
//! The submodules report a [`Fault`], which knows only what went wrong; the orchestration adds
//! where (the address) and when (the [`Stage`]) to make the public [`HandshakeError`].

use std::fmt;
use std::io;

/// How far the handshake got; named in errors so a timeout or a closed connection says what the
/// server had already done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Banner,
    KeyExchange,
    Authentication,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "while connecting",
            Stage::Banner => "while waiting for the SSH banner",
            Stage::KeyExchange => "during the key exchange",
            Stage::Authentication => "during the authentication probe",
        })
    }
}

/// Why a handshake failed. Every message names the address and says how far the server got.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("{address:?} is not a valid address ({reason}); use HOST, HOST:PORT or [IPv6]:PORT")]
    InvalidAddress { address: String, reason: String },
    #[error("could not resolve {address}: {source}")]
    Resolve { address: String, source: io::Error },
    #[error(
        "connection to {address} refused: nothing listens on that port (sshd not running, or \
         listening elsewhere)"
    )]
    ConnectionRefused { address: String },
    #[error(
        "connection to {address} timed out after {after_ms} ms: no answer at all (host down, \
         wrong address, or a firewall dropping the packets)"
    )]
    ConnectTimedOut { address: String, after_ms: u64 },
    #[error("could not connect to {address}: {source}")]
    Connect { address: String, source: io::Error },
    #[error("{address} accepted the connection but timed out after {after_ms} ms {stage}")]
    TimedOut {
        address: String,
        after_ms: u64,
        stage: Stage,
    },
    #[error("no SSH banner from {address} ({why}); it sent {received}")]
    NoBanner {
        address: String,
        why: String,
        /// What came instead, escaped and truncated (`nothing` when nothing came).
        received: String,
    },
    #[error("{address} speaks an SSH version this check does not: {banner:?} (only SSH 2.0)")]
    UnsupportedVersion { address: String, banner: String },
    #[error(
        "no common {what} algorithm with {address}: lifeline offers {}; the server offers {}",
        list(client),
        list(server)
    )]
    NoCommonAlgorithm {
        address: String,
        what: &'static str,
        client: Vec<String>,
        server: Vec<String>,
    },
    #[error(
        "the host key signature from {address} does not verify ({algorithm} key \
         {fingerprint}): the server did not prove it owns that host key"
    )]
    BadHostKeySignature {
        address: String,
        algorithm: String,
        fingerprint: String,
    },
    #[error("{address} disconnected {stage}: {} (reason {code}): {description:?}", reason_name(*code))]
    Disconnected {
        address: String,
        stage: Stage,
        code: u32,
        description: String,
    },
    #[error("{address} closed the connection {stage}")]
    Closed { address: String, stage: Stage },
    #[error("connection to {address} failed {stage}: {source}")]
    Io {
        address: String,
        stage: Stage,
        source: io::Error,
    },
    #[error("SSH protocol error with {address} {stage}: {detail}")]
    Protocol {
        address: String,
        stage: Stage,
        detail: String,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".to_string()
    } else {
        names.join(",")
    }
}

/// RFC 4253 §11.1's names for disconnect reason codes.
fn reason_name(code: u32) -> &'static str {
    match code {
        1 => "host not allowed to connect",
        2 => "protocol error",
        3 => "key exchange failed",
        5 => "MAC error",
        6 => "compression error",
        7 => "service not available",
        8 => "protocol version not supported",
        9 => "host key not verifiable",
        10 => "connection lost",
        11 => "by application",
        12 => "too many connections",
        13 => "auth cancelled by user",
        14 => "no more auth methods available",
        15 => "illegal user name",
        _ => "unknown reason",
    }
}

/// A failure as a submodule sees it, before the address and stage are known.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error("could not resolve: {0}")]
    Resolve(io::Error),
    #[error("could not connect: {0}")]
    Connect(io::Error),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("no SSH banner: {0}")]
    NoBanner(&'static str),
    #[error("unsupported SSH version {0:?}")]
    UnsupportedVersion(String),
    #[error("no common {what} algorithm")]
    NoCommonAlgorithm {
        what: &'static str,
        client: Vec<String>,
        server: Vec<String>,
    },
    #[error("bad {algorithm} host key signature")]
    BadSignature {
        algorithm: String,
        fingerprint: String,
    },
    #[error("disconnected ({code}): {description}")]
    Disconnected { code: u32, description: String },
    #[error("{0}")]
    Protocol(String),
}

impl Fault {
    /// The public error for this fault at `address`, `stage`; `received` is what came before
    /// the banner (shown when there is no banner).
    pub fn into_error(self, address: &str, stage: Stage, received: &[u8]) -> HandshakeError {
        let address = address.to_string();
        match self {
            Fault::Resolve(source) => HandshakeError::Resolve { address, source },
            Fault::Connect(source) if source.kind() == io::ErrorKind::ConnectionRefused => {
                HandshakeError::ConnectionRefused { address }
            }
            Fault::Connect(source) => HandshakeError::Connect { address, source },
            Fault::Io(source) if source.kind() == io::ErrorKind::UnexpectedEof => {
                HandshakeError::Closed { address, stage }
            }
            Fault::Io(source) => HandshakeError::Io {
                address,
                stage,
                source,
            },
            Fault::NoBanner(why) => HandshakeError::NoBanner {
                address,
                why: why.to_string(),
                received: escaped(received),
            },
            Fault::UnsupportedVersion(banner) => {
                HandshakeError::UnsupportedVersion { address, banner }
            }
            Fault::NoCommonAlgorithm {
                what,
                client,
                server,
            } => HandshakeError::NoCommonAlgorithm {
                address,
                what,
                client,
                server,
            },
            Fault::BadSignature {
                algorithm,
                fingerprint,
            } => HandshakeError::BadHostKeySignature {
                address,
                algorithm,
                fingerprint,
            },
            Fault::Disconnected { code, description } => HandshakeError::Disconnected {
                address,
                stage,
                code,
                description,
            },
            Fault::Protocol(detail) => HandshakeError::Protocol {
                address,
                stage,
                detail,
            },
        }
    }
}

/// How many characters of a non-SSH greeting an error shows.
const SHOWN_CHARS: usize = 160;

/// `bytes` as a quoted, escaped string of at most [`SHOWN_CHARS`] characters, or `nothing`.
pub fn escaped(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing".to_string();
    }
    let text: String = String::from_utf8_lossy(bytes).escape_debug().collect();
    let mut shown: String = text.chars().take(SHOWN_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("\"{shown}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_greeting_is_shown_escaped_and_truncated() {
        assert_eq!(escaped(b""), "nothing");
        assert_eq!(
            escaped(b"HTTP/1.1 400 Bad Request\r\n"),
            r#""HTTP/1.1 400 Bad Request\r\n""#
        );
        let long = escaped(&[b'x'; 1000]);
        assert_eq!(
            long.chars().count(),
            SHOWN_CHARS + 3,
            "quotes and the ellipsis"
        );
        assert!(long.ends_with("…\""));
    }

    #[test]
    fn refused_and_closed_get_their_own_errors() {
        let refused = Fault::Connect(io::ErrorKind::ConnectionRefused.into());
        let err = refused.into_error("10.0.0.1:22", Stage::Connect, b"");
        assert!(matches!(err, HandshakeError::ConnectionRefused { .. }));
        assert!(err.to_string().contains("10.0.0.1:22 refused"), "{err}");

        let closed = Fault::Io(io::ErrorKind::UnexpectedEof.into());
        let err = closed.into_error("h:22", Stage::KeyExchange, b"");
        assert_eq!(
            err.to_string(),
            "h:22 closed the connection during the key exchange"
        );
    }

    #[test]
    fn a_disconnect_names_its_reason() {
        let fault = Fault::Disconnected {
            code: 2,
            description: "Bad packet length".into(),
        };
        let err = fault.into_error("h:22", Stage::KeyExchange, b"");
        assert_eq!(
            err.to_string(),
            "h:22 disconnected during the key exchange: protocol error (reason 2): \
             \"Bad packet length\""
        );
    }
}
