//! The Azure side of a rescue: the fixes made through ARM, after the guest's (so that the NSG
//! is opened for the port sshd really listens on once the guest is repaired), confirmed with
//! them, and judged again with fresh cloud facts.

use crate::azure::facts::CloudFacts;
use crate::azure::observe::observe;
use crate::azure::{ArmClient, ArmError, VmTarget};
use crate::diagnose::Diagnosis;
use crate::remedy::nsg::NsgAllow;
use crate::rules::Finding;
use serde::Serialize;
use std::net::IpAddr;

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
    /// What a person must know before it happens (a redeploy's losses).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// `lifeline undo --backup …` takes it back (a redeploy cannot be taken back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo: Option<String>,
    pub applied: bool,
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

/// Azure's guide's warnings about a redeploy, shown before and after it.
pub const REDEPLOY_WARNINGS: [&str; 3] = [
    "data on the temporary disk (/dev/sdb1, /mnt) is lost",
    "a dynamic public IP address changes (clients and DNS must follow; the host key stays)",
    "the VM restarts on another host: a few minutes without service",
];

/// How long a redeploy may take before lifeline stops waiting.
const REDEPLOY_LIMIT: std::time::Duration = std::time::Duration::from_secs(900);

/// The ARM fixes for a diagnosis's cloud findings, and the findings that have none (with why).
pub fn plan(
    diagnosis: &Diagnosis,
    allow_redeploy: bool,
) -> (Vec<CloudFix>, Vec<(Finding, String)>) {
    let mut fixes = Vec::new();
    let mut unfixable = Vec::new();
    let Some(cloud) = &diagnosis.cloud else {
        return (fixes, unfixable);
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
                id: finding.id,
                title: finding.title.clone(),
                step: rule.describe(),
                warnings: Vec::new(),
                undo: Some(format!("lifeline undo --backup {}", rule.name)),
                rule: Some(rule),
                applied: false,
                address_change: None,
                error: None,
            }),
            Err(why) => unfixable.push((finding.clone(), why)),
        }
    }
    for finding in diagnosis.findings.iter().filter(|f| f.id == "SSH705") {
        if !allow_redeploy {
            unfixable.push((finding.clone(), "a redeploy needs --allow-redeploy".into()));
            continue;
        }
        fixes.push(CloudFix {
            id: finding.id,
            title: finding.title.clone(),
            step: "redeploy the VM to another host".into(),
            warnings: REDEPLOY_WARNINGS.map(str::to_string).to_vec(),
            rule: None,
            undo: None,
            applied: false,
            address_change: None,
            error: None,
        });
    }
    (fixes, unfixable)
}

/// Makes each fix; a failure is recorded on the fix and stops the ones after it. Reads the
/// facts again afterwards (a redeploy's new address among them).
pub async fn apply(side: &mut CloudContext, fixes: &mut [CloudFix]) -> Result<(), ArmError> {
    for fix in fixes.iter_mut() {
        let result = match &fix.rule {
            Some(rule) => rule.apply(&side.arm).await,
            None => redeploy(side, fix).await,
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

/// `POST {vm}/redeploy`, waited for; notes the address before and after.
async fn redeploy(side: &mut CloudContext, fix: &mut CloudFix) -> Result<(), ArmError> {
    let before = side.facts.public_ip().and_then(|ip| ip.address.clone());
    side.arm
        .long_running(
            azure_core::http::Method::Post,
            &format!("{}/redeploy", side.target.resource_path()),
            crate::azure::arm::COMPUTE_API,
            None,
            &format!("redeploy {}", side.target),
            REDEPLOY_LIMIT,
        )
        .await?;
    side.refresh().await?;
    let after = side.facts.public_ip().and_then(|ip| ip.address.clone());
    fix.address_change = Some(AddressChange { before, after });
    Ok(())
}
