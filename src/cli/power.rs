//! `lifeline power restart|redeploy|start`: one power action through ARM, confirmed first,
//! waited for, and reported with the operation (and, for a redeploy, the address it moved to).

use super::UsageError;
use super::args::{Cli, OutputFormat, PowerArg, PowerArgs};
use super::azure::{arm_client, vm_target};
use crate::azure::power::{self, PowerAction, REDEPLOY_WARNINGS};
use crate::azure::{ArmClient, VmTarget};
use crate::exit;
use anyhow::{Result, bail};
use std::io::{IsTerminal, Write};

pub async fn run(cli: &Cli, args: &PowerArgs) -> Result<u8> {
    if !cli.target.is_azure() {
        bail!(UsageError(
            "power actions need an Azure VM: -g RG -n VM, --ids or --vmss".into()
        ));
    }
    let action = match args.action {
        PowerArg::Restart => PowerAction::Restart,
        PowerArg::Redeploy => PowerAction::Redeploy,
        PowerArg::Start => PowerAction::Start,
    };
    let arm = arm_client(&cli.target).await?;
    let vm = vm_target(&cli.target)?;
    if !args.yes && !confirm(action, &vm)? {
        bail!(UsageError(format!(
            "{} not asked for: not confirmed (pass --yes in scripts)",
            action.verb()
        )));
    }
    let moves = action == PowerAction::Redeploy;
    let before = if moves {
        address(&arm, &vm).await
    } else {
        None
    };
    let operation = {
        let _step = crate::progress::step(&format!("{} {vm}: waiting for Azure", action.verb()));
        power::run(&arm, &vm, action).await?
    };
    let after = if moves {
        address(&arm, &vm).await
    } else {
        None
    };
    match cli.output {
        OutputFormat::Text => {
            println!("{}", operation.describe());
            if moves {
                let shown = |a: &Option<String>| a.clone().unwrap_or_else(|| "none".into());
                println!("public address: {} -> {}", shown(&before), shown(&after));
            }
        }
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({
                "operation": operation,
                "address_change": moves.then(|| serde_json::json!({"before": before, "after": after})),
            })
        ),
    }
    Ok(exit::OK)
}

/// The VM's public address, when Azure shows one (a failed read is logged, not fatal: the
/// action matters more than its report).
async fn address(arm: &ArmClient, vm: &VmTarget) -> Option<String> {
    match crate::azure::observe::observe(arm, vm, None).await {
        Ok(facts) => facts.public_ip().and_then(|ip| ip.address.clone()),
        Err(e) => {
            tracing::warn!("reading the VM's address: {e}");
            None
        }
    }
}

fn confirm(action: PowerAction, vm: &VmTarget) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    let mut question = format!("\r\nReally {} {vm}?", action.verb());
    if action == PowerAction::Redeploy {
        for warning in REDEPLOY_WARNINGS {
            question.push_str(&format!("\r\n  - {warning}"));
        }
    }
    eprint!("{question}\r\n[y/N] ");
    std::io::stderr().flush().ok();
    Ok(super::ask::line()?.trim().eq_ignore_ascii_case("y"))
}
