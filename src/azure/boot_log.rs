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

/// Reads the log of the latest boot: lines after the last kernel start banner.
pub fn classify(log: &str) -> BootLog {
    let start = log
        .rfind("Linux version ")
        .map_or(0, |i| log[..i].rfind('\n').map_or(0, |nl| nl + 1));
    let boot = &log[start..];
    let lines: Vec<String> = boot
        .lines()
        .map(clean)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut failures: Vec<String> = Vec::new();
    for line in &lines {
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

/// A log line fit for a terminal: escape sequences and control bytes removed, bounded length.
fn clean(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte.
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        if !c.is_control() {
            out.push(c);
        }
    }
    out.trim().chars().take(200).collect()
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

    #[test]
    fn a_clean_boot_has_no_failures() {
        let b = classify("Linux version 6.1\n[  OK  ] Started ssh.service\nvm1 login: ");
        assert!(b.failures.is_empty());
        assert_eq!(b.tail.last().map(String::as_str), Some("vm1 login:"));
    }
}
