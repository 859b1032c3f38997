//! A machine's serial port as the gateway sees it: one output stream that websocket sessions
//! subscribe to, with a little scrollback, and one input path.
//!
//! With a qemu guest (`unix:PATH`) the port is the guest's serial chardev socket. qemu serves a
//! single client, and a second connection gets nothing, so the fake connects once, on the first
//! session, and keeps that connection for every later session of the machine (an evicted
//! session's successor reuses it). It keeps reading while no session is attached, as the real
//! service keeps scrollback, so the guest never blocks on a full socket.
//!
//! `echo` is a stand-in getty for the spec tests: it echoes input and answers `\r` with a login
//! prompt.

use crate::machines::SerialSpec;
use hyper::body::Bytes;
use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::broadcast;
use tracing::{debug, info, warn};

/// What a subscribed session receives.
#[derive(Debug, Clone)]
pub enum ConsoleEvent {
    /// Bytes the guest wrote (or the fake injected, e.g. the echo of a SysRq).
    Output(Bytes),
    /// The serial connection ended (qemu exited or closed it).
    Closed,
}

pub struct Console {
    backend: Backend,
    host: String,
    scrollback_limit: usize,
    output: Mutex<Output>,
    /// The serial socket's connection, while there is one.
    writer: tokio::sync::Mutex<Option<Connection>>,
}

/// One connection to the serial socket: its number, its write half, and the task reading it.
struct Connection {
    number: u64,
    half: OwnedWriteHalf,
    reader: tokio::task::JoinHandle<()>,
}

enum Backend {
    Unix(PathBuf),
    Echo,
}

struct Output {
    scrollback: VecDeque<u8>,
    sender: broadcast::Sender<ConsoleEvent>,
    connections: u64,
}

impl Console {
    pub fn new(spec: &SerialSpec, host: String, scrollback_limit: usize) -> Arc<Console> {
        let backend = match spec {
            SerialSpec::Unix(path) => Backend::Unix(path.clone()),
            SerialSpec::Echo => Backend::Echo,
        };
        let (sender, _) = broadcast::channel(1024);
        let console = Arc::new(Console {
            backend,
            host,
            scrollback_limit,
            output: Mutex::new(Output {
                scrollback: VecDeque::new(),
                sender,
                connections: 0,
            }),
            writer: tokio::sync::Mutex::new(None),
        });
        if matches!(console.backend, Backend::Echo) {
            // What a getty on ttyS0 has shown before anyone connected.
            let banner = format!(
                "Debian GNU/Linux 12 {host} ttyS0\r\n\r\n{host} login: ",
                host = console.host
            );
            console.publish(Bytes::from(banner));
        }
        console
    }

    /// Subscribes to the output, connecting to the serial socket first if needed. Returns the
    /// scrollback to replay and the live stream after it, with no gap and no overlap.
    pub async fn attach(
        self: &Arc<Self>,
    ) -> io::Result<(Bytes, broadcast::Receiver<ConsoleEvent>)> {
        if let Backend::Unix(path) = &self.backend {
            self.ensure_connected(path).await?;
        }
        let output = self.output.lock().expect("console lock");
        let replay = Bytes::from(output.scrollback.iter().copied().collect::<Vec<u8>>());
        Ok((replay, output.sender.subscribe()))
    }

    /// What the port has printed lately (the scrollback), as a boot log stands in for it.
    pub fn scrollback(&self) -> Vec<u8> {
        let output = self.output.lock().expect("console lock");
        output.scrollback.iter().copied().collect()
    }

    /// Whether this is the echo getty (which, unlike a qemu guest, the fake fully controls).
    pub fn is_echo(&self) -> bool {
        matches!(self.backend, Backend::Echo)
    }

    /// Types bytes into the serial port.
    pub async fn write(&self, bytes: &[u8]) -> io::Result<()> {
        match &self.backend {
            Backend::Echo => {
                self.publish(Bytes::from(self.echo(bytes)));
                Ok(())
            }
            Backend::Unix(_) => {
                let mut writer = self.writer.lock().await;
                let connection = writer.as_mut().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotConnected, "serial socket not connected")
                })?;
                connection.half.write_all(bytes).await
            }
        }
    }

    /// Puts text into the output stream as if the guest had printed it. Used for the visible
    /// side effects of admin commands, which the fake cannot perform on a qemu guest.
    pub fn inject(&self, text: &str) {
        self.publish(Bytes::copy_from_slice(text.as_bytes()));
    }

    /// What the echo getty answers to input: the input itself, and a fresh prompt for `\r`.
    fn echo(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if b == b'\r' {
                out.extend_from_slice(format!("\r\n{} login: ", self.host).as_bytes());
            } else {
                out.push(b);
            }
        }
        out
    }

    fn publish(&self, bytes: Bytes) {
        let mut output = self.output.lock().expect("console lock");
        output.scrollback.extend(bytes.iter().copied());
        let excess = output
            .scrollback
            .len()
            .saturating_sub(self.scrollback_limit);
        output.scrollback.drain(..excess);
        // No subscriber is normal: nobody is connected.
        let _ = output.sender.send(ConsoleEvent::Output(bytes));
    }

    async fn ensure_connected(self: &Arc<Self>, path: &PathBuf) -> io::Result<()> {
        let mut writer = self.writer.lock().await;
        if writer.is_some() {
            return Ok(());
        }
        let stream = tokio::net::UnixStream::connect(path).await?;
        let (mut reader, half) = stream.into_split();
        let number = {
            let mut output = self.output.lock().expect("console lock");
            output.connections += 1;
            output.connections
        };
        info!(serial = %path.display(), number, "connected to the serial socket");
        let console = Arc::clone(self);
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) => {
                        info!(number, "the serial socket closed");
                        break;
                    }
                    Ok(n) => {
                        debug!(bytes = n, "serial output");
                        console.publish(Bytes::copy_from_slice(&buf[..n]));
                    }
                    Err(e) => {
                        warn!(number, "reading the serial socket failed: {e}");
                        break;
                    }
                }
            }
            let mut writer = console.writer.lock().await;
            if matches!(&*writer, Some(c) if c.number == number) {
                *writer = None;
            }
            let output = console.output.lock().expect("console lock");
            let _ = output.sender.send(ConsoleEvent::Closed);
        });
        *writer = Some(Connection {
            number,
            half,
            reader,
        });
        Ok(())
    }

    /// Lets go of the serial socket, closed by the time this returns, so that another client
    /// (qemu serves one) can have the port; the next session connects again. Returns whether
    /// there was a connection.
    pub async fn release(&self) -> bool {
        let Some(connection) = self.writer.lock().await.take() else {
            return false;
        };
        connection.reader.abort();
        // The reading task owns the read half: once it has ended, the socket is closed.
        let _ = connection.reader.await;
        drop(connection.half);
        info!(number = connection.number, "let go of the serial socket");
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn echo_answers_return_with_a_prompt_and_keeps_scrollback() {
        let console = Console::new(&SerialSpec::Echo, "vm1".into(), 20);
        let (replay, mut rx) = console.attach().await.unwrap();
        assert!(replay.ends_with(b"vm1 login: "));
        console.write(b"ab\r").await.unwrap();
        match rx.recv().await.unwrap() {
            ConsoleEvent::Output(b) => assert_eq!(&b[..], b"ab\r\nvm1 login: "),
            ConsoleEvent::Closed => panic!("closed"),
        }
        let (replay, _) = console.attach().await.unwrap();
        assert_eq!(replay.len(), 20, "scrollback is bounded");
        assert!(replay.ends_with(b"ab\r\nvm1 login: "));
    }

    #[tokio::test]
    async fn unix_serial_is_shared_and_reconnects() {
        let dir = std::env::temp_dir().join(format!("fake-azure-serial-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let console = Console::new(&SerialSpec::Unix(path.clone()), "vm".into(), 1024);
        let (_, mut rx) = console.attach().await.unwrap();
        let (mut guest, _) = listener.accept().await.unwrap();
        // A second session reuses the connection: no second accept happens.
        let (_, mut rx2) = console.attach().await.unwrap();
        console.write(b"typed").await.unwrap();
        let mut buf = [0u8; 5];
        guest.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"typed");
        guest.write_all(b"out").await.unwrap();
        for r in [&mut rx, &mut rx2] {
            assert!(matches!(r.recv().await.unwrap(), ConsoleEvent::Output(b) if &b[..] == b"out"));
        }
        drop(guest);
        assert!(matches!(rx.recv().await.unwrap(), ConsoleEvent::Closed));
        // The next attach connects anew.
        let attach = tokio::spawn({
            let console = Arc::clone(&console);
            async move { console.attach().await.map(|_| ()) }
        });
        let _guest2 = listener.accept().await.unwrap();
        attach.await.unwrap().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
