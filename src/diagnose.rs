//! `lifeline diagnose`: one probe over the console, every rule over its facts.
//!
//! The whole diagnosis costs one [`Session::run`]: the probe script goes up with the
//! session's long-script transfer (one round trip) and runs (one more), so a diagnosis after
//! login is two round trips, whatever the console's latency.

use crate::azure::facts::CloudFacts;
use crate::exit::ExitClass;
use crate::login::client_facts::ClientFacts;
use crate::probe::{self, Facts, ProbeError};
use crate::rules::{self, Finding, Severity};
use crate::shell::Runner;
use std::time::Duration;

/// What a diagnosis found, and what the probe cost.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub facts: Facts,
    /// Errors first, causes before symptoms (see [`rules::evaluate`]).
    pub findings: Vec<Finding>,
    pub cost: ProbeCost,
    /// What Azure said about the VM, when lifeline asked ([`Diagnosis::with_cloud`]).
    pub cloud: Option<CloudFacts>,
    /// Why the guest could not be diagnosed, when only Azure's side was ([`Diagnosis::cloud_only`]).
    pub guest_error: Option<String>,
}

/// The price of the probe over the console.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ProbeCost {
    /// The script as sent, before the session encodes it.
    pub script_bytes: usize,
    /// The probe's output, after the session decoded it.
    pub output_bytes: usize,
    /// From sending the script to having its output parsed.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

#[derive(Debug, thiserror::Error)]
pub enum DiagnoseError {
    #[error(
        "the diagnosis needs a root shell (it reads /etc/shadow, host keys and firewall rules): become root first"
    )]
    NotRoot,
    #[error(transparent)]
    Probe(#[from] ProbeError),
}

impl DiagnoseError {
    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        match self {
            DiagnoseError::Probe(e) => e.exit_class(),
            DiagnoseError::NotRoot => ExitClass::Software,
        }
    }
}

impl Diagnosis {
    /// Judges facts already collected (a fixture, a saved probe output).
    pub fn from_facts(facts: Facts, cost: ProbeCost) -> Diagnosis {
        let findings = rules::evaluate(&facts);
        Diagnosis {
            facts,
            findings,
            cost,
            cloud: None,
            guest_error: None,
        }
    }

    /// The same diagnosis with the package copies of the files it found damaged, fetched where
    /// lifeline runs from the guest distribution's archive or `mirrors` (for rule SSH010's
    /// fix); judged again, so the finding says what came of it. Nothing is fetched when no
    /// file was found damaged.
    pub async fn with_package_copies(self, mirrors: &[azure_core::http::Url]) -> Diagnosis {
        if self.facts.package_files.is_empty() {
            return self;
        }
        let mut facts = self.facts;
        crate::packages::copies::fetch_copies(&mut facts, mirrors).await;
        Diagnosis::from_facts(facts, self.cost)
    }

    /// Azure's side alone, when the console could not be used (`why`): the boot log, the
    /// network path, health and agent still say a lot.
    pub fn cloud_only(cloud: CloudFacts, why: String) -> Diagnosis {
        Diagnosis {
            findings: rules::cloud::evaluate(&cloud, None, Vec::new()),
            facts: Facts::default(),
            cost: ProbeCost::default(),
            cloud: Some(cloud),
            guest_error: Some(why),
        }
    }

    /// The same diagnosis judged with Azure's facts too: the cloud rules' findings join the
    /// guest's, and a joint finding stands for the guest findings it explains.
    pub fn with_cloud(mut self, cloud: Option<CloudFacts>) -> Diagnosis {
        if let Some(cloud) = &cloud {
            let guest = std::mem::take(&mut self.findings);
            self.findings = rules::cloud::evaluate(cloud, Some(&self.facts), guest);
        }
        self.cloud = cloud;
        self
    }

    /// The same diagnosis with the operator's side judged too (this machine's key file and
    /// known_hosts): the client rules' findings join the others, tagged `client`.
    pub fn with_client(mut self, client: &ClientFacts) -> Diagnosis {
        let guest = (self.guest_error.is_none()).then_some(&self.facts);
        let found = std::mem::take(&mut self.findings);
        self.findings = rules::client::evaluate(client, guest, found);
        self
    }

    /// No error or warning: exit code 0. Info findings do not count.
    pub fn healthy(&self) -> bool {
        self.guest_error.is_none() && self.findings.iter().all(|f| f.severity == Severity::Info)
    }

    /// The rule ids found, in report order.
    pub fn ids(&self) -> Vec<&'static str> {
        self.findings.iter().map(|f| f.id).collect()
    }
}

/// Diagnoses why SSH fails for `user` on the guest behind `session`, which must be a root
/// shell (see [`Session::become_root`]). Read-only: the guest is left as it was.
pub async fn diagnose(session: &mut impl Runner, user: &str) -> Result<Diagnosis, DiagnoseError> {
    if !session.is_root() {
        return Err(DiagnoseError::NotRoot);
    }
    let _step = crate::progress::step("probing the guest");
    let collected = probe::collect(session, user).await?;
    Ok(Diagnosis::from_facts(
        collected.facts,
        ProbeCost {
            script_bytes: collected.script_bytes,
            output_bytes: collected.output_bytes,
            elapsed: collected.elapsed,
        },
    ))
}
