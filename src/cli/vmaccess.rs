//! `reset-ssh` and `user …` with `--via agent`: the change goes to the VMAccessForLinux
//! extension through ARM, as `az vm user reset-ssh|update|delete` send it, with no console.

use super::UsageError;
use super::args::{ChangeArgs, Cli, OutputFormat};
use super::remedy::Change;
use crate::azure::agent::{self, VmAccess};
use crate::exit;
use anyhow::{Result, bail};

/// Applies `change` through VMAccessForLinux: shown by `--dry-run`, applied with `--yes`.
pub async fn apply(cli: &Cli, change: &Change, args: ChangeArgs) -> Result<u8> {
    let keys;
    let request = match change {
        Change::ResetSsh { keep_ports: true } => bail!(UsageError(
            "VMAccessForLinux's reset_ssh always goes back to port 22: --keep-ports needs the console (drop --via agent)".into()
        )),
        Change::ResetSsh { keep_ports: false } => VmAccess::ResetSsh,
        Change::ResetPassword { user, password } => VmAccess::User {
            user: user.as_str(),
            password: Some(password),
            ssh_key: None,
        },
        Change::ResetKey { replace: true, .. } => bail!(UsageError(
            "VMAccessForLinux only adds keys: --replace needs the console (drop --via agent)".into()
        )),
        Change::ResetKey { user, keys: k, .. } => {
            keys = k.lines().join("\n");
            VmAccess::User {
                user: user.as_str(),
                password: None,
                ssh_key: Some(&keys),
            }
        }
        Change::AddUser { sudo: false, .. } => bail!(UsageError(
            "VMAccessForLinux gives the accounts it creates sudo rights: pass --sudo, or drop --via agent".into()
        )),
        Change::AddUser {
            user,
            keys: k,
            password,
            ..
        } => {
            keys = k.as_ref().map(|k| k.lines().join("\n")).unwrap_or_default();
            VmAccess::User {
                user: user.as_str(),
                password: password.as_ref(),
                ssh_key: (!keys.is_empty()).then_some(keys.as_str()),
            }
        }
        Change::RemoveUser { user } if user.as_str() == "root" => {
            bail!(UsageError("refusing to remove root".into()))
        }
        Change::RemoveUser { user } => VmAccess::RemoveUser {
            user: user.as_str(),
        },
    };
    let what = request.describe();
    if args.dry_run {
        println!("VMAccessForLinux would {what} (protected settings, not shown)");
        return Ok(exit::OK);
    }
    if !args.yes {
        bail!(UsageError(format!(
            "nothing changed: VMAccessForLinux would {what}; pass --yes to apply it (or --dry-run)"
        )));
    }
    let arm = super::azure::arm_client(&cli.target).await?;
    let vm = super::azure::vm_target(&cli.target)?;
    let _step = crate::progress::step(&format!("VMAccessForLinux: {what}"));
    agent::vm_access(&arm, &vm, &request).await?;
    match cli.output {
        OutputFormat::Text => println!("VMAccessForLinux: {what}: done on {vm}"),
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({"via": "agent", "extension": "VMAccessForLinux",
                               "change": what, "target": format!("azure:{vm}"), "succeeded": true})
        ),
    }
    Ok(exit::OK)
}
