//! The command-line edge: parse arguments, set up logging, run one subcommand, map the outcome
//! to an exit code (see [`crate::exit`]). `anyhow` lives here only; the library speaks in typed
//! errors.

mod args;
mod azure;
mod bulk;
mod connect;
mod diagnose;
mod exec;
mod generate;
mod password;
mod remedy;
mod rescue;
mod session;

pub use args::{Cli, Command, OutputFormat};

use crate::exit;
use crate::expect::ExpectError;
use crate::progress;
use crate::shell::ShellError;
use clap::Parser;
use std::process::ExitCode;
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(
        cli.verbose,
        progress::wanted(cli.output == OutputFormat::Json, cli.quiet),
    );
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
    let outcome = runtime.block_on(run(cli));
    // A read of stdin blocks a runtime thread until a key or EOF; when the console ends first
    // (another client took it), waiting for that read would keep the process alive.
    runtime.shutdown_background();
    match outcome {
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
        Command::Completions { shell } => generate::completions(*shell),
        Command::Man { out_dir } => generate::man(out_dir.as_deref()),
    }
}

/// Log lines on stderr (filtered by -v or RUST_LOG), and step progress when `progress`.
fn init_logging(verbose: u8, progress: bool) {
    let default = match verbose {
        0 => "warn",
        1 => "lifeline=info",
        2 => "lifeline=debug",
        _ => "lifeline=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let log = tracing_subscriber::fmt::layer().with_target(false);
    if progress {
        let display = progress::Display::default();
        let log = log.with_writer(display.log_writer()).with_filter(filter);
        let steps = Targets::new().with_target(progress::TARGET, Level::INFO);
        tracing_subscriber::registry()
            .with(log)
            .with(display.with_filter(steps))
            .init();
    } else {
        tracing_subscriber::registry()
            .with(log.with_writer(std::io::stderr).with_filter(filter))
            .init();
    }
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
            ShellError::Transfer(_) => exit::SOFTWARE,
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
