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

pub async fn run(cli: &Cli) -> Result<u8> {
    let spec = session::link_spec(cli)?;
    let mut link = Link::open(&spec).await?;
    let interactive = std::io::stdin().is_terminal();
    let _raw = if interactive {
        eprintln!("Connected to {spec}. Press Enter for a prompt; Ctrl-] then q quits.\r");
        Some(RawMode::enter()?)
    } else {
        None
    };
    let mut stdin = tokio::io::stdin();
    let mut stdout = tokio::io::stdout();
    let mut from_user = [0u8; 1024];
    let mut from_guest = vec![0u8; 64 * 1024];
    let mut menu_open = false;
    loop {
        tokio::select! {
            n = link.reader.read(&mut from_guest) => {
                let n = n.context("reading from the console")?;
                if n == 0 {
                    eprintln!("\r\nThe console closed the connection.\r");
                    return Ok(exit::LINK);
                }
                stdout.write_all(&from_guest[..n]).await?;
                stdout.flush().await?;
            }
            n = stdin.read(&mut from_user) => {
                let n = n.context("reading the keyboard")?;
                if n == 0 {
                    // Scripted use: input ended; let the last output arrive, then stop.
                    link.close().await.ok();
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
                                link.writer.write_all(&keys).await?;
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
                link.writer.write_all(&keys).await?;
                link.writer.flush().await?;
            }
        }
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
