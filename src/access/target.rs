//! What lifeline works on: a local serial console or an Azure VM or scale-set instance, and
//! opening its console.

use crate::azure::admin::{self, AdminCommand};
use crate::azure::arm::{ArmError, MachineView};
use crate::azure::console_link::{self, ConsoleLinkError, TakeOver};
use crate::azure::{ArmClient, VmTarget};
use crate::exit::ExitClass;
use crate::link::{Link, LinkError, LinkSpec};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;

#[derive(Clone)]
pub enum Target {
    /// A local serial console: a unix or tcp socket, or a child process.
    Serial(LinkSpec),
    /// An Azure VM or scale-set instance, reached through its serial console gateway; what to
    /// do when another client takes the console.
    Azure {
        arm: Box<ArmClient>,
        vm: VmTarget,
        take_over: TakeOver,
    },
}

impl Target {
    /// What the target is called in reports: the serial spec or `azure:RG/VM`.
    pub fn description(&self) -> String {
        match self {
            Target::Serial(spec) => spec.to_string(),
            Target::Azure { vm, .. } => format!("azure:{vm}"),
        }
    }

    /// Opens the target's console (for Azure after the pre-checks).
    pub async fn open(&self) -> Result<OpenConsole, OpenError> {
        match self {
            Target::Serial(spec) => Ok(OpenConsole {
                link: Link::open(spec).await?,
                description: spec.to_string(),
                azure: None,
            }),
            Target::Azure { arm, vm, take_over } => {
                let _step = crate::progress::step(&format!("opening the serial console of {vm}"));
                let console = console_link::open((**arm).clone(), vm.clone(), *take_over).await?;
                Ok(OpenConsole {
                    description: console.link.description.clone(),
                    link: console.link,
                    azure: Some(AzureHandle {
                        arm: (**arm).clone(),
                        session_url: console.session_url,
                        machine: console.machine,
                    }),
                })
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Azure(#[from] ConsoleLinkError),
}

impl OpenError {
    /// The exit class of this failure (see [`crate::exit`]); `transparent` hides the wrapped
    /// error from `source()`, so the class is asked of it here.
    pub fn exit_class(&self) -> ExitClass {
        match self {
            OpenError::Link(e) => e.exit_class(),
            OpenError::Azure(e) => e.exit_class(),
        }
    }
}

/// An open console: the link, and for Azure what admin commands need.
pub struct OpenConsole {
    pub link: Link,
    pub description: String,
    pub azure: Option<AzureHandle>,
}

/// An admin command's answer (SysRq's help line, an NMI report) is a few kB; a console that
/// prints more within the listening window is flooding, and 64 KiB keeps the answer's start.
pub const ANSWER_LIMIT: usize = 64 << 10;

impl OpenConsole {
    /// What the console prints within `listen`, as text: the answer to an admin command (a
    /// SysRq help line, an NMI report). Stops early when the console closes.
    /// Output past [`ANSWER_LIMIT`] is read and counted, and the count ends the text.
    pub async fn output_within(&mut self, listen: Duration) -> String {
        let mut answer = Vec::new();
        let mut dropped = 0usize;
        let mut buf = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + listen;
        while let Ok(Ok(n)) =
            tokio::time::timeout_at(deadline, self.link.reader.read(&mut buf)).await
        {
            if n == 0 {
                break;
            }
            let keep = n.min(ANSWER_LIMIT - answer.len());
            answer.extend_from_slice(&buf[..keep]);
            dropped += n - keep;
        }
        let mut text = String::from_utf8_lossy(&answer).into_owned();
        if dropped > 0 {
            text.push_str(&format!(
                "\n[lifeline: dropped {dropped} more bytes past {ANSWER_LIMIT}; attach with \
                 `lifeline connect` to read the console whole]"
            ));
        }
        text
    }
}

/// What admin commands (reset, SysRq, NMI) need once the link is handed to a session.
pub struct AzureHandle {
    pub arm: ArmClient,
    pub session_url: Arc<Mutex<String>>,
    pub machine: MachineView,
}

impl AzureHandle {
    /// Sends `command` to the console session in use (the gateway addresses it by session).
    pub async fn send(&self, command: &AdminCommand) -> Result<(), ArmError> {
        let url = self.session_url.lock().expect("session url lock").clone();
        admin::send(&self.arm, &url, command).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn an_answer_past_the_limit_keeps_its_start_and_says_how_much_was_dropped() {
        let (link, mut far) = Link::memory(1 << 16);
        let mut console = OpenConsole {
            link,
            description: "memory".into(),
            azure: None,
        };
        let writer = tokio::spawn(async move {
            far.write_all(&vec![b'x'; ANSWER_LIMIT + 1000])
                .await
                .unwrap();
        });
        let text = console.output_within(Duration::from_secs(5)).await;
        writer.await.unwrap();
        assert!(text.starts_with(&"x".repeat(ANSWER_LIMIT)));
        assert!(
            text.ends_with("to read the console whole]"),
            "{}",
            &text[ANSWER_LIMIT..]
        );
        assert!(
            text.contains("dropped 1000 more bytes"),
            "{}",
            &text[ANSWER_LIMIT..]
        );
    }
}
