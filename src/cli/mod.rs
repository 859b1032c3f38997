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
use clap::Parser;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match crate::runtime::start() {
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

/// The exit code for a failure: usage when the command line is at fault, else the class of the
/// library errors along its chain ([`crate::exit::class_of`]).
pub(super) fn exit_code_for(error: &anyhow::Error) -> u8 {
    if error.chain().any(|e| e.is::<UsageError>()) {
        return exit::USAGE;
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
