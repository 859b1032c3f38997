//! `lifeline connect`: the console, interactively. Keys go to the guest as typed (raw mode);
//! Ctrl-] opens a small menu. The local terminal is restored on every way out, panics included.

use super::args::Cli;
use super::session;
use crate::access::AzureHandle;
use crate::azure::admin::{self, AdminCommand};
use crate::exit;
use anyhow::{Context, Result};
use rustix::termios::{self, Termios};
use std::io::{IsTerminal, Write};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MENU_KEY: u8 = 0x1d;
/// How long scripted input waits for the console's last answer after its input ended.
const SCRIPTED_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn run(cli: &Cli) -> Result<u8> {
    let opened = session::target(&cli.target).await?.open().await?;
    let link = opened.link;
    let azure = opened.azure;
    let interactive = std::io::stdin().is_terminal();
    let _raw = if interactive {
        eprintln!(
            "Connected to {}. Press Enter for a prompt; Ctrl-] opens the menu.\r",
            opened.description
        );
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
    let mut menu = Menu::Closed;
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
                continue;
            }
            match (menu, b) {
                (Menu::Closed, MENU_KEY) => {
                    menu = Menu::Open;
                    eprint!("{}", menu_text(azure.is_some()));
                }
                (Menu::Closed, _) => keys.push(b),
                (Menu::Open, b'q' | b'Q') => {
                    writer.write_all(&keys).await?;
                    eprintln!("\r\nlifeline: disconnected.\r");
                    return Ok(exit::OK);
                }
                (Menu::Open, MENU_KEY) => {
                    keys.push(MENU_KEY);
                    menu = Menu::Closed;
                }
                (Menu::Open, b'n' | b'r') if azure.is_some() => {
                    let command = if b == b'n' {
                        AdminCommand::Nmi
                    } else {
                        AdminCommand::Reset
                    };
                    eprint!(
                        "\r\nReally send {command:?}? It interrupts everything the VM runs. [y/N] "
                    );
                    menu = Menu::Confirm(command == AdminCommand::Reset);
                }
                (Menu::Open, b's') if azure.is_some() => {
                    eprint!("\r\nSysRq key (h for help): ");
                    menu = Menu::SysRq;
                }
                (Menu::Confirm(reset), b'y' | b'Y') => {
                    let command = if reset {
                        AdminCommand::Reset
                    } else {
                        AdminCommand::Nmi
                    };
                    admin_from_menu(&azure, command).await;
                    menu = Menu::Closed;
                }
                (Menu::SysRq, key) if key.is_ascii_alphanumeric() => {
                    admin_from_menu(&azure, AdminCommand::SysRq((key as char).to_string())).await;
                    menu = Menu::Closed;
                }
                _ => {
                    eprint!("\r\n[back to the console]\r\n");
                    menu = Menu::Closed;
                }
            }
        }
        writer.write_all(&keys).await?;
        writer.flush().await?;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Menu {
    Closed,
    Open,
    /// Waiting for y to send NMI (false) or reset (true).
    Confirm(bool),
    /// Waiting for the SysRq key.
    SysRq,
}

fn menu_text(azure: bool) -> &'static str {
    if azure {
        "\r\n[lifeline] q: quit   n: NMI   s: SysRq   r: reset   Ctrl-]: send Ctrl-]   other: back\r\n"
    } else {
        "\r\n[lifeline] q: quit   Ctrl-]: send Ctrl-]   any other key: back\r\n"
    }
}

/// Sends an admin command chosen (and confirmed) in the menu; reports the outcome on stderr.
async fn admin_from_menu(azure: &Option<AzureHandle>, command: AdminCommand) {
    let Some(handle) = azure else { return };
    if let Some(why) = admin::refusal(&command, &handle.machine) {
        say(&format!("\r\n[lifeline] {why}\r\n"));
        return;
    }
    match handle.send(&command).await {
        Ok(()) => say(&format!("\r\n[lifeline] sent {command:?}\r\n")),
        Err(e) => say(&format!("\r\n[lifeline] {command:?} failed: {e}\r\n")),
    }
}

/// Writes a line of lifeline's own in one piece: `eprint!` writes a formatted line in several
/// writes, and the console's answer to the command, arriving on stdout meanwhile, would land in
/// the middle of it.
fn say(line: &str) {
    let _ = std::io::stderr().write_all(line.as_bytes());
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
