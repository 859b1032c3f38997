//! What a rescue did and found: one value, rendered as text for a person and as one JSON
//! document for scripts (docs/rescue-json.md) by [`crate::report`].

use super::cloud::CloudFix;
use super::offline::OfflineRound;
use crate::access::AccessRecord;
use crate::diagnose::Diagnosis;
use crate::login::LoginCheck;
use crate::probe::facts::Banner;
use crate::remedy::ops::Repair;
use crate::remedy::{BackupLocation, Outcome};
use crate::rules::Finding;
use serde::Serialize;

/// One finding and the step that fixes it.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedFix {
    pub id: &'static str,
    pub title: String,
    pub step: String,
}

/// One diagnose-and-fix cycle.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub fixes: Vec<PlannedFix>,
    pub outcome: Outcome,
}

impl Round {
    pub(super) fn new(repair: &Repair, outcome: Outcome) -> Round {
        Round {
            fixes: planned(repair),
            outcome,
        }
    }
}

pub(super) fn planned(repair: &Repair) -> Vec<PlannedFix> {
    repair
        .fixes
        .iter()
        .map(|(finding, step)| PlannedFix {
            id: finding.id,
            title: finding.title.clone(),
            step: step.clone(),
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct RescueReport {
    /// The console reached (`unix:…`, an Azure VM); the caller fills it in.
    pub target: String,
    /// How root was reached (the access ladder); the caller fills it in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessRecord>,
    /// The break-in's offline part, before the boot went on (see [`super::offline`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline: Option<OfflineRound>,
    pub user: String,
    /// SSH works for the user: the user logged in over SSH and `true` ran (see `login`);
    /// banners answer on every configured port and no error finding is left.
    pub verified: bool,
    /// Something on the guest (or on Azure's side) changed and stayed changed.
    pub changed: bool,
    /// What the first diagnosis found.
    pub before: Vec<Finding>,
    /// The fixes planned from the first diagnosis (what `--dry-run` and the confirmation show).
    pub plan: Vec<PlannedFix>,
    pub rounds: Vec<Round>,
    /// What the last diagnosis still found.
    pub after: Vec<Finding>,
    /// Findings lifeline does not fix on its own, with the rule's advice in `fix`.
    pub manual: Vec<Finding>,
    /// sshd's banner on each configured port, read from inside the guest at the end.
    pub banners: Vec<Banner>,
    /// The SSH logins tried to prove SSH works (the last one decides; an unreachable
    /// `--verify-host` is followed by a login from inside the guest).
    pub login: Vec<LoginCheck>,
    /// Where each round's backup is: `lifeline undo --backup ID` takes a round back.
    pub backups: Vec<BackupLocation>,
    /// Where the public keys put back for the user came from (`--ssh-key-file`, the Azure VM
    /// model), when any were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys_restored_from: Option<String>,
    /// The changes through Azure Resource Manager, planned (a dry run) or made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cloud_fixes: Vec<CloudFix>,
    /// `--dry-run`: the guest script of the first round, secrets withheld.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run_script: Option<String>,
    /// The plan was not confirmed: nothing changed.
    pub declined: bool,
    /// What stopped the rescue after a round had changed the guest (the console broke, a
    /// diagnosis failed); the rounds before it are reported all the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

impl RescueReport {
    /// The report of a rescue whose first diagnosis and plan these are.
    pub(super) fn new(user: &str, diagnosis: &Diagnosis, repair: &Repair) -> RescueReport {
        RescueReport {
            target: String::new(),
            access: None,
            offline: None,
            user: user.to_string(),
            verified: false,
            changed: false,
            before: diagnosis.findings.clone(),
            plan: planned(repair),
            rounds: Vec::new(),
            after: Vec::new(),
            manual: Vec::new(),
            banners: Vec::new(),
            login: Vec::new(),
            backups: Vec::new(),
            keys_restored_from: None,
            cloud_fixes: Vec::new(),
            dry_run_script: None,
            declined: false,
            error: None,
            elapsed_ms: 0,
        }
    }

    /// Adds the offline part that came before this rescue: its changes and backup count.
    pub fn with_offline(mut self, round: OfflineRound) -> RescueReport {
        if let Some(outcome) = &round.outcome {
            self.changed |= outcome.changed();
            if let Some(backup) = &outcome.backup {
                self.backups.insert(0, backup.clone());
            }
        }
        self.offline = Some(round);
        self
    }

    pub(super) fn dry_run(&mut self, repair: &Repair) {
        self.dry_run_script = Some(repair.plan.script());
    }

    pub(super) fn conclude(&mut self, last: &Diagnosis, manual: Vec<Finding>) {
        self.after = last.findings.clone();
        self.manual = manual;
        self.banners = last.facts.banners.clone();
        // Starting or restarting sshd changes the guest too, though no file changed.
        self.changed = self.cloud_fixes.iter().any(|f| f.applied)
            || self.rounds.iter().any(|r| {
                r.outcome.changed() || r.outcome.service.iter().any(|s| s.status == "restarted")
            });
        self.backups = self
            .rounds
            .iter()
            .filter_map(|r| r.outcome.backup.clone())
            .collect();
    }
}
