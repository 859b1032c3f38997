//! Steps 5 and 6 of Azure's guide to a VM that refuses SSH, and the start of a stopped VM:
//! `POST {vm}/restart`, `/redeploy` and `/start` (Virtual Machines, and Virtual Machine Scale
//! Set VMs for an instance), each a long-running operation waited for through
//! `Azure-AsyncOperation`/`Location` ([`super::lro`]). What was done is kept as a
//! [`PowerOperation`] for the report.

use super::arm::{ArmClient, ArmError, COMPUTE_API};
use super::target::VmTarget;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Azure's guide's warnings about a redeploy, shown before and after it.
pub const REDEPLOY_WARNINGS: [&str; 3] = [
    "data on the temporary disk (/dev/sdb1, /mnt) is lost",
    "a dynamic public IP address changes (clients and DNS must follow; the host key stays)",
    "the VM restarts on another host: a few minutes without service",
];

/// What a restart costs: the guest's running work.
pub const RESTART_WARNING: &str =
    "the guest OS restarts: what runs in it stops, and SSH is down until it has booted";

/// What to ask of the VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerAction {
    /// The guest OS restarts on the same host; the address stays.
    Restart,
    /// The VM moves to another host and boots there: the temporary disk is lost and a dynamic
    /// public address changes.
    Redeploy,
    /// A stopped or deallocated VM boots; a running one is left alone.
    Start,
}

impl PowerAction {
    /// The last segment of the action's ARM path, as `az vm` names it too.
    pub fn verb(self) -> &'static str {
        match self {
            PowerAction::Restart => "restart",
            PowerAction::Redeploy => "redeploy",
            PowerAction::Start => "start",
        }
    }

    /// How long lifeline waits for Azure to finish (a redeploy moves the disks).
    fn limit(self) -> Duration {
        match self {
            PowerAction::Redeploy => Duration::from_secs(900),
            PowerAction::Restart | PowerAction::Start => Duration::from_secs(600),
        }
    }
}

/// One power action Azure finished: what was asked, where, and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct PowerOperation {
    pub action: PowerAction,
    /// `POST /subscriptions/…/virtualMachines/vm1/restart`.
    pub request: String,
    /// The operation's final status (only `Succeeded` comes back here; a failure is an error).
    pub status: &'static str,
    pub seconds: f64,
}

impl PowerOperation {
    /// The line a report prints: `restart: Succeeded after 42.0 s (POST …/restart)`.
    pub fn describe(&self) -> String {
        format!(
            "{}: {} after {:.1} s ({})",
            self.action.verb(),
            self.status,
            self.seconds,
            self.request
        )
    }
}

/// Asks Azure for `action` on `target` and waits until the operation has succeeded.
pub async fn run(
    arm: &ArmClient,
    target: &VmTarget,
    action: PowerAction,
) -> Result<PowerOperation, ArmError> {
    let path = format!("{}/{}", target.resource_path(), action.verb());
    let started = Instant::now();
    arm.long_running(
        azure_core::http::Method::Post,
        &path,
        COMPUTE_API,
        None,
        &format!("{} {target}", action.verb()),
        action.limit(),
    )
    .await?;
    Ok(PowerOperation {
        action,
        request: format!("POST /{path}"),
        status: "Succeeded",
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_reads_as_a_line_and_as_json() {
        let op = PowerOperation {
            action: PowerAction::Restart,
            request: "POST /subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/restart".into(),
            status: "Succeeded",
            seconds: 41.96,
        };
        assert_eq!(
            op.describe(),
            "restart: Succeeded after 42.0 s (POST /subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/restart)"
        );
        let json = serde_json::to_value(&op).unwrap();
        assert_eq!(json["action"], "restart");
        assert_eq!(json["status"], "Succeeded");
    }
}
