//! From command-line arguments to a target, the access the operator allows, and a way in
//! (see [`crate::access`]).

use super::UsageError;
use super::args::{Cli, LoginArgs, TargetArgs};
use super::password;
use crate::access::{
    self, Access, Credentials, Ledger, Need, OpenOptions, Opened, Secret, Target, Timeouts,
};
use anyhow::Result;
use std::path::PathBuf;
use std::time::Duration;

/// Where and how to log in: the command line's target and login, or one playbook target's.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub target: TargetArgs,
    pub login: LoginArgs,
    /// Where to record the session (asciicast), if anywhere.
    pub record: Option<PathBuf>,
    pub timeouts: Timeouts,
    /// Print the session's costs on leaving (`--timings`).
    pub timings: bool,
}

impl Endpoint {
    pub fn of(cli: &Cli) -> Endpoint {
        Endpoint {
            target: cli.target.clone(),
            login: cli.login.clone(),
            record: cli.record.clone(),
            timeouts: timeouts(cli),
            timings: cli.timings,
        }
    }
}

/// The console timeouts, with `--login-timeout`.
pub fn timeouts(cli: &Cli) -> Timeouts {
    let defaults = Timeouts::default();
    let login = Duration::from_secs(cli.login_timeout);
    Timeouts {
        login,
        attach: defaults.attach.max(login),
        ..defaults
    }
}

/// The target the arguments name: a local serial console or an Azure machine.
pub async fn target(args: &TargetArgs) -> Result<Target> {
    if args.is_azure() {
        return Ok(Target::Azure {
            arm: Box::new(super::azure::arm_client(args).await?),
            vm: super::azure::vm_target(args)?,
            take_over: super::azure::take_over(args),
        });
    }
    let spec = args.serial.clone().ok_or_else(|| {
        UsageError(
            "no target: give --serial unix:PATH|tcp:HOST:PORT|cmd:'COMMAND', or an Azure VM with -g RG -n VM"
                .into(),
        )
    })?;
    Ok(Target::Serial(spec))
}

/// What the arguments allow: the login (asking on the terminal for a missing password when
/// `ask`; never in bulk runs), root's password, a new password for an expired one, a restart.
pub fn access(login: &LoginArgs, ask: bool) -> Result<Access> {
    let user = login.user.clone().unwrap_or_else(|| "root".into());
    let password = match secret(&login.password_env, &login.password_file)? {
        Some(p) => Some(p),
        None if ask => password::prompt(&format!("Password for {user} on the guest: "))?,
        None => None,
    };
    Ok(Access {
        credentials: Credentials {
            user,
            password,
            root_password: secret(&login.root_password_env, &login.root_password_file)?,
        },
        new_password: secret(
            &login.new_password.new_password_env,
            &login.new_password.new_password_file,
        )?,
        allow_agent_login: login.allow_agent_login,
        allow_reboot: login.allow_reboot,
        reset_command: login.reset_cmd.clone(),
        via: login.via,
        package_mirrors: login.package_mirror.clone(),
    })
}

/// A secret from the environment variable or the file named, if either is.
fn secret(env: &Option<String>, file: &Option<PathBuf>) -> Result<Option<Secret>> {
    if let Some(var) = env {
        return password::from_env(var).map(Some);
    }
    file.as_deref().map(password::from_file).transpose()
}

/// Opens the console and climbs the access ladder to the shell `need` asks for.
pub async fn open(cli: &Cli, need: Need) -> Result<(Opened, Access)> {
    open_endpoint(&Endpoint::of(cli), need, false).await
}

/// [`open`] for any endpoint; `offline_first`: a break-in hands back its offline shell (see
/// [`OpenOptions::offline_first`]).
pub async fn open_endpoint(
    endpoint: &Endpoint,
    need: Need,
    offline_first: bool,
) -> Result<(Opened, Access)> {
    let access = access(&endpoint.login, true)?;
    let opened = open_with(endpoint, &access, need, offline_first).await?;
    Ok((opened, access))
}

/// [`open_endpoint`] with the access already read.
pub async fn open_with(
    endpoint: &Endpoint,
    access: &Access,
    need: Need,
    offline_first: bool,
) -> Result<Opened> {
    let options = OpenOptions {
        record: endpoint.record.clone(),
        timeouts: endpoint.timeouts,
        offline_first,
        ..OpenOptions::new(need)
    };
    Ok(access::open(&target(&endpoint.target).await?, access, &options).await?)
}

/// With `--timings`: the steps of a session that has been left, and what each cost, on
/// stderr under the target's name.
pub fn print_timings(timings: bool, target: &str, ledger: Option<&Ledger>) {
    if let (true, Some(ledger)) = (timings, ledger) {
        let table = crate::report::timings(ledger);
        eprint!("timings on {target}:\n{table}");
    }
}

/// What the target is called in reports: the serial spec or the Azure machine.
pub fn target_description(args: &TargetArgs) -> String {
    match (&args.serial, args.is_azure()) {
        (Some(spec), _) => spec.to_string(),
        (None, true) => super::azure::vm_target(args)
            .map(|t| format!("azure:{t}"))
            .unwrap_or_else(|_| "azure".into()),
        (None, false) => String::new(),
    }
}
