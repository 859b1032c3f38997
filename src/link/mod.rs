//! One bidirectional byte stream to a serial console, whatever carries it.
//!
//! A [`Link`] is a reader and a writer plus a description for messages. The kinds of link:
//! a unix socket (`unix:PATH`, e.g. qemu's `-chardev socket`), TCP (`tcp:HOST:PORT`, e.g. a
//! serial server), a command on a pseudo-terminal (`cmd:'virsh console vm'`), and an in-memory
//! pair for tests. The outcomes a caller sees stay distinct: a read of 0 bytes is the far end
//! closing (EOF), an `Err` is a broken link, and [`Link::close`] is our own clean shutdown.

mod child_env;
mod process;
mod spec;

pub use child_env::child_environment;
pub use spec::LinkSpec;

use crate::exit::ExitClass;
use std::io;
use std::path::PathBuf;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

pub struct Link {
    pub reader: Reader,
    pub writer: Writer,
    /// What the link is connected to, for messages ("unix:/run/vm/serial.sock").
    pub description: String,
    /// Whatever owns the far end (a child process), kept alive as long as the link.
    pub keepalive: KeepAlive,
    /// How often the transport underneath was lost and re-established (bytes may be missing).
    pub interruptions: Interruptions,
}

/// A count of transport interruptions, shared between a self-healing link and its user.
#[derive(Clone, Default, Debug)]
pub struct Interruptions(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Interruptions {
    pub fn record(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn count(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Holds what must outlive the link's reader and writer (a console command's process, which is
/// hung up when this is dropped). Keep it alongside the halves when taking a link apart.
#[derive(Default)]
pub struct KeepAlive {
    _owner: Option<Box<dyn Send>>,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(
        "no serial socket at {0}: is the VM running, and is this the path of its serial chardev?"
    )]
    SocketMissing(PathBuf),
    #[error(
        "could not connect to {target}: {source}; check that the console server is running and reachable"
    )]
    Connect {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error("could not start the console command {command:?}: {source}")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },
}

impl LinkError {
    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        // The console cannot be reached, whatever the reason.
        ExitClass::Link
    }
}

impl Link {
    pub fn new(reader: Reader, writer: Writer, description: impl Into<String>) -> Self {
        Link {
            reader,
            writer,
            description: description.into(),
            keepalive: KeepAlive::default(),
            interruptions: Interruptions::default(),
        }
    }

    /// Opens the link a spec names.
    pub async fn open(spec: &LinkSpec) -> Result<Link, LinkError> {
        let description = spec.to_string();
        match spec {
            LinkSpec::Unix(path) => {
                if !path.exists() {
                    return Err(LinkError::SocketMissing(path.clone()));
                }
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|source| LinkError::Connect {
                        target: description.clone(),
                        source,
                    })?;
                let (r, w) = stream.into_split();
                Ok(Link::new(Box::new(r), Box::new(w), description))
            }
            LinkSpec::Tcp(address) => {
                let stream = tokio::net::TcpStream::connect(address.as_str())
                    .await
                    .map_err(|source| LinkError::Connect {
                        target: description.clone(),
                        source,
                    })?;
                stream.set_nodelay(true).ok();
                let (r, w) = stream.into_split();
                Ok(Link::new(Box::new(r), Box::new(w), description))
            }
            LinkSpec::Command(command) => {
                let (reader, writer, owner) =
                    process::spawn(command).map_err(|source| LinkError::Spawn {
                        command: command.clone(),
                        source,
                    })?;
                Ok(Link {
                    reader,
                    writer,
                    description,
                    keepalive: KeepAlive {
                        _owner: Some(owner),
                    },
                    interruptions: Interruptions::default(),
                })
            }
        }
    }

    /// An in-memory link and the far end of it, for tests and for bridging other transports.
    pub fn memory(capacity: usize) -> (Link, tokio::io::DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(capacity);
        let (r, w) = tokio::io::split(ours);
        (Link::new(Box::new(r), Box::new(w), "memory"), theirs)
    }

    /// Our side is done: flush and shut the writer down so the far end sees EOF.
    pub async fn close(mut self) -> io::Result<()> {
        self.writer.flush().await?;
        self.writer.shutdown().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn unix_socket_eof_and_clean_close_are_distinct() {
        let dir = std::env::temp_dir().join(format!("lifeline-link-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("serial.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"login: ").await.unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut link = Link::open(&LinkSpec::Unix(path.clone())).await.unwrap();
        let mut buf = [0u8; 16];
        let n = link.reader.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"login: ");
        link.writer.write_all(b"root\r").await.unwrap();
        link.close().await.unwrap();
        assert_eq!(server.await.unwrap(), b"root\r");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_missing_socket_says_what_to_check() {
        let err = Link::open(&LinkSpec::Unix("/nonexistent/serial.sock".into()))
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("is the VM running"), "{err}");
    }

    #[tokio::test]
    async fn a_refused_tcp_connection_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = Link::open(&LinkSpec::Tcp(addr.to_string()))
            .await
            .err()
            .unwrap();
        assert!(matches!(err, LinkError::Connect { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_command_runs_on_a_pty_and_its_exit_is_eof() {
        let mut link = Link::open(&LinkSpec::Command(
            "printf 'tty:'; test -t 0 && echo yes".into(),
        ))
        .await
        .unwrap();
        let mut out = Vec::new();
        link.reader.read_to_end(&mut out).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out).trim_end(), "tty:yes");
    }
}
