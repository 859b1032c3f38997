//! The command-line edge: parse arguments, set up logging, run one subcommand, map the outcome
//! to an exit code (see [`crate::exit`]). `anyhow` lives here only; the library speaks in typed
//! errors.

mod args;
mod ask;
mod azure;
mod bulk;
mod connect;
mod diagnose;
mod exec;
mod generate;
mod password;
mod power;
mod remedy;
mod rescue;
mod session;
mod small_file;
mod vmaccess;

pub use args::{Cli, Command, OutputFormat};

use crate::exit;
use crate::progress;
use clap::Parser;
use std::process::ExitCode;
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.output == OutputFormat::Json;
    init_logging(
        cli.verbose,
        progress::wanted(cli.output == OutputFormat::Json, cli.quiet),
    );
    let runtime = match crate::runtime::start() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lifeline: could not start the async runtime: {e}");
            return ExitCode::from(exit::SOFTWARE);
        }
    };
    let outcome = runtime.block_on(async {
        let outcome = run_until_signalled(cli).await;
        // A session dropped on the way out (an error, a signal) is still closing its shells.
        crate::access::sessions_closed(std::time::Duration::from_secs(30)).await;
        outcome
    });
    // A read of stdin blocks a runtime thread until a key or EOF; when the console ends first
    // (another client took it), waiting for that read would keep the process alive.
    runtime.shutdown_background();
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors can quote the guest (a command's partial output, a tool's message).
            eprintln!(
                "lifeline: {}",
                crate::report::for_terminal(&format!("{e:#}"))
            );
            let code = exit_code_for(&e);
            if json {
                println!("{}", failure_json(&e, code));
            }
            ExitCode::from(code)
        }
    }
}

/// A failure as a script reads it with `-o json`: the message, the exit code, where the boot
/// had stopped when the console was stuck before a login prompt, and every rung the ladder came
/// to when it found no way in.
fn failure_json(e: &anyhow::Error, code: u8) -> serde_json::Value {
    let access = e
        .chain()
        .find_map(|cause| cause.downcast_ref::<crate::access::AccessError>());
    let stop = crate::access::boot_stop_of(e.as_ref());
    let mut doc = serde_json::json!({ "error": format!("{e:#}"), "exit_code": code });
    if let Some(stop) = stop {
        doc["console"] = serde_json::json!(stop);
    }
    if let Some(record) = access.and_then(crate::access::AccessError::record) {
        doc["access"] = serde_json::json!(record);
    }
    doc
}

/// Runs the command; SIGINT or SIGTERM cancels it, which drops its session, whose guard types
/// the exits that close the shells it opened (see `shell::guard`). The exit code is then the
/// shell's convention, 128 + the signal ([`exit::ExitClass::Interrupted`], `Terminated`).
async fn run_until_signalled(cli: Cli) -> anyhow::Result<u8> {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut interrupt, mut terminate) = (
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    );
    let signalled = tokio::select! {
        result = run(cli) => return result,
        _ = interrupt.recv() => exit::ExitClass::Interrupted,
        _ = terminate.recv() => exit::ExitClass::Terminated,
    };
    eprintln!("lifeline: {}", signalled.summary());
    Ok(signalled.code())
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
        Command::Power(args) => power::run(&cli, args).await,
        Command::Rescue(args) => rescue::run(&cli, args).await,
        Command::Completions { shell } => generate::completions(*shell),
        Command::Man { out_dir } => generate::man(out_dir.as_deref()),
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

/// Log lines on stderr (filtered by -v or RUST_LOG), and step progress when `progress`.
fn init_logging(verbose: u8, progress: bool) {
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

/// The exit code for a failure: usage when the command line is at fault, else the class of the
/// library errors along its chain ([`crate::exit::class_of`]).
pub(super) fn exit_code_for(error: &anyhow::Error) -> u8 {
    if error.chain().any(|e| e.is::<UsageError>()) {
        return exit::USAGE;
    }
    if error.chain().any(|e| e.is::<ask::Interrupted>()) {
        return exit::ExitClass::Interrupted.code();
    }
    exit::class_of(error.as_ref()).code()
}

/// A combination of arguments that parses but cannot be acted on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::DiagnoseError;
    use crate::probe::ProbeError;
    use crate::remedy::RemedyError;
    use crate::shell::ShellError;
    use std::time::Duration;

    fn timeout() -> ShellError {
        ShellError::CommandTimeout {
            waited: Duration::from_secs(1),
            partial: String::new(),
        }
    }

    /// The command line parses, calls the library and renders: sessions, credentials and
    /// their costs come through `access`, text for a terminal through `report`; it never
    /// reaches the terminal, matching, console or link layers below them itself.
    #[test]
    fn the_command_line_reaches_no_layer_below_access_and_report() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            // Tests may build a nested library error to check its exit code.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            files += 1;
            // A grouped `use crate::{…}` would hide which layers it names.
            for reach in [
                "crate::term",
                "crate::expect",
                "crate::link",
                "crate::shell",
                "crate::secret",
                "crate::{",
            ] {
                assert!(
                    !code.contains(reach),
                    "{} uses {reach}: go through access (sessions, credentials, timings) or \
                     report (escaping guest text) instead",
                    path.display()
                );
            }
        }
        assert!(files >= 10, "only {files} files in {}", dir.display());
    }

    #[test]
    fn where_the_boot_stopped_is_told_from_an_error_under_any_context() {
        let panic = anyhow::Error::from(ShellError::KernelPanic).context("attaching");
        let doc = failure_json(&panic.context("rescue"), exit::SOFTWARE);
        assert_eq!(doc["console"]["state"], "kernel_panic", "{doc}");
        let locked = crate::access::AccessError::Console {
            target: "unix:/x".into(),
            source: ShellError::MaintenanceLocked,
        };
        let doc = failure_json(&anyhow::Error::from(locked), exit::AUTH);
        assert_eq!(doc["console"]["state"], "emergency_root_locked", "{doc}");
        let doc = failure_json(&anyhow::Error::from(timeout()), exit::TIMEOUT);
        assert!(doc.get("console").is_none(), "{doc}");
    }

    #[test]
    fn nested_library_errors_exit_with_their_class() {
        let probe = anyhow::Error::from(DiagnoseError::Probe(ProbeError::Shell(timeout())));
        assert_eq!(exit_code_for(&probe), exit::TIMEOUT);
        let remedy = anyhow::Error::from(RemedyError::Shell(timeout())).context("applying");
        assert_eq!(exit_code_for(&remedy), exit::TIMEOUT);
        let refused = anyhow::Error::from(RemedyError::Shell(ShellError::PasswordRequired));
        assert_eq!(exit_code_for(&refused), exit::AUTH);
        assert_eq!(
            exit_code_for(&anyhow::anyhow!("something unexpected")),
            exit::SOFTWARE
        );
    }

    #[test]
    fn a_usage_error_exits_2_even_behind_context() {
        let error = anyhow::Error::from(UsageError("no rule".into())).context("rules");
        assert_eq!(exit_code_for(&error), exit::USAGE);
    }

    /// `--help` shows the codes of the one table.
    #[test]
    fn help_lists_every_exit_code() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        let squeezed = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(squeezed.contains(&exit::help_text()), "{help}");
    }
}
