//! `lifeline connect`: the console, interactively. Keys go to the guest as typed (raw mode);
//! Ctrl-] opens a small menu. The local terminal is restored on every way out, panics included.

use super::args::Cli;
use super::session;
use crate::exit;
use crate::link::Link;
use anyhow::{Context, Result};
use rustix::termios::{self, Termios};
use std::io::IsTerminal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MENU_KEY: u8 = 0x1d;
/// How long scripted input waits for the console's last answer after its input ended.
const SCRIPTED_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn run(cli: &Cli) -> Result<u8> {
    let spec = session::link_spec(cli)?;
    let link = Link::open(&spec).await?;
    let interactive = std::io::stdin().is_terminal();
    let _raw = if interactive {
        eprintln!("Connected to {spec}. Press Enter for a prompt; Ctrl-] then q quits.\r");
        Some(RawMode::enter()?)
    } else {
        None
    };
    // Each direction flows on its own, so a long paste can never wait on unread output.
    let (output_done, mut output_ended) = tokio::sync::oneshot::channel();
    let mut reader = link.reader;
    let output = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        let mut buf = vec![0u8; 64 * 1024];
        let result = loop {
            match reader.read(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    if let Err(e) = stdout.write_all(&buf[..n]).await.and(stdout.flush().await) {
                        break Err(e);
                    }
                }
                Err(e) => break Err(e),
            }
        };
        let _ = output_done.send(result);
    });
    let mut writer = link.writer;
    let mut stdin = tokio::io::stdin();
    let mut from_user = [0u8; 1024];
    let mut menu_open = false;
    loop {
        let n = tokio::select! {
            ended = &mut output_ended => {
                ended.unwrap_or(Ok(())).context("reading from the console")?;
                eprintln!("\r\nThe console closed the connection.\r");
                return Ok(exit::LINK);
            }
            n = stdin.read(&mut from_user) => n.context("reading the keyboard")?,
        };
        if n == 0 {
            // Scripted use: input ended; let the answer to the last line arrive, then stop.
            tokio::time::sleep(SCRIPTED_DRAIN).await;
            output.abort();
            return Ok(exit::OK);
        }
        let mut keys = Vec::with_capacity(n);
        for &b in &from_user[..n] {
            if !interactive {
                keys.push(b);
            } else if menu_open {
                menu_open = false;
                match b {
                    b'q' | b'Q' => {
                        writer.write_all(&keys).await?;
                        eprintln!("\r\nlifeline: disconnected.\r");
                        return Ok(exit::OK);
                    }
                    MENU_KEY => keys.push(MENU_KEY),
                    _ => eprint!("\r\n[back to the console]\r\n"),
                }
            } else if b == MENU_KEY {
                menu_open = true;
                eprint!("\r\n[lifeline] q: quit   Ctrl-]: send Ctrl-]   any other key: back\r\n");
            } else {
                keys.push(b);
            }
        }
        writer.write_all(&keys).await?;
        writer.flush().await?;
    }
}

/// The local terminal in raw mode for as long as this value lives.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> Result<Self> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin).context("reading the terminal settings")?;
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(&stdin, termios::OptionalActions::Now, &raw)
            .context("switching the terminal to raw mode")?;
        let restore = saved.clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = termios::tcsetattr(std::io::stdin(), termios::OptionalActions::Now, &restore);
            previous(info);
        }));
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), termios::OptionalActions::Now, &self.saved);
    }
}
