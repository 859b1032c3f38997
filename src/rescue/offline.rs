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
use crate::remedy::ops::Repair;
use crate::remedy::{Outcome, StepStatus};
use crate::shell::Runner;
use serde::Serialize;

/// What could not be asked about with no service manager running, and the rules that read it:
/// their findings there say how the break-in's shell is, not the system; the rescue after the
/// boot judges them.
pub const NOT_ASKED: &[(&str, &[&str])] = &[
    (
        // SSH203: /run is empty until the unit's RuntimeDirectory is made at its start.
        "sshd's units and whether they are enabled, masked or running",
        &["SSH001", "SSH004", "SSH005", "SSH006", "SSH008", "SSH203"],
    ),
    (
        "sshd's processes, listeners and banner",
        &["SSH002", "SSH009", "SSH011", "SSH408"],
    ),
    (
        "the network's addresses (not brought up)",
        &["SSH103", "SSH407"],
    ),
    (
        "the firewall's loaded rules and SELinux's running policy",
        &[
            "SSH401", "SSH402", "SSH403", "SSH404", "SSH405", "SSH601", "SSH602",
        ],
    ),
    (
        "this boot's journal and whether it finished",
        &["SSH504", "SSH505"],
    ),
];

/// Takes out of `diagnosis` the findings of rules that read what could not be asked
/// ([`NOT_ASKED`]) and returns their ids.
fn set_aside_unasked(diagnosis: &mut Diagnosis) -> Vec<&'static str> {
    let unasked = |id: &str| NOT_ASKED.iter().any(|(_, ids)| ids.contains(&id));
    let ids = diagnosis
        .findings
        .iter()
        .map(|f| f.id)
        .filter(|id| unasked(id))
        .collect();
    diagnosis.findings.retain(|f| !unasked(f.id));
    ids
}

/// The offline part of a rescue.
#[derive(Debug, Clone, Serialize)]
pub struct OfflineRound {
    /// PID 1 of the offline shell, as the probe read it (`sh`).
    pub pid1: Option<String>,
    /// What no one could be asked about there ([`NOT_ASKED`]).
    pub not_asked: Vec<&'static str>,
    /// What the offline diagnosis found, apart from what reads the facts not asked.
    pub found: Vec<crate::rules::Finding>,
    /// The rules that fired there on facts not asked: judged after the boot.
    pub judged_after_boot: Vec<&'static str>,
    /// The fixes made by files alone, applied there.
    pub fixes: Vec<PlannedFix>,
    /// What the guest script did; absent when nothing was to be fixed offline, on a dry run or
    /// when the plan was not confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

impl OfflineRound {
    /// One line for an error that comes after it: what the offline diagnosis found and what
    /// its repair did, since the report that would say so is not written.
    pub fn summary(&self) -> String {
        let ids = |ids: Vec<&str>| {
            if ids.is_empty() {
                "nothing".to_string()
            } else {
                ids.join(", ")
            }
        };
        let found = ids(self.found.iter().map(|f| f.id).collect());
        if self.fixes.is_empty() {
            return format!("the offline repair found {found} and had nothing to fix");
        }
        let fixed = ids(self.fixes.iter().map(|f| f.id).collect());
        let outcome = match &self.outcome {
            None => "not applied",
            Some(outcome) if outcome.steps.iter().all(|s| s.status == StepStatus::Ok) => "applied",
            Some(_) => "a step failed",
        };
        format!("the offline repair found {found}; its fixes for {fixed}: {outcome}")
    }
}

/// Diagnoses in the offline shell behind `session` and applies the offline plan when
/// `confirm` agrees (it is not asked when there is nothing to fix, nor on a dry run).
pub async fn repair(
    session: &mut impl Runner,
    options: &super::RescueOptions,
    confirm: &mut (dyn FnMut(&Diagnosis, &Repair) -> bool + Send),
) -> Result<OfflineRound, RescueError> {
    session.begin_step("offline probe");
    let mut diagnosis = diagnose(session, &options.user)
        .await?
        .with_package_copies(&options.package_mirrors)
        .await;
    let dry_run = options.dry_run;
    // A service manager running after all (the shell was not the break-in's): the rescue
    // after the boot, which asks it, does everything.
    let offline = diagnosis.facts.init.no_service_manager();
    let judged_after_boot = if offline {
        set_aside_unasked(&mut diagnosis)
    } else {
        Vec::new()
    };
    let repair = Repair::plan_offline(&diagnosis)
        .with_given_password(&diagnosis, options.password.as_ref())
        .await;
    let mut round = OfflineRound {
        pid1: diagnosis.facts.init.pid1.clone(),
        not_asked: NOT_ASKED.iter().map(|(what, _)| *what).collect(),
        judged_after_boot,
        found: diagnosis.findings.clone(),
        fixes: planned(&repair),
        outcome: None,
    };
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
    fn the_summary_says_what_the_offline_round_found_and_fixed() {
        let diagnosis = offline_facts();
        let repair = Repair::plan_offline(&diagnosis);
        let round = super::OfflineRound {
            pid1: Some("sh".into()),
            not_asked: Vec::new(),
            found: diagnosis.findings.clone(),
            judged_after_boot: Vec::new(),
            fixes: super::planned(&repair),
            outcome: None,
        };
        let summary = round.summary();
        assert!(
            summary.starts_with("the offline repair found ")
                && summary.contains("SSH506")
                && summary.ends_with("; its fixes for SSH506: not applied"),
            "{summary}"
        );
        let nothing = super::OfflineRound {
            found: Vec::new(),
            fixes: Vec::new(),
            ..round
        };
        assert_eq!(
            nothing.summary(),
            "the offline repair found nothing and had nothing to fix"
        );
    }

    /// The break-in's shell as the probe sees it: no unit answers, no sshd runs or listens,
    /// /run is empty, the network is not up; and /etc/fstab names a missing disk.
    fn break_in_shell_facts() -> Diagnosis {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/facts/debian-12-healthy.txt");
        let mut text = std::fs::read_to_string(path).unwrap();
        let cut = |text: &mut String, from: &str, to: &str| {
            let start = text.find(from).unwrap() + from.len();
            let end = start + text[start..].find(to).unwrap();
            text.replace_range(start..end, "");
        };
        cut(&mut text, "@units\n", "@sshd\n");
        cut(&mut text, "@processes\n", "@listen\n");
        cut(&mut text, "tool=ss\n", "@sshd_t\n");
        cut(&mut text, "lo inet6 ::1/128\n", "@link\n");
        cut(&mut text, "@banner\n", "@end\n");
        for (old, new) in [
            ("pid1=systemd", "pid1=sh"),
            ("state=running", "state=offline"),
            ("41ed 0 0 root root 40 /run/sshd\n", "- /run/sshd\n"),
            ("41ed 0 0 root root 40 /var/run/sshd\n", "- /var/run/sshd\n"),
            (
                "@addr\n",
                "@fstab\n3\tmissing\t?\tUUID=0a3c1d2e-5f60-4b7c-8d9e-00000000dead /data ext4 defaults 0 2\n@addr\n",
            ),
        ] {
            assert!(text.contains(old), "{old:?}");
            text = text.replace(old, new);
        }
        Diagnosis::from_facts(crate::probe::parse(&text).unwrap(), Default::default())
    }

    #[test]
    fn what_reads_the_facts_not_asked_is_left_for_after_the_boot() {
        let mut diagnosis = break_in_shell_facts();
        let before: Vec<&str> = diagnosis.findings.iter().map(|f| f.id).collect();
        for fired in ["SSH001", "SSH203", "SSH506"] {
            assert!(before.contains(&fired), "{before:?}");
        }
        let aside = super::set_aside_unasked(&mut diagnosis);
        let found: Vec<&str> = diagnosis.findings.iter().map(|f| f.id).collect();
        assert!(
            aside.contains(&"SSH001") && aside.contains(&"SSH203"),
            "{aside:?}"
        );
        assert!(found.contains(&"SSH506"), "{found:?}");
        for id in &aside {
            assert!(!found.contains(id), "{id} both found and set aside");
        }
        assert_eq!(found.len() + aside.len(), before.len());
        // The boot's blocker is still fixed there.
        let fixed: Vec<&str> = Repair::plan_offline(&diagnosis)
            .fixes
            .iter()
            .map(|(f, _)| f.id)
            .collect();
        assert_eq!(fixed, ["SSH506"]);
    }

    #[test]
    fn every_rule_set_aside_is_in_the_catalogue() {
        for (what, ids) in super::NOT_ASKED {
            for id in *ids {
                assert!(crate::rules::find(id).is_some(), "{what}: {id}");
            }
        }
    }

    #[test]
    fn starting_sshd_and_config_edits_are_no_offline_fixes() {
        use crate::rules::fix::Fix;
        assert!(!Fix::start_service().is_offline());
        assert!(!Fix::restart().is_offline());
        assert!(!Fix::edit_config(Vec::new()).is_offline());
    }
}
