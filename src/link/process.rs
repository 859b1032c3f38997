//! A console command (`virsh console`, `socat`, `screen`…) run on a pseudo-terminal.
//!
//! expectrl's process layer (ptyprocess underneath) does the fork, `setsid`, controlling tty and
//! window size. Its own session type is not used on top: only the pty master is taken, registered
//! with tokio as a non-blocking fd, and read and written like any other link.

use expectrl::process::unix::UnixProcess;
use expectrl::process::{Process, Termios};
use std::fs::File;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::process::Command;
use std::task::{Context, Poll, ready};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Starts `command` under `/bin/sh -c` on a new pty, with a clean environment; returns the
/// two halves of the master and the process, which is ended (SIGHUP first) when dropped.
pub fn spawn(command: &str) -> io::Result<(super::Reader, super::Writer, Box<dyn Send>)> {
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg(command)
        .env_clear()
        .envs(super::child_environment());
    let mut process = UnixProcess::spawn_command(sh)?;
    // ptyprocess turns echo off; a console line echoes, so behave like one.
    process.set_echo(true)?;
    let master = process.get_raw_handle().map_err(io::Error::other)?;
    rustix::io::ioctl_fionbio(&master, true)?;
    let writer = PtyHalf::new(master.try_clone()?)?;
    let reader = PtyHalf::new(master)?;
    Ok((Box::new(reader), Box::new(writer), Box::new(process)))
}

/// One direction of the pty master, driven by tokio's reactor.
struct PtyHalf {
    fd: AsyncFd<File>,
}

impl PtyHalf {
    fn new(file: File) -> io::Result<Self> {
        // SAFETY: the File owns its descriptor and is moved into the AsyncFd, so the fd stays
        // open and refers to the same pty master for the AsyncFd's whole life.
        let fd = unsafe { AsyncFd::register(file) }.map_err(io::Error::from)?;
        Ok(PtyHalf { fd })
    }
}

impl AsyncRead for PtyHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|f| f.get_ref().read(unfilled)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // Linux reports the far side of a pty closing as EIO: that is end of stream.
                Ok(Err(e)) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => {
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for PtyHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|f| f.get_ref().write(data)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn a_console_command_cannot_read_a_password_variable() {
        // The name is this test's own, so no other test reads or writes it.
        // SAFETY: no other thread of this test binary touches this variable.
        unsafe { std::env::set_var("LIFELINE_TEST_CHILD_PW", "hunter2") };
        let (mut reader, _writer, _process) =
            spawn("tr '\\0' '\\n' </proc/self/environ; echo END").unwrap();
        let mut seen = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("END") {
            let n = reader.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "the command ended early: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&chunk[..n]);
        }
        let seen = String::from_utf8_lossy(&seen);
        assert!(seen.contains("PATH="), "{seen}");
        assert!(!seen.contains("hunter2"), "{seen}");
    }
}
