//! `lifeline reset-ssh`, `lifeline user …` and `lifeline undo`: changes on the guest, each a
//! plan applied as one guest script with backup, validation and rollback (see `remedy`).
//! Nothing changes without --yes or a confirmation on a terminal; --dry-run shows the script.

use super::UsageError;
use super::args::{
    ChangeArgs, Cli, NewPassword, OutputFormat, ResetSshArgs, UndoArgs, UserAction, UserArgs,
};
use super::{password, session};
use crate::exit;
use crate::remedy::ops::{AddUser, RemoveUser, ResetKey, ResetPassword, ResetSsh, Undo};
use crate::remedy::{BackupId, Plan, PublicKeys, UserName, list_backups};
use crate::secret::Secret;
use crate::shell::Session;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, IsTerminal, Write};

pub async fn reset_ssh(cli: &Cli, args: &ResetSshArgs) -> Result<u8> {
    let (session, _) = session::open(cli, true).await?;
    let plan = ResetSsh {
        keep_ports: args.keep_ports,
    }
    .plan();
    apply(cli, session, plan, args.change).await
}

pub async fn undo(cli: &Cli, args: &UndoArgs) -> Result<u8> {
    let (mut session, _) = session::open(cli, true).await?;
    if args.list {
        let backups = list_backups(&mut session).await;
        session.leave().await?;
        let backups = backups?;
        match cli.output {
            OutputFormat::Json => println!("{}", serde_json::to_string(&backups)?),
            OutputFormat::Text if backups.is_empty() => {
                println!("No lifeline backups on the guest.")
            }
            OutputFormat::Text => {
                for b in &backups {
                    println!(
                        "{}  {}  {}  {}",
                        b.id,
                        b.created,
                        b.operation,
                        b.paths.join(" ")
                    );
                }
            }
        }
        return Ok(exit::OK);
    }
    let backup = args.backup.as_deref().map(BackupId::parse).transpose()?;
    let plan = Undo { backup }.plan();
    apply(cli, session, plan, args.change).await
}

pub async fn user(cli: &Cli, args: &UserArgs) -> Result<u8> {
    // Read every input before touching the console, so a typo costs no login.
    let new_password = match &args.action {
        UserAction::ResetPassword { new_password, .. } => {
            Some(required(new_password_of(new_password)?)?)
        }
        UserAction::Add { new_password, .. } => new_password_of(new_password)?,
        _ => None,
    };
    let keys = match &args.action {
        UserAction::ResetKey { ssh_key_file, .. } => Some(read_keys(ssh_key_file)?),
        UserAction::Add {
            ssh_key_file: Some(file),
            ..
        } => Some(read_keys(file)?),
        _ => None,
    };
    let (mut session, _) = session::open(cli, true).await?;
    if let Some(secret) = &new_password {
        session.register_secret(secret);
    }
    let plan = match &args.action {
        UserAction::ResetPassword { name, .. } => {
            ResetPassword {
                user: UserName::new(name)?,
                password: new_password.clone().expect("read above"),
            }
            .plan(&mut session)
            .await?
        }
        UserAction::ResetKey { name, replace, .. } => ResetKey {
            user: UserName::new(name)?,
            keys: keys.clone().expect("read above"),
            replace: *replace,
        }
        .plan(),
        UserAction::Add { name, sudo, .. } => {
            AddUser {
                user: UserName::new(name)?,
                sudo: *sudo,
                keys,
                password: new_password,
            }
            .plan(&mut session)
            .await?
        }
        UserAction::Remove { name } => RemoveUser {
            user: UserName::new(name)?,
        }
        .plan(),
    };
    apply(cli, session, plan, args.change).await
}

/// Shows, confirms and applies `plan`, leaves the console, and reports the outcome.
async fn apply(cli: &Cli, mut session: Session, plan: Plan, change: ChangeArgs) -> Result<u8> {
    if change.dry_run {
        session.leave().await?;
        print!("{}", plan.script());
        return Ok(exit::OK);
    }
    if !change.yes && !confirm(&plan)? {
        session.leave().await?;
        bail!(UsageError(
            "nothing changed: not confirmed (pass --yes in scripts, or --dry-run to see the script)".into()
        ));
    }
    let result = plan.apply(&mut session).await;
    let left = session.leave().await;
    let outcome = result?;
    left?;
    match cli.output {
        OutputFormat::Text => println!("{outcome}"),
        OutputFormat::Json => println!("{}", serde_json::to_string(&outcome)?),
    }
    Ok(if outcome.succeeded() {
        exit::OK
    } else {
        exit::PROBLEMS
    })
}

fn confirm(plan: &Plan) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprintln!("lifeline will:");
    for title in plan.step_titles() {
        eprintln!("  - {title}");
    }
    eprint!("Apply these changes on the guest (each backed up first)? [y/N] ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().eq_ignore_ascii_case("y"))
}

fn new_password_of(source: &NewPassword) -> Result<Option<Secret>> {
    if let Some(var) = &source.new_password_env {
        return password::from_env(var).map(Some);
    }
    if let Some(file) = &source.new_password_file {
        return password::from_file(file).map(Some);
    }
    password::prompt("New password: ")
}

fn required(secret: Option<Secret>) -> Result<Secret> {
    secret.ok_or_else(|| {
        UsageError("a new password is needed: --new-password-env VAR, --new-password-file FILE, or a terminal to ask on".into())
            .into()
    })
}

fn read_keys(file: &std::path::Path) -> Result<PublicKeys> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("could not read the key file {}", file.display()))?;
    Ok(PublicKeys::parse(&text)?)
}
