//! `lifeline rescue`: diagnose, plan the fixes, confirm, apply, and prove that SSH works.
//!
//! A fix can reveal the next problem (a configuration that parses again names a host key that
//! is missing), so the cycle repeats, diagnosing afresh each time, while a round brings up a
//! fix no earlier round applied, at most [`MAX_ROUNDS`] times. Only the first
//! plan is confirmed: later rounds fix findings of the same catalogue, each backed up.
//!
//! SSH counts as working when the user logs in over SSH and a command runs ([`crate::login`]):
//! from this machine to `--verify-host` with the user's key or password, or from inside the
//! guest through the user's own authorized_keys file. sshd's banner on every configured port
//! and no finding of error severity left are required as well; they are evidence, not proof.

pub mod cloud;
mod model_keys;
pub mod offline;
mod report;

pub use cloud::CloudContext;
pub use offline::OfflineRound;
pub use report::{RescueReport, Round};

use crate::diagnose::{DiagnoseError, Diagnosis, diagnose};
use crate::exit::ExitClass;
use crate::login::client_facts::ClientFacts;
use crate::login::{self, LoginCheck, Proven};
use crate::probe::facts::BannerOutcome;
use crate::remedy::ops::Repair;
use crate::remedy::{PublicKeys, RemedyError, UserName};
use crate::rules::Severity;
use crate::secret::Secret;
use crate::shell::Credentials;
use crate::shell::Runner;
use russh::keys::PrivateKey;
use std::collections::BTreeSet;
use std::time::Instant;
use tracing::info;

/// Diagnose-and-fix cycles at most: each round fixes what the one before uncovered.
pub const MAX_ROUNDS: usize = 3;

#[derive(Debug, Clone, Default)]
pub struct RescueOptions {
    /// The user SSH must work for (whose account, keys and access are checked).
    pub user: String,
    /// `HOST[:PORT]` to log in at from this machine afterwards.
    pub verify_host: Option<String>,
    /// The user's private key, to log in with (`--verify-key`).
    pub verify_key: Option<PrivateKey>,
    /// The user's password (the console's, when the console user is the SSH user).
    pub password: Option<Secret>,
    /// Show the plan and its script; change nothing.
    pub dry_run: bool,
    /// Azure's side, for an Azure VM: its facts join the diagnosis and its fixes the plan.
    pub cloud: Option<CloudContext>,
    /// A degraded VM may be restarted (`--allow-reboot`) or redeployed to another host
    /// (`--allow-redeploy`, its warnings in the report) through Azure.
    pub allowed: cloud::Allowed,
    /// The operator's public keys for the user (`--ssh-key-file`), installed in the first round.
    pub restore_keys: Option<PublicKeys>,
    /// This machine's side (the `--verify-key` file, known_hosts for the address), judged with
    /// the last diagnosis.
    pub client: Option<ClientFacts>,
    /// Where damaged files' packages are fetched (`--package-mirror`); empty: the public
    /// archive of the guest's distribution.
    pub package_mirrors: Vec<azure_core::http::Url>,
}

impl RescueOptions {
    /// A rescue for `ssh_user` (default: the console's user). The console password proves a
    /// password login only for the same user.
    pub fn new(ssh_user: Option<&str>, console: &Credentials) -> RescueOptions {
        let user = ssh_user.unwrap_or(&console.user).to_string();
        let password = console.password.clone().filter(|_| user == console.user);
        RescueOptions {
            user,
            password,
            ..RescueOptions::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RescueError {
    #[error(transparent)]
    Diagnose(#[from] DiagnoseError),
    #[error(transparent)]
    Remedy(#[from] RemedyError),
}

impl RescueError {
    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        match self {
            RescueError::Diagnose(e) => e.exit_class(),
            RescueError::Remedy(e) => e.exit_class(),
        }
    }
}

/// Runs a rescue on the guest behind `session` (a root shell). `confirm` sees the first plan
/// and says whether to apply it; it is not asked when there is nothing to fix.
pub async fn rescue(
    session: &mut impl Runner,
    options: &RescueOptions,
    confirm: &mut (dyn FnMut(&Diagnosis, &Repair) -> bool + Send),
) -> Result<RescueReport, RescueError> {
    let started = Instant::now();
    let mut cloud_side = options.cloud.clone();
    let cloud_facts = |side: &Option<CloudContext>| side.as_ref().map(|c| c.facts.clone());
    session.begin_step("probe");
    let mut diagnosis = diagnose(session, &options.user)
        .await?
        .with_package_copies(&options.package_mirrors)
        .await
        .with_cloud(cloud_facts(&cloud_side));
    session.begin_step("plan");
    // The plan always belongs to the latest diagnosis: made once per diagnosis, it serves the
    // report's plan, the round, and the manual list at the end.
    let mut repair = Repair::plan(&diagnosis)
        .with_given_password(&diagnosis, options.password.as_ref())
        .await;
    let restore = keys_to_restore(options, &diagnosis, &cloud_side);
    if let Some((keys, _)) = &restore {
        repair = repair.with_key(&UserName::new(&options.user)?, keys);
    }
    let mut report = RescueReport::new(&options.user, &diagnosis, &repair);
    report.keys_restored_from = restore.map(|(_, source)| source.to_string());
    let mut applied: BTreeSet<String> = BTreeSet::new();
    for round in 0..MAX_ROUNDS {
        if repair.is_empty() || !does_something_new(&repair, &applied) {
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
        applied.extend(repair.signatures.iter().cloned());
        info!(
            round = round + 1,
            fixes = repair.fixes.len(),
            "rescue round"
        );
        match next_round(session, &repair, options, &mut report).await {
            Ok(next) => {
                diagnosis = next.with_cloud(cloud_facts(&cloud_side));
                repair = Repair::plan(&diagnosis)
                    .with_given_password(&diagnosis, options.password.as_ref())
                    .await;
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
    if let Some(client) = &options.client {
        diagnosis = diagnosis.with_client(client);
        repair = Repair::plan(&diagnosis);
    }
    report.conclude(&diagnosis, repair.manual);
    // On Azure, SSH is proven where clients reach it, after any redeploy moved it.
    let verify_host = options.verify_host.clone().or_else(|| {
        cloud_side
            .as_ref()
            .and_then(|side| side.facts.ssh_address())
    });
    if !(options.dry_run || report.declined) {
        let _step = crate::progress::step("verifying SSH with a login");
        session.begin_step("verify");
        report.login = prove_login(session, &diagnosis, options, verify_host.as_deref()).await;
    }
    report.verified = report.error.is_none()
        && verified(&diagnosis)
        && report.login.last().is_some_and(LoginCheck::logged_in);
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The plan asks for a step, or holds a fix no earlier round applied (the same rule may bring
/// a new one: a second damaged library once the first is back).
fn does_something_new(repair: &Repair, applied: &BTreeSet<String>) -> bool {
    !repair.requested.is_empty() || !repair.signatures.is_subset(applied)
}

/// The keys put back for the user in the first round, and where they came from: the
/// operator's `--ssh-key-file`, else on Azure the VM model's when the user has no key left.
fn keys_to_restore(
    options: &RescueOptions,
    diagnosis: &Diagnosis,
    cloud: &Option<CloudContext>,
) -> Option<(PublicKeys, &'static str)> {
    if let Some(keys) = &options.restore_keys {
        return Some((keys.clone(), "--ssh-key-file"));
    }
    let keys = model_keys::for_user(&diagnosis.facts, &cloud.as_ref()?.facts)?;
    info!("the user has no key left: the VM model's keys are put back");
    Some((keys, model_keys::SOURCE))
}

/// Logs in as the user: from here when `verify_host` (`--verify-host`, or on Azure the VM's
/// address) and a credential are given, else (or
/// when the address cannot be reached at all) from inside the guest. Every check made is
/// returned; the last one decides.
async fn prove_login(
    session: &mut impl Runner,
    diagnosis: &Diagnosis,
    options: &RescueOptions,
    verify_host: Option<&str>,
) -> Vec<LoginCheck> {
    let facts = &diagnosis.facts;
    // A password is tried where password logins are meant to work.
    let password = options
        .password
        .as_ref()
        .filter(|_| facts.config.flag("passwordauthentication") != Some(false));
    let credentials = login::remote::Credentials {
        key: options.verify_key.as_ref(),
        password,
    };
    let mut checks = Vec::new();
    if let Some(host) = verify_host {
        let here = login::remote::check(
            host,
            &options.user,
            &credentials,
            &facts.host_key_fingerprints,
            login::remote::Budget::RESCUE,
        )
        .await;
        let reached = here.proven.contains(&Proven::Handshake) || here.host_key.is_some();
        let tried = !here.attempts.is_empty();
        checks.push(here);
        if reached || tried {
            return checks;
        }
    }
    let public = options.verify_key.as_ref().map(PrivateKey::public_key);
    checks.push(login::guest::check(session, facts, public).await);
    checks
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
    let (mut fixes, _) = cloud::plan(&diagnosis, options.allowed);
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
    session: &mut impl Runner,
    repair: &Repair,
    options: &RescueOptions,
    report: &mut RescueReport,
) -> Result<Diagnosis, RescueError> {
    session.begin_step("apply");
    let outcome = repair.plan.apply(session).await?;
    report.rounds.push(Round::new(repair, outcome));
    session.begin_step("probe again");
    let diagnosis = diagnose(session, &options.user)
        .await?
        .with_package_copies(&options.package_mirrors)
        .await;
    session.begin_step("plan");
    Ok(diagnosis)
}

/// sshd answers on every configured port, seen from inside the guest, and no error is left.
/// A port the guest had no tool to try (neither bash nor nc) counts for nothing either way:
/// the login, proven beside this, is the proof.
fn verified(diagnosis: &Diagnosis) -> bool {
    let banners = &diagnosis.facts.banners;
    !banners.is_empty()
        && banners.iter().all(|b| {
            matches!(
                b.outcome,
                BannerOutcome::Answered(_) | BannerOutcome::Unavailable
            )
        })
        && diagnosis
            .findings
            .iter()
            .all(|f| f.severity != Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::ProbeCost;
    use crate::probe::facts::{PackageCopy, PackageFile};
    use crate::rules::testing::debian_with;

    /// The plan for a guest whose damaged libraries at `paths` have their package's copies.
    fn damaged_libraries(paths: &[&str]) -> Repair {
        let copy = PackageCopy::Fetched {
            from: "https://deb.debian.org/x.deb".into(),
            mode: 0o644,
            gzip_base64: "H4sI".into(),
        };
        let facts = debian_with(|f| {
            f.package_files = (paths.iter())
                .map(|path| PackageFile {
                    path: path.to_string(),
                    ..PackageFile::libwrap("6f58e6402397fa27666ecbd6d7ec06ff", copy.clone())
                })
                .collect()
        });
        Repair::plan(&Diagnosis::from_facts(facts, ProbeCost::default()))
    }

    /// Seed 4033: once libnsl is back, the diagnosis finds libgcrypt damaged too. The same
    /// rule's fix on another file is a new round; the same fix again is not, nor a part of
    /// one already applied.
    #[test]
    fn the_same_rule_on_another_file_is_a_new_round_and_the_same_fix_is_not() {
        const LIBNSL: &str = "/usr/lib/x86_64-linux-gnu/libnsl.so.2.0.1";
        const LIBGCRYPT: &str = "/usr/lib/x86_64-linux-gnu/libgcrypt.so.20.4.1";
        let mut applied = BTreeSet::new();
        let first = damaged_libraries(&[LIBNSL]);
        assert!(does_something_new(&first, &applied));
        applied.extend(first.signatures.iter().cloned());
        assert!(!does_something_new(&first, &applied));
        let second = damaged_libraries(&[LIBGCRYPT]);
        assert_eq!(second.fixes[0].0.id, first.fixes[0].0.id);
        assert!(does_something_new(&second, &applied));
        let mut applied = BTreeSet::new();
        applied.extend(damaged_libraries(&[LIBNSL, LIBGCRYPT]).signatures);
        assert!(!does_something_new(
            &damaged_libraries(&[LIBGCRYPT]),
            &applied
        ));
    }

    /// Seed 5052: with bash gone the guest could not try sshd's port; the login proven beside
    /// it decides. A port that refuses still fails the rescue.
    #[test]
    fn a_banner_the_guest_could_not_try_does_not_fail_a_rescue() {
        let with_banner = |outcome: BannerOutcome| {
            let facts = debian_with(|f| {
                for banner in &mut f.banners {
                    banner.outcome = outcome.clone();
                }
            });
            assert!(!facts.banners.is_empty());
            verified(&Diagnosis::from_facts(facts, ProbeCost::default()))
        };
        assert!(with_banner(BannerOutcome::Answered(
            "SSH-2.0-OpenSSH_9.2p1".into()
        )));
        assert!(with_banner(BannerOutcome::Unavailable));
        assert!(!with_banner(BannerOutcome::Refused));
    }
}
