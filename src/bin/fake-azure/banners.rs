//! What the guest's console would show after an admin command, so a client can see the effect.
//!
//! SysRq reaches a Linux serial console as a BREAK followed by the key, and a unix chardev
//! socket has no way to send a BREAK; NMI and reset need qemu's monitor, which the fake has only
//! when given one (`--monitor`, see [`crate::monitor`]). Otherwise the fake writes into the
//! websocket output the lines the kernel prints (`sysrq: …` with its `[ seconds]` stamp, the NMI
//! warning, a reboot banner), and the guest itself is untouched.

use std::sync::OnceLock;
use std::time::Instant;

/// A kernel log stamp, `[  123.456789] `, counting from the fake's start plus a boot's worth.
fn stamp() -> String {
    static START: OnceLock<Instant> = OnceLock::new();
    let secs = 97.0 + START.get_or_init(Instant::now).elapsed().as_secs_f64();
    format!("[{secs:12.6}] ")
}

const HELP: &str = "sysrq: HELP : loglevel(0-9) reboot(b) crash(c) terminate-all-tasks(e) memory-full-oom-kill(f) kill-all-tasks(i) thaw-filesystems(j) sak(k) show-backtrace-all-active-cpus(l) show-memory-usage(m) nice-all-RT-tasks(n) poweroff(o) show-registers(p) show-all-timers(q) unraw(r) sync(s) show-task-states(t) unmount(u) show-blocked-tasks(w) dump-ftrace-buffer(z)";

/// The kernel's lines for each SysRq key, in order (`REISUB` gives six).
pub fn sysrq(keys: &str, host: &str, echo: bool) -> String {
    let mut out = String::new();
    for key in keys.chars() {
        let line = match key.to_ascii_lowercase() {
            d @ '0'..='9' => format!(
                "sysrq: Changing Loglevel\r\n{}sysrq: Loglevel set to {d}",
                stamp()
            ),
            'b' => "sysrq: Resetting".to_owned(),
            'c' => "sysrq: Trigger a crash\r\nKernel panic - not syncing: sysrq triggered crash"
                .to_owned(),
            'e' => "sysrq: Terminate All Tasks".to_owned(),
            'f' => "sysrq: Manual OOM execution".to_owned(),
            'i' => "sysrq: Kill All Tasks".to_owned(),
            'j' => "sysrq: Emergency Thaw of all frozen filesystems".to_owned(),
            'k' => "sysrq: SAK".to_owned(),
            'l' => "sysrq: Show backtrace of all active CPUs".to_owned(),
            'm' => "sysrq: Show Memory".to_owned(),
            'n' => "sysrq: Nice All RT Tasks".to_owned(),
            'o' => "sysrq: Power Off".to_owned(),
            'p' => "sysrq: Show Regs".to_owned(),
            'q' => "sysrq: Show clockevent devices & pending hrtimers (no others)".to_owned(),
            'r' => "sysrq: Keyboard mode set to system default".to_owned(),
            's' => "sysrq: Emergency Sync".to_owned(),
            't' => "sysrq: Show State".to_owned(),
            'u' => "sysrq: Emergency Remount R/O".to_owned(),
            'w' => "sysrq: Show Blocked State".to_owned(),
            'z' => "sysrq: Dump ftrace buffer".to_owned(),
            // The kernel answers any key it does not know with the help line.
            _ => HELP.to_owned(),
        };
        out.push_str(&format!("\r\n{}{line}", stamp()));
        if key.eq_ignore_ascii_case(&'b') {
            out.push_str(&reboot(host, echo));
            return out;
        }
    }
    out.push_str("\r\n");
    out
}

pub fn nmi() -> String {
    let s = stamp();
    format!(
        "\r\n{s}Uhhuh. NMI received for unknown reason 30 on CPU 0.\r\n{s}Dazed and confused, but trying to continue\r\n"
    )
}

/// A hard reset: firmware and boot lines, and (for the echo getty, which does come back) a
/// fresh login prompt.
pub fn reboot(host: &str, echo: bool) -> String {
    let mut out = String::from(
        "\r\n\r\nSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\nBooting from Hard Disk...\r\n[    0.000000] Linux version 6.1.0-fake-azure (reset by the fake Azure service)\r\n",
    );
    if echo {
        out.push_str(&format!(
            "\r\nDebian GNU/Linux 12 {host} ttyS0\r\n\r\n{host} login: "
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysrq_lines_look_like_the_kernel() {
        let h = sysrq("h", "vm1", true);
        assert!(h.contains("] sysrq: HELP : loglevel(0-9)"), "{h}");
        let reisub = sysrq("REISUB", "vm1", true);
        assert!(reisub.contains("sysrq: Emergency Sync"));
        assert!(reisub.ends_with("vm1 login: "), "{reisub}");
        assert!(nmi().contains("NMI received"));
    }
}
