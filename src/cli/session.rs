//! From command-line arguments to a link and a logged-in shell session.

use super::UsageError;
use super::args::{Cli, LoginArgs, TargetArgs};
use super::password;
use crate::link::{Link, LinkSpec};
use crate::secret::{Secret, SecretRegistry};
use crate::shell::{Credentials, Session, Timeouts};
use crate::term::{Console, Transcript};
use anyhow::{Context, Result};
use std::path::PathBuf;

pub const ROWS: u16 = 24;
pub const COLS: u16 = 80;

/// An open console: the link, and for Azure what admin commands need.
pub struct OpenConsole {
    pub link: Link,
    pub description: String,
    pub azure: Option<(crate::azure::ArmClient, AzureHandle)>,
}

/// What stays of an Azure console once its link is handed to a session.
pub struct AzureHandle {
    pub session_url: std::sync::Arc<std::sync::Mutex<String>>,
    pub machine: crate::azure::arm::MachineView,
}

/// Where and how to log in: the command line's target and login, or one playbook target's.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub target: TargetArgs,
    pub login: LoginArgs,
    /// Where to record the session (asciicast), if anywhere.
    pub record: Option<PathBuf>,
}

impl Endpoint {
    pub fn of(cli: &Cli) -> Endpoint {
        Endpoint {
            target: cli.target.clone(),
            login: cli.login.clone(),
            record: cli.record.clone(),
        }
    }
}

/// Opens the console the arguments name: a local serial target or an Azure machine.
pub async fn open_link(target: &TargetArgs) -> Result<OpenConsole> {
    if target.is_azure() {
        let (console, arm) = super::azure::open_console(target).await?;
        let description = console.link.description.clone();
        let handle = AzureHandle {
            session_url: console.session_url,
            machine: console.machine,
        };
        return Ok(OpenConsole {
            link: console.link,
            description,
            azure: Some((arm, handle)),
        });
    }
    let spec = link_spec(target)?;
    Ok(OpenConsole {
        link: Link::open(&spec).await?,
        description: spec.to_string(),
        azure: None,
    })
}

/// The local serial target named by --serial.
pub fn link_spec(target: &TargetArgs) -> Result<LinkSpec> {
    target.serial.clone().ok_or_else(|| {
        UsageError(
            "no target: give --serial unix:PATH|tcp:HOST:PORT|cmd:'COMMAND', or an Azure VM with -g RG -n VM"
                .into(),
        )
        .into()
    })
}

/// The console view every session uses, with a transcript when `--record` asks for one.
pub fn console(record: Option<&std::path::Path>, secrets: &SecretRegistry) -> Result<Console> {
    let transcript = match record {
        Some(path) => Some(
            Transcript::create(path, COLS, ROWS, secrets.clone())
                .with_context(|| format!("could not create the transcript {}", path.display()))?,
        ),
        None => None,
    };
    Ok(Console::new(ROWS, COLS, transcript))
}

/// The login credentials from the arguments (asking on the terminal when nothing else says).
/// `ask`: whether a missing password may be asked for on the terminal (never in bulk runs).
pub fn credentials(login: &LoginArgs, ask: bool) -> Result<Credentials> {
    let user = login.user.clone().unwrap_or_else(|| "root".into());
    let password: Option<Secret> = if let Some(var) = &login.password_env {
        Some(password::from_env(var)?)
    } else if let Some(path) = &login.password_file {
        Some(password::from_file(path)?)
    } else if ask {
        password::prompt(&format!("Password for {user} on the guest: "))?
    } else {
        None
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

/// Opens the console, attaches, logs in, and becomes root when asked.
pub async fn open(cli: &Cli, root: bool) -> Result<(Session, Credentials)> {
    open_endpoint(&Endpoint::of(cli), root).await
}

/// [`open`] for any endpoint.
pub async fn open_endpoint(endpoint: &Endpoint, root: bool) -> Result<(Session, Credentials)> {
    let creds = credentials(&endpoint.login, true)?;
    let session = open_with(endpoint, creds.clone(), root).await?;
    Ok((session, creds))
}

/// [`open_endpoint`] with credentials already read.
pub async fn open_with(endpoint: &Endpoint, creds: Credentials, root: bool) -> Result<Session> {
    let secrets = SecretRegistry::default();
    let console = console(endpoint.record.as_deref(), &secrets)?;
    let opened = open_link(&endpoint.target).await?;
    let description = opened.description;
    let mut session = Session::new(opened.link, console, secrets, Timeouts::default());
    let _step = crate::progress::step(&format!("logging in on {description}"));
    session
        .attach(&creds)
        .await
        .with_context(|| format!("reaching a shell on {description}"))?;
    if root {
        session
            .become_root(&creds.user, creds.password.as_ref())
            .await
            .context("becoming root")?;
    }
    Ok(session)
}

/// What the target is called in reports: the serial spec or the Azure machine.
pub fn target_description(target: &TargetArgs) -> String {
    match (&target.serial, target.is_azure()) {
        (Some(spec), _) => spec.to_string(),
        (None, true) => super::azure::vm_target(target)
            .map(|t| format!("azure:{t}"))
            .unwrap_or_else(|_| "azure".into()),
        (None, false) => String::new(),
    }
}
