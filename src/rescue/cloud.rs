//! The Azure side of a rescue: the fixes made through ARM, after the guest's (so that the NSG
//! is opened for the port sshd really listens on once the guest is repaired), confirmed with
//! them, and judged again with fresh cloud facts.

use crate::azure::facts::CloudFacts;
use crate::azure::observe::observe;
use crate::azure::power::{self, PowerAction, PowerOperation, REDEPLOY_WARNINGS, RESTART_WARNING};
use crate::azure::{ArmClient, ArmError, VmTarget};
use crate::diagnose::Diagnosis;
use crate::remedy::nsg::NsgAllow;
use crate::rules::Finding;
use serde::Serialize;
use std::net::IpAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// What a rescue needs to work on Azure's side.
#[derive(Debug, Clone)]
pub struct CloudContext {
    pub arm: ArmClient,
    pub target: VmTarget,
    /// `--client-ip`: the address the NSG sees this client come from.
    pub client_ip: Option<IpAddr>,
    /// Read while the console logged in.
    pub facts: CloudFacts,
}

impl CloudContext {
    /// Reads the cloud facts again (after a change).
    pub async fn refresh(&mut self) -> Result<(), ArmError> {
        self.facts = observe(&self.arm, &self.target, self.client_ip).await?;
        Ok(())
    }
}

/// One change through ARM, planned or made.
#[derive(Debug, Clone, Serialize)]
pub struct CloudFix {
    pub id: &'static str,
    pub title: String,
    pub step: String,
    /// The allow rule added to the NSG, when that is the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<NsgAllow>,
    /// The restart or redeploy asked of Azure, when that is the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<PowerAction>,
    /// What a person must know before it happens (a redeploy's losses).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// `lifeline undo --backup …` takes it back (a restart or redeploy cannot be taken back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo: Option<String>,
    pub applied: bool,
    /// Azure's operation for a restart or redeploy, once it succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<PowerOperation>,
    /// A redeploy's public address before and after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_change: Option<AddressChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AddressChange {
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Which power actions the operator allowed (`--allow-reboot`, `--allow-redeploy`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Allowed {
    pub reboot: bool,
    pub redeploy: bool,
}

/// How long lifeline waits for SSH to answer at the VM's address after it booted again.
const SSH_BACK_WITHIN: Duration = Duration::from_secs(300);

/// The ARM fixes for a diagnosis's cloud findings, and the findings that have none (with why).
pub fn plan(diagnosis: &Diagnosis, allowed: Allowed) -> (Vec<CloudFix>, Vec<(Finding, String)>) {
    let mut fixes = Vec::new();
    let mut unfixable = Vec::new();
    let Some(cloud) = &diagnosis.cloud else {
        return (fixes, unfixable);
    };
    let fix = |finding: &Finding, step: String| CloudFix {
        id: finding.id,
        title: finding.title.clone(),
        step,
        rule: None,
        power: None,
        warnings: Vec::new(),
        undo: None,
        applied: false,
        operation: None,
        address_change: None,
        error: None,
    };
    for finding in diagnosis.findings.iter().filter(|f| f.id == "SSH701") {
        let Some(client) = cloud.client_ip() else {
            unfixable.push((
                finding.clone(),
                "the client's address is unknown: pass --client-ip".into(),
            ));
            continue;
        };
        let port = diagnosis.facts.config.ports()[0];
        match NsgAllow::plan(cloud, client, port) {
            Ok(rule) => fixes.push(CloudFix {
                undo: Some(format!("lifeline undo --backup {}", rule.name)),
                rule: Some(rule.clone()),
                ..fix(finding, rule.describe())
            }),
            Err(why) => unfixable.push((finding.clone(), why)),
        }
    }
    // Azure's guide restarts first (step 5) and redeploys when that is not enough (step 6);
    // a degraded host is what a redeploy is for, so it wins when both are allowed.
    for finding in diagnosis.findings.iter().filter(|f| f.id == "SSH705") {
        let (power, step, warnings) = match allowed {
            Allowed { redeploy: true, .. } => (
                PowerAction::Redeploy,
                "redeploy the VM to another host",
                REDEPLOY_WARNINGS.map(str::to_string).to_vec(),
            ),
            Allowed { reboot: true, .. } => (
                PowerAction::Restart,
                "restart the VM through Azure",
                vec![RESTART_WARNING.to_string()],
            ),
            _ => {
                unfixable.push((
                    finding.clone(),
                    "a restart needs --allow-reboot, a redeploy --allow-redeploy".into(),
                ));
                continue;
            }
        };
        fixes.push(CloudFix {
            power: Some(power),
            warnings,
            ..fix(finding, step.into())
        });
    }
    (fixes, unfixable)
}

/// Makes each fix; a failure is recorded on the fix and stops the ones after it. Reads the
/// facts again afterwards (a redeploy's new address among them).
pub async fn apply(side: &mut CloudContext, fixes: &mut [CloudFix]) -> Result<(), ArmError> {
    for fix in fixes.iter_mut() {
        let result = match (&fix.rule, fix.power) {
            (Some(rule), _) => rule.apply(&side.arm).await,
            (None, Some(action)) => power_fix(side, fix, action).await,
            (None, None) => Ok(()),
        };
        match result {
            Ok(()) => fix.applied = true,
            Err(e) => {
                fix.error = Some(e.to_string());
                break;
            }
        }
    }
    side.refresh().await
}

/// A restart or redeploy, waited for; notes the address before and after, and waits for SSH
/// to answer there again so that the verification meets a booted guest.
async fn power_fix(
    side: &mut CloudContext,
    fix: &mut CloudFix,
    action: PowerAction,
) -> Result<(), ArmError> {
    let before = side.facts.public_ip().and_then(|ip| ip.address.clone());
    fix.operation = Some(power::run(&side.arm, &side.target, action).await?);
    side.refresh().await?;
    if action == PowerAction::Redeploy {
        let after = side.facts.public_ip().and_then(|ip| ip.address.clone());
        fix.address_change = Some(AddressChange { before, after });
    }
    if let Some(address) = side.facts.ssh_address() {
        let _step = crate::progress::step(&format!("waiting for SSH to answer at {address}"));
        if !ssh_answers_within(&address, SSH_BACK_WITHIN).await {
            tracing::warn!("SSH did not answer at {address} within {SSH_BACK_WITHIN:?}");
        }
    }
    Ok(())
}

/// Whether an SSH banner comes from `address` (`HOST:PORT`) before `limit` runs out.
async fn ssh_answers_within(address: &str, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if banner_at(address).await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn banner_at(address: &str) -> bool {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
        let mut buf = [0u8; 8];
        let n = stream.read(&mut buf).await.ok()?;
        Some(buf[..n].starts_with(b"SSH-"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(10), attempt).await,
        Ok(Some(true))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::facts::Health;
    use crate::diagnose::ProbeCost;
    use crate::rules::testing::{debian_text, healthy_cloud};

    /// A healthy guest on a VM that resource health reports degraded.
    fn degraded() -> Diagnosis {
        let mut cloud = healthy_cloud();
        cloud.health = Some(Health {
            state: "Degraded".into(),
            summary: None,
            reason: None,
        });
        Diagnosis::from_facts(debian_text(&[]), ProbeCost::default()).with_cloud(Some(cloud))
    }

    fn power_of(allowed: Allowed) -> (Vec<Option<PowerAction>>, Vec<String>) {
        let (fixes, left) = plan(&degraded(), allowed);
        (
            fixes.iter().map(|f| f.power).collect(),
            left.into_iter()
                .map(|(f, why)| format!("{}: {why}", f.id))
                .collect(),
        )
    }

    #[test]
    fn a_degraded_vm_is_restarted_or_redeployed_only_as_allowed() {
        assert_eq!(
            power_of(Allowed::default()),
            (
                vec![],
                vec!["SSH705: a restart needs --allow-reboot, a redeploy --allow-redeploy".into()]
            )
        );
        let reboot = Allowed {
            reboot: true,
            redeploy: false,
        };
        assert_eq!(power_of(reboot), (vec![Some(PowerAction::Restart)], vec![]));
        let (fixes, _) = plan(&degraded(), reboot);
        assert_eq!(fixes[0].warnings, [RESTART_WARNING]);
        assert!(fixes[0].undo.is_none() && fixes[0].rule.is_none());
        // A degraded host is what a redeploy is for: it wins when both are allowed.
        let both = Allowed {
            reboot: true,
            redeploy: true,
        };
        assert_eq!(power_of(both), (vec![Some(PowerAction::Redeploy)], vec![]));
        let (fixes, _) = plan(&degraded(), both);
        assert_eq!(fixes[0].warnings, REDEPLOY_WARNINGS);
    }

    /// A listener that greets like sshd, and one that closes at once (a guest still booting
    /// behind a forwarded port).
    #[tokio::test]
    async fn ssh_answers_only_with_a_banner() {
        let serve = |greeting: &'static [u8]| async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap().to_string();
            tokio::spawn(async move {
                while let Ok((mut s, _)) = listener.accept().await {
                    use tokio::io::AsyncWriteExt;
                    let _ = s.write_all(greeting).await;
                }
            });
            address
        };
        let sshd = serve(b"SSH-2.0-OpenSSH_9.2p1\r\n").await;
        assert!(ssh_answers_within(&sshd, Duration::from_secs(1)).await);
        let closed = serve(b"").await;
        assert!(!ssh_answers_within(&closed, Duration::from_secs(1)).await);
    }
}
