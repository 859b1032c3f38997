//! Before connecting: the checks that turn Azure's silent failures into instructions.
//! The console must be enabled for the subscription, the machine must exist (a scale set needs
//! an instance id), be running, and have boot diagnostics on.

use super::arm::{ArmClient, ArmError, MachineView};
use super::target::{Machine, VmTarget};
use crate::exit::ExitClass;

#[derive(Debug, thiserror::Error)]
pub enum PrecheckError {
    #[error(
        "the Azure Serial Console is disabled for subscription {0}.\n  What to do: `lifeline console enable --subscription {0}` (needs Contributor on the subscription)"
    )]
    ConsoleDisabled(String),
    #[error(
        "{target} is {state}; the serial console needs a running machine.\n  What to do: `az vm start {az}` (or `az vmss start` for a scale set)"
    )]
    NotRunning {
        target: String,
        state: String,
        az: String,
    },
    #[error(
        "boot diagnostics are off for {target}; the Serial Console needs them.\n  What to do: `{command}`"
    )]
    BootDiagnosticsOff { target: String, command: String },
    #[error(
        "{name} is a virtual machine scale set, not a VM.\n  What to do: name the instance with --vmss {name} --instance-id N"
    )]
    ScaleSetNeedsInstance { name: String },
    #[error(transparent)]
    Arm(#[from] ArmError),
}

impl PrecheckError {
    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        match self {
            PrecheckError::Arm(e) => e.exit_class(),
            // Otherwise the console cannot be reached, whatever the reason.
            _ => ExitClass::Link,
        }
    }
}

/// Runs the pre-checks; returns what was learnt about the machine.
pub async fn check(arm: &ArmClient, target: &VmTarget) -> Result<MachineView, PrecheckError> {
    if arm.console_disabled(&target.subscription).await? {
        return Err(PrecheckError::ConsoleDisabled(target.subscription.clone()));
    }
    let view = match arm.machine(target).await {
        Ok(view) => view,
        Err(e) if e.status() == Some(404) => {
            if let Machine::Vm { name } = &target.machine
                && arm
                    .scale_set_exists(&target.subscription, &target.resource_group, name)
                    .await
            {
                return Err(PrecheckError::ScaleSetNeedsInstance { name: name.clone() });
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(state) = &view.power_state
        && state != "running"
        && state != "starting"
    {
        return Err(PrecheckError::NotRunning {
            target: target.to_string(),
            state: state.clone(),
            az: target.az_args(),
        });
    }
    if !view.boot_diagnostics {
        let command = match &target.machine {
            Machine::Vm { .. } => format!("az vm boot-diagnostics enable {}", target.az_args()),
            Machine::ScaleSetInstance { scale_set, .. } => format!(
                "az vmss update -g {} -n {scale_set} --set virtualMachineProfile.diagnosticsProfile.bootDiagnostics.enabled=true \
                 && az vmss update-instances -g {} -n {scale_set} --instance-ids '*'",
                target.resource_group, target.resource_group
            ),
        };
        return Err(PrecheckError::BootDiagnosticsOff {
            target: target.to_string(),
            command,
        });
    }
    Ok(view)
}
