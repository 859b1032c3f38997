//! fake-azure: a local stand-in for the Azure services lifeline talks to, for tests and the
//! demo, since real Azure cannot be reached here. It follows the documented protocol
//! (docs/azure-serial-console.md) and is tested against that document, not against lifeline's
//! client (`tests/fake_azure_spec.rs`).
//!
//! One HTTPS listener on loopback serves all of it, because the gateway URL that ARM hands out
//! is absolute and one trusted CA must cover every hop:
//!
//! | path | module |
//! |---|---|
//! | `POST /{tenant}/oauth2/v2.0/token` | [`token`]: the Entra token endpoint (authority host = base URL) |
//! | `/subscriptions/…` | [`arm`]: consoleServices, VM / scale-set reads, `serialPorts/0/connect` |
//! | `GET /metadata/endpoints` | [`metadata`]: the cloud's audience and sign-in endpoint |
//! | `/n/connector/{cid}/sessions/{sid}/client` | [`gateway`] + [`session`]: the console websocket |
//! | `/n/connector/{cid}/sessions/{sid}/adminCommand/{cmd}` | [`gateway`]: nmi, reset, sysrq |
//! | `/subscriptions/…` (Network, health, boot log, restart, redeploy) | [`resources`], with [`operations`] for the long-running ones |
//! | `…/virtualMachines/{vm}/runCommand`, `…/extensions/{name}` | [`guest_ops`], run in the guest through [`guest_agent`] |
//! | `…/networkWatchers`, `…/networkWatchers/{nw}/ipFlowVerify`, `…/nextHop` | [`watcher`] |
//! | `/fake-storage/…` | [`resources::serve_blob`]: the boot log behind its SAS URI |
//! | `/fake/control`, `/fake/state` | [`control`]: fault injection and counters for tests |
//!
//! A VM given `--ssh` also gets an SSH front ([`front`]): a loopback port that plays its public
//! address and enforces its network security group before forwarding to the guest.
//!
//! `--latency-ms MS` plays a far gateway: every websocket frame is held MS in each direction
//! ([`delay`]; 50 gives the 100 ms round trip that `scripts/bench-rescue` measures through),
//! with no limit on the frames in flight.
//!
//! On start it writes `STATE_DIR/ca.pem` and prints one line, `READY https://127.0.0.1:PORT`,
//! then serves until SIGTERM or SIGINT (or stdin's end, with `--exit-on-stdin-eof`).

mod arm;
mod banners;
mod control;
mod delay;
mod frames;
mod front;
mod gateway;
mod guest_agent;
mod guest_ops;
mod http;
mod machines;
mod metadata;
mod monitor;
mod network;
mod operations;
mod resources;
mod serial;
mod session;
mod state;
mod tls;
mod token;
mod watcher;

use clap::Parser;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use machines::MachineSpec;
use state::{Behaviour, Fake, FrameMode, Settings};
use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};
use tracing_subscriber::EnvFilter;

/// The default challenge: the real one is undocumented (docs/azure-serial-console.md), so it is opaque
/// JSON-looking text that a client must not display or parse.
const DEFAULT_CHALLENGE: &str =
    r#"{"type":"challenge","message":"Send the access token as the next text frame"}"#;

/// A local fake of Azure's token endpoint, ARM and serial-console gateway, for tests.
///
/// It prints `READY https://127.0.0.1:PORT`: that URL is the authority host, the ARM endpoint
/// and (through connect's answer) the gateway. Clients trust DIR/ca.pem, e.g. with
/// SSL_CERT_FILE=DIR/ca.pem. Fault injection: POST /fake/control; counters: GET /fake/state.
///
/// Example:
///   fake-azure --state-dir /tmp/fa --vm SUB/rg1/vm1=unix:/run/guest/serial.sock \
///       --vmss SUB/rg1/ss1/0=echo --exit-on-stdin-eof
#[derive(Debug, Parser)]
#[command(name = "fake-azure", version, verbatim_doc_comment)]
struct Args {
    /// Where to listen (loopback only); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Directory for ca.pem (created if missing).
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,
    /// A VM and its serial port: SERIAL is unix:/path/to/serial.sock (a qemu chardev socket)
    /// or echo (a stand-in getty). Repeat for more VMs.
    #[arg(long = "vm", value_name = "SUB/RG/NAME=SERIAL", value_parser = MachineSpec::parse_vm)]
    vms: Vec<MachineSpec>,
    /// A scale-set instance and its serial port, as for --vm. Repeat for more.
    #[arg(long = "vmss", value_name = "SUB/RG/SCALESET/INSTANCE=SERIAL", value_parser = MachineSpec::parse_vmss)]
    vmss: Vec<MachineSpec>,
    /// The loopback port where a VM's SSH is forwarded (qemu's hostfwd): the VM gets an SSH
    /// front that enforces its NSG, named by its public IP's `lifeline-ssh-endpoint` tag.
    #[arg(long = "ssh", value_name = "SUB/RG/NAME=PORT", value_parser = parse_assignment::<u16>)]
    ssh: Vec<(String, u16)>,
    /// A file served as a VM's boot diagnostics serial log (qemu's chardev log file).
    #[arg(long = "boot-log", value_name = "SUB/RG/NAME=PATH", value_parser = parse_assignment::<PathBuf>)]
    boot_logs: Vec<(String, PathBuf)>,
    /// A machine's qemu HMP monitor socket, so that the reset and NMI admin commands and
    /// ARM's restart, redeploy and start act on the guest (without one the admin commands
    /// only print what the console would show, and the guest is not reset). Repeatable.
    #[arg(long = "monitor", value_name = "SUB/RG/NAME=PATH", value_parser = machines::parse_monitor)]
    monitors: Vec<(machines::MachineKey, PathBuf)>,
    /// A VM's in-guest agent: qemu-guest-agent's virtio-serial chardev socket. Run Command and
    /// VMAccessForLinux run in the guest through it, and it decides the instance view's agent
    /// status (without one the agent is Ready but cannot run anything). Repeatable.
    #[arg(long = "agent", value_name = "SUB/RG/NAME=PATH", value_parser = parse_assignment::<PathBuf>)]
    agents: Vec<(String, PathBuf)>,
    /// A VM's admin user and the public keys it was created with (a `.pub` file), shown in its
    /// model as `osProfile.adminUsername` and `linuxConfiguration.ssh.publicKeys`. Repeatable.
    #[arg(long = "admin", value_name = "SUB/RG/NAME=USER:KEYFILE", value_parser = parse_assignment::<String>)]
    admins: Vec<(String, String)>,
    /// A subscription whose Serial Console is disabled at start (created if it has no VMs).
    #[arg(long = "subscription-disabled", value_name = "SUB")]
    disabled_subscriptions: Vec<String>,
    /// The gateway's first frame, which the client answers with its token.
    #[arg(long, default_value = DEFAULT_CHALLENGE)]
    challenge: String,
    /// Seconds the gateway waits for the token after the challenge.
    #[arg(long, default_value_t = 10)]
    auth_timeout_secs: u64,
    /// How output is framed (also settable at run time through /fake/control).
    #[arg(long, value_enum, default_value_t = FrameMode::Text)]
    frames: FrameMode,
    /// Send a websocket ping this often on open sessions (0: never).
    #[arg(long, default_value_t = 0)]
    ping_secs: u64,
    /// Latency of the gateway: each websocket frame is held this long in each direction
    /// (50 makes a 100 ms round trip), as a far region's gateway would.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Console output kept per VM and replayed to each new session, as the real service does.
    #[arg(long, default_value_t = 1024)]
    scrollback_bytes: usize,
    /// Play a region without a Network Watcher: the list is empty and its actions are 404.
    #[arg(long)]
    no_network_watcher: bool,
    /// Exit when stdin reaches its end, so a harness that dies leaves nothing behind.
    #[arg(long)]
    exit_on_stdin_eof: bool,
    /// Remove --state-dir on a clean exit: for a harness that cannot (one fake shared by a whole
    /// test process outlives every test).
    #[arg(long)]
    remove_state_dir: bool,
    /// More logs on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.verbose);
    let runtime = match lifeline::runtime::start() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fake-azure: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(args));
    // A blocked stdin read must not hold the exit up.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-azure: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "fake_azure=warn",
        1 => "fake_azure=info",
        _ => "fake_azure=debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

async fn run(args: Args) -> Result<(), String> {
    if !args.listen.ip().is_loopback() {
        return Err(format!(
            "--listen {}: the fake serves loopback addresses only",
            args.listen
        ));
    }
    let tls = tls::generate().map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("could not listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = match local {
        SocketAddr::V4(a) => format!("https://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("https://[{}]:{}", a.ip(), a.port()),
    };
    let settings = Settings {
        auth_timeout: Duration::from_secs(args.auth_timeout_secs),
        ping_interval: Duration::from_secs(args.ping_secs),
        latency: Duration::from_millis(args.latency_ms),
        scrollback_bytes: args.scrollback_bytes,
        network_watcher: !args.no_network_watcher,
    };
    let behaviour = Behaviour {
        challenge: args.challenge,
        frames: args.frames,
        invalid_utf8_text_frames: false,
        max_frame_bytes: 0,
        refuse_next_ws: 0,
        refuse_alternate_ws: false,
        failures: Vec::new(),
        delays_ms: HashMap::new(),
        token_lifetime_secs: token::LIFETIME_SECS,
    };
    let mut machines: Vec<MachineSpec> = args.vms.into_iter().chain(args.vmss).collect();
    for (key, socket) in args.monitors {
        let machine = machines
            .iter_mut()
            .find(|m| m.key() == key)
            .ok_or_else(|| format!("--monitor names {key:?}, which no --vm or --vmss gives"))?;
        machine.monitor = Some(socket);
    }
    let fake = Arc::new(Fake::new(
        base_url.clone(),
        settings,
        behaviour,
        machines,
        &args.disabled_subscriptions,
    )?);
    attach_ssh_and_logs(&fake, &args.ssh, &args.boot_logs).await?;
    attach_agents(&fake, &args.agents)?;
    attach_admins(&fake, &args.admins)?;
    tls::write_ca(&args.state_dir, &tls.ca_pem).map_err(|e| e.to_string())?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "READY {base_url}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("could not write the READY line: {e}"))?;
    drop(stdout);
    info!(%base_url, "serving");

    tokio::select! {
        () = accept_loop(listener, tls.acceptor, fake) => {}
        reason = shutdown_signal(args.exit_on_stdin_eof) => info!("stopping: {reason}"),
    }
    if args.remove_state_dir {
        std::fs::remove_dir_all(&args.state_dir)
            .map_err(|e| format!("could not remove {}: {e}", args.state_dir.display()))?;
    }
    Ok(())
}

/// `SUB/RG/NAME=VALUE`.
fn parse_assignment<T: std::str::FromStr>(s: &str) -> Result<(String, T), String>
where
    T::Err: std::fmt::Display,
{
    let (vm, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected SUB/RG/NAME=VALUE"))?;
    let value = value.parse().map_err(|e| format!("{s:?}: {e}"))?;
    Ok((vm.to_string(), value))
}

/// Gives the VMs named by --ssh their SSH front and those named by --boot-log their log.
async fn attach_ssh_and_logs(
    fake: &Arc<Fake>,
    ssh: &[(String, u16)],
    logs: &[(String, PathBuf)],
) -> Result<(), String> {
    let key = |vm: &str| {
        machines::MachineKey::parse(vm)
            .filter(|k| {
                fake.world()
                    .machines
                    .get(k)
                    .is_some_and(|m| m.network.is_some())
            })
            .ok_or_else(|| format!("{vm:?} names no VM given with --vm"))
    };
    for (vm, path) in logs {
        let key = key(vm)?;
        if let Some(m) = fake.world().machines.get_mut(&key) {
            m.boot_log = Some(path.clone());
        }
    }
    for (vm, backend) in ssh {
        let key = key(vm)?;
        let port = front::Fronts::open(fake, &key, *backend)
            .await
            .map_err(|e| format!("could not open the SSH front of {vm}: {e}"))?;
        let mut w = fake.world();
        let m = w.machines.get_mut(&key).expect("checked above");
        m.ssh_backend = Some(*backend);
        if let Some(ip) = m.network.as_mut().and_then(|n| n.public_ip.as_mut()) {
            ip.front_port = Some(port);
        }
    }
    Ok(())
}

/// Gives the VMs named by --agent their in-guest agent, and starts its heartbeat.
fn attach_agents(fake: &Arc<Fake>, agents: &[(String, PathBuf)]) -> Result<(), String> {
    for (vm, socket) in agents {
        let key = machines::MachineKey::parse(vm)
            .filter(|k| fake.world().machines.contains_key(k))
            .ok_or_else(|| format!("--agent {vm:?} names no VM given with --vm"))?;
        if let Some(m) = fake.world().machines.get_mut(&key) {
            m.agent = Some(socket.clone());
        }
        guest_ops::heartbeat(fake, key, socket.clone());
    }
    Ok(())
}

/// Gives the VMs named by --admin their admin user and the keys of the key file.
fn attach_admins(fake: &Arc<Fake>, admins: &[(String, String)]) -> Result<(), String> {
    for (vm, value) in admins {
        let (user, file) = value
            .split_once(':')
            .ok_or_else(|| format!("--admin {vm}={value}: expected USER:KEYFILE"))?;
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("--admin {vm}: cannot read {file}: {e}"))?;
        let key = machines::MachineKey::parse(vm)
            .filter(|k| fake.world().machines.contains_key(k))
            .ok_or_else(|| format!("--admin {vm:?} names no VM given with --vm"))?;
        if let Some(m) = fake.world().machines.get_mut(&key) {
            m.admin = machines::Admin {
                user: user.to_string(),
                keys: text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect(),
            };
        }
    }
    Ok(())
}

async fn accept_loop(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor, fake: Arc<Fake>) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors and the like: wait instead of spinning.
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let fake = Arc::clone(&fake);
        tokio::spawn(async move {
            let tls =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        debug!(%peer, "TLS handshake failed: {e}");
                        return;
                    }
                    Err(_) => {
                        debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
            let service = service_fn(move |req| http::handle(Arc::clone(&fake), req));
            if let Err(e) = http1::Builder::new()
                // The timer lets hyper time out a client that never finishes its headers.
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(tls), service)
                .with_upgrades()
                .await
            {
                debug!(%peer, "connection ended: {e}");
            }
        });
    }
}

async fn shutdown_signal(on_stdin_eof: bool) -> &'static str {
    let stdin_eof = async {
        if !on_stdin_eof {
            return std::future::pending().await;
        }
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        loop {
            match stdin.read(&mut buf).await {
                Ok(0) | Err(_) => return "stdin closed",
                Ok(_) => {}
            }
        }
    };
    let sigterm = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        () = sigterm => "SIGTERM",
        reason = stdin_eof => reason,
    }
}
