//! Admin commands (NMI, hard reset, SysRq): HTTPS POSTs to the gateway beside the websocket,
//! addressed to the open session. The URL is derived by parsing the session URL, not by string
//! replacement: `wss://gw/n/connector/C/sessions/S/client` → `https://gw/…/sessions/S/adminCommand/nmi`.
//!
//! The gateway refuses some attempts, so a refused command is sent once more, as
//! `az serial-console send` does (it tries again on the next frame, then gives up).

use super::arm::{ArmClient, ArmError, MachineView};
use azure_core::http::Url;
use std::time::Duration;
use tracing::info;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    Nmi,
    Reset,
    SysRq(String),
}

impl AdminCommand {
    fn name(&self) -> &'static str {
        match self {
            AdminCommand::Nmi => "nmi",
            AdminCommand::Reset => "reset",
            AdminCommand::SysRq(_) => "sysrq",
        }
    }

    fn body(&self) -> serde_json::Value {
        let parameters = match self {
            AdminCommand::SysRq(keys) => serde_json::json!({ "SysRqCommand": keys }),
            _ => serde_json::json!({}),
        };
        serde_json::json!({
            "command": self.name(),
            "requestId": request_id(),
            "commandParameters": parameters,
        })
    }
}

/// Why `command` must not go to this machine, if it must not: SysRq is a Linux feature.
pub fn refusal(command: &AdminCommand, machine: &MachineView) -> Option<&'static str> {
    (matches!(command, AdminCommand::SysRq(_)) && machine.is_windows)
        .then_some("SysRq is a Linux feature; this VM runs Windows")
}

/// The admin endpoint for `command` on the session at `session_url`.
pub fn admin_url(session_url: &str, command: &AdminCommand) -> Result<Url, String> {
    let mut url = Url::parse(session_url).map_err(|e| format!("bad session URL: {e}"))?;
    let scheme = match url.scheme() {
        "wss" => "https",
        "ws" => "http",
        other => return Err(format!("unexpected session URL scheme {other:?}")),
    };
    url.set_scheme(scheme)
        .map_err(|_| "cannot change the URL scheme".to_string())?;
    {
        let mut segments = url
            .path_segments_mut()
            .map_err(|_| "the session URL has no path".to_string())?;
        segments
            .pop_if_empty()
            .pop()
            .push("adminCommand")
            .push(command.name());
    }
    if !url.path().contains("/sessions/") {
        return Err(format!(
            "{session_url:?} does not look like a console session URL"
        ));
    }
    url.set_query(None);
    Ok(url)
}

/// Pause before the second attempt: the real client waits for the next frame.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Sends `command` to the session, once more if the gateway refuses it; fails with Azure's
/// answer to the second attempt.
pub async fn send(
    arm: &ArmClient,
    session_url: &str,
    command: &AdminCommand,
) -> Result<(), ArmError> {
    let what = format!("send {}", command.name());
    let url = admin_url(session_url, command).map_err(|message| ArmError::Transport {
        what: what.clone(),
        message,
    })?;
    match arm.post_json(url.clone(), command.body(), &what).await {
        Ok(_) => return Ok(()),
        Err(e) if e.status().is_some_and(is_final) => return Err(e),
        Err(e) => info!("the gateway refused to {what} ({e}); trying once more"),
    }
    tokio::time::sleep(RETRY_AFTER).await;
    arm.post_json(url, command.body(), &what).await.map(|_| ())
}

/// Answers a second attempt cannot change: the request itself is wrong (bad SysRq keys, no
/// such session or command).
fn is_final(status: u16) -> bool {
    matches!(status, 400 | 404)
}

/// A random version-4 UUID for `requestId`.
fn request_id() -> String {
    let b: [u8; 16] = rand::random();
    let hex: String = b
        .iter()
        .enumerate()
        .map(|(i, byte)| match i {
            6 => format!("{:02x}", (byte & 0x0f) | 0x40),
            8 => format!("{:02x}", (byte & 0x3f) | 0x80),
            _ => format!("{byte:02x}"),
        })
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_url_is_derived_from_the_session_url() {
        let url = admin_url(
            "wss://eastus.gateway.serialconsole.azure.com/n/connector/c1/sessions/s1/client",
            &AdminCommand::SysRq("b".into()),
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://eastus.gateway.serialconsole.azure.com/n/connector/c1/sessions/s1/adminCommand/sysrq"
        );
        assert!(admin_url("wss://x/other", &AdminCommand::Nmi).is_err());
        assert!(
            admin_url(
                "ftp://x/n/connector/c/sessions/s/client",
                &AdminCommand::Nmi
            )
            .is_err()
        );
    }

    #[test]
    fn bodies_follow_the_protocol() {
        let body = AdminCommand::SysRq("h".into()).body();
        assert_eq!(body["command"], "sysrq");
        assert_eq!(body["commandParameters"]["SysRqCommand"], "h");
        let id = body["requestId"].as_str().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(
            AdminCommand::Nmi.body()["commandParameters"],
            serde_json::json!({})
        );
    }
}
