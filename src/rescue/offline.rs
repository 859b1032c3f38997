//! The rescue's first part when the break-in got in: in its offline shell (`init=/bin/sh`,
//! `/` read-write, no service manager), before the boot goes on. What stops the boot (an
//! /etc/fstab entry for a missing disk) or a file the login needs can only be fixed there: the
//! boot after it would stop in the same place. The same probe runs; the plan keeps the fixes
//! made by files alone ([`crate::rules::fix::Fix::is_offline`]), backed up and written as
//! every plan's are. Whatever needs the running system, or `sshd -t` (which needs /run),
//! waits for the rescue after the boot.

use super::RescueError;
use super::report::{PlannedFix, planned};
use crate::diagnose::{Diagnosis, diagnose};
use crate::remedy::Outcome;
use crate::remedy::ops::Repair;
use crate::shell::Runner;
use serde::Serialize;

/// What could not be asked about with no service manager running: the rescue after the boot
/// judges these.
pub const NOT_ASKED: &[&str] = &[
    "sshd's units and whether they are enabled, masked or running",
    "sshd's processes, listeners and banner",
    "the firewall's loaded rules and SELinux's running policy",
    "this boot's journal",
];

/// The offline part of a rescue.
#[derive(Debug, Clone, Serialize)]
pub struct OfflineRound {
    /// PID 1 of the offline shell, as the probe read it (`sh`).
    pub pid1: Option<String>,
    /// What no one could be asked about there ([`NOT_ASKED`]).
    pub not_asked: Vec<&'static str>,
    /// What the offline diagnosis found.
    pub found: Vec<crate::rules::Finding>,
    /// The fixes made by files alone, applied there.
    pub fixes: Vec<PlannedFix>,
    /// What the guest script did; absent when nothing was to be fixed offline, on a dry run or
    /// when the plan was not confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// Diagnoses in the offline shell behind `session` and applies the offline plan when
/// `confirm` agrees (it is not asked when there is nothing to fix, nor on a dry run).
pub async fn repair(
    session: &mut impl Runner,
    user: &str,
    dry_run: bool,
    confirm: &mut (dyn FnMut(&Diagnosis, &Repair) -> bool + Send),
) -> Result<OfflineRound, RescueError> {
    session.begin_step("offline probe");
    let diagnosis = diagnose(session, user).await?;
    let repair = Repair::plan_offline(&diagnosis);
    let mut round = OfflineRound {
        pid1: diagnosis.facts.init.pid1.clone(),
        not_asked: NOT_ASKED.to_vec(),
        found: diagnosis.findings.clone(),
        fixes: planned(&repair),
        outcome: None,
    };
    // A service manager running after all (the shell was not the break-in's): the rescue
    // after the boot, which asks it, does everything.
    let offline = diagnosis.facts.init.no_service_manager();
    if !offline || repair.is_empty() || dry_run || !confirm(&diagnosis, &repair) {
        return Ok(round);
    }
    session.begin_step("offline apply");
    round.outcome = Some(repair.plan.apply(session).await?);
    Ok(round)
}

#[cfg(test)]
mod tests {
    use crate::diagnose::Diagnosis;
    use crate::remedy::ops::Repair;
    use crate::rules::testing::debian_text;

    /// The probe's output in a break-in shell: PID 1 is sh, systemctl cannot answer, sshd
    /// does not run, and /etc/fstab names a disk that is not there.
    fn offline_facts() -> Diagnosis {
        let facts = debian_text(&[
            ("pid1=systemd", "pid1=sh"),
            ("state=running", "state=offline"),
            (
                "@addr\n",
                "@fstab\n3\tmissing\t?\tUUID=0a3c1d2e-5f60-4b7c-8d9e-00000000dead /data ext4 defaults 0 2\n@addr\n",
            ),
        ]);
        Diagnosis::from_facts(facts, Default::default())
    }

    #[test]
    fn the_offline_plan_keeps_the_fstab_fix_and_leaves_starting_sshd_for_after_the_boot() {
        let diagnosis = offline_facts();
        assert!(diagnosis.facts.init.no_service_manager());
        let ids: Vec<&str> = diagnosis.findings.iter().map(|f| f.id).collect();
        assert!(ids.contains(&"SSH506"), "{ids:?}");
        let offline = Repair::plan_offline(&diagnosis);
        let fixed: Vec<&str> = offline.fixes.iter().map(|(f, _)| f.id).collect();
        assert_eq!(fixed, ["SSH506"], "{ids:?}");
        let steps: Vec<&str> = offline.plan.step_titles().collect();
        assert_eq!(
            steps,
            ["add nofail to the /etc/fstab entries that stop the boot"]
        );
    }

    #[test]
    fn starting_sshd_and_config_edits_are_no_offline_fixes() {
        use crate::rules::fix::Fix;
        assert!(!Fix::start_service().is_offline());
        assert!(!Fix::restart().is_offline());
        assert!(!Fix::edit_config(Vec::new()).is_offline());
    }
}
