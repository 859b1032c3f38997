//! The command-line edge: parse arguments, set up logging, run one subcommand, map the outcome
//! to an exit code (see [`crate::exit`]). `anyhow` lives here only; the library speaks in typed
//! errors.

mod args;
mod azure;
mod bulk;
mod connect;
mod diagnose;
mod exec;
mod password;
mod remedy;
mod rescue;
mod session;

pub use args::{Cli, Command, OutputFormat};

use crate::exit;
use crate::expect::ExpectError;
use crate::shell::ShellError;
use clap::Parser;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    // Both ring and aws-lc-rs may end up compiled in through dependencies; rustls refuses to
    // choose between them, so name the process-wide provider once, before any TLS.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lifeline: could not start the async runtime: {e}");
            return ExitCode::from(exit::SOFTWARE);
        }
    };
    let result = runtime.block_on(async {
        let result = run_until_signalled(cli).await;
        // A session dropped on the way out (an error, a signal) is still closing its shells.
        crate::shell::closed(std::time::Duration::from_secs(30)).await;
        result
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors can quote the guest (a command's partial output, a tool's message).
            eprintln!(
                "lifeline: {}",
                crate::term::escape::for_terminal(&format!("{e:#}"))
            );
            ExitCode::from(exit_code_for(&e))
        }
    }
}

/// Runs the command; SIGINT or SIGTERM cancels it, which drops its session, whose guard types
/// the exits that close the shells it opened (see `shell::guard`). The exit code is then the
/// shell's convention, 128 + the signal.
async fn run_until_signalled(cli: Cli) -> anyhow::Result<u8> {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut interrupt, mut terminate) = (
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    );
    let signalled = tokio::select! {
        result = run(cli) => return result,
        _ = interrupt.recv() => libc_signal::SIGINT,
        _ = terminate.recv() => libc_signal::SIGTERM,
    };
    eprintln!("lifeline: interrupted");
    Ok(128 + signalled)
}

/// The two signal numbers lifeline handles (the same on every Linux architecture).
mod libc_signal {
    pub const SIGINT: u8 = 2;
    pub const SIGTERM: u8 = 15;
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Connect => connect::run(&cli).await,
        Command::Exec(args) => exec::run(&cli, args).await,
        Command::Diagnose(args) => diagnose::run(&cli, args).await,
        Command::Rules(args) => diagnose::rules(args),
        Command::User(args) => remedy::user(&cli, args).await,
        Command::ResetSsh(args) => remedy::reset_ssh(&cli, args).await,
        Command::Undo(args) => remedy::undo(&cli, args).await,
        Command::Send(args) => azure::send(&cli, args).await,
        Command::Console(args) => azure::console(&cli, args).await,
        Command::Rescue(args) => rescue::run(&cli, args).await,
    }
}

/// Crates whose debug and trace output dumps what crosses the wire (websocket frames, HTTP
/// headers and bodies): the ARM token and typed passwords travel there. Capped at info whatever
/// RUST_LOG asks; lifeline's own records never hold a secret.
const WIRE_DUMPERS: &[&str] = &[
    "tungstenite=info",
    "tokio_tungstenite=info",
    "hyper=info",
    "hyper_util=info",
    "h2=info",
    "reqwest=info",
    "rustls=info",
    "tokio_rustls=info",
    "azure_core=info",
    "azure_identity=info",
    "typespec_client_core=info",
];

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "lifeline=info",
        2 => "lifeline=debug",
        _ => "lifeline=trace",
    };
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    for directive in WIRE_DUMPERS {
        filter = filter.add_directive(directive.parse().expect("a valid directive"));
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// The exit code for a failure, from the typed error underneath.
pub(super) fn exit_code_for(error: &anyhow::Error) -> u8 {
    if let Some(e) = error.downcast_ref::<ShellError>() {
        return match e {
            ShellError::Expect(ExpectError::Timeout { .. })
            | ShellError::CommandTimeout { .. }
            | ShellError::Stuck { .. }
            | ShellError::KernelPanic => exit::TIMEOUT,
            ShellError::Expect(_)
            | ShellError::Write(_)
            | ShellError::Damaged(_)
            | ShellError::LinkInterrupted => exit::LINK,
            ShellError::LoginIncorrect { .. }
            | ShellError::PasswordRequired
            | ShellError::SudoRefused { .. }
            | ShellError::PasswordExpired { .. }
            | ShellError::MaintenanceNeedsRoot => exit::AUTH,
            ShellError::Transfer(_) | ShellError::OutputTooLarge { .. } => exit::SOFTWARE,
        };
    }
    if error.downcast_ref::<crate::link::LinkError>().is_some()
        || error
            .downcast_ref::<crate::azure::console_link::ConsoleLinkError>()
            .is_some()
        || error.downcast_ref::<crate::azure::ArmError>().is_some()
    {
        return exit::LINK;
    }
    if error.downcast_ref::<UsageError>().is_some() {
        return exit::USAGE;
    }
    exit::SOFTWARE
}

/// A combination of arguments that parses but cannot be acted on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
