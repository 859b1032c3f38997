//! The fake's stand-in for Azure's VM agent: qemu-guest-agent inside the real guest, reached
//! over its virtio-serial port (qemu's chardev socket, `--agent`). Run Command and VMAccess
//! run through it with `guest-exec`, never through the serial console, so the two channels
//! stay independent and a test can stop the agent in the guest.
//!
//! The protocol is QMP-style JSON, one object per line. A fresh connection may hold a stale
//! answer from an earlier client, so every exchange starts with `guest-sync-delimited`, whose
//! answer follows a `0xFF` byte. The chardev serves one client at a time: each socket has a
//! lock, held for a whole exchange.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// How long the agent may take to answer one request (TCG guests are slow).
const ANSWER_LIMIT: Duration = Duration::from_secs(10);
/// How long the heartbeat waits for the agent's answer.
const PING_LIMIT: Duration = Duration::from_secs(3);
/// How often a running command's status is asked for.
const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// What a command run in the guest gave back.
#[derive(Debug)]
pub struct Executed {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("the guest agent's socket {0}: {1}")]
    Socket(PathBuf, std::io::Error),
    #[error("the guest agent did not answer within {} s", .0.as_secs())]
    Silent(Duration),
    #[error("the guest agent refused {command}: {message}")]
    Refused { command: String, message: String },
    #[error("the command did not finish within {} s", .0.as_secs())]
    TooLong(Duration),
}

/// Whether the agent answers at all (the instance view's heartbeat).
pub async fn alive(socket: &Path) -> bool {
    let lock = lock_for(socket);
    let Ok(_held) = lock.try_lock() else {
        // Busy running a command for someone: alive.
        return true;
    };
    matches!(
        tokio::time::timeout(PING_LIMIT, Connection::open(socket)).await,
        Ok(Ok(_))
    )
}

/// Runs `/bin/sh -s` in the guest with `script` on its stdin (so nothing of it is on a
/// command line), waiting at most `limit` for it to end.
pub async fn run_script(
    socket: &Path,
    script: &[u8],
    limit: Duration,
) -> Result<Executed, AgentError> {
    let lock = lock_for(socket);
    let _held = lock.lock().await;
    let mut agent = Connection::open(socket).await?;
    let started = agent
        .call(
            "guest-exec",
            json!({"path": "/bin/sh", "arg": ["-s"], "input-data": STANDARD.encode(script),
                   "capture-output": true}),
        )
        .await?;
    let pid = started["pid"].clone();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let status = agent.call("guest-exec-status", json!({"pid": pid})).await?;
        if status["exited"].as_bool() == Some(true) {
            let data = |field: &str| {
                status[field]
                    .as_str()
                    .and_then(|b| STANDARD.decode(b).ok())
                    .unwrap_or_default()
            };
            return Ok(Executed {
                // A command killed by a signal has no exit code.
                exit_code: status["exitcode"]
                    .as_i64()
                    .unwrap_or_else(|| 128 + status["signal"].as_i64().unwrap_or(0)),
                stdout: data("out-data"),
                stderr: data("err-data"),
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(AgentError::TooLong(limit));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// One lock per agent socket, for the fake's whole life.
fn lock_for(socket: &Path) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    Arc::clone(locks.entry(socket.to_path_buf()).or_default())
}

struct Connection {
    reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: tokio::net::unix::OwnedWriteHalf,
    path: PathBuf,
}

impl Connection {
    /// Connects and synchronises past anything an earlier client left unread.
    async fn open(socket: &Path) -> Result<Connection, AgentError> {
        let stream = UnixStream::connect(socket)
            .await
            .map_err(|e| AgentError::Socket(socket.to_path_buf(), e))?;
        let (read, writer) = stream.into_split();
        let mut agent = Connection {
            reader: BufReader::new(read),
            writer,
            path: socket.to_path_buf(),
        };
        let id = rand::random::<u32>() & 0x7fff_ffff;
        agent
            .send("guest-sync-delimited", json!({"id": id}))
            .await?;
        let path = agent.path.clone();
        within(&path, async {
            loop {
                let mut byte = [0u8; 1];
                agent.reader.read_exact(&mut byte).await?;
                if byte[0] != 0xff {
                    continue;
                }
                // After the delimiter: answers until ours.
                loop {
                    if agent.line().await?["return"].as_u64() == Some(u64::from(id)) {
                        return Ok(());
                    }
                }
            }
        })
        .await?;
        Ok(agent)
    }

    async fn send(&mut self, command: &str, arguments: Value) -> Result<(), AgentError> {
        let mut line = json!({"execute": command, "arguments": arguments}).to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .await
            .map_err(|e| AgentError::Socket(self.path.clone(), e))
    }

    async fn call(&mut self, command: &str, arguments: Value) -> Result<Value, AgentError> {
        self.send(command, arguments).await?;
        let path = self.path.clone();
        let answer = within(&path, self.line()).await?;
        if let Some(error) = answer.get("error") {
            return Err(AgentError::Refused {
                command: command.to_string(),
                message: error["desc"]
                    .as_str()
                    .unwrap_or("no reason given")
                    .to_string(),
            });
        }
        Ok(answer["return"].clone())
    }

    /// The next JSON line (lines that are not JSON are skipped).
    async fn line(&mut self) -> std::io::Result<Value> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if let Ok(v) = serde_json::from_str(
                line.trim_matches(|c: char| c.is_whitespace() || c == '\u{ff}'),
            ) {
                return Ok(v);
            }
        }
    }
}

/// `f` within [`ANSWER_LIMIT`].
async fn within<T>(
    socket: &Path,
    f: impl Future<Output = std::io::Result<T>>,
) -> Result<T, AgentError> {
    match tokio::time::timeout(ANSWER_LIMIT, f).await {
        Ok(result) => result.map_err(|e| AgentError::Socket(socket.to_path_buf(), e)),
        Err(_) => Err(AgentError::Silent(ANSWER_LIMIT)),
    }
}
