//! What a rescue did and found, as text for a person and as one JSON document for scripts
//! (docs/rescue-json.md). Both come from this one value.

use super::cloud::CloudFix;
use crate::access::AccessRecord;
use crate::diagnose::Diagnosis;
use crate::login::{LoginCheck, Vantage};
use crate::probe::facts::{Banner, BannerOutcome};
use crate::remedy::ops::Repair;
use crate::remedy::{BackupLocation, Outcome};
use crate::rules::Finding;
use serde::Serialize;
use std::fmt;

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

fn planned(repair: &Repair) -> Vec<PlannedFix> {
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
            cloud_fixes: Vec::new(),
            dry_run_script: None,
            declined: false,
            error: None,
            elapsed_ms: 0,
        }
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

impl fmt::Display for RescueReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match (self.verified, self.before.is_empty()) {
            (true, true) => "SSH works; nothing needed fixing",
            (true, false) if self.changed => "SSH works again",
            (true, false) => "SSH works",
            (false, _) if self.dry_run_script.is_some() => "dry run, nothing changed",
            (false, _) if self.declined => "not confirmed, nothing changed",
            (false, _) => "SSH still FAILS",
        };
        writeln!(f, "rescue of {} for {}: {verdict}", self.target, self.user)?;
        if let Some(access) = &self.access {
            writeln!(f, "access: {access}")?;
        }
        if !self.before.is_empty() {
            writeln!(f, "\nfound:")?;
            write_findings(f, &self.before)?;
        }
        if let Some(script) = &self.dry_run_script {
            writeln!(f, "\nplan:")?;
            for fix in &self.plan {
                writeln!(f, "  {}: {}", fix.id, fix.step)?;
            }
            writeln!(f, "\nthe guest script (secrets withheld):\n{script}")?;
        }
        for fix in &self.cloud_fixes {
            let state = match (&fix.error, fix.applied) {
                (Some(e), _) => format!("FAILED: {e}"),
                (None, true) => match &fix.undo {
                    Some(undo) => format!("done ({undo} takes it back)"),
                    None => "done".into(),
                },
                (None, false) => "planned".into(),
            };
            writeln!(f, "\nAzure: {}: {} — {state}", fix.id, fix.step)?;
            for warning in &fix.warnings {
                writeln!(f, "  warning: {warning}")?;
            }
            if let Some(change) = &fix.address_change {
                let show = |a: &Option<String>| a.clone().unwrap_or_else(|| "none".into());
                writeln!(
                    f,
                    "  the public address is now {} (was {}); `ssh-keygen -R {}` forgets the old one",
                    show(&change.after),
                    show(&change.before),
                    show(&change.before)
                )?;
            }
        }
        for (n, round) in self.rounds.iter().enumerate() {
            writeln!(f, "\nround {}:", n + 1)?;
            write!(f, "{}", indent(&round.outcome.to_string()))?;
        }
        match (self.rounds.is_empty(), self.after.is_empty()) {
            (true, _) => {}
            (false, true) => writeln!(f, "\nafter: no findings")?,
            (false, false) => {
                writeln!(f, "\nafter, still found:")?;
                write_findings(f, &self.after)?;
            }
        }
        if let Some(error) = &self.error {
            writeln!(f, "\nthe rescue stopped: {error}")?;
        }
        if !self.manual.is_empty() {
            writeln!(f, "\nfor you to do (lifeline does not decide these):")?;
            for finding in &self.manual {
                writeln!(f, "  {}: {}", finding.id, finding.fix)?;
            }
        }
        writeln!(f)?;
        for banner in &self.banners {
            match &banner.outcome {
                BannerOutcome::Answered(line) => {
                    writeln!(f, "ssh {}:{} answers: {line}", banner.host, banner.port)?
                }
                other => writeln!(
                    f,
                    "ssh {}:{} does NOT answer: {other:?}",
                    banner.host, banner.port
                )?,
            }
        }
        for check in &self.login {
            write_login(f, check)?;
        }
        for backup in &self.backups {
            writeln!(
                f,
                "backup {} at {} (lifeline undo --backup {} takes it back)",
                backup.id, backup.path, backup.id
            )?;
        }
        Ok(())
    }
}

fn write_login(f: &mut fmt::Formatter<'_>, check: &LoginCheck) -> fmt::Result {
    let from = match check.from {
        Vantage::Here => "from here",
        Vantage::Guest => "from inside the guest",
    };
    write!(f, "login as {} at {} {from}", check.user, check.address)?;
    if let Some(key) = &check.host_key {
        let known = match key.matches_probe {
            Some(true) => ", the guest's own",
            Some(false) => ", NOT the guest's",
            None => "",
        };
        write!(
            f,
            " (host key {} {}{known})",
            key.algorithm, key.fingerprint
        )?;
    }
    writeln!(f, ":")?;
    for attempt in &check.attempts {
        let verdict = if attempt.ok { "ok" } else { "FAILED" };
        writeln!(f, "  {} {verdict}: {}", attempt.method, attempt.detail)?;
    }
    if let Some(error) = &check.error {
        writeln!(f, "  not proven: {error}")?;
    }
    Ok(())
}

fn write_findings(f: &mut fmt::Formatter<'_>, findings: &[Finding]) -> fmt::Result {
    for finding in findings {
        writeln!(
            f,
            "  {} {}: {}",
            finding.id,
            finding.severity.as_str(),
            finding.title
        )?;
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
