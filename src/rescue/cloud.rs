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
    pub rule: NsgAllow,
    /// `lifeline undo --backup …` takes it back.
    pub undo: String,
    pub applied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The ARM fixes for a diagnosis's cloud findings, and the findings that have none (with why).
pub fn plan(diagnosis: &Diagnosis) -> (Vec<CloudFix>, Vec<(Finding, String)>) {
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
                undo: format!("lifeline undo --backup {}", rule.name),
                rule,
                applied: false,
                error: None,
            }),
            Err(why) => unfixable.push((finding.clone(), why)),
        }
    }
    (fixes, unfixable)
}

/// Makes each fix; a failure is recorded on the fix and stops the ones after it.
pub async fn apply(arm: &ArmClient, fixes: &mut [CloudFix]) {
    for fix in fixes {
        match fix.rule.apply(arm).await {
            Ok(()) => fix.applied = true,
            Err(e) => {
                fix.error = Some(e.to_string());
                break;
            }
        }
    }
}
