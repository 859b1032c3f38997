//! SSH506: an /etc/fstab entry stops the boot (its device is missing, or it fails to mount).

use super::*;
use crate::probe::fstab::{Device, FstabEntry};

pub static RULE: Rule = Rule {
    id: "SSH506",
    name: "fstab-blocks-boot",
    title: "an /etc/fstab entry stops the boot",
    category: Category::Resources,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Each active line of /etc/fstab without `nofail` or `noauto`: whether the device \
               it names is on the system (blkid, or udev's /dev/disk links), and, once an \
               init has mounted the file systems, whether it is mounted. Where neither could \
               be asked (a break-in shell before any mount) the entry is not judged.",
        why: "systemd requires every such entry for local-fs.target: a data disk that was \
              detached or renamed (a wrong UUID), a mistyped option or a wrong file system \
              type fails the mount, and the boot stops in emergency mode, before sshd starts. \
              On a VM created with a key, root is locked, so the console shows only \"Cannot \
              open access to console, the root account is locked\". A system that booted \
              before the disk went away stops at its next boot.",
        fix: "lifeline adds `nofail` to the entry (after a backup; the line must still read as \
              diagnosed; `findmnt --verify` must find no more errors than before) and has \
              systemd reload its mount units. The entry stays, so the disk is mounted again \
              when it comes back; undo puts the line back. On a VM whose boot has already \
              stopped, `rescue --allow-reboot` makes the same change in the break-in shell, \
              before the boot goes on. /, /usr and /var are left to you: the system cannot \
              run as it should without them.",
        safety: "Safe: `nofail` only lets the boot go on without the file system; nothing on \
                 it is touched. Programs that write below its mount point write to the root \
                 file system until it is mounted again.",
    },
    check,
    fix: Some(fix),
};

/// Mount points the system cannot run without: a boot that goes on without them is worse
/// than one that stops.
const ESSENTIAL: [&str; 3] = ["/", "/usr", "/var"];

/// Why `entry` stops the boot, if it does.
fn blocks(entry: &FstabEntry) -> Option<String> {
    if entry.has_option("nofail") || entry.has_option("noauto") || entry.fs_type == "swap" {
        return None;
    }
    match (entry.device, entry.mounted) {
        (Device::Missing, _) => Some(format!("its device {} is not on the system", entry.spec)),
        (Device::Found, Some(false)) => Some(format!(
            "{} is there but not mounted: an option, the file system type or the file system \
             itself is wrong",
            entry.spec
        )),
        _ => None,
    }
}

fn blocking(facts: &Facts) -> impl Iterator<Item = (&FstabEntry, String)> {
    facts
        .fstab
        .iter()
        .filter_map(|e| blocks(e).map(|why| (e, why)))
}

fn check(facts: &Facts) -> Option<Finding> {
    let found: Vec<_> = blocking(facts).collect();
    let (first, _) = found.first()?;
    let evidence = found
        .iter()
        .map(|(e, why)| format!("/etc/fstab line {}: {:?}: {why}", e.line, e.text))
        .collect();
    let stuck = matches!(
        facts.init.system_state.as_deref(),
        Some("maintenance" | "starting" | "initializing") | None
    );
    let title = if stuck {
        format!("the boot stops on /etc/fstab's entry for {}", first.mount_point)
    } else {
        format!(
            "the next boot will stop on /etc/fstab's entry for {}",
            first.mount_point
        )
    };
    let finding = RULE.finding(
        title,
        evidence,
        format!(
            "add nofail to the options of /etc/fstab line {} (or comment it out), then \
             systemctl daemon-reload",
            first.line
        ),
    );
    Some(if stuck {
        finding
    } else {
        finding.downgraded(Severity::Warning)
    })
}

fn fix(facts: &Facts) -> Option<Fix> {
    let each = blocking(facts)
        .filter(|(e, _)| !ESSENTIAL.contains(&e.mount_point.as_str()))
        .map(|(e, _)| {
            vec![
                "/etc/fstab".to_string(),
                e.line.to_string(),
                e.text.clone(),
                e.with_option("nofail"),
            ]
        });
    Fix::step_each(
        Phase::Resources,
        "add nofail to the /etc/fstab entries that stop the boot",
        "ll_fstab_entry",
        each,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    fn with_fstab(lines: &[&str]) -> Facts {
        let mut section = String::from("@fstab\n");
        for line in lines {
            section.push_str(line);
            section.push('\n');
        }
        section.push_str("@addr\n");
        debian_text(&[("@addr\n", &section)])
    }

    const DATA_MISSING: &str = "2\tmissing\tno\tUUID=0a3c-dead\t/data\text4\tdefaults\t0\t2";

    #[test]
    fn fires_on_a_missing_data_disk_and_adds_nofail() {
        let facts = with_fstab(&[
            "1\tfound\tyes\t/dev/vda / ext4 errors=remount-ro 0 1",
            DATA_MISSING,
        ]);
        let finding = assert_rule(&RULE, &facts);
        assert!(finding.evidence[0].contains("UUID=0a3c-dead"), "{finding:?}");
        let calls: Vec<String> = (fix(&facts).unwrap().actions().iter())
            .map(|a| format!("{a:?}"))
            .collect();
        assert!(
            calls[0].contains("defaults,nofail\\t0\\t2"),
            "{calls:?}"
        );
    }

    #[test]
    fn fires_on_an_entry_that_failed_to_mount() {
        let facts = with_fstab(&["4\tfound\tno\t/dev/vdb1 /srv ext4 bogus 0 2"]);
        let finding = assert_rule(&RULE, &facts);
        assert!(finding.evidence[0].contains("not mounted"), "{finding:?}");
    }

    #[test]
    fn a_running_system_hears_about_its_next_boot_as_a_warning() {
        let finding = check(&with_fstab(&[DATA_MISSING])).unwrap();
        assert_eq!(finding.severity, Severity::Warning);
        assert!(finding.title.contains("next boot"), "{}", finding.title);
        let mut stuck = with_fstab(&[DATA_MISSING]);
        stuck.init.system_state = Some("maintenance".into());
        assert_eq!(check(&stuck).unwrap().severity, Severity::Error);
    }

    #[test]
    fn what_could_not_be_asked_is_not_judged() {
        let facts = with_fstab(&[
            "2\t?\t?\tUUID=0a3c-dead\t/data\text4\tdefaults\t0\t2",
            "3\tfound\t?\t/dev/vdb1 /srv ext4 defaults 0 2",
        ]);
        assert_eq!(check(&facts), None);
    }

    #[test]
    fn nofail_noauto_and_swap_never_stop_the_boot() {
        let facts = with_fstab(&[
            "2\tmissing\tno\tUUID=0a3c-dead /data ext4 defaults,nofail 0 2",
            "3\tmissing\tno\t/dev/vdc1 /mnt ext4 noauto 0 0",
            "4\tmissing\tno\t/dev/vdd1 none swap sw 0 0",
        ]);
        assert_eq!(check(&facts), None);
    }

    #[test]
    fn essential_mount_points_are_left_to_a_person() {
        let facts = with_fstab(&["2\tmissing\tno\tUUID=0a3c-dead /var ext4 defaults 0 2"]);
        assert!(check(&facts).is_some());
        assert_eq!(fix(&facts), None);
    }
}
