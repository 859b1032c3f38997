//! ARM operations that Azure carries out inside the guest through its VM agent, done here
//! through the real guest's qemu-guest-agent ([`crate::guest_agent`]):
//!
//! | call | reference |
//! |---|---|
//! | `POST …/virtualMachines/{vm}/runCommand` (async) | Virtual Machines - Run Command (action, v1) |
//! | `PUT/GET …/virtualMachines/{vm}/extensions/{name}` (PUT async) | Virtual Machine Extensions - Create Or Update, Get |
//!
//! Run Command takes `RunShellScript` only, runs the script as root, and answers with one
//! status whose message holds the last 4,096 bytes of stdout and of stderr (Linux's v1 shape:
//! `Enable succeeded: \n[stdout]\n…\n[stderr]\n…`). The extension is `VMAccessForLinux`
//! (`Microsoft.OSTCExtensions`), its protected settings executed by `vmaccess.sh` and never
//! logged, stored or shown. A VM takes one of these at a time (`409 Conflict` otherwise); a
//! VM whose agent does not answer fails them as Azure does, with
//! `VMAgentStatusCommunicationError`.

use crate::guest_agent::{self, AgentError};
use crate::http::{Body, cloud_error, json_response};
use crate::machines::MachineKey;
use crate::operations::{self, Provider, Start};
use crate::resources::Call;
use crate::state::Fake;
use hyper::{Response, StatusCode};
use lifeline::posix_sh::quote as posix_quote;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tracing::info;

/// Run Command's output: the last this many bytes of each stream.
const OUTPUT_TAIL: usize = 4096;
/// How long a script may run (Azure allows 90 minutes; tests need far less).
const SCRIPT_LIMIT: Duration = Duration::from_secs(600);
/// How often the instance view's agent status is refreshed from the real agent.
const HEARTBEAT: Duration = Duration::from_secs(3);
const VMACCESS_SCRIPT: &str = include_str!("vmaccess.sh");
/// The protected settings VMAccessForLinux acts on, in the order the script reads them.
const VMACCESS_SETTINGS: [&str; 5] = [
    "username",
    "password",
    "ssh_key",
    "reset_ssh",
    "remove_user",
];

/// Keeps a machine's `vmAgent` status true to its real agent, as waagent's heartbeat does.
pub fn heartbeat(fake: &Arc<Fake>, key: MachineKey, socket: PathBuf) {
    let fake = Arc::clone(fake);
    tokio::spawn(async move {
        loop {
            let ready = guest_agent::alive(&socket).await;
            if let Some(m) = fake.world().machines.get_mut(&key)
                && m.agent_ready != ready
            {
                info!(vm = %key, ready, "guest agent status changed");
                m.agent_ready = ready;
            }
            tokio::time::sleep(HEARTBEAT).await;
        }
    });
}

/// `POST …/runCommand` with `{commandId: "RunShellScript", script: [lines]}`.
pub fn run_command(fake: &Arc<Fake>, call: &Call<'_>, key: &MachineKey) -> Response<Body> {
    if call.body["commandId"].as_str() != Some("RunShellScript") {
        return cloud_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "fake-azure runs only the commandId 'RunShellScript' on Linux VMs.",
        );
    }
    let Some(lines) = call.body["script"].as_array() else {
        return cloud_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "The value of parameter script is invalid: it must be an array of lines.",
        );
    };
    let mut script = String::new();
    for line in lines {
        script.push_str(line.as_str().unwrap_or_default());
        script.push('\n');
    }
    let work = async move |socket: PathBuf| {
        let ran = guest_agent::run_script(&socket, script.as_bytes(), SCRIPT_LIMIT).await?;
        let (code, display, head) = match ran.exit_code {
            0 => (
                "ProvisioningState/succeeded".to_string(),
                "Provisioning succeeded",
                "Enable succeeded: ".to_string(),
            ),
            n => (
                format!("ProvisioningState/failed/{n}"),
                "Provisioning failed",
                format!(
                    "Enable failed: failed to execute command: command terminated with exit status={n}"
                ),
            ),
        };
        let message = format!(
            "{head}\n[stdout]\n{}\n[stderr]\n{}\n",
            tail(&ran.stdout),
            tail(&ran.stderr)
        );
        Ok(Some(json!({"value": [{"code": code, "level": "Info",
                                   "displayStatus": display, "message": message}]})))
    };
    in_guest(fake, call, key, Start::Accepted, None, "Run Command", work)
}

/// `PUT …/extensions/{name}`: VMAccessForLinux only.
pub fn put_extension(
    fake: &Arc<Fake>,
    call: &Call<'_>,
    key: &MachineKey,
    name: &str,
) -> Response<Body> {
    let props = &call.body["properties"];
    if props["publisher"].as_str() != Some("Microsoft.OSTCExtensions")
        || props["type"].as_str() != Some("VMAccessForLinux")
    {
        return cloud_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "fake-azure serves only the extension Microsoft.OSTCExtensions/VMAccessForLinux.",
        );
    }
    let protected = &props["protectedSettings"];
    let mut script = String::new();
    for setting in VMACCESS_SETTINGS {
        let value = match &protected[setting] {
            Value::String(s) => s.clone(),
            Value::Bool(true) => "true".into(),
            _ => String::new(),
        };
        script.push_str(&format!("{setting}={}\n", posix_quote(&value)));
    }
    script.push_str(VMACCESS_SCRIPT);
    let resource = {
        let w = fake.world();
        let m = &w.machines[key];
        let mut public = props.clone();
        if let Some(p) = public.as_object_mut() {
            p.remove("protectedSettings");
        }
        json!({
            "id": format!("{}/extensions/{name}", m.resource_id()),
            "name": name,
            "type": "Microsoft.Compute/virtualMachines/extensions",
            "location": crate::arm::LOCATION,
            "properties": public,
        })
    };
    let (fake2, key2, name2) = (Arc::clone(fake), key.clone(), name.to_string());
    let stored = resource.clone();
    let work = async move |socket: PathBuf| {
        let ran = guest_agent::run_script(&socket, script.as_bytes(), SCRIPT_LIMIT).await;
        let state = match &ran {
            Ok(r) if r.exit_code == 0 => "Succeeded",
            _ => "Failed",
        };
        let mut done = stored;
        done["properties"]["provisioningState"] = json!(state);
        if let Some(m) = fake2.world().machines.get_mut(&key2) {
            m.extensions.insert(name2.to_ascii_lowercase(), done);
        }
        let ran = ran?;
        if ran.exit_code != 0 {
            return Err(Failure::Extension(
                String::from_utf8_lossy(&ran.stderr).trim().to_string(),
            ));
        }
        Ok(None)
    };
    let mut creating = resource;
    creating["properties"]["provisioningState"] = json!("Creating");
    info!(vm = %key, extension = name, "VMAccessForLinux requested (settings not logged)");
    in_guest(fake, call, key, Start::Created, Some(creating), name, work)
}

/// `GET …/extensions/{name}`.
pub fn get_extension(fake: &Fake, key: &MachineKey, name: &str) -> Response<Body> {
    match fake.world().machines[key]
        .extensions
        .get(&name.to_ascii_lowercase())
    {
        Some(v) => json_response(StatusCode::OK, v),
        None => cloud_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("The entity was not found in this Azure location: extension '{name}'."),
        ),
    }
}

enum Failure {
    Agent(AgentError),
    Extension(String),
}

impl From<AgentError> for Failure {
    fn from(e: AgentError) -> Self {
        Failure::Agent(e)
    }
}

/// Starts `work` in the guest as one long-running operation, if the VM is free for it.
fn in_guest<F>(
    fake: &Arc<Fake>,
    call: &Call<'_>,
    key: &MachineKey,
    start: Start,
    body: Option<Value>,
    what: &str,
    work: impl FnOnce(PathBuf) -> F + Send + 'static,
) -> Response<Body>
where
    F: Future<Output = Result<Option<Value>, Failure>> + Send + 'static,
{
    let socket = {
        let mut w = fake.world();
        let m = w.machines.get_mut(key).expect("checked by the caller");
        if !m.power.running() {
            return cloud_error(
                StatusCode::CONFLICT,
                "OperationNotAllowed",
                "Cannot perform this operation because the VM is not running.",
            );
        }
        if m.agent_busy {
            return cloud_error(
                StatusCode::CONFLICT,
                "Conflict",
                "Run command extension execution is in progress. Please wait for completion before invoking a run command.",
            );
        }
        m.agent_busy = true;
        m.agent.clone()
    };
    let (id, response) = operations::start_unfinished(
        fake,
        &key.subscription,
        call.api_version,
        Provider::Compute,
        start,
        body,
    );
    let (fake, key, what) = (Arc::clone(fake), key.clone(), what.to_string());
    tokio::spawn(async move {
        let outcome = match socket {
            Some(socket) => work(socket).await,
            None => Err(Failure::Agent(AgentError::Silent(Duration::ZERO))),
        };
        let vm = key.to_string();
        let outcome = outcome.map_err(|failure| match failure {
            Failure::Agent(e) => {
                info!(%vm, "{what}: the guest agent failed: {e}");
                json!({"code": "VMAgentStatusCommunicationError",
                       "message": format!("VM '{vm}' has not reported status for VM agent or extensions. Verify that the OS is up and healthy, the VM has a running VM agent, and that it can establish outbound connections to Azure storage.")})
            }
            Failure::Extension(message) => json!({"code": "VMExtensionProvisioningError",
                "message": format!("VM has reported a failure when processing extension '{what}'. Error message: \"{message}\"")}),
        });
        operations::finish(&fake, &id, outcome);
        if let Some(m) = fake.world().machines.get_mut(&key) {
            m.agent_busy = false;
        }
    });
    response
}

/// The last [`OUTPUT_TAIL`] bytes of a stream, as text.
fn tail(bytes: &[u8]) -> String {
    let cut = bytes.len().saturating_sub(OUTPUT_TAIL);
    String::from_utf8_lossy(&bytes[cut..]).into_owned()
}
