//! The boot loader on the console: catching GRUB's menu as the machine starts (a hidden menu
//! shows only for Esc), editing the default entry in memory, booting it, and handing a root
//! shell without systemd back to init. Nothing on disk changes here.

use super::state::ConsoleState;
use super::{Session, ShellError};
use std::time::Duration;
use tokio::time::Instant;
use tracing::info;

/// How often Esc is pressed while waiting for GRUB: its hidden-menu check is brief.
const ESC_EVERY: Duration = Duration::from_millis(150);
/// How many times `e` is pressed at the menu before giving up.
const EDIT_TRIES: u64 = 3;

impl Session {
    /// After a restart: presses Esc until GRUB's menu is on the screen. A visible menu is
    /// left as drawn (Esc does nothing there).
    pub async fn catch_grub_menu(&mut self, limit: Duration) -> Result<(), ShellError> {
        let deadline = Instant::now() + limit;
        while !grub_menu_shown(&self.console().screen().contents()) {
            if Instant::now() > deadline {
                return Err(self.stuck_after(limit));
            }
            self.write(b"\x1b").await?;
            self.expecter.settle(ESC_EVERY, ESC_EVERY).await?;
        }
        info!("GRUB's menu is on the screen");
        Ok(())
    }

    /// At GRUB's menu: opens the highlighted (default) entry in the editor, appends `args` to
    /// its `linux` line, and boots it with Ctrl-x.
    pub async fn boot_default_entry_with(&mut self, args: &str) -> Result<(), ShellError> {
        // An Esc still on its way would turn the next key into an escape sequence (GRUB's
        // terminfo input waits for the rest of one): let the menu settle first, and press `e`
        // again if the editor does not open.
        let mut index = None;
        for _ in 0..EDIT_TRIES {
            self.expecter
                .settle(Duration::from_secs(1), Duration::from_secs(5))
                .await?;
            self.write(b"e").await?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while index.is_none() && Instant::now() < deadline {
                self.expecter
                    .settle(Duration::from_millis(300), Duration::from_secs(1))
                    .await?;
                index = editor_lines(&self.console().screen().contents())
                    .iter()
                    .position(|l| l.trim_start().starts_with("linux"));
            }
            if index.is_some() {
                break;
            }
        }
        let Some(index) = index else {
            return Err(self.stuck_after(Duration::from_secs(15 * EDIT_TRIES)));
        };
        // Ctrl-n: the next line, one byte (an arrow key's escape sequence can be split and
        // lost on a slow serial line).
        for _ in 0..index {
            self.write(b"\x0e").await?;
        }
        // Ctrl-e: to the end of the (logical) line.
        self.write(b"\x05").await?;
        self.type_text(&format!(" {args}")).await?;
        self.expecter
            .settle(Duration::from_millis(500), Duration::from_secs(5))
            .await?;
        info!(args, "booting GRUB's default entry with");
        self.write(b"\x18").await
    }

    /// Waits (the whole boot) for a state that needs a decision: a shell, a login prompt, a
    /// maintenance prompt.
    pub async fn wait_for_prompt(&mut self, limit: Duration) -> Result<ConsoleState, ShellError> {
        let deadline = Instant::now() + limit;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let state = self.observe(remaining.min(Duration::from_secs(30))).await?;
            if state != ConsoleState::Unknown {
                return Ok(state);
            }
            if remaining.is_zero() {
                return Err(self.stuck_after(limit));
            }
        }
    }

    /// In a root shell that runs as init (`init=/bin/sh`): leaves our own shell and replaces
    /// the shell with the real init, which boots the system as usual.
    pub async fn continue_boot(&mut self) -> Result<(), ShellError> {
        self.exit_own_shell().await?;
        self.type_text("sync; exec /sbin/init\r").await?;
        self.forget_shell();
        Ok(())
    }

    pub(super) fn stuck_after(&self, waited: Duration) -> ShellError {
        ShellError::Stuck {
            waited,
            screen: self.console().screen().contents(),
        }
    }
}

fn grub_menu_shown(screen: &str) -> bool {
    screen.contains("GNU GRUB") && (screen.contains("Use the") || screen.contains("Press enter"))
}

/// The logical lines of GRUB's entry editor, empty ones included: the rows inside its box, a
/// row ending in `\` continued on the next.
fn editor_lines(screen: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut continued = false;
    for row in screen.lines() {
        let Some(inner) = row.trim().strip_prefix('|') else {
            continue;
        };
        let inner = inner.strip_suffix('|').unwrap_or(inner).trim_end();
        let (text, wraps) = match inner.strip_suffix('\\') {
            Some(t) => (t, true),
            None => (inner, false),
        };
        match lines.last_mut() {
            Some(last) if continued => last.push_str(text),
            _ => lines.push(text.to_string()),
        }
        continued = wraps;
    }
    // Empty lines count: the editor moves over them like any other.
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linux_line_is_found_in_the_editor_even_when_wrapped() {
        let screen = "                       GNU GRUB  version 2.06-13+deb12u2\n\n \
+----------------------------------------------------------------------------+\n \
|setparams 'Debian GNU/Linux'                                                |\n \
|                                                                            |\n \
|  linux /boot/vmlinuz-6.1.0-50-amd64 root=LABEL=guestroot ro console=ttyS0\\|\n \
|,115200                                                                     |\n \
|  initrd /boot/initrd.img-6.1.0-50-amd64                                    |\n \
+----------------------------------------------------------------------------+\n";
        let lines = editor_lines(screen);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[1], "", "the empty line after setparams is a line");
        assert!(lines[2].trim_start().starts_with("linux"));
        assert!(lines[2].ends_with("console=ttyS0,115200"), "{lines:?}");
        assert!(!grub_menu_shown(screen));
        assert!(grub_menu_shown(
            "GNU GRUB  version 2.06\n|*Debian GNU/Linux |\n Use the ^ and v keys to select"
        ));
    }
}
