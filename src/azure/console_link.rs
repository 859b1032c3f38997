//! An Azure Serial Console session as a [`Link`] that heals itself.
//!
//! A bridge task carries bytes between the websocket and an in-memory link. When the websocket
//! drops or the gateway closes it with 1011, the bridge asks ARM for a fresh session URL and
//! reconnects (bounded, with backoff), and counts the interruption on the link so the shell
//! layer can tell that bytes may be missing. When another client takes the console over (one
//! session per VM), that is reported plainly and the link ends.

use super::arm::{ArmClient, MachineView};
use super::precheck::{self, PrecheckError};
use super::target::VmTarget;
use super::websocket::{self, GatewayStream, WsError};
use crate::exit::ExitClass;
use crate::link::{Interruptions, Link};
use futures_util::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tracing::{error, info, warn};

/// Attempts per (re)connection before giving up.
const ATTEMPTS: u32 = 5;
/// Websocket keepalive: the gateway and proxies drop idle connections.
const PING_EVERY: Duration = Duration::from_secs(30);

/// An open console, the session URL in use (admin commands are addressed to it), and what the
/// pre-checks learnt about the machine.
pub struct AzureConsole {
    pub link: Link,
    pub session_url: Arc<Mutex<String>>,
    pub machine: MachineView,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsoleLinkError {
    #[error(transparent)]
    Precheck(#[from] PrecheckError),
    #[error("could not open the serial console of {target} after {ATTEMPTS} attempts: {last}")]
    Exhausted { target: String, last: String },
    #[error("could not open the serial console of {target}: {source}")]
    Fatal {
        target: String,
        #[source]
        source: WsError,
    },
}

impl ConsoleLinkError {
    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        // The console cannot be reached, whatever the reason.
        ExitClass::Link
    }
}

/// Checks the machine, opens its console and starts the bridge.
pub async fn open(arm: ArmClient, target: VmTarget) -> Result<AzureConsole, ConsoleLinkError> {
    let machine = precheck::check(&arm, &target).await?;
    let (ws, url) = connect(&arm, &target).await?;
    let (mut link, far) = Link::memory(256 * 1024);
    link.description = format!("azure:{target}");
    let session_url = Arc::new(Mutex::new(url));
    let bridge = Bridge {
        arm,
        target,
        session_url: session_url.clone(),
        interruptions: link.interruptions.clone(),
    };
    tokio::spawn(bridge.run(ws, far));
    Ok(AzureConsole {
        link,
        session_url,
        machine,
    })
}

/// One connect call and websocket handshake, retried on transient failures with backoff.
async fn connect(
    arm: &ArmClient,
    target: &VmTarget,
) -> Result<(GatewayStream, String), ConsoleLinkError> {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let url = arm
            .connect(target)
            .await
            .map_err(|e| ConsoleLinkError::Precheck(e.into()))?;
        let token = arm
            .token()
            .await
            .map_err(|e| ConsoleLinkError::Precheck(e.into()))?;
        match websocket::open(&url, &token).await {
            Ok(ws) => {
                info!(attempt, "serial console session open");
                return Ok((ws, url));
            }
            Err(e) if e.is_transient() => {
                warn!(attempt, "serial console session refused ({e}); retrying");
                last = e.to_string();
                tokio::time::sleep(Duration::from_millis(500 << attempt.min(4))).await;
            }
            Err(source) => {
                return Err(ConsoleLinkError::Fatal {
                    target: target.to_string(),
                    source,
                });
            }
        }
    }
    Err(ConsoleLinkError::Exhausted {
        target: target.to_string(),
        last,
    })
}

struct Bridge {
    arm: ArmClient,
    target: VmTarget,
    session_url: Arc<Mutex<String>>,
    interruptions: Interruptions,
}

/// Why a websocket stopped carrying bytes.
enum Ended {
    /// Our side closed the link: we are done.
    ByUs,
    /// Another client opened the console; reconnecting would evict it in turn.
    Evicted(String),
    /// A drop or a refusal worth a new session.
    Dropped(String),
}

impl Bridge {
    async fn run(self, mut ws: GatewayStream, far: tokio::io::DuplexStream) {
        let (mut from_session, mut to_session) = tokio::io::split(far);
        loop {
            match self
                .carry(&mut ws, &mut from_session, &mut to_session)
                .await
            {
                Ended::ByUs => {
                    let _ = ws.close(None).await;
                    return;
                }
                Ended::Evicted(reason) => {
                    error!(
                        "another connection to this VM's serial console was opened ({reason}); \
                         only one is allowed at a time, so this one has ended"
                    );
                    return;
                }
                Ended::Dropped(why) => {
                    self.interruptions.record();
                    warn!("the serial console connection dropped ({why}); reconnecting");
                    match connect(&self.arm, &self.target).await {
                        Ok((fresh, url)) => {
                            *self.session_url.lock().expect("session url lock") = url;
                            warn!("reconnected to the serial console");
                            ws = fresh;
                        }
                        Err(e) => {
                            error!("could not reconnect to the serial console: {e}");
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Moves bytes both ways until the websocket or our side ends.
    async fn carry(
        &self,
        ws: &mut GatewayStream,
        from_session: &mut tokio::io::ReadHalf<tokio::io::DuplexStream>,
        to_session: &mut tokio::io::WriteHalf<tokio::io::DuplexStream>,
    ) -> Ended {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let mut typed = vec![0u8; 16 * 1024];
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Message::Binary(bytes))) => {
                        if to_session.write_all(&bytes).await.is_err() {
                            return Ended::ByUs;
                        }
                    }
                    Some(Ok(Message::Text(text))) => {
                        if to_session.write_all(text.as_bytes()).await.is_err() {
                            return Ended::ByUs;
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let reason = frame.as_ref().map(|f| f.reason.to_string()).unwrap_or_default();
                        let code = frame.as_ref().map(|f| u16::from(f.code)).unwrap_or(1005);
                        if code == 1000 && reason.to_ascii_lowercase().contains("another") {
                            return Ended::Evicted(reason);
                        }
                        return Ended::Dropped(format!("closed by the gateway, {code} {reason}"));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Ended::Dropped(e.to_string()),
                    None => return Ended::Dropped("the connection ended".into()),
                },
                n = from_session.read(&mut typed) => match n {
                    Ok(0) | Err(_) => return Ended::ByUs,
                    Ok(n) => {
                        let message = match std::str::from_utf8(&typed[..n]) {
                            Ok(text) => Message::text(text),
                            Err(_) => Message::binary(typed[..n].to_vec()),
                        };
                        if let Err(e) = ws.send(message).await {
                            return Ended::Dropped(e.to_string());
                        }
                    }
                },
                _ = ping.tick() => {
                    if let Err(e) = ws.send(Message::Ping(Vec::new().into())).await {
                        return Ended::Dropped(e.to_string());
                    }
                }
            }
        }
    }
}
