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

use crate::access::AccessError;
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
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("lifeline: {e:#}");
            ExitCode::from(exit_code_for(&e))
        }
    }
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

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "lifeline=info",
        2 => "lifeline=debug",
        _ => "lifeline=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// The exit code for a failure, from the typed error underneath.
pub(super) fn exit_code_for(error: &anyhow::Error) -> u8 {
    if let Some(e) = error.downcast_ref::<ShellError>() {
        return shell_exit_code(e);
    }
    if let Some(e) = error.downcast_ref::<AccessError>() {
        return match e {
            AccessError::Console { source, .. } => shell_exit_code(source),
            AccessError::NoWayIn { .. } => exit::AUTH,
            AccessError::Open(_) => exit::LINK,
            AccessError::Transcript { .. } => exit::SOFTWARE,
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

fn shell_exit_code(e: &ShellError) -> u8 {
    match e {
        ShellError::Expect(ExpectError::Timeout { .. })
        | ShellError::CommandTimeout { .. }
        | ShellError::Stuck { .. }
        | ShellError::BeforeLogin { .. }
        | ShellError::KernelPanic => exit::TIMEOUT,
        ShellError::Expect(_)
        | ShellError::Write(_)
        | ShellError::Damaged(_)
        | ShellError::LinkInterrupted => exit::LINK,
        ShellError::Transfer(_) | ShellError::Cleanup(_) => exit::SOFTWARE,
        // The rest are refused credentials (ShellError::is_refusal).
        _ => exit::AUTH,
    }
}

/// A combination of arguments that parses but cannot be acted on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
