//! The second channel into a VM: Azure's VM agent, through ARM (docs/azure-arm.md).
//!
//! - **Run Command** (action-oriented, v1): `POST {vm}/runCommand` with `RunShellScript`, a
//!   long-running operation whose result holds one status. On Linux its message is
//!   `Enable succeeded: \n[stdout]\n…\n[stderr]\n…` (or `Enable failed: … exit status=N`),
//!   each stream cut to its **last 4,096 bytes**. One command runs at a time per VM, and each
//!   takes tens of seconds on Azure: callers send as few as they can.
//! - **VMAccessForLinux**: `PUT {vm}/extensions/enablevmaccess` with the settings in
//!   `protectedSettings` (encrypted for the VM, never returned by ARM, never logged here), as
//!   `az vm user reset-ssh|update|delete` send them.
//!
//! Both need the agent `Ready` in the instance view ([`status`]).

use super::arm::{ArmClient, ArmError, COMPUTE_API};
use super::facts::Agent;
use super::target::VmTarget;
use crate::secret::Secret;
use azure_core::http::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// Run Command keeps this many bytes of the end of each stream.
pub const OUTPUT_TAIL: usize = 4096;
/// How long one Run Command or extension operation may take.
const OPERATION_LIMIT: Duration = Duration::from_secs(600);
/// The extension's name, as `az vm user` names it (so lifeline and az update the same one).
const VMACCESS_NAME: &str = "enablevmaccess";

/// What a script run through Run Command printed (each stream at most [`OUTPUT_TAIL`] bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOutput {
    pub stdout: String,
    pub stderr: String,
    /// The script's exit status, when Azure's message names one (`0` for "Enable succeeded").
    pub exit_status: Option<i32>,
}

/// The agent as the instance view reports it; `None` when it never reported.
pub async fn status(arm: &ArmClient, vm: &VmTarget) -> Result<Option<Agent>, ArmError> {
    let view = arm
        .get(
            &format!("{}?$expand=instanceView", vm.resource_path()),
            COMPUTE_API,
            &format!("read the VM agent's status of {vm}"),
        )
        .await?;
    Ok(super::observe::from_vm(&view).agent)
}

/// Runs `script` as root in the VM through Run Command (`RunShellScript`).
pub async fn run_shell_script(
    arm: &ArmClient,
    vm: &VmTarget,
    script: &str,
) -> Result<ScriptOutput, ArmError> {
    let lines: Vec<&str> = script.lines().collect();
    let result = arm
        .long_running(
            Method::Post,
            &format!("{}/runCommand", vm.resource_path()),
            COMPUTE_API,
            Some(json!({"commandId": "RunShellScript", "script": lines})),
            &format!("run a script on {vm} through Run Command"),
            OPERATION_LIMIT,
        )
        .await?;
    parse_result(&result).ok_or_else(|| ArmError::Transport {
        what: format!("run a script on {vm} through Run Command"),
        message: format!(
            "Azure's answer has no output status: {}",
            result.to_string().chars().take(300).collect::<String>()
        ),
    })
}

/// One VMAccessForLinux request, as `az vm user` makes them.
pub enum VmAccess<'a> {
    /// `reset_ssh`: the extension's default sshd_config (port 22) and sshd restarted.
    ResetSsh,
    /// `username` with a `password` and/or an `ssh_key` (added to authorized_keys); the
    /// extension creates the user, with sudo rights, when it is missing.
    User {
        user: &'a str,
        password: Option<&'a Secret>,
        ssh_key: Option<&'a str>,
    },
    /// `remove_user`: deletes the account and its home.
    RemoveUser { user: &'a str },
}

impl VmAccess<'_> {
    fn protected_settings(&self) -> Value {
        match self {
            VmAccess::ResetSsh => json!({"reset_ssh": true}),
            VmAccess::User {
                user,
                password,
                ssh_key,
            } => {
                let mut settings = json!({"username": user});
                if let Some(password) = password {
                    settings["password"] = json!(password.expose());
                }
                if let Some(key) = ssh_key {
                    settings["ssh_key"] = json!(key);
                }
                settings
            }
            VmAccess::RemoveUser { user } => json!({"remove_user": user}),
        }
    }

    /// What it does, for reports (never the secret).
    pub fn describe(&self) -> String {
        match self {
            VmAccess::ResetSsh => "reset sshd's configuration to the extension's default".into(),
            VmAccess::User {
                user,
                password,
                ssh_key,
            } => {
                let mut what = Vec::new();
                if password.is_some() {
                    what.push("set the password");
                }
                if ssh_key.is_some() {
                    what.push("add an SSH public key");
                }
                format!(
                    "{} of {user} (created with sudo if missing)",
                    what.join(" and ")
                )
            }
            VmAccess::RemoveUser { user } => format!("remove the user {user}"),
        }
    }
}

/// Applies `change` through the VMAccessForLinux extension and waits for it to finish.
pub async fn vm_access(
    arm: &ArmClient,
    vm: &VmTarget,
    change: &VmAccess<'_>,
) -> Result<(), ArmError> {
    let what = format!("{} on {vm} through VMAccessForLinux", change.describe());
    // The extension takes the VM's location.
    let location = arm
        .get(&vm.resource_path(), COMPUTE_API, &format!("read {vm}"))
        .await?["location"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let body = json!({
        "location": location,
        "properties": {
            "publisher": "Microsoft.OSTCExtensions",
            "type": "VMAccessForLinux",
            "typeHandlerVersion": "1.5",
            "autoUpgradeMinorVersion": true,
            "settings": {},
            "protectedSettings": change.protected_settings(),
        }
    });
    let done = arm
        .long_running(
            Method::Put,
            &format!("{}/extensions/{VMACCESS_NAME}", vm.resource_path()),
            COMPUTE_API,
            Some(body),
            &what,
            OPERATION_LIMIT,
        )
        .await?;
    match done["properties"]["provisioningState"].as_str() {
        Some(s) if s.eq_ignore_ascii_case("succeeded") => Ok(()),
        state => Err(ArmError::Http {
            what,
            status: 200,
            code: "VMExtensionProvisioningError".into(),
            message: format!(
                "the extension ended {}",
                state.unwrap_or("without a provisioning state")
            ),
            hint: String::new(),
        }),
    }
}

/// Run Command's result: `{"value": [{"code", "message", …}]}`.
fn parse_result(result: &Value) -> Option<ScriptOutput> {
    let message = result["value"][0]["message"].as_str()?;
    let (head, rest) = message.split_once("\n[stdout]\n")?;
    let (stdout, stderr) = rest.rsplit_once("\n[stderr]\n").unwrap_or((rest, ""));
    let exit_status = if head.starts_with("Enable succeeded") {
        Some(0)
    } else {
        head.rsplit_once("exit status=")
            .and_then(|(_, n)| n.trim().parse().ok())
    };
    Some(ScriptOutput {
        stdout: stdout.to_string(),
        stderr: stderr.strip_suffix('\n').unwrap_or(stderr).to_string(),
        exit_status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_command_results_give_both_streams_and_the_status() {
        let ok = json!({"value": [{"code": "ProvisioningState/succeeded", "level": "Info",
            "displayStatus": "Provisioning succeeded",
            "message": "Enable succeeded: \n[stdout]\nline 1\nline 2\n\n[stderr]\nwarn\n"}]});
        assert_eq!(
            parse_result(&ok),
            Some(ScriptOutput {
                stdout: "line 1\nline 2\n".into(),
                stderr: "warn".into(),
                exit_status: Some(0)
            })
        );
        let failed = json!({"value": [{"code": "ProvisioningState/failed/3",
            "message": "Enable failed: failed to execute command: command terminated with exit status=3\n[stdout]\n\n[stderr]\nno such file\n"}]});
        let out = parse_result(&failed).unwrap();
        assert_eq!((out.stdout.as_str(), out.exit_status), ("", Some(3)));
        assert_eq!(out.stderr, "no such file");
        assert_eq!(parse_result(&json!({"value": []})), None);
    }

    #[test]
    fn protected_settings_are_what_az_vm_user_sends() {
        let pw = Secret::new("s3cret");
        let set = VmAccess::User {
            user: "azureuser",
            password: Some(&pw),
            ssh_key: None,
        };
        assert_eq!(
            set.protected_settings(),
            json!({"username": "azureuser", "password": "s3cret"})
        );
        assert!(!set.describe().contains("s3cret"));
        assert_eq!(
            VmAccess::ResetSsh.protected_settings(),
            json!({"reset_ssh": true})
        );
        assert_eq!(
            VmAccess::RemoveUser { user: "u" }.protected_settings(),
            json!({"remove_user": "u"})
        );
    }
}
