//! The boot diagnostics serial log, read for the signs of a boot that did not finish: the
//! lines systemd, the kernel and the initramfs print when they give up. This works when no
//! login is possible, because Azure keeps the log outside the guest.

use super::facts::BootLog;

/// Lines that mean the boot failed or stopped short of a login (case-insensitive substrings).
const FAILURE_SIGNS: &[&str] = &[
    "kernel panic",
    "you are in emergency mode",
    "welcome to emergency mode",
    "give root password for maintenance",
    "entering emergency mode",
    "dependency failed for",
    "failed to mount",
    "timed out waiting for device",
    "unable to mount root fs",
    "dropping to a shell",
    "gave up waiting for root",
    "fsck failed",
    "cannot open access to console, the root account is locked",
];

/// How many trailing lines the report keeps.
const TAIL_LINES: usize = 12;

/// Lines that open a boot: firmware after a reset (SeaBIOS, OVMF's boot manager), then the
/// kernel's first line. A log holds every boot since the VM's last start; the latest decides.
const FIRMWARE_SIGNS: &[&str] = &["SeaBIOS (version ", "BdsDxe: "];
const KERNEL_START: &str = "Linux version ";

/// Judges the latest boot in the log: the lines from its start (see [`latest_boot`]) on. An old
/// failed boot followed by a good one is a VM that boots.
pub fn classify(log: &str) -> BootLog {
    // A carriage return starts the line over on a terminal (systemd redraws its status line
    // so): each part is a line of its own.
    let lines: Vec<String> = log
        .split(['\n', '\r'])
        .map(clean)
        .filter(|l| !l.is_empty())
        .collect();
    let lines = &lines[latest_boot(&lines)..];
    let mut failures: Vec<String> = Vec::new();
    for line in lines {
        let lower = line.to_ascii_lowercase();
        if FAILURE_SIGNS.iter().any(|s| lower.contains(s)) && !failures.contains(line) {
            failures.push(line.clone());
        }
    }
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].to_vec();
    BootLog {
        bytes: log.len(),
        failures,
        tail,
    }
}

/// Where the latest boot starts: its firmware's line, or the kernel's first line when the
/// firmware printed nothing since the boot before (a kernel line belongs to the firmware line
/// just before it). 0 when the log shows no start.
fn latest_boot(lines: &[String]) -> usize {
    let mut start = 0;
    let mut after_firmware = false;
    for (i, line) in lines.iter().enumerate() {
        if FIRMWARE_SIGNS.iter().any(|s| line.starts_with(s)) {
            start = i;
            after_firmware = true;
        } else if is_kernel_start(line) {
            if !after_firmware {
                start = i;
            }
            after_firmware = false;
        }
    }
    start
}

/// The kernel's first line, `[    0.000000] Linux version …` (or without the time stamp at
/// the start of a line). The stamped line may follow what was on the line before the reset
/// (`rescue-guest login: [    0.000000] Linux version …`); an unstamped one mid-line is some
/// command's output, not a boot.
fn is_kernel_start(line: &str) -> bool {
    line.match_indices(KERNEL_START).any(|(i, _)| {
        let before = line[..i].trim_end();
        before.is_empty()
            || before
                .strip_suffix(']')
                .and_then(|b| b.rsplit_once('['))
                .is_some_and(|(_, time)| time.trim().parse::<f64>().is_ok())
    })
}

/// A log line fit for a terminal: escape sequences and control bytes removed, bounded length.
fn clean(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            skip_escape(&mut chars);
            continue;
        }
        if !c.is_control() {
            out.push(c);
        }
    }
    out.trim().chars().take(200).collect()
}

/// Skips the rest of an escape sequence whose ESC was just read: CSI (`ESC [` parameters,
/// final byte), OSC (`ESC ]` … BEL or ST), or a short one (`ESC M`, systemd's reverse line
/// feed over its last status line; `ESC ( B`: intermediates, then one final byte).
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        // Parameters and intermediates, then the final byte. Anything else ends a cut-short
        // sequence and is text: systemd ellipsizes a long status line even inside a colour
        // sequence (Debian 12: `ESC[0;1;… /dev/disk/…`), and the text after the cut stays.
        Some('[') => {
            while chars.next_if(|c| (' '..='?').contains(c)).is_some() {}
            chars.next_if(|c| ('@'..='~').contains(c));
        }
        Some(']') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                    break;
                }
            }
        }
        Some(' '..='/') => {
            while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
            chars.next();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_an_fstab_failure_of_the_latest_boot_only() {
        let log = "Linux version 6.1.0\n[FAILED] Failed to mount /old.\nlogin:\n\
                   Linux version 6.1.0\n\x1b[0;1;31m[FAILED]\x1b[0m Failed to mount /data.\r\n\
                   [DEPEND] Dependency failed for Local File Systems.\r\n\
                   You are in emergency mode. After logging in, type \"journalctl -xb\"\r\n";
        let b = classify(log);
        assert_eq!(
            b.failures,
            vec![
                "[FAILED] Failed to mount /data.",
                "[DEPEND] Dependency failed for Local File Systems.",
                "You are in emergency mode. After logging in, type \"journalctl -xb\"",
            ]
        );
        assert!(b.tail.iter().all(|l| !l.contains("/old")));
    }

    const FAILED_BOOT: &str = "SeaBIOS (version 1.16.2)\r\nBooting from Hard Disk...\r\n\
        [    0.000000] Linux version 6.1.0-37-amd64\r\n\
        [FAILED] Failed to mount mnt-gone.mount - /mnt/gone.\r\n\
        You are in emergency mode. After logging in, type \"journalctl -xb\" to view\r\n\
        Give root password for maintenance\r\n";
    const GOOD_BOOT: &str = "SeaBIOS (version 1.16.2)\r\nBooting from Hard Disk...\r\n\
        [    0.000000] Linux version 6.1.0-37-amd64\r\n\
        [  OK  ] Started ssh.service - OpenBSD Secure Shell server.\r\n\
        rescue-guest login: ";

    #[test]
    fn an_old_failed_boot_then_a_good_one_is_a_vm_that_boots() {
        let b = classify(&format!("{FAILED_BOOT}{GOOD_BOOT}"));
        assert_eq!(b.failures, Vec::<String>::new());
        assert_eq!(
            b.tail.first().map(String::as_str),
            Some("SeaBIOS (version 1.16.2)")
        );
    }

    #[test]
    fn a_good_boot_then_a_failed_one_is_a_failed_boot() {
        let b = classify(&format!("{GOOD_BOOT}{FAILED_BOOT}"));
        assert_eq!(
            b.failures,
            vec![
                "[FAILED] Failed to mount mnt-gone.mount - /mnt/gone.",
                "You are in emergency mode. After logging in, type \"journalctl -xb\" to view",
                "Give root password for maintenance",
            ]
        );
        assert!(b.tail.iter().all(|l| !l.contains("login")), "{:?}", b.tail);
    }

    #[test]
    fn a_reset_whose_kernel_has_not_started_is_the_latest_boot() {
        let log = format!("{FAILED_BOOT}SeaBIOS (version 1.16.2)\r\nerror: no such device.\r\n");
        let b = classify(&log);
        assert_eq!(b.failures, Vec::<String>::new());
        assert_eq!(
            b.tail,
            ["SeaBIOS (version 1.16.2)", "error: no such device."]
        );
    }

    #[test]
    fn the_kernel_line_opens_a_boot_only_at_the_start_of_a_line() {
        let log = format!("{FAILED_BOOT}# cat /proc/version\r\nLinux: Linux version 6.1\r\n");
        assert_eq!(classify(&log).failures.len(), 3);
        // Without firmware lines (a boot log of a VM whose firmware prints nothing).
        let log = "Linux version 6.1\nfsck failed\n[    1.5] Linux version 6.1\nlogin: ";
        assert!(classify(log).failures.is_empty());
        // A reset while the login prompt waited: the kernel's line follows it.
        let log = format!("{FAILED_BOOT}rescue-guest login: [    0.000000] Linux version 6.1\r\n");
        assert!(classify(&log).failures.is_empty());
    }

    #[test]
    fn systemd_redrawing_its_status_line_leaves_no_escape_remnant() {
        // The start job's ephemeral line, then the reverse line feed (ESC M), a carriage
        // return and an erase before the line that replaces it.
        let log = "Linux version 6.1\r\n\
            [\x1b[0;1;31m*\x1b[0m\x1b[0;31m*  \x1b[0m] A start job is running for /dev/disk/by-label/gone (3s / 5s)\
            \x1bM\r\x1b[K[\x1b[0;1;31m TIME \x1b[0m] Timed out waiting for device \x1b[0;1;39mdev-disk-by\\x2dlabel-gone.device\x1b[0m - /dev/disk/by-label/gone.\r\n\
            \x1b]0;title\x07\x1b(B[  OK  ] done\r\n";
        let b = classify(log);
        assert_eq!(
            b.failures,
            [
                "[ TIME ] Timed out waiting for device dev-disk-by\\x2dlabel-gone.device - /dev/disk/by-label/gone."
            ]
        );
        assert_eq!(b.tail.last().map(String::as_str), Some("[  OK  ] done"));
    }

    #[test]
    fn a_colour_sequence_cut_by_systemds_ellipsis_keeps_the_text_after_it() {
        let log = "Linux version 6.1\r\n\
            [\x1b[0;1;31m TIME \x1b[0m] Timed out waiting for device \x1b[0;1;… /dev/disk/by-label/gone.\r\n";
        assert_eq!(
            classify(log).failures,
            ["[ TIME ] Timed out waiting for device … /dev/disk/by-label/gone."]
        );
    }

    #[test]
    fn a_clean_boot_has_no_failures() {
        let b = classify("Linux version 6.1\n[  OK  ] Started ssh.service\nvm1 login: ");
        assert!(b.failures.is_empty());
        assert_eq!(b.tail.last().map(String::as_str), Some("vm1 login:"));
    }
}
