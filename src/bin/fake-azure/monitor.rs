//! A guest's qemu HMP monitor: what lets the fake's `reset` and `nmi` admin commands act on a
//! real qemu guest, as Azure's act on the VM.

use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

const PROMPT: &[u8] = b"(qemu) ";
const WAIT: Duration = Duration::from_secs(10);

/// Runs one HMP command (`system_reset`, `nmi`) on the monitor socket at `path`.
pub async fn run(path: &Path, command: &str) -> Result<(), String> {
    let work = async {
        let mut monitor = UnixStream::connect(path)
            .await
            .map_err(|e| format!("connecting to {}: {e}", path.display()))?;
        until_prompt(&mut monitor).await?;
        monitor
            .write_all(format!("{command}\n").as_bytes())
            .await
            .map_err(|e| format!("writing to {}: {e}", path.display()))?;
        until_prompt(&mut monitor).await
    };
    tokio::time::timeout(WAIT, work).await.map_err(|_| {
        format!(
            "qemu's monitor {} did not answer within {WAIT:?}",
            path.display()
        )
    })?
}

async fn until_prompt(monitor: &mut UnixStream) -> Result<(), String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.ends_with(PROMPT) {
        let n = monitor
            .read(&mut buf)
            .await
            .map_err(|e| format!("reading qemu's monitor: {e}"))?;
        if n == 0 {
            return Err("qemu's monitor closed the connection".into());
        }
        seen.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UnixListener;

    /// A monitor that greets like qemu's and answers each line with a new prompt.
    #[tokio::test]
    async fn the_command_reaches_the_monitor() {
        let path = std::env::temp_dir().join(format!("fa-monitor-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            conn.write_all(b"QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ")
                .await
                .unwrap();
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while conn.read(&mut byte).await.unwrap() == 1 && byte[0] != b'\n' {
                line.push(byte[0]);
            }
            conn.write_all(b"\r\n(qemu) ").await.unwrap();
            String::from_utf8(line).unwrap()
        });
        run(&path, "system_reset").await.unwrap();
        assert_eq!(server.await.unwrap(), "system_reset");
        let _ = std::fs::remove_file(&path);
        assert!(run(&path, "nmi").await.unwrap_err().contains("connecting"));
    }
}
