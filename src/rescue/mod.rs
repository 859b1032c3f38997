//! `lifeline rescue`: diagnose, plan the fixes, confirm, apply, and prove that SSH works.
//!
//! A fix can reveal the next problem (a configuration that parses again names a host key that
//! is missing), so the cycle repeats, diagnosing afresh each time, while a round brings up a
//! fixable finding no earlier round addressed, at most [`MAX_ROUNDS`] times. Only the first
//! plan is confirmed: later rounds fix findings of the same catalogue, each backed up.
//!
//! SSH counts as working when, after the last round, sshd's banner answers on every port it is
//! configured for (read from inside the guest by the last diagnosis), no finding of error
//! severity is left, and, when asked, a real SSH handshake from this machine succeeds
//! ([`crate::ssh_handshake`]).

pub mod cloud;
mod report;

pub use cloud::CloudContext;
pub use report::{HandshakeCheck, RescueReport, Round};

use crate::diagnose::{DiagnoseError, Diagnosis, diagnose};
use crate::probe::facts::BannerOutcome;
use crate::remedy::RemedyError;
use crate::remedy::ops::Repair;
use crate::rules::Severity;
use crate::shell::Session;
use crate::ssh_handshake;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tracing::info;

/// Diagnose-and-fix cycles at most: each round fixes what the one before uncovered.
pub const MAX_ROUNDS: usize = 3;

/// How long the client-side handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Default)]
pub struct RescueOptions {
    /// The user SSH must work for (whose account, keys and access are checked).
    pub user: String,
    /// `HOST[:PORT]` to complete an SSH handshake with from this machine afterwards.
    pub verify_host: Option<String>,
    /// Show the plan and its script; change nothing.
    pub dry_run: bool,
    /// Azure's side, for an Azure VM: its facts join the diagnosis and its fixes the plan.
    pub cloud: Option<CloudContext>,
    /// A degraded VM may be redeployed to another host (its warnings are in the report).
    pub allow_redeploy: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RescueError {
    #[error(transparent)]
    Diagnose(#[from] DiagnoseError),
    #[error(transparent)]
    Remedy(#[from] RemedyError),
}

/// Runs a rescue on the guest behind `session` (a root shell). `confirm` sees the first plan
/// and says whether to apply it; it is not asked when there is nothing to fix.
pub async fn rescue(
    session: &mut Session,
    options: &RescueOptions,
    confirm: &mut (dyn FnMut(&Diagnosis, &Repair) -> bool + Send),
) -> Result<RescueReport, RescueError> {
    let started = Instant::now();
    let mut cloud_side = options.cloud.clone();
    let cloud_facts = |side: &Option<CloudContext>| side.as_ref().map(|c| c.facts.clone());
    let mut diagnosis = diagnose(session, &options.user)
        .await?
        .with_cloud(cloud_facts(&cloud_side));
    // The plan always belongs to the latest diagnosis: made once per diagnosis, it serves the
    // report's plan, the round, and the manual list at the end.
    let mut repair = Repair::plan(&diagnosis);
    let mut report = RescueReport::new(&options.user, &diagnosis, &repair);
    let mut addressed: BTreeSet<&'static str> = BTreeSet::new();
    for round in 0..MAX_ROUNDS {
        let fresh = repair.fixes.iter().any(|(f, _)| !addressed.contains(f.id));
        if repair.is_empty() || !fresh {
            break;
        }
        if round == 0 {
            if options.dry_run {
                report.dry_run(&repair);
                break;
            }
            if !confirm(&diagnosis, &repair) {
                report.declined = true;
                break;
            }
        }
        addressed.extend(repair.fixes.iter().map(|(f, _)| f.id));
        info!(
            round = round + 1,
            fixes = repair.fixes.len(),
            "rescue round"
        );
        match next_round(session, &repair, &options.user, &mut report).await {
            Ok(next) => {
                diagnosis = next.with_cloud(cloud_facts(&cloud_side));
                repair = Repair::plan(&diagnosis);
            }
            // Once a round has changed the guest, its report (and backup ids) must reach the
            // caller: a later failure ends the rescue unverified, with the error in it.
            Err(e) if !report.rounds.is_empty() => {
                report.error = Some(e.to_string());
                break;
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(side) = &mut cloud_side
        && !report.declined
        && report.error.is_none()
    {
        diagnosis = cloud_round(side, diagnosis, &repair, options, confirm, &mut report).await;
        repair = Repair::plan(&diagnosis);
    }
    report.conclude(&diagnosis, repair.manual);
    // On Azure, SSH is proven where clients reach it, after any redeploy moved it.
    let verify_host = options.verify_host.clone().or_else(|| {
        cloud_side
            .as_ref()
            .and_then(|side| side.facts.ssh_address())
    });
    if let (Some(host), false) = (&verify_host, options.dry_run || report.declined) {
        report.handshake = Some(HandshakeCheck::from(
            ssh_handshake::handshake(host, &options.user, HANDSHAKE_TIMEOUT).await,
            host,
        ));
    }
    report.verified = report.error.is_none()
        && verified(&diagnosis)
        && report.handshake.as_ref().is_none_or(|h| h.ok);
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The ARM fixes, after the guest's: shown by a dry run, confirmed with the guest's plan (or
/// on their own when the guest needed nothing), then judged with fresh cloud facts.
async fn cloud_round(
    side: &mut CloudContext,
    diagnosis: Diagnosis,
    repair: &Repair,
    options: &RescueOptions,
    confirm: &mut (dyn FnMut(&Diagnosis, &Repair) -> bool + Send),
    report: &mut RescueReport,
) -> Diagnosis {
    let (mut fixes, _) = cloud::plan(&diagnosis, options.allow_redeploy);
    if fixes.is_empty() {
        return diagnosis;
    }
    let confirmed = !report.rounds.is_empty();
    if options.dry_run || !(confirmed || confirm(&diagnosis, repair)) {
        report.declined = !options.dry_run;
        report.cloud_fixes = fixes;
        return diagnosis;
    }
    info!(fixes = fixes.len(), "cloud round");
    let refreshed = cloud::apply(side, &mut fixes).await;
    report.cloud_fixes = fixes;
    if let Err(e) = refreshed {
        report.error = Some(format!("reading Azure's facts again: {e}"));
        return diagnosis;
    }
    Diagnosis::from_facts(diagnosis.facts, diagnosis.cost).with_cloud(Some(side.facts.clone()))
}

/// Applies one round's plan, records it, and diagnoses afresh.
async fn next_round(
    session: &mut Session,
    repair: &Repair,
    user: &str,
    report: &mut RescueReport,
) -> Result<Diagnosis, RescueError> {
    let outcome = repair.plan.apply(session).await?;
    report.rounds.push(Round::new(repair, outcome));
    Ok(diagnose(session, user).await?)
}

/// sshd answers on every configured port, seen from inside the guest, and no error is left.
fn verified(diagnosis: &Diagnosis) -> bool {
    let banners = &diagnosis.facts.banners;
    !banners.is_empty()
        && banners
            .iter()
            .all(|b| matches!(b.outcome, BannerOutcome::Answered(_)))
        && diagnosis
            .findings
            .iter()
            .all(|f| f.severity != Severity::Error)
}
