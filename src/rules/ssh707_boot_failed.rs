//! SSH707: the boot diagnostics serial log shows the boot failing.

use super::cloud::{AZURE_RULE, CloudCheck, Evidence};
use super::*;

pub static RULE: Rule = Rule {
    id: "SSH707",
    name: "boot-failed",
    title: "the boot log shows the boot failing",
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Reads the serial log Azure keeps for the VM (`retrieveBootDiagnosticsData`, \
               then the log's SAS URI), which holds every boot since the VM's last start, for \
               what the kernel, the initramfs and systemd print when a boot fails: a kernel \
               panic, emergency mode, a file system that failed to mount, a device that never \
               appeared. Only the latest boot counts (from the firmware's line after the last \
               reset, or the last kernel start): an old failed boot followed by a good one is \
               a VM that boots. It works when no login on the console is possible.",
        why: "A boot that stops in emergency mode or panics never starts sshd; a failed \
              mount in /etc/fstab is the most common cause on Azure (a data disk detached, a \
              device name that changed).",
        fix: "Not from this finding alone. `lifeline rescue --allow-reboot` breaks in \
              through GRUB and, before the boot goes on, fixes what its probe finds there (an \
              /etc/fstab entry for a missing disk gets `nofail`: SSH506). Otherwise log in on \
              the console as root (emergency mode asks for root's password), fix the line the \
              log names, and reboot; or repair the disk offline (`az vm repair`).",
        safety: "Nothing is changed: lifeline only reports what Azure says.",
    },
    ..AZURE_RULE
};

pub static CLOUD: CloudCheck = CloudCheck::of(&RULE, check);

fn check(e: &Evidence) -> Option<Finding> {
    let log = e.cloud.boot_log.as_ref()?;
    let first = log.failures.first()?;
    let mount = log
        .failures
        .iter()
        .any(|l| is_mount_failure(&l.to_ascii_lowercase()));
    let title = if mount {
        "the boot stopped: a file system in /etc/fstab failed to mount".to_string()
    } else {
        format!("the boot failed: {first}")
    };
    Some(
        RULE.finding(
            title,
            log.failures.clone(),
            if mount {
                "as root on the console, add `nofail` to the line in /etc/fstab (or comment it out) and reboot"
            } else {
                "read the boot log (lifeline diagnose -o json has its tail) and repair on the console or offline (az vm repair)"
            },
        )
        .with_source(Source::Cloud),
    )
}

/// A mount that failed, or whose device never came. systemd shortens unit names to the
/// console's width (`loca…s.target - Local File Systems`), so the description after the name
/// counts as much as the name.
fn is_mount_failure(line: &str) -> bool {
    line.contains("failed to mount")
        || (line.contains("dependency failed for")
            && (line.contains(".mount") || line.contains("local file systems")))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{cloud_finding, healthy_cloud};
    use super::*;
    use crate::azure::facts::BootLog;

    #[test]
    fn a_failed_boot_is_named_and_a_mount_failure_points_at_fstab() {
        let mut cloud = healthy_cloud();
        assert!(cloud_finding(&CLOUD, &cloud).is_none(), "no boot log");
        let log = |failures: &[&str]| BootLog {
            bytes: 10,
            failures: failures.iter().map(|f| f.to_string()).collect(),
            tail: vec![],
        };
        cloud.boot_log = Some(log(&[]));
        assert!(cloud_finding(&CLOUD, &cloud).is_none(), "a clean boot");
        cloud.boot_log = Some(log(&["[FAILED] Failed to mount /data."]));
        let found = cloud_finding(&CLOUD, &cloud).expect("a mount failed");
        assert!(found.title.contains("fstab"), "{}", found.title);
        assert!(found.fix.contains("nofail"), "{}", found.fix);
        // A device that never came, as Debian 12's systemd prints it on an 80-column console.
        cloud.boot_log = Some(log(&[
            "[ TIME ] Timed out waiting for device ev/disk/by-label/data.",
            "[DEPEND] Dependency failed for mnt-data.mount - /mnt/data.",
            "[DEPEND] Dependency failed for loca…s.target - Local File Systems.",
        ]));
        let found = cloud_finding(&CLOUD, &cloud).expect("a device never came");
        assert!(found.title.contains("fstab"), "{}", found.title);
        cloud.boot_log = Some(log(&["[FAILED] Failed to start foo.service."]));
        let found = cloud_finding(&CLOUD, &cloud).expect("a unit failed");
        assert_eq!(found.title, "the boot failed: [FAILED] Failed to start foo.service.");
    }
}
