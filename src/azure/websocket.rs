//! The gateway's websocket: TLS with the operating system's trust store, the handshake (the
//! gateway speaks first with a challenge frame; we answer with the raw token in one text frame),
//! and frames taken as bytes whatever their type.
//!
//! tungstenite validates every text frame as UTF-8 and ends the stream on invalid bytes, with
//! no way to opt out, while a serial line carries arbitrary bytes. So [`BinaryFrames`] sits
//! between TLS and tungstenite and relabels the server's text frames as binary frames before
//! tungstenite parses them: a one-byte change in each frame header, no payload touched.

use crate::exit::ExitClass;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use azure_core::http::Url;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{ClientRequestBuilder, Message, http::Uri};

pub type GatewayStream = WebSocketStream<BinaryFrames<TlsStream<TcpStream>>>;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum WsError {
    #[error("the console gateway refused the session ({code}: {reason})")]
    Refused { code: u16, reason: String },
    #[error("could not reach the console gateway at {host}: {message}")]
    Connect { host: String, message: String },
    #[error("the console gateway did not answer within {0:?}")]
    Timeout(Duration),
    #[error("bad console URL {0:?}")]
    BadUrl(String),
}

impl WsError {
    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        // The console cannot be reached, whatever the reason.
        ExitClass::Link
    }
}

impl WsError {
    /// Worth a fresh connect call: 1011 "Connection not trusted", drops and timeouts.
    pub fn is_transient(&self) -> bool {
        match self {
            WsError::Refused { code, .. } => *code == 1011 || *code == 1006,
            WsError::Connect { .. } | WsError::Timeout(_) => true,
            WsError::BadUrl(_) => false,
        }
    }
}

/// Opens the session URL and authenticates with `token`.
pub async fn open(url: &str, token: &str) -> Result<GatewayStream, WsError> {
    tokio::time::timeout(HANDSHAKE_TIMEOUT, open_inner(url, token))
        .await
        .map_err(|_| WsError::Timeout(HANDSHAKE_TIMEOUT))?
}

async fn open_inner(url: &str, token: &str) -> Result<GatewayStream, WsError> {
    let parsed = Url::parse(url).map_err(|_| WsError::BadUrl(url.into()))?;
    if parsed.scheme() != "wss" {
        return Err(WsError::BadUrl(url.into()));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| WsError::BadUrl(url.into()))?
        .to_string();
    let port = parsed.port().unwrap_or(443);
    let connect_err = |message: String| WsError::Connect {
        host: host.clone(),
        message,
    };
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| connect_err(e.to_string()))?;
    tcp.set_nodelay(true).ok();
    let name = rustls::pki_types::ServerName::try_from(host.clone())
        .map_err(|_| WsError::BadUrl(url.into()))?;
    let tls = TlsConnector::from(tls_config())
        .connect(name, tcp)
        .await
        .map_err(|e| connect_err(format!("TLS: {e}")))?;
    let uri: Uri = url.parse().map_err(|_| WsError::BadUrl(url.into()))?;
    let request = ClientRequestBuilder::new(uri).with_header("Origin", format!("https://{host}"));
    let (mut ws, _) = tokio_tungstenite::client_async(request, BinaryFrames::new(tls))
        .await
        .map_err(|e| connect_err(format!("websocket handshake: {e}")))?;
    // The gateway speaks first; that frame is a challenge, not console output.
    match ws.next().await {
        Some(Ok(Message::Close(frame))) => return Err(refused(frame)),
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(connect_err(e.to_string())),
        None => return Err(connect_err("closed before the challenge".into())),
    }
    ws.send(Message::text(token))
        .await
        .map_err(|e| connect_err(format!("sending the token: {e}")))?;
    Ok(ws)
}

/// The close frame's code and reason as a refusal.
pub fn refused(frame: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> WsError {
    match frame {
        Some(f) => WsError::Refused {
            code: u16::from(f.code),
            reason: f.reason.to_string(),
        },
        None => WsError::Refused {
            code: u16::from(CloseCode::Abnormal),
            reason: "closed without a reason".into(),
        },
    }
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    // The OS store (SSL_CERT_FILE / SSL_CERT_DIR honoured), as for every other HTTPS call.
    for cert in rustls_native_certs::load_native_certs().certs {
        roots.add(cert).ok();
    }
    Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Where the reader is in the server's byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// In the HTTP upgrade response; frames start after the blank line.
    Http { matched: u8 },
    /// At the first byte of a frame header.
    FrameStart,
    /// Reading the rest of a header: `need` more bytes, then a payload of `len` (built up).
    Header {
        need: u8,
        extended: u8,
        masked: bool,
        len: u64,
    },
    /// Inside a payload with this many bytes left.
    Payload(u64),
}

/// Relabels text frames from the server as binary frames (see the module docs).
pub struct BinaryFrames<S> {
    inner: S,
    position: Position,
}

impl<S> BinaryFrames<S> {
    pub fn new(inner: S) -> Self {
        BinaryFrames {
            inner,
            position: Position::Http { matched: 0 },
        }
    }

    fn rewrite(&mut self, bytes: &mut [u8]) {
        for b in bytes.iter_mut() {
            self.position = match self.position {
                Position::Http { matched } => {
                    let want = b"\r\n\r\n"[matched as usize];
                    match (*b == want, matched) {
                        (true, 3) => Position::FrameStart,
                        (true, m) => Position::Http { matched: m + 1 },
                        (false, _) => Position::Http {
                            matched: u8::from(*b == b'\r'),
                        },
                    }
                }
                Position::FrameStart => {
                    if *b & 0x0f == 0x1 {
                        *b = (*b & 0xf0) | 0x2;
                    }
                    Position::Header {
                        need: 1,
                        extended: 0,
                        masked: false,
                        len: 0,
                    }
                }
                Position::Header {
                    need: 1,
                    extended: 0,
                    ..
                } if self.header_first_length_byte() => {
                    let masked = *b & 0x80 != 0;
                    let (extended, len) = match *b & 0x7f {
                        126 => (2, 0),
                        127 => (8, 0),
                        n => (0, u64::from(n)),
                    };
                    let need = extended + if masked { 4 } else { 0 };
                    after_header(need, extended, masked, len)
                }
                Position::Header {
                    need,
                    extended,
                    masked,
                    len,
                } => {
                    let (extended, len) = if extended > 0 {
                        (extended - 1, (len << 8) | u64::from(*b))
                    } else {
                        (0, len)
                    };
                    after_header(need - 1, extended, masked, len)
                }
                Position::Payload(left) => {
                    if left <= 1 {
                        Position::FrameStart
                    } else {
                        Position::Payload(left - 1)
                    }
                }
            };
        }
    }

    /// Whether we are at the second header byte (the one with the mask bit and 7-bit length).
    fn header_first_length_byte(&self) -> bool {
        matches!(
            self.position,
            Position::Header {
                need: 1,
                extended: 0,
                masked: false,
                len: 0
            }
        )
    }
}

fn after_header(need: u8, extended: u8, masked: bool, len: u64) -> Position {
    match (need, len) {
        (0, 0) => Position::FrameStart,
        (0, len) => Position::Payload(len),
        _ => Position::Header {
            need,
            extended,
            masked,
            len,
        },
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for BinaryFrames<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            self.rewrite(&mut buf.filled_mut()[before..]);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for BinaryFrames<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => f.push(n as u8),
            n if n < 65536 => {
                f.push(126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn text_frames_become_binary_and_payloads_are_untouched() {
        let mut stream = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".to_vec();
        let text = frame(0x1, b"login: \x01\x02");
        let big = frame(0x1, &[0x81u8; 300]);
        let ping = frame(0x9, b"");
        let bin = frame(0x2, b"\xff\xfe");
        for f in [&text, &big, &ping, &bin] {
            stream.extend_from_slice(f);
        }
        let header_len = stream.len() - text.len() - big.len() - ping.len() - bin.len();
        let mut rewritten = stream.clone();
        let mut rw = BinaryFrames::new(());
        // Feed in odd-sized pieces to cross every boundary.
        for piece in rewritten.chunks_mut(7) {
            rw.rewrite(piece);
        }
        let mut want = stream.clone();
        want[header_len] = 0x82;
        want[header_len + text.len()] = 0x82;
        assert_eq!(rewritten, want);
    }
}
