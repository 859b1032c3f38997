//! Everything the fake remembers: issued tokens, subscriptions, machines, gateway sessions and
//! their websocket connections, injected faults, and counters for test assertions.
//!
//! One `std::sync::Mutex` guards it all. Nothing awaits while holding it, so a plain mutex is
//! both simpler and faster than an async one here.

use crate::front::Fronts;
use crate::machines::{Machine, MachineKey, MachineName, MachineSpec};
use crate::operations::Operation;
use crate::serial::Console;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

/// Settings fixed at start (from the command line).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long the gateway waits for the token after sending the challenge.
    pub auth_timeout: Duration,
    /// Interval of server pings on open sessions (none when zero).
    pub ping_interval: Duration,
    /// Each frame's delay in each direction (none when zero).
    pub latency: Duration,
    pub scrollback_bytes: usize,
    /// The region has a Network Watcher ([`crate::watcher`]).
    pub network_watcher: bool,
}

/// How output is framed on the websocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameMode {
    Text,
    Binary,
    /// Text and binary frames in turn.
    Mixed,
}

/// The routes a failure or a delay can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Token,
    ConsoleServices,
    Vm,
    ScaleSet,
    InstanceView,
    Connect,
    Admin,
}

/// An HTTP failure to return instead of the next answer(s) of one route.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Failure {
    pub route: Route,
    pub status: u16,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// How many answers fail (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// How many answers succeed before the failures start (default 0): a sign-in that works,
    /// then a refresh that fails.
    #[serde(default)]
    pub after: u32,
}

fn one() -> u32 {
    1
}

/// Faults and framing that the control API changes at run time.
#[derive(Debug, Clone, Serialize)]
pub struct Behaviour {
    pub challenge: String,
    pub frames: FrameMode,
    pub invalid_utf8_text_frames: bool,
    /// Largest output frame in bytes (0: one frame per chunk of serial output).
    pub max_frame_bytes: usize,
    pub refuse_next_ws: u32,
    /// Refuse every other websocket authentication, as the real gateway was seen to do.
    pub refuse_alternate_ws: bool,
    pub failures: Vec<Failure>,
    pub delays_ms: HashMap<Route, u64>,
    /// Lifetime of the tokens issued from now on; under five minutes, clients renew them on
    /// every use.
    pub token_lifetime_secs: u64,
}

/// Numbers for test assertions (`GET /fake/state`).
#[derive(Debug, Default, Clone, Serialize)]
pub struct Counters {
    pub token_requests: u64,
    pub tokens_issued: u64,
    pub token_failures: u64,
    pub connect_calls: u64,
    pub ws_upgrades: u64,
    pub ws_authenticated: u64,
    pub ws_auth_failures: u64,
    pub ws_refused: u64,
    pub ws_evicted: u64,
    pub ws_dropped: u64,
    pub serial_input_bytes: u64,
    /// Connections the SSH front refused on the NSG's word, and let through.
    pub nsg_denied: u64,
    pub nsg_admitted: u64,
    pub restarts: u64,
    pub redeploys: u64,
    pub starts: u64,
    pub admin_commands: Vec<AdminRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdminRecord {
    pub session: String,
    pub command: String,
    pub status: u16,
    pub body: Value,
}

/// Who a token was issued to (for messages such as AuthorizationFailed).
#[derive(Debug, Clone)]
pub struct Identity {
    pub client_id: String,
    pub object_id: String,
    /// The resource the token was issued for (its `aud`).
    pub audience: String,
}

/// A session the ARM `connect` call issued: the gateway accepts websockets for it.
#[derive(Debug, Clone)]
pub struct GatewaySession {
    pub container: String,
    pub machine: MachineKey,
}

/// What the fake can tell a websocket task from outside.
#[derive(Debug, Clone)]
pub enum Kick {
    /// Another authenticated session took over the machine's console.
    Evicted,
    /// Vanish without a close frame, like a broken network path.
    Drop,
    /// Close with this code and reason.
    Close(u16, String),
}

struct Connection {
    session: String,
    machine: MachineKey,
    authenticated: bool,
    kick: mpsc::UnboundedSender<Kick>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub status: u16,
}

pub struct World {
    pub tokens: HashMap<String, Identity>,
    /// Lower-case id → (id as given, console disabled).
    pub subscriptions: BTreeMap<String, (String, bool)>,
    pub machines: BTreeMap<MachineKey, Machine>,
    pub sessions: HashMap<String, GatewaySession>,
    /// Long-running operations by id.
    pub operations: HashMap<String, Operation>,
    connections: HashMap<u64, Connection>,
    /// The connection that holds each machine's console.
    active: HashMap<MachineKey, u64>,
    next_connection: u64,
    refusal_toggle: bool,
    pub behaviour: Behaviour,
    pub counters: Counters,
    pub requests: VecDeque<RequestRecord>,
}

pub struct Fake {
    /// `https://127.0.0.1:PORT`: the authority host, ARM endpoint and gateway at once.
    pub base_url: String,
    pub settings: Settings,
    consoles: HashMap<MachineKey, Arc<Console>>,
    pub fronts: Fronts,
    world: Mutex<World>,
}

/// How many requests `/fake/state` remembers.
const REQUEST_LOG: usize = 500;

impl Fake {
    pub fn new(
        base_url: String,
        settings: Settings,
        behaviour: Behaviour,
        specs: Vec<MachineSpec>,
        disabled_subscriptions: &[String],
    ) -> Result<Fake, String> {
        let mut subscriptions = BTreeMap::new();
        let mut machines = BTreeMap::new();
        let mut consoles = HashMap::new();
        for (index, spec) in specs.into_iter().enumerate() {
            let key = spec.key();
            if machines.contains_key(&key) {
                return Err(format!("machine {key} is given twice"));
            }
            subscriptions
                .entry(key.subscription.clone())
                .or_insert_with(|| (spec.subscription.clone(), false));
            let machine = Machine::new(spec, random_uuid(), index as u8);
            let console = Console::new(
                &machine.spec.serial,
                machine.host_name(),
                settings.scrollback_bytes,
            );
            consoles.insert(key.clone(), console);
            machines.insert(key, machine);
        }
        for sub in disabled_subscriptions {
            subscriptions
                .entry(sub.to_ascii_lowercase())
                .or_insert_with(|| (sub.clone(), true))
                .1 = true;
        }
        Ok(Fake {
            base_url,
            settings,
            consoles,
            fronts: Fronts::default(),
            world: Mutex::new(World {
                tokens: HashMap::new(),
                subscriptions,
                machines,
                sessions: HashMap::new(),
                operations: HashMap::new(),
                connections: HashMap::new(),
                active: HashMap::new(),
                next_connection: 1,
                refusal_toggle: false,
                behaviour,
                counters: Counters::default(),
                requests: VecDeque::new(),
            }),
        })
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().expect("world lock")
    }

    pub fn console(&self, key: &MachineKey) -> Option<Arc<Console>> {
        self.consoles.get(key).cloned()
    }

    pub fn identity(&self, token: &str) -> Option<Identity> {
        self.world().tokens.get(token).cloned()
    }

    pub fn record_request(&self, method: &str, path: &str, status: u16) {
        let mut w = self.world();
        if w.requests.len() == REQUEST_LOG {
            w.requests.pop_front();
        }
        w.requests.push_back(RequestRecord {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
        });
    }

    /// The injected failure for this answer of `route`, if any (consumed).
    pub fn take_failure(&self, route: Route) -> Option<Failure> {
        let mut w = self.world();
        let failures = &mut w.behaviour.failures;
        let i = failures.iter().position(|f| f.route == route)?;
        if failures[i].after > 0 {
            failures[i].after -= 1;
            return None;
        }
        let failure = failures[i].clone();
        failures[i].count = failures[i].count.saturating_sub(1);
        if failures[i].count == 0 {
            failures.remove(i);
        }
        Some(failure)
    }

    /// Waits for the injected latency of `route`, if any.
    pub async fn delay(&self, route: Route) {
        let ms = self
            .world()
            .behaviour
            .delays_ms
            .get(&route)
            .copied()
            .unwrap_or(0);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    /// Registers a new websocket for an issued session.
    pub fn open_connection(
        &self,
        session: &str,
        machine: &MachineKey,
    ) -> (u64, mpsc::UnboundedReceiver<Kick>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut w = self.world();
        let id = w.next_connection;
        w.next_connection += 1;
        w.counters.ws_upgrades += 1;
        w.connections.insert(
            id,
            Connection {
                session: session.to_owned(),
                machine: machine.clone(),
                authenticated: false,
                kick: tx,
            },
        );
        (id, rx)
    }

    /// Whether this authentication is to be refused with 1011 (an injected fault).
    pub fn take_refusal(&self) -> bool {
        let mut w = self.world();
        let refuse = if w.behaviour.refuse_next_ws > 0 {
            w.behaviour.refuse_next_ws -= 1;
            true
        } else if w.behaviour.refuse_alternate_ws {
            w.refusal_toggle = !w.refusal_toggle;
            w.refusal_toggle
        } else {
            false
        };
        if refuse {
            w.counters.ws_refused += 1;
        }
        refuse
    }

    /// Marks a connection authenticated and gives it the machine's console, evicting whoever
    /// had it: one session per VM, as the real service does.
    pub fn authenticate(&self, id: u64) {
        let mut w = self.world();
        w.counters.ws_authenticated += 1;
        let Some(conn) = w.connections.get_mut(&id) else {
            return;
        };
        conn.authenticated = true;
        let machine = conn.machine.clone();
        if let Some(old) = w.active.insert(machine, id)
            && old != id
            && let Some(previous) = w.connections.get(&old)
        {
            let _ = previous.kick.send(Kick::Evicted);
            w.counters.ws_evicted += 1;
        }
    }

    pub fn close_connection(&self, id: u64) {
        let mut w = self.world();
        if let Some(conn) = w.connections.remove(&id)
            && w.active.get(&conn.machine) == Some(&id)
        {
            w.active.remove(&conn.machine);
        }
    }

    /// Whether `session` has an authenticated websocket that still holds its machine's console.
    pub fn session_is_live(&self, session: &str) -> bool {
        let w = self.world();
        w.connections.iter().any(|(id, c)| {
            c.session == session && c.authenticated && w.active.get(&c.machine) == Some(id)
        })
    }

    /// Sends a kick to every connection (all of them, or those on one machine).
    pub fn kick_all(&self, machine: Option<&MachineKey>, kick: Kick) -> usize {
        let w = self.world();
        let mut n = 0;
        for c in w.connections.values() {
            if machine.is_none_or(|m| *m == c.machine) {
                let _ = c.kick.send(kick.clone());
                n += 1;
            }
        }
        n
    }

    /// A snapshot for `GET /fake/state`.
    pub fn snapshot(&self) -> Value {
        let w = self.world();
        let sessions: Vec<Value> = w
            .connections
            .iter()
            .map(|(id, c)| {
                json!({
                    "connection": id,
                    "session": c.session,
                    "vm": c.machine.to_string(),
                    "authenticated": c.authenticated,
                    "active": w.active.get(&c.machine) == Some(id),
                })
            })
            .collect();
        let machines: Vec<Value> = w
            .machines
            .iter()
            .map(|(k, m)| {
                json!({
                    "vm": k.to_string(),
                    "kind": match m.spec.name { MachineName::Vm(_) => "vm", _ => "vmss-instance" },
                    "power": m.power.code(),
                    "boot_diagnostics": m.boot_diagnostics,
                    "agent_ready": m.agent_ready,
                    "public_ip": m.network.as_ref().and_then(|n| n.public_ip.as_ref()).map(|ip| json!({
                        "address": ip.address.to_string(),
                        "ssh_front": ip.front_port.map(|p| format!("127.0.0.1:{p}")),
                    })),
                    "nsg_rules": m.network.as_ref().map(|n| n.rules.iter().map(|r| r.name.clone()).collect::<Vec<_>>()),
                })
            })
            .collect();
        let subscriptions: BTreeMap<&String, Value> = w
            .subscriptions
            .values()
            .map(|(id, disabled)| (id, json!({ "console_disabled": disabled })))
            .collect();
        json!({
            "counters": w.counters,
            "tokens_issued": w.tokens.len(),
            "issued_sessions": w.sessions.len(),
            "open_websockets": sessions,
            "machines": machines,
            "subscriptions": subscriptions,
            "behaviour": w.behaviour,
            "requests": w.requests,
        })
    }
}

/// A random lower-case UUID (version 4 layout), for ids that look like Azure's.
pub fn random_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[8] = (b[8] & 0x3f) | 0x80; // the RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A short, non-reversible tag for a secret, for logs (never the secret itself).
pub fn fingerprint(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(secret.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}
