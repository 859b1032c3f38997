//! One websocket session on the gateway, from the challenge to the close (docs/azure-serial-console.md):
//!
//! 1. A machine without a host (deallocated) has no serial port: the socket is closed before any
//!    frame (1011), which az reports as "Make sure that it is powered on".
//! 2. The first frame is the challenge (opaque text). The client answers with one text frame
//!    holding only the access token. A wrong token, or anything else, closes with
//!    1011 "Connection not trusted"; no answer within the timeout closes with 1008. A valid
//!    `?authorization=` query token (az ≤ 0.1.8) counts as the answer.
//! 3. Injected refusals close a correct answer with 1011 "Connection not trusted" too.
//! 4. Once in, the session takes over the machine's console, evicting the previous session with
//!    1000 and a reason that says so (the real code is not documented, docs/azure-serial-console.md: 1000 is
//!    our choice, since the eviction is the service working as designed; clients must not rely
//!    on the reason text). Then the scrollback is
//!    replayed and serial bytes flow both ways. A text frame equal to an issued token is dropped,
//!    not typed: az 0.1.7 sent its token again after the query had already authenticated it.

use crate::delay::DelayLine;
use crate::frames::{Framer, Framing};
use crate::machines::{MachineKey, Power};
use crate::serial::ConsoleEvent;
use crate::state::{Fake, Kick};
use crate::token;
use futures_util::{SinkExt, StreamExt};
use std::future::pending;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, MissedTickBehavior, interval_at, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{debug, info, warn};

pub const NOT_TRUSTED: &str = "Connection not trusted";
pub const EVICTED: &str =
    "Another connection to this VM's serial console was opened; this one was closed";

pub struct SessionInfo {
    pub connection: u64,
    pub session: String,
    pub machine: MachineKey,
    /// The upgrade request carried a valid legacy `?authorization=` token.
    pub legacy_auth: bool,
}

enum Answer {
    Token,
    Wrong,
    Gone,
    Kicked(Kick),
}

pub async fn run<S>(
    fake: &Fake,
    mut ws: WebSocketStream<S>,
    info: &SessionInfo,
    mut kicks: UnboundedReceiver<Kick>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let power = fake.world().machines.get(&info.machine).map(|m| m.power);
    if !power.is_some_and(Power::allocated) {
        info!("refused: the machine is deallocated");
        close(
            &mut ws,
            1011,
            "The virtual machine is not running; start it and connect again",
        )
        .await;
        return;
    }
    let challenge = fake.world().behaviour.challenge.clone();
    if ws.send(Message::text(challenge)).await.is_err() {
        return;
    }
    let answer = if info.legacy_auth {
        Answer::Token
    } else {
        match timeout(
            fake.settings.auth_timeout,
            wait_for_token(fake, &mut ws, &mut kicks),
        )
        .await
        {
            Ok(answer) => answer,
            Err(_) => {
                info!("no token in time");
                fake.world().counters.ws_auth_failures += 1;
                close(&mut ws, 1008, "No access token was received in time").await;
                return;
            }
        }
    };
    match answer {
        Answer::Token => {}
        Answer::Wrong => {
            info!("refused: not a valid token");
            fake.world().counters.ws_auth_failures += 1;
            close(&mut ws, 1011, NOT_TRUSTED).await;
            return;
        }
        Answer::Gone => return,
        Answer::Kicked(kick) => {
            obey(fake, ws, kick).await;
            return;
        }
    }
    if fake.take_refusal() {
        info!("refused on purpose (injected fault)");
        close(&mut ws, 1011, NOT_TRUSTED).await;
        return;
    }
    fake.authenticate(info.connection);
    info!(session = %info.session, "authenticated");
    let Some(console) = fake.console(&info.machine) else {
        return;
    };
    let (replay, mut output) = match console.attach().await {
        Ok(attached) => attached,
        Err(e) => {
            warn!("could not reach the serial port: {e}");
            close(&mut ws, 1011, "Could not reach the serial port of the VM").await;
            return;
        }
    };
    let mut framer = Framer::default();
    if !replay.is_empty()
        && send_output(fake, &mut ws, &mut framer, &replay)
            .await
            .is_err()
    {
        return;
    }
    let mut ping = (fake.settings.ping_interval > Duration::ZERO).then(|| {
        let period = fake.settings.ping_interval;
        let mut i = interval_at(Instant::now() + period, period);
        i.set_missed_tick_behavior(MissedTickBehavior::Delay);
        i
    });
    // Frames in flight through the injected latency: typed ones towards the VM, shown ones
    // towards the client.
    let mut typed = DelayLine::new(fake.settings.latency);
    let mut shown = DelayLine::new(fake.settings.latency);
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if fake.identity(text.as_str().trim()).is_some() {
                        debug!("dropped a repeated token frame");
                        continue;
                    }
                    if let Some(bytes) = typed.pass(text.as_bytes().to_vec())
                        && type_in(fake, info, &bytes).await.is_err()
                    {
                        close(&mut ws, 1011, "The serial port of the VM is unavailable").await;
                        break;
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    if let Some(bytes) = typed.pass(bytes.to_vec())
                        && type_in(fake, info, &bytes).await.is_err()
                    {
                        close(&mut ws, 1011, "The serial port of the VM is unavailable").await;
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    debug!("websocket read failed: {e}");
                    break;
                }
                None => {
                    info!("client closed");
                    break;
                }
            },
            event = output.recv() => match event {
                Ok(ConsoleEvent::Output(bytes)) => {
                    if !machine_running(fake, &info.machine) {
                        continue;
                    }
                    if let Some(bytes) = shown.pass(bytes.to_vec())
                        && send_output(fake, &mut ws, &mut framer, &bytes).await.is_err()
                    {
                        break;
                    }
                }
                Ok(ConsoleEvent::Closed) | Err(RecvError::Closed) => {
                    close(&mut ws, 1011, "The serial port of the VM closed").await;
                    break;
                }
                Err(RecvError::Lagged(n)) => warn!(events = n, "session fell behind; output lost"),
            },
            bytes = typed.due() => {
                if type_in(fake, info, &bytes).await.is_err() {
                    close(&mut ws, 1011, "The serial port of the VM is unavailable").await;
                    break;
                }
            }
            bytes = shown.due() => {
                if send_output(fake, &mut ws, &mut framer, &bytes).await.is_err() {
                    break;
                }
            }
            kick = kicks.recv() => {
                obey(fake, ws, kick.unwrap_or(Kick::Drop)).await;
                return;
            }
            _ = async {
                match ping.as_mut() {
                    Some(i) => i.tick().await,
                    None => pending().await,
                }
            } => {
                if ws.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// Waits for the answer to the challenge.
async fn wait_for_token<S>(
    fake: &Fake,
    ws: &mut WebSocketStream<S>,
    kicks: &mut UnboundedReceiver<Kick>,
) -> Answer
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    return if token::check(fake, text.as_str()).is_ok() {
                        Answer::Token
                    } else {
                        Answer::Wrong
                    };
                }
                // The token travels as text (az's `ws.send(str)`); anything else is no answer.
                Some(Ok(Message::Binary(_))) => return Answer::Wrong,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Answer::Gone,
            },
            kick = kicks.recv() => return Answer::Kicked(kick.unwrap_or(Kick::Drop)),
        }
    }
}

async fn obey<S>(fake: &Fake, mut ws: WebSocketStream<S>, kick: Kick)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match kick {
        Kick::Evicted => {
            info!("evicted by a newer session");
            close(&mut ws, 1000, EVICTED).await;
        }
        Kick::Close(code, reason) => close(&mut ws, code, &reason).await,
        Kick::Drop => {
            info!("dropped without a close frame (injected fault)");
            fake.world().counters.ws_dropped += 1;
            // Dropping the stream closes the TCP connection with no websocket close frame and
            // no TLS close_notify: what a broken network path looks like to the client.
            drop(ws);
        }
    }
}

fn machine_running(fake: &Fake, machine: &MachineKey) -> bool {
    fake.world()
        .machines
        .get(machine)
        .is_some_and(|m| m.power.running())
}

/// Types client input into the serial port; a stopped guest swallows it.
async fn type_in(fake: &Fake, info: &SessionInfo, bytes: &[u8]) -> std::io::Result<()> {
    if !machine_running(fake, &info.machine) {
        return Ok(());
    }
    fake.world().counters.serial_input_bytes += bytes.len() as u64;
    match fake.console(&info.machine) {
        Some(console) => console.write(bytes).await,
        None => Ok(()),
    }
}

async fn send_output<S>(
    fake: &Fake,
    ws: &mut WebSocketStream<S>,
    framer: &mut Framer,
    bytes: &[u8],
) -> Result<(), tokio_tungstenite::tungstenite::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let framing = {
        let w = fake.world();
        Framing {
            mode: w.behaviour.frames,
            invalid_utf8_text_frames: w.behaviour.invalid_utf8_text_frames,
            max_frame_bytes: w.behaviour.max_frame_bytes,
        }
    };
    for message in framer.frames(bytes, framing) {
        ws.feed(message).await?;
    }
    ws.flush().await
}

/// Sends a close frame and waits briefly for the client's reply, so the close handshake ends
/// cleanly and the client sees the code and reason.
async fn close<S>(ws: &mut WebSocketStream<S>, code: u16, reason: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    if ws.close(Some(frame)).await.is_ok() {
        let _ = timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
    }
}
