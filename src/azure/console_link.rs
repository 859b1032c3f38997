//! An Azure Serial Console session as a [`Link`] that heals itself.
//!
//! A bridge task carries bytes between the websocket and an in-memory link. When the websocket
//! drops (no close frame) or the gateway closes it with an error such as 1011, the bridge asks
//! ARM for a fresh session URL and reconnects (bounded, with backoff), and counts the
//! interruption on the link so the shell layer can tell that bytes may be missing.
//!
//! A console holds one client at a time, and the gateway's close code for "another client took
//! it" is not documented. So a clean close (1000, 1001, or no code) of a session that was
//! working is read as exactly that: it is reported, and the link ends, unless the user asked
//! for `--take-over`, which reconnects once. Once only, so two clients that both take over
//! settle after one round instead of evicting each other forever.

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
/// Reconnections after drops over the life of a link: a bound, so that no pattern of closes
/// keeps two clients evicting each other.
const RECONNECTS: u32 = 5;
/// Websocket keepalive: the gateway and proxies drop idle connections.
const PING_EVERY: Duration = Duration::from_secs(30);

/// What to do when another client takes the console.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TakeOver {
    /// Report it and end: the other client (a person at the portal, say) keeps the console.
    #[default]
    Yield,
    /// Reconnect once, evicting the other client in turn.
    Once,
}

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
        match self {
            ConsoleLinkError::Precheck(e) => e.exit_class(),
            // Otherwise the console cannot be reached, whatever the reason.
            _ => ExitClass::Link,
        }
    }
}

/// Checks the machine, opens its console and starts the bridge.
pub async fn open(
    arm: ArmClient,
    target: VmTarget,
    take_over: TakeOver,
) -> Result<AzureConsole, ConsoleLinkError> {
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
        take_over,
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

/// A close without an error: normal closure, going away, or no code at all.
fn is_clean_close(code: u16) -> bool {
    matches!(code, 1000 | 1001 | 1005)
}

struct Bridge {
    arm: ArmClient,
    target: VmTarget,
    session_url: Arc<Mutex<String>>,
    interruptions: Interruptions,
    take_over: TakeOver,
}

/// Why a websocket stopped carrying bytes.
enum Ended {
    /// Our side closed the link: we are done.
    ByUs,
    /// The gateway closed a working session cleanly: another client took the console, and
    /// reconnecting would evict it in turn.
    TakenOver(String),
    /// A drop or a refusal worth a new session.
    Dropped(String),
}

impl Bridge {
    async fn run(self, mut ws: GatewayStream, far: tokio::io::DuplexStream) {
        let (mut from_session, mut to_session) = tokio::io::split(far);
        let mut take_over = self.take_over;
        let mut reconnects_left = RECONNECTS;
        loop {
            match self
                .carry(&mut ws, &mut from_session, &mut to_session)
                .await
            {
                Ended::ByUs => {
                    let _ = ws.close(None).await;
                    return;
                }
                Ended::TakenOver(reason) if take_over == TakeOver::Yield => {
                    error!(
                        "another client took this VM's serial console (the gateway closed the \
                         session: {reason}); a console holds one client at a time, so lifeline \
                         stopped rather than evict it. Run again with --take-over to take the \
                         console back (once)."
                    );
                    return;
                }
                Ended::TakenOver(reason) => {
                    take_over = TakeOver::Yield;
                    warn!(
                        "another client took this VM's serial console ({reason}); taking it \
                         back once (--take-over)"
                    );
                }
                Ended::Dropped(why) if reconnects_left == 0 => {
                    error!(
                        "the serial console connection dropped ({why}) after {RECONNECTS} \
                         reconnections; giving up"
                    );
                    return;
                }
                Ended::Dropped(why) => {
                    reconnects_left -= 1;
                    warn!("the serial console connection dropped ({why}); reconnecting");
                }
            }
            self.interruptions.record();
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
                        let why = format!("{code} {reason}").trim_end().to_string();
                        return if is_clean_close(code) {
                            Ended::TakenOver(why)
                        } else {
                            Ended::Dropped(format!("closed by the gateway, {why}"))
                        };
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
