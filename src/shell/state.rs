//! What a console is showing: the state a person would read off the screen before typing.
//!
//! Classification looks at the row under the cursor (from the vt100 screen, so full-screen
//! programs are seen as drawn) and at the text that arrived since the last nudge. Patterns cover
//! the consoles of Debian, Ubuntu, the RHEL family, SUSE and busybox-based rescue systems.

use regex::Regex;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleState {
    /// `host login: `
    LoginPrompt,
    /// login's `Password: ` (after a user name was typed).
    PasswordPrompt,
    /// `[sudo] password for user: `
    SudoPassword,
    /// A shell prompt (`$`, `#`, `>` or `%` at the end of the row).
    Shell,
    /// systemd emergency/rescue mode asking for the root password.
    MaintenancePassword,
    /// systemd emergency/rescue mode offering a root shell for Enter (root has no password).
    MaintenanceEnter,
    /// systemd emergency/rescue mode refusing a shell: the root account is locked.
    MaintenanceLocked,
    /// A password change that login demands: `Current password:`, `New password:`, `Retype…`.
    PasswordChange,
    /// A pager (`less`, `more`, `systemctl status` without `--no-pager`).
    Pager,
    /// The last login attempt was refused.
    LoginIncorrect,
    /// login gave up waiting (its own LOGIN_TIMEOUT, 60 s on Debian) and a fresh prompt
    /// came: a password typed was not judged. A slow guest's login can run out of it before
    /// it has checked the password.
    LoginTimedOut,
    /// GRUB's menu (a boot that waits for a choice).
    GrubMenu,
    /// GRUB's command line, `grub>` (no usable configuration, or `c` pressed at the menu).
    GrubPrompt,
    /// GRUB's rescue shell, `grub rescue>`: GRUB could not load its modules.
    GrubRescue,
    /// The initramfs or dracut emergency shell: the root file system was not mounted.
    InitramfsShell,
    /// Something else: a half-typed line, a running program, or silence.
    Unknown,
}

static LOGIN: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\blogin: ?$"));
static PASSWORD: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^password: ?$"));
static SUDO: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\[sudo\] password for [^:]*: ?$|^Password: ?$"));
static MAINTENANCE_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(give root password for maintenance|control-d to continue\):|enter root password|root password for system maintenance)",
    )
});
static MAINTENANCE_ENTER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)press enter for maintenance"));
static MAINTENANCE_LOCKED: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)root account is locked|cannot open access to console|press enter to continue\.?\s*$")
});
static PASSWORD_CHANGE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(\(current\) unix password|current password|(enter |retype |re-enter )?new( unix)? password): ?$",
    )
});
static PAGER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(\(END\)|:|--More--.*|.*lines \d+-\d+(/\d+)?( \(END\))?|Manual page .*|HELP -- .*)\s*$")
});
static SHELL: LazyLock<Regex> = LazyLock::new(|| re(r"[$#>%] ?$"));
static INCORRECT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)login incorrect|authentication failure"));
/// util-linux's "login: timed out after 60 seconds", shadow's and busybox's "Login timed out
/// after 60 seconds".
static TIMED_OUT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\blogin:? timed out after \d+ seconds"));

static GRUB_MENU: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?s)GNU GRUB.*(Use the .* keys to select|Press enter to boot)"));
static GRUB_PROMPT: LazyLock<Regex> = LazyLock::new(|| re(r"^grub> ?$"));
static GRUB_RESCUE: LazyLock<Regex> = LazyLock::new(|| re(r"^grub rescue> ?$"));
static INITRAMFS: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\(initramfs\) ?$|^dracut:/# ?$|^:/# ?$"));

fn re(p: &str) -> Regex {
    Regex::new(p).expect("console state pattern")
}

/// Classifies the console from the cursor row and the text received since the last nudge
/// (both without kernel lines; a kernel panic is detected on the raw stream, see
/// [`crate::term::Console::kernel_panicked`]).
pub fn classify(cursor_line: &str, recent: &str) -> ConsoleState {
    let line = cursor_line.trim_start();
    if GRUB_RESCUE.is_match(line) {
        return ConsoleState::GrubRescue;
    }
    if GRUB_PROMPT.is_match(line) {
        return ConsoleState::GrubPrompt;
    }
    if INITRAMFS.is_match(line) {
        return ConsoleState::InitramfsShell;
    }
    if MAINTENANCE_LOCKED.is_match(line) || MAINTENANCE_LOCKED.is_match(last_lines(recent)) {
        return ConsoleState::MaintenanceLocked;
    }
    // sulogin's Enter prompt ends with the same "(or press Control-D to continue):" row.
    if MAINTENANCE_ENTER.is_match(line) || MAINTENANCE_ENTER.is_match(last_lines(recent)) {
        return ConsoleState::MaintenanceEnter;
    }
    if MAINTENANCE_PASSWORD.is_match(line) || MAINTENANCE_PASSWORD.is_match(last_lines(recent)) {
        return ConsoleState::MaintenancePassword;
    }
    if LOGIN.is_match(line) {
        return if INCORRECT.is_match(recent) {
            ConsoleState::LoginIncorrect
        } else if TIMED_OUT.is_match(recent) {
            ConsoleState::LoginTimedOut
        } else {
            ConsoleState::LoginPrompt
        };
    }
    if line.starts_with("[sudo]") && SUDO.is_match(line) {
        return ConsoleState::SudoPassword;
    }
    if PASSWORD_CHANGE.is_match(line) {
        return ConsoleState::PasswordChange;
    }
    if PASSWORD.is_match(line) {
        return ConsoleState::PasswordPrompt;
    }
    if PAGER.is_match(line) {
        return ConsoleState::Pager;
    }
    if SHELL.is_match(line) && !line.ends_with("login: ") {
        return ConsoleState::Shell;
    }
    ConsoleState::Unknown
}

/// What the screen shows when no prompt is under the cursor: GRUB's menu is drawn with
/// cursor movements, so the whole screen tells, not the cursor's row.
pub fn classify_screen(screen: &str) -> ConsoleState {
    if GRUB_MENU.is_match(screen) {
        ConsoleState::GrubMenu
    } else {
        ConsoleState::Unknown
    }
}

impl ConsoleState {
    /// One of systemd's maintenance (emergency or rescue mode) prompts.
    pub fn is_maintenance(self) -> bool {
        matches!(
            self,
            ConsoleState::MaintenancePassword
                | ConsoleState::MaintenanceEnter
                | ConsoleState::MaintenanceLocked
        )
    }

    /// For a console stuck before a login prompt: where it stopped.
    pub fn boot_stop(self) -> Option<BootStop> {
        Some(match self {
            ConsoleState::GrubMenu => BootStop::GrubMenu,
            ConsoleState::GrubPrompt => BootStop::GrubPrompt,
            ConsoleState::GrubRescue => BootStop::GrubRescue,
            ConsoleState::InitramfsShell => BootStop::InitramfsShell,
            ConsoleState::MaintenanceLocked => BootStop::EmergencyRootLocked,
            ConsoleState::MaintenancePassword => BootStop::EmergencyNeedsRootPassword,
            _ => return None,
        })
    }

    /// For a console stuck before a login prompt: the next step.
    pub fn next_step(self) -> Option<&'static str> {
        self.boot_stop().map(BootStop::next_step)
    }
}

/// Where a boot stopped before a login prompt. The reports show it as
/// `{"state": "grub_prompt", "next_step": "…"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootStop {
    GrubMenu,
    GrubPrompt,
    GrubRescue,
    InitramfsShell,
    EmergencyRootLocked,
    EmergencyNeedsRootPassword,
    KernelPanic,
    /// The boot went quiet with no prompt of any kind.
    NoPrompt,
}

impl BootStop {
    pub fn as_str(self) -> &'static str {
        match self {
            BootStop::GrubMenu => "grub_menu",
            BootStop::GrubPrompt => "grub_prompt",
            BootStop::GrubRescue => "grub_rescue",
            BootStop::InitramfsShell => "initramfs_shell",
            BootStop::EmergencyRootLocked => "emergency_root_locked",
            BootStop::EmergencyNeedsRootPassword => "emergency_needs_root_password",
            BootStop::KernelPanic => "kernel_panic",
            BootStop::NoPrompt => "no_prompt",
        }
    }

    pub fn next_step(self) -> &'static str {
        match self {
            BootStop::GrubMenu => "boot the default entry (Enter) and wait for a login prompt",
            BootStop::GrubPrompt => {
                "GRUB found no usable configuration: load it with `configfile` or boot by hand; the break-in cannot edit an entry here"
            }
            BootStop::GrubRescue => {
                "GRUB cannot load its modules (a moved or damaged /boot): repair the disk offline (attach it to a repair VM)"
            }
            BootStop::InitramfsShell => {
                "the root file system was not mounted: check root= on the kernel line and the disk (fsck) from this shell"
            }
            BootStop::EmergencyRootLocked => {
                "emergency mode with root locked: restart into a root shell (--allow-reboot) and fix the cause (often /etc/fstab)"
            }
            BootStop::EmergencyNeedsRootPassword => {
                "emergency mode asks for root's password: pass --root-password-env VAR, or restart into a root shell (--allow-reboot)"
            }
            BootStop::KernelPanic => {
                "the kernel panicked: read the panic in the boot log, then restart the VM (`lifeline send reset`, or --allow-reboot)"
            }
            BootStop::NoPrompt => {
                "the boot stopped without a prompt: the console's last lines name what it waits for (a disk, a unit); a restart with --allow-reboot breaks in"
            }
        }
    }
}

impl serde::Serialize for BootStop {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("BootStop", 2)?;
        s.serialize_field("state", self.as_str())?;
        s.serialize_field("next_step", self.next_step())?;
        s.end()
    }
}

/// The last two lines of `text`: maintenance prompts span two rows.
fn last_lines(text: &str) -> &str {
    let trimmed = text.trim_end_matches([' ', '\r', '\n']);
    let mut cut = trimmed.len();
    for _ in 0..2 {
        match trimmed[..cut].rfind('\n') {
            Some(i) => cut = i,
            None => return trimmed,
        }
    }
    &trimmed[cut..]
}

#[cfg(test)]
mod tests {
    use super::ConsoleState::*;
    use super::*;

    #[test]
    fn login_prompts_of_each_distribution() {
        for line in [
            "rescue-guest login: ",
            "ubuntu-2404 login: ",
            "localhost login: ",
            "sles15-sp5 login: ",
            "azurelinux login:",
        ] {
            assert_eq!(classify(line, ""), LoginPrompt, "{line}");
        }
    }

    #[test]
    fn shell_prompts_of_each_distribution() {
        for line in [
            "azureuser@rescue-guest:~$ ",
            "root@rescue-guest:~# ",
            "[azureuser@rhel9 ~]$ ",
            "[root@rhel9 ~]# ",
            "azureuser@sles15:~> ",
            "sles15:~ # ",
            "sh-5.2# ",
            "/ # ",
            "bash-5.1$ ",
            "ll-4f2a# ",
        ] {
            assert_eq!(classify(line, ""), Shell, "{line}");
        }
    }

    #[test]
    fn password_prompts() {
        assert_eq!(classify("Password: ", ""), PasswordPrompt);
        assert_eq!(
            classify("[sudo] password for azureuser: ", ""),
            SudoPassword
        );
    }

    #[test]
    fn a_refused_login_is_seen_before_the_next_prompt() {
        let recent = "\r\n\r\nLogin incorrect\r\nrescue-guest login: ";
        assert_eq!(classify("rescue-guest login: ", recent), LoginIncorrect);
    }

    #[test]
    fn a_login_that_ran_out_of_time_is_not_a_refusal() {
        for said in [
            "login: timed out after 60 seconds",
            "\r\nLogin timed out after 60 seconds.\r\n",
        ] {
            let recent = format!(
                "{said}\r\n\r\nDebian GNU/Linux 13 rescue-guest ttyS0\r\n\r\nrescue-guest login: "
            );
            assert_eq!(
                classify("rescue-guest login: ", &recent),
                LoginTimedOut,
                "{said}"
            );
        }
    }

    #[test]
    fn systemd_maintenance_prompts() {
        let recent = "You are in emergency mode. After logging in, type \"journalctl -xb\" to view\r\nsystem logs, \"systemctl reboot\" to reboot, \"systemctl default\" or \"exit\"\r\nto boot into default mode.\r\nGive root password for maintenance\r\n(or press Control-D to continue): ";
        assert_eq!(
            classify("(or press Control-D to continue): ", recent),
            MaintenancePassword
        );
        assert_eq!(
            classify(
                "(or press Control-D to continue): ",
                "Press Enter for maintenance\r\n(or press Control-D to continue): "
            ),
            MaintenanceEnter
        );
        assert_eq!(
            classify(
                "Press Enter to continue.",
                "Cannot open access to console, the root account is locked.\r\nSee sulogin(8) man page for more details.\r\n\r\nPress Enter to continue.\r\n"
            ),
            MaintenanceLocked
        );
    }

    #[test]
    fn consoles_stuck_before_a_login_prompt() {
        assert_eq!(classify("grub> ", ""), GrubPrompt);
        assert_eq!(classify("grub rescue> ", ""), GrubRescue);
        assert_eq!(classify("(initramfs) ", ""), InitramfsShell);
        assert_eq!(classify("dracut:/# ", ""), InitramfsShell);
        let menu = "                 GNU GRUB  version 2.06-13+deb12u2\n\n +-----+\n |*Debian GNU/Linux |\n +-----+\n      Use the ^ and v keys to select which entry is highlighted.";
        assert_eq!(classify_screen(menu), GrubMenu);
        assert_eq!(classify_screen("rescue-guest login:"), Unknown);
        for state in [
            GrubMenu,
            GrubPrompt,
            GrubRescue,
            InitramfsShell,
            MaintenanceLocked,
            MaintenancePassword,
        ] {
            assert!(state.next_step().is_some(), "{state:?}");
        }
        assert_eq!(Shell.next_step(), None);
        assert_eq!(
            serde_json::to_value(GrubPrompt.boot_stop().unwrap()).unwrap(),
            serde_json::json!({
                "state": "grub_prompt",
                "next_step": GrubPrompt.next_step().unwrap()
            })
        );
    }

    #[test]
    fn the_password_change_login_demands() {
        for line in [
            "Current password: ",
            "New password: ",
            "Retype new password: ",
            "(current) UNIX password: ",
            "Enter new UNIX password: ",
        ] {
            assert_eq!(classify(line, ""), PasswordChange, "{line}");
        }
    }

    #[test]
    fn pagers() {
        for line in [
            "(END)",
            ":",
            "--More--(42%)",
            "lines 1-23/57 (END)",
            "lines 1-23",
        ] {
            assert_eq!(classify(line, ""), Pager, "{line}");
        }
    }

    #[test]
    fn half_typed_lines_and_silence_are_unknown() {
        assert_eq!(
            classify("azureuser@rescue-guest:~$ rm -rf /tmp/x", ""),
            Unknown
        );
        assert_eq!(classify("", ""), Unknown);
    }
}
