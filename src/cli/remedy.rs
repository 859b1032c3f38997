//! `lifeline reset-ssh`, `lifeline user …` and `lifeline undo`: changes on the guest, each a
//! plan applied as one guest script with backup, validation and rollback (see `remedy`).
//! Nothing changes without --yes or a confirmation on a terminal; --dry-run shows the script.

use super::UsageError;
use super::args::{
    ChangeArgs, Cli, NewPassword, OutputFormat, ResetSshArgs, UndoArgs, UserAction, UserArgs,
};
use super::{password, session};
use crate::access::{Need, Opened, Secret, Session, Via};
use crate::azure::observe;
use crate::exit;
use crate::remedy::nsg;
use crate::remedy::ops::{AddUser, RemoveUser, ResetKey, ResetPassword, ResetSsh, Undo};
use crate::remedy::{BackupId, Plan, PublicKeys, UserName, list_backups};
use crate::report::{self, for_terminal};
use anyhow::{Context, Result, bail};
use std::io::{IsTerminal, Write};

pub async fn reset_ssh(cli: &Cli, args: &ResetSshArgs) -> Result<u8> {
    let change = Change::ResetSsh {
        keep_ports: args.keep_ports,
    };
    if cli.login.via == Via::Agent {
        return super::vmaccess::apply(cli, &change, args.change).await;
    }
    let (mut opened, _) = session::open(cli, Need::Root).await?;
    let plan = change.plan(opened.channel.session()?).await?;
    apply(cli, opened, plan, args.change).await
}

pub async fn undo(cli: &Cli, args: &UndoArgs) -> Result<u8> {
    if let Some(rule) = args
        .backup
        .as_deref()
        .filter(|b| b.starts_with(nsg::RULE_PREFIX))
    {
        return undo_nsg_rule(cli, rule, args.change).await;
    }
    // Checked before the login: a typo costs nothing on the console.
    let backup = (args.backup.as_deref().map(BackupId::parse).transpose())
        .map_err(|e| UsageError(e.to_string()))?;
    let (mut opened, _) = session::open(cli, Need::Root).await?;
    if args.list {
        let backups = list_backups(opened.channel.session()?).await;
        opened.channel.close().await?;
        let backups = backups?;
        match cli.output {
            OutputFormat::Json => println!("{}", serde_json::to_string(&backups)?),
            OutputFormat::Text if backups.is_empty() => {
                println!("No lifeline backups on the guest.")
            }
            OutputFormat::Text => {
                for b in &backups {
                    let line = format!(
                        "{}  {}  {}  {}",
                        b.id,
                        b.created,
                        b.operation,
                        b.paths.join(" ")
                    );
                    println!("{}", for_terminal(&line));
                }
            }
        }
        return Ok(exit::OK);
    }
    let plan = Undo { backup }.plan();
    apply(cli, opened, plan, args.change).await
}

pub async fn user(cli: &Cli, args: &UserArgs) -> Result<u8> {
    // Read every input before touching the console, so a typo costs no login.
    let change = match &args.action {
        UserAction::ResetPassword { name } => Change::ResetPassword {
            user: UserName::new(name)?,
            password: required(new_password_of(&cli.login.new_password)?)?,
        },
        UserAction::ResetKey {
            name,
            ssh_key_file,
            replace,
        } => Change::ResetKey {
            user: UserName::new(name)?,
            keys: read_keys(ssh_key_file)?,
            replace: *replace,
        },
        UserAction::Add {
            name,
            sudo,
            ssh_key_file,
        } => Change::AddUser {
            user: UserName::new(name)?,
            sudo: *sudo,
            keys: ssh_key_file.as_deref().map(read_keys).transpose()?,
            password: new_password_of(&cli.login.new_password)?,
        },
        UserAction::Remove { name } => Change::RemoveUser {
            user: UserName::new(name)?,
        },
    };
    if cli.login.via == Via::Agent {
        return super::vmaccess::apply(cli, &change, args.change).await;
    }
    let (mut opened, _) = session::open(cli, Need::Root).await?;
    let plan = change.plan(opened.channel.session()?).await?;
    apply(cli, opened, plan, args.change).await
}

/// A change on the guest with all its inputs read and checked, ready to be planned on a
/// session: what `reset-ssh` and `user …` do, and playbook operations.
pub enum Change {
    ResetSsh {
        keep_ports: bool,
    },
    ResetPassword {
        user: UserName,
        password: Secret,
    },
    ResetKey {
        user: UserName,
        keys: PublicKeys,
        replace: bool,
    },
    AddUser {
        user: UserName,
        sudo: bool,
        keys: Option<PublicKeys>,
        password: Option<Secret>,
    },
    RemoveUser {
        user: UserName,
    },
}

impl Change {
    /// Plans the change; a new password is registered with the session first, so that it is
    /// redacted from everything the session records.
    pub async fn plan(&self, session: &mut Session) -> Result<Plan> {
        Ok(match self {
            Change::ResetSsh { keep_ports } => ResetSsh {
                keep_ports: *keep_ports,
            }
            .plan(),
            Change::ResetPassword { user, password } => {
                session.register_secret(password);
                ResetPassword {
                    user: user.clone(),
                    password: password.clone(),
                }
                .plan(session)
                .await?
            }
            Change::ResetKey {
                user,
                keys,
                replace,
            } => ResetKey {
                user: user.clone(),
                keys: keys.clone(),
                replace: *replace,
            }
            .plan(),
            Change::AddUser {
                user,
                sudo,
                keys,
                password,
            } => {
                if let Some(secret) = password {
                    session.register_secret(secret);
                }
                AddUser {
                    user: user.clone(),
                    sudo: *sudo,
                    keys: keys.clone(),
                    password: password.clone(),
                }
                .plan(session)
                .await?
            }
            Change::RemoveUser { user } => RemoveUser { user: user.clone() }.plan(),
        })
    }
}

/// Shows, confirms and applies `plan`, leaves the console, and reports the outcome.
/// Takes back the allow rule a rescue added to the VM's NSG: through ARM, no console needed.
async fn undo_nsg_rule(cli: &Cli, rule: &str, change: ChangeArgs) -> Result<u8> {
    if !cli.target.is_azure() {
        bail!(UsageError(format!(
            "{rule} is a rule in an Azure NSG: name the VM with -g RG -n VM"
        )));
    }
    let arm = super::azure::arm_client(&cli.target).await?;
    let vm = super::azure::vm_target(&cli.target)?;
    let group = observe::nic_security_group(&arm, &vm)
        .await?
        .with_context(|| format!("{vm} has no NIC security group, so no rule {rule}"))?;
    let what = format!(
        "delete the security rule {rule} from NSG {}",
        group.rsplit('/').next().unwrap_or(&group)
    );
    if change.dry_run {
        println!("would {what}");
        return Ok(exit::OK);
    }
    if !change.yes && !ask(&format!("lifeline will {what}. Go ahead? [y/N] "))? {
        bail!(UsageError(
            "nothing changed: not confirmed (pass --yes in scripts)".into()
        ));
    }
    nsg::remove(&arm, &group, rule).await?;
    match cli.output {
        OutputFormat::Text => println!("Done: {what}."),
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({"removed": rule, "network_security_group": group})
        ),
    }
    Ok(exit::OK)
}

async fn apply(cli: &Cli, opened: Opened, plan: Plan, change: ChangeArgs) -> Result<u8> {
    let mut channel = opened.channel;
    if change.dry_run {
        channel.close().await?;
        print!("{}", plan.script());
        return Ok(exit::OK);
    }
    if !change.yes && !confirm(&plan)? {
        channel.close().await?;
        bail!(UsageError(
            "nothing changed: not confirmed (pass --yes in scripts, or --dry-run to see the script)".into()
        ));
    }
    let result = plan.apply(&mut channel).await;
    let left = channel.close().await;
    let outcome = result?;
    left?;
    print!("{}", report::render(&outcome, cli.output.into()));
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
    ask("Apply these changes on the guest (each backed up first)? [y/N] ")
}

/// Asks on the terminal; `false` without one.
fn ask(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("{question}");
    std::io::stderr().flush().ok();
    Ok(super::ask::line()?.trim().eq_ignore_ascii_case("y"))
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

/// An authorized_keys-style file: a key line is under 16 KiB, so 1 MiB holds dozens.
const KEY_FILE_LIMIT: usize = 1 << 20;

pub fn read_keys(file: &std::path::Path) -> Result<PublicKeys> {
    let text = super::small_file::read(file, "key file", KEY_FILE_LIMIT)?;
    Ok(PublicKeys::parse(&text)?)
}
