//! The test harness's handle on the fake, outside every Azure path:
//!
//! - `GET /fake/state`: counters, open websockets, machines, subscriptions, behaviour and the
//!   last requests (paths only), for assertions;
//! - `POST /fake/control` with a JSON object of one or more changes (unknown keys are refused,
//!   so a typo fails loudly instead of silently testing nothing):
//!
//! | key | effect |
//! |---|---|
//! | `refuse_next_ws: N` | the next N correct token answers are closed with 1011 "Connection not trusted" |
//! | `refuse_alternate_ws: bool` | refuse every other answer, as the real gateway was seen to |
//! | `drop_sessions: true` | every open websocket vanishes without a close frame |
//! | `close_sessions: {code, reason, vm?}` | every (or one VM's) open websocket is closed so |
//! | `vm_power: {vm, state}` | running, starting, stopping, stopped, deallocating, deallocated |
//! | `boot_diagnostics: {vm, enabled}` | |
//! | `console_disabled: {subscription, disabled}` | as enableConsole/disableConsole do |
//! | `fail_next: {route, status, retry_after?, code?, message?, count?, after?}` | routes: token, console_services, vm, scale_set, instance_view, connect, admin; `after` answers succeed first |
//! | `token_lifetime_secs: N` | lifetime of the tokens issued from now on (under 300 s, clients renew on every use) |
//! | `delay: {route, ms}` | latency on a route until set to 0 |
//! | `frames: "text"\|"binary"\|"mixed"` | output framing |
//! | `invalid_utf8_text_frames: bool` | raw serial bytes in text frames, valid UTF-8 or not |
//! | `max_frame_bytes: N` | split output into frames of at most N bytes (0: no limit) |
//! | `challenge: "…"` | the first frame of later sessions |
//! | `inject_output: {vm, text}` | text in a VM's output, as if the guest printed it |
//! | `release_serial: "VM"` | let go of the VM's serial socket (qemu serves one client), for another client; the next session connects again |
//! | `revoke_tokens: true` | forget every issued token (as if all had expired) |
//! | `clear_faults: true` | no refusals, failures or delays left |
//! | `nsg_rule: {vm, name, properties}` | add or replace a rule of the VM's NSG (properties as in a PUT) |
//! | `remove_nsg_rule: {vm, name}` | |
//! | `agent_ready: {vm, ready}` | the guest agent's status in the instance view |
//! | `health: {vm, state}` | Available, Degraded, Unavailable, Unknown |
//! | `user_route: {vm, prefix, next_hop_type, next_hop_ip?}` | a route of the subnet's route table |
//!
//! `vm` is `SUB/RG/NAME` or `SUB/RG/SCALESET/INSTANCE`.

use crate::http::{Body, json_response, read_body};
use crate::machines::{MachineKey, Power};
use crate::network::{Rule, UserRoute};
use crate::state::{Failure, Fake, FrameMode, Kick, Route};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tracing::info;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Control {
    refuse_next_ws: Option<u32>,
    refuse_alternate_ws: Option<bool>,
    drop_sessions: Option<bool>,
    close_sessions: Option<CloseSessions>,
    vm_power: Option<VmPower>,
    boot_diagnostics: Option<BootDiagnostics>,
    console_disabled: Option<ConsoleDisabled>,
    fail_next: Option<Failure>,
    delay: Option<Delay>,
    frames: Option<FrameMode>,
    invalid_utf8_text_frames: Option<bool>,
    max_frame_bytes: Option<usize>,
    challenge: Option<String>,
    inject_output: Option<InjectOutput>,
    release_serial: Option<String>,
    revoke_tokens: Option<bool>,
    token_lifetime_secs: Option<u64>,
    clear_faults: Option<bool>,
    nsg_rule: Option<NsgRule>,
    remove_nsg_rule: Option<NamedRule>,
    agent_ready: Option<AgentReady>,
    health: Option<HealthState>,
    user_route: Option<UserRouteSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NsgRule {
    vm: String,
    name: String,
    properties: serde_json::Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedRule {
    vm: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentReady {
    vm: String,
    ready: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HealthState {
    vm: String,
    state: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRouteSpec {
    vm: String,
    prefix: String,
    next_hop_type: String,
    next_hop_ip: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseSessions {
    code: u16,
    reason: String,
    vm: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VmPower {
    vm: String,
    state: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BootDiagnostics {
    vm: String,
    enabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsoleDisabled {
    subscription: String,
    disabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Delay {
    route: Route,
    ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectOutput {
    vm: String,
    text: String,
}

pub async fn handle(fake: &Arc<Fake>, req: Request<Incoming>) -> Response<Body> {
    match (req.method().clone(), req.uri().path()) {
        (Method::GET, "/fake/state") => json_response(StatusCode::OK, &fake.snapshot()),
        (Method::POST, "/fake/control") => {
            let body = match read_body(req.into_body()).await {
                Ok(b) => b,
                Err(response) => return response,
            };
            let applied = serde_json::from_slice::<Control>(&body)
                .map_err(|e| format!("control body: {e}"))
                .and_then(|mut c| {
                    // Letting go of a serial socket waits for it to close: done here, after
                    // everything else is validated and applied.
                    let release = c.release_serial.take();
                    let release = release.map(|vm| machine(fake, &vm)).transpose()?;
                    Ok((apply(fake, c)?, release))
                });
            match applied {
                Ok((mut done, release)) => {
                    if let Some(console) = release.and_then(|key| fake.console(&key)) {
                        console.release().await;
                        done.push("release_serial");
                    }
                    json_response(StatusCode::OK, &json!({"ok": true, "applied": done}))
                }
                Err(e) => json_response(StatusCode::BAD_REQUEST, &json!({"ok": false, "error": e})),
            }
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"ok": false, "error": "GET /fake/state or POST /fake/control"}),
        ),
    }
}

fn machine(fake: &Fake, vm: &str) -> Result<MachineKey, String> {
    MachineKey::parse(vm)
        .filter(|k| fake.world().machines.contains_key(k))
        .ok_or_else(|| format!("no machine {vm:?} (SUB/RG/NAME or SUB/RG/SCALESET/INSTANCE)"))
}

/// Validates everything first, then applies it, so a bad request changes nothing.
fn apply(fake: &Fake, c: Control) -> Result<Vec<&'static str>, String> {
    let power = match &c.vm_power {
        Some(p) => Some((machine(fake, &p.vm)?, p.state.parse::<Power>()?)),
        None => None,
    };
    let boot = match &c.boot_diagnostics {
        Some(b) => Some((machine(fake, &b.vm)?, b.enabled)),
        None => None,
    };
    let inject = match &c.inject_output {
        Some(i) => Some((machine(fake, &i.vm)?, i.text.clone())),
        None => None,
    };
    let network_vm = |vm: &str| {
        machine(fake, vm).and_then(|k| {
            fake.world().machines[&k]
                .network
                .is_some()
                .then_some(k)
                .ok_or_else(|| format!("{vm:?} has no network (scale-set instances have none)"))
        })
    };
    let nsg_rule = match &c.nsg_rule {
        Some(r) => Some((
            network_vm(&r.vm)?,
            Rule::from_properties(&r.name, &r.properties)
                .map_err(|(code, m)| format!("{code}: {m}"))?,
        )),
        None => None,
    };
    let remove_rule = match &c.remove_nsg_rule {
        Some(r) => Some((network_vm(&r.vm)?, r.name.clone())),
        None => None,
    };
    let agent = match &c.agent_ready {
        Some(a) => Some((machine(fake, &a.vm)?, a.ready)),
        None => None,
    };
    let health = match &c.health {
        Some(h)
            if ["Available", "Degraded", "Unavailable", "Unknown"].contains(&h.state.as_str()) =>
        {
            Some((machine(fake, &h.vm)?, h.state.clone()))
        }
        Some(h) => {
            return Err(format!(
                "health {:?}: Available, Degraded, Unavailable or Unknown",
                h.state
            ));
        }
        None => None,
    };
    let route = match &c.user_route {
        Some(r) => Some((
            network_vm(&r.vm)?,
            UserRoute {
                prefix: r.prefix.clone(),
                next_hop_type: r.next_hop_type.clone(),
                next_hop_ip: r.next_hop_ip.clone(),
            },
        )),
        None => None,
    };
    let close_vm = match c.close_sessions.as_ref().and_then(|s| s.vm.as_deref()) {
        Some(vm) => Some(machine(fake, vm)?),
        None => None,
    };
    if let Some(d) = &c.console_disabled
        && !fake
            .world()
            .subscriptions
            .contains_key(&d.subscription.to_ascii_lowercase())
    {
        return Err(format!("no subscription {:?}", d.subscription));
    }
    if let Some(s) = &c.close_sessions
        && (s.reason.len() > 123 || !(1000..5000).contains(&s.code))
    {
        return Err("close_sessions: code 1000–4999 and a reason of at most 123 bytes".into());
    }

    let mut done = Vec::new();
    let mut kicks = Vec::new();
    {
        let mut w = fake.world();
        let b = &mut w.behaviour;
        if c.clear_faults == Some(true) {
            b.refuse_next_ws = 0;
            b.refuse_alternate_ws = false;
            b.failures.clear();
            b.delays_ms.clear();
            done.push("clear_faults");
        }
        if let Some(n) = c.refuse_next_ws {
            b.refuse_next_ws = n;
            done.push("refuse_next_ws");
        }
        if let Some(on) = c.refuse_alternate_ws {
            b.refuse_alternate_ws = on;
            done.push("refuse_alternate_ws");
        }
        if let Some(f) = c.fail_next {
            b.failures.push(f);
            done.push("fail_next");
        }
        if let Some(secs) = c.token_lifetime_secs {
            b.token_lifetime_secs = secs;
            done.push("token_lifetime_secs");
        }
        if let Some(d) = c.delay {
            if d.ms == 0 {
                b.delays_ms.remove(&d.route);
            } else {
                b.delays_ms.insert(d.route, d.ms);
            }
            done.push("delay");
        }
        if let Some(mode) = c.frames {
            b.frames = mode;
            done.push("frames");
        }
        if let Some(on) = c.invalid_utf8_text_frames {
            b.invalid_utf8_text_frames = on;
            done.push("invalid_utf8_text_frames");
        }
        if let Some(n) = c.max_frame_bytes {
            b.max_frame_bytes = n;
            done.push("max_frame_bytes");
        }
        if let Some(text) = c.challenge {
            b.challenge = text;
            done.push("challenge");
        }
        if let Some(d) = c.console_disabled
            && let Some(entry) = w
                .subscriptions
                .get_mut(&d.subscription.to_ascii_lowercase())
        {
            entry.1 = d.disabled;
            done.push("console_disabled");
        }
        if let Some((key, power)) = power
            && let Some(m) = w.machines.get_mut(&key)
        {
            m.power = power;
            if !power.allocated() {
                // The host is gone, and with it the serial port.
                kicks.push((
                    Some(key),
                    Kick::Close(1011, "The virtual machine was deallocated".into()),
                ));
            }
            done.push("vm_power");
        }
        if let Some((key, enabled)) = boot
            && let Some(m) = w.machines.get_mut(&key)
        {
            m.boot_diagnostics = enabled;
            done.push("boot_diagnostics");
        }
        if let Some((key, rule)) = nsg_rule
            && let Some(n) = w.machines.get_mut(&key).and_then(|m| m.network.as_mut())
        {
            n.rules.retain(|r| !r.name.eq_ignore_ascii_case(&rule.name));
            n.rules.push(rule);
            done.push("nsg_rule");
        }
        if let Some((key, name)) = remove_rule
            && let Some(n) = w.machines.get_mut(&key).and_then(|m| m.network.as_mut())
        {
            n.rules.retain(|r| !r.name.eq_ignore_ascii_case(&name));
            done.push("remove_nsg_rule");
        }
        if let Some((key, ready)) = agent
            && let Some(m) = w.machines.get_mut(&key)
        {
            m.agent_ready = ready;
            done.push("agent_ready");
        }
        if let Some((key, state)) = health
            && let Some(m) = w.machines.get_mut(&key)
        {
            m.health = state;
            done.push("health");
        }
        if let Some((key, route)) = route
            && let Some(n) = w.machines.get_mut(&key).and_then(|m| m.network.as_mut())
        {
            n.routes.push(route);
            done.push("user_route");
        }
        if c.revoke_tokens == Some(true) {
            w.tokens.clear();
            done.push("revoke_tokens");
        }
    }
    if let Some(s) = c.close_sessions {
        kicks.push((close_vm, Kick::Close(s.code, s.reason)));
        done.push("close_sessions");
    }
    if c.drop_sessions == Some(true) {
        kicks.push((None, Kick::Drop));
        done.push("drop_sessions");
    }
    for (vm, kick) in kicks {
        let n = fake.kick_all(vm.as_ref(), kick);
        info!(sessions = n, "control: sessions told to go");
    }
    if let Some((key, text)) = inject
        && let Some(console) = fake.console(&key)
    {
        console.inject(&text);
        done.push("inject_output");
    }
    info!(?done, "control applied");
    Ok(done)
}
