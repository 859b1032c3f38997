//! From command-line arguments to a link and a logged-in shell session.

use super::args::Cli;
use super::password;
use super::{Unavailable, UsageError};
use crate::link::{Link, LinkSpec};
use crate::secret::{Secret, SecretRegistry};
use crate::shell::{Credentials, Session, Timeouts};
use crate::term::{Console, Transcript};
use anyhow::{Context, Result};

pub const ROWS: u16 = 24;
pub const COLS: u16 = 80;

/// The local serial target, or a clear reason why this build cannot reach the one named.
pub fn link_spec(cli: &Cli) -> Result<LinkSpec> {
    if cli.target.is_azure() {
        return Err(Unavailable("Azure targets (-g/-n, --ids, --vmss)".into()).into());
    }
    cli.target.serial.clone().ok_or_else(|| {
        UsageError(
            "no target: give --serial unix:PATH|tcp:HOST:PORT|cmd:'COMMAND', or an Azure VM with -g RG -n VM"
                .into(),
        )
        .into()
    })
}

/// The console view every session uses, with a transcript when `--record` asks for one.
pub fn console(cli: &Cli, secrets: &SecretRegistry) -> Result<Console> {
    let transcript = match &cli.record {
        Some(path) => Some(
            Transcript::create(path, COLS, ROWS, secrets.clone())
                .with_context(|| format!("could not create the transcript {}", path.display()))?,
        ),
        None => None,
    };
    Ok(Console::new(ROWS, COLS, transcript))
}

/// The login credentials from the arguments (asking on the terminal when nothing else says).
pub fn credentials(cli: &Cli) -> Result<Credentials> {
    let login = &cli.login;
    let user = login.user.clone().unwrap_or_else(|| "root".into());
    let password: Option<Secret> = if let Some(var) = &login.password_env {
        Some(password::from_env(var)?)
    } else if let Some(path) = &login.password_file {
        Some(password::from_file(path)?)
    } else {
        password::prompt(&format!("Password for {user} on the guest: "))?
    };
    let root_password = login
        .root_password_env
        .as_deref()
        .map(password::from_env)
        .transpose()?;
    Ok(Credentials {
        user,
        password,
        root_password,
    })
}

/// Opens the link, attaches, logs in, and becomes root when asked.
pub async fn open(cli: &Cli, root: bool) -> Result<(Session, Credentials)> {
    let spec = link_spec(cli)?;
    let creds = credentials(cli)?;
    let secrets = SecretRegistry::default();
    let console = console(cli, &secrets)?;
    let link = Link::open(&spec).await?;
    let mut session = Session::new(link, console, secrets, Timeouts::default());
    session
        .attach(&creds)
        .await
        .with_context(|| format!("reaching a shell on {spec}"))?;
    if root {
        session
            .become_root(&creds.user, creds.password.as_ref())
            .await
            .context("becoming root")?;
    }
    Ok((session, creds))
}
