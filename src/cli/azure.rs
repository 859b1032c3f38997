//! The Azure side of the command line: which machine, which subscription, which credential;
//! and the `console` and `send` subcommands.

use super::UsageError;
use super::args::{
    AdminArg, Cli, CloudArgs, ConsoleAction, ConsoleArgs, OutputFormat, SendArgs, TargetArgs,
};
use crate::access::AzureHandle;
use crate::azure::admin::{self, AdminCommand};
use crate::azure::console_link::TakeOver;
use crate::azure::observe::observe;
use crate::azure::target::Machine;
use crate::azure::{ArmClient, Cloud, VmTarget, credential};
use crate::exit;
use crate::report::for_terminal;
use crate::rescue::CloudContext;
use anyhow::{Context, Result, bail};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// The ARM client for the cloud and credential the arguments name. A custom endpoint without
/// --arm-audience is asked for its audience and sign-in endpoint, as `az cloud register` does.
pub async fn arm_client(target: &TargetArgs) -> Result<ArmClient> {
    let mut cloud =
        Cloud::resolve(&target.cloud, target.arm_endpoint.as_deref()).map_err(UsageError)?;
    match (&target.arm_audience, &target.arm_endpoint) {
        (Some(audience), _) => cloud.scope = format!("{}/.default", audience.trim_end_matches('/')),
        (None, Some(_)) => cloud.discover().await.map_err(anyhow::Error::msg)?,
        (None, None) => {}
    }
    let known_subscription = target
        .subscription
        .clone()
        .or_else(|| std::env::var("AZURE_SUBSCRIPTION_ID").ok());
    let credential = credential::credential(target.auth, &cloud, known_subscription.as_deref());
    Ok(ArmClient::new(cloud, credential))
}

/// The subscription: --subscription, then AZURE_SUBSCRIPTION_ID, then the Azure CLI's default.
pub fn subscription(target: &TargetArgs) -> Result<String> {
    if let Some(s) = &target.subscription {
        return Ok(s.clone());
    }
    if let Ok(s) = std::env::var("AZURE_SUBSCRIPTION_ID") {
        return Ok(s);
    }
    let from_cli = std::process::Command::new("az")
        .args(["account", "show", "--query", "id", "-o", "tsv"])
        .stderr(std::process::Stdio::null())
        .output();
    match from_cli {
        Ok(out) if out.status.success() && !out.stdout.is_empty() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        _ => Err(UsageError(
            "no subscription: pass --subscription ID, set AZURE_SUBSCRIPTION_ID, or choose one with `az account set`".into(),
        )
        .into()),
    }
}

/// The one machine the arguments name.
pub fn vm_target(target: &TargetArgs) -> Result<VmTarget> {
    if let [id] = target.ids.as_slice() {
        return VmTarget::from_resource_id(id).map_err(|e| UsageError(e).into());
    }
    if target.ids.len() > 1 {
        bail!(UsageError(
            "several --ids name several machines; this command works on one".into()
        ));
    }
    let resource_group = target
        .resource_group
        .clone()
        .ok_or_else(|| UsageError("an Azure machine needs -g/--resource-group RG".into()))?;
    let machine = match (&target.vmss, &target.instance_id, &target.name) {
        (Some(scale_set), Some(instance), _) => Machine::ScaleSetInstance {
            scale_set: scale_set.clone(),
            instance: instance.clone(),
        },
        (None, None, Some(name)) => Machine::Vm { name: name.clone() },
        _ => bail!(UsageError(
            "name the VM with -n VM, or a scale-set instance with --vmss NAME --instance-id N"
                .into()
        )),
    };
    Ok(VmTarget {
        subscription: subscription(target)?,
        resource_group,
        machine,
    })
}

/// Whether the console may be taken back, once, from another client (`--take-over`).
pub fn take_over(target: &TargetArgs) -> TakeOver {
    if target.take_over {
        TakeOver::Once
    } else {
        TakeOver::Yield
    }
}

/// Azure's facts about the machine the arguments name, for `diagnose` and `rescue`; `None`
/// for a local serial target or with --guest-only. Read beside the console login, so a
/// failure here is reported, not fatal: the guest's diagnosis goes on without it.
pub async fn cloud_side(target: &TargetArgs, args: &CloudArgs) -> Option<CloudContext> {
    if !target.is_azure() || args.guest_only {
        return None;
    }
    let read = async {
        let arm = arm_client(target).await?;
        let vm = vm_target(target)?;
        let facts = observe(&arm, &vm, args.client_ip).await?;
        anyhow::Ok(CloudContext {
            arm,
            target: vm,
            client_ip: args.client_ip,
            facts,
        })
    };
    match read.await {
        Ok(side) => Some(side),
        Err(e) => {
            tracing::warn!("Azure's side of the VM could not be read: {e:#}");
            None
        }
    }
}

/// `lifeline console status|enable|disable`.
pub async fn console(cli: &Cli, args: &ConsoleArgs) -> Result<u8> {
    let arm = arm_client(&cli.target).await?;
    let subscription = subscription(&cli.target)?;
    let disabled = match args.action {
        ConsoleAction::Status => arm.console_disabled(&subscription).await?,
        ConsoleAction::Enable => arm.set_console(&subscription, true).await?,
        ConsoleAction::Disable => arm.set_console(&subscription, false).await?,
    };
    let state = if disabled { "disabled" } else { "enabled" };
    match cli.output {
        OutputFormat::Text => {
            println!("The Azure Serial Console is {state} for subscription {subscription}.")
        }
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({"subscription": subscription, "enabled": !disabled})
        ),
    }
    Ok(exit::OK)
}

/// `lifeline send sysrq KEYS | nmi | reset`.
pub async fn send(cli: &Cli, args: &SendArgs) -> Result<u8> {
    if !cli.target.is_azure() {
        bail!(UsageError(
            "admin commands need an Azure VM: -g RG -n VM, --ids or --vmss".into()
        ));
    }
    let command = match &args.command {
        AdminArg::Sysrq { keys } => AdminCommand::SysRq(keys.clone()),
        AdminArg::Nmi => AdminCommand::Nmi,
        AdminArg::Reset => AdminCommand::Reset,
    };
    let mut console = super::session::target(&cli.target).await?.open().await?;
    let handle = console
        .azure
        .as_ref()
        .expect("an Azure target opens with its admin handle");
    confirm_admin(handle, &command, args.yes)?;
    handle
        .send(&command)
        .await
        .with_context(|| format!("sending {command:?}"))?;
    // Show what the console says in answer (a SysRq help line, an NMI report).
    let answer = console
        .output_within(ANSWER_WITHIN)
        .await
        .trim()
        .to_string();
    match cli.output {
        OutputFormat::Text => {
            println!("Sent {command:?} to the VM.");
            if !answer.is_empty() {
                println!("The console answered:\n{}", for_terminal(&answer));
            }
        }
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({"sent": format!("{command:?}"), "console": answer})
        ),
    }
    Ok(exit::OK)
}

/// How long `send` shows what the console prints in answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// Checks that `command` may go: SysRq not on Windows, confirmation for NMI and reset.
fn confirm_admin(handle: &AzureHandle, command: &AdminCommand, confirmed: bool) -> Result<()> {
    if let Some(why) = admin::refusal(command, &handle.machine) {
        bail!(UsageError(why.into()));
    }
    if matches!(command, AdminCommand::Nmi | AdminCommand::Reset)
        && !confirmed
        && !confirm(command)?
    {
        bail!(UsageError(format!(
            "{command:?} not sent: not confirmed (pass --yes in scripts)"
        )));
    }
    Ok(())
}

fn confirm(command: &AdminCommand) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("\r\nReally send {command:?} to the VM? This interrupts everything it runs. [y/N] ");
    std::io::stderr().flush().ok();
    Ok(super::ask::line()?.trim().eq_ignore_ascii_case("y"))
}
