//! The serial-console gateway's HTTP side (docs/azure-serial-console.md):
//!
//! - `GET /n/connector/{cid}/sessions/{sid}/client` upgrades to the websocket of a session that
//!   ARM `connect` issued (the session itself runs in [`crate::session`]);
//! - `POST /n/connector/{cid}/sessions/{sid}/adminCommand/{nmi|reset|sysrq}` with
//!   `Authorization: Bearer <token>` and `{"command","requestId","commandParameters"}`. It
//!   succeeds (200, empty body; the real body is unknown and az ignores it) only while that
//!   session's websocket is authenticated and still holds the machine's console: 401 without a
//!   valid token, 404 for an unknown session or command, 400 for a body that does not match,
//!   409 when the session has no live authenticated websocket.

use crate::banners;
use crate::http::{
    Body, bearer, cloud_error, empty_response, failure_response, query_pairs, read_body,
};
use crate::machines::MachineKey;
use crate::monitor;
use crate::session::{self, SessionInfo};
use crate::state::{AdminRecord, Fake, Route, fingerprint};
use crate::token;
use hyper::body::Incoming;
use hyper::header::{
    CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::sync::Arc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tracing::{Instrument, info, info_span, warn};

pub async fn handle(fake: &Arc<Fake>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["n", "connector", cid, "sessions", sid, "client"] => upgrade(fake, req, cid, sid),
        [
            "n",
            "connector",
            cid,
            "sessions",
            sid,
            "adminCommand",
            command,
        ] => admin_command(fake, req, cid, sid, command).await,
        _ => not_found("no such gateway endpoint"),
    }
}

fn not_found(message: &str) -> Response<Body> {
    cloud_error(StatusCode::NOT_FOUND, "NotFound", message)
}

fn upgrade(fake: &Arc<Fake>, mut req: Request<Incoming>, cid: &str, sid: &str) -> Response<Body> {
    let session = fake.world().sessions.get(sid).cloned();
    let Some(session) = session.filter(|s| s.container == cid) else {
        return not_found("no such session: ask ARM's serialPorts/0/connect for one");
    };
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let is_upgrade = req.method() == Method::GET
        && header(UPGRADE).eq_ignore_ascii_case("websocket")
        && header(CONNECTION)
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    let key = header(SEC_WEBSOCKET_KEY);
    if !is_upgrade || key.is_empty() {
        return cloud_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "this is a websocket endpoint: send a websocket upgrade",
        );
    }
    if header(SEC_WEBSOCKET_VERSION) != "13" {
        let mut r = empty_response(StatusCode::UPGRADE_REQUIRED);
        r.headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return r;
    }
    // Clients up to az 0.1.8 put the token in the query (`?authorization=<tok>&new=1`).
    let legacy_token = query_pairs(&req)
        .into_iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v)
        .filter(|t| token::check(fake, t).is_ok());
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (connection, kicks) = fake.open_connection(sid, &session.machine);
    let info = SessionInfo {
        connection,
        session: sid.to_owned(),
        machine: session.machine.clone(),
        legacy_auth: legacy_token.is_some(),
    };
    let span = info_span!("ws", conn = connection, vm = %session.machine);
    let fake = Arc::clone(fake);
    tokio::spawn(
        async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let ws = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        None,
                    )
                    .await;
                    session::run(&fake, ws, &info, kicks).await;
                }
                Err(e) => warn!("websocket upgrade failed: {e}"),
            }
            fake.close_connection(connection);
        }
        .instrument(span),
    );
    let mut response = empty_response(StatusCode::SWITCHING_PROTOCOLS);
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

async fn admin_command(
    fake: &Arc<Fake>,
    req: Request<Incoming>,
    cid: &str,
    sid: &str,
    command: &str,
) -> Response<Body> {
    fake.delay(Route::Admin).await;
    let token = bearer(&req);
    let method = req.method().clone();
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let parsed: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let response = if method != Method::POST {
        cloud_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use POST",
        )
    } else {
        decide(fake, token.as_deref(), cid, sid, command, &parsed).await
    };
    let status = response.status().as_u16();
    info!(session = %sid, %command, status, token = %token.as_deref().map(fingerprint).unwrap_or_default(), "admin command");
    fake.world().counters.admin_commands.push(AdminRecord {
        session: sid.to_owned(),
        command: command.to_owned(),
        status,
        body: parsed,
    });
    response
}

async fn decide(
    fake: &Fake,
    token: Option<&str>,
    cid: &str,
    sid: &str,
    command: &str,
    body: &Value,
) -> Response<Body> {
    if let Some(f) = fake.take_failure(Route::Admin) {
        return failure_response(&f, "InternalServerError", "injected admin command failure");
    }
    if token.is_none_or(|t| token::check(fake, t).is_err()) {
        return cloud_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "a valid 'Authorization: Bearer <token>' header is required",
        );
    }
    let session = fake.world().sessions.get(sid).cloned();
    let Some(session) = session.filter(|s| s.container == cid) else {
        return not_found("no such session");
    };
    if !["nmi", "reset", "sysrq"].contains(&command) {
        return not_found("unknown admin command: expected nmi, reset or sysrq");
    }
    let bad = |m: &str| cloud_error(StatusCode::BAD_REQUEST, "BadRequest", m);
    if body.get("command").and_then(Value::as_str) != Some(command) {
        return bad("the body's \"command\" must name the command of the path");
    }
    if body
        .get("requestId")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return bad("the body needs a \"requestId\"");
    }
    let Some(parameters) = body.get("commandParameters").and_then(Value::as_object) else {
        return bad("the body needs a \"commandParameters\" object");
    };
    let keys = parameters
        .get("SysRqCommand")
        .and_then(Value::as_str)
        .unwrap_or("");
    if command == "sysrq" && (keys.is_empty() || !keys.chars().all(|c| c.is_ascii_alphanumeric())) {
        return bad(
            "Failed to send SysRq command. Make sure the input only contains numbers and letters.",
        );
    }
    if !fake.session_is_live(sid) {
        return cloud_error(
            StatusCode::CONFLICT,
            "Conflict",
            "this session has no open, authenticated websocket: connect and answer the challenge first",
        );
    }
    let monitor = fake
        .world()
        .machines
        .get(&session.machine)
        .and_then(|m| m.spec.monitor.clone());
    match (monitor, command) {
        // The guest itself is reset or interrupted, through its qemu monitor.
        (Some(socket), "reset" | "nmi") => {
            let hmp = if command == "reset" {
                "system_reset"
            } else {
                "nmi"
            };
            if let Err(e) = monitor::run(&socket, hmp).await {
                return cloud_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &e);
            }
        }
        _ => inject_banner(fake, &session.machine, command, keys),
    }
    empty_response(StatusCode::OK)
}

/// Without a monitor: what the console would show, written into its output.
pub fn inject_banner(fake: &Fake, machine: &MachineKey, command: &str, keys: &str) {
    if let Some(console) = fake.console(machine) {
        let host = fake
            .world()
            .machines
            .get(machine)
            .map(|m| m.host_name())
            .unwrap_or_default();
        let echo = console.is_echo();
        console.inject(&match command {
            "sysrq" => banners::sysrq(keys, &host, echo),
            "nmi" => banners::nmi(),
            _ => banners::reboot(&host, echo),
        });
    }
}
