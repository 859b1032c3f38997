//! The `break-in` rung: restart the machine, catch GRUB, boot its default entry with
//! `rw init=/bin/sh` (a root shell, no password, no systemd), leave a one-time login there,
//! continue the boot with the real init, and log in with that login. The login is random,
//! hashed here and never typed in clear but at the login prompt; the channel removes it when
//! it closes. A caller that repairs offline first (what stops the boot cannot be fixed after
//! it) is handed the shell before the boot goes on, and boots on with [`boot_on`].
//!
//! A one-time login that could not be removed (the boot after the break-in stopped again) is
//! named in the error with the line that removes it, and the next removal on that VM takes
//! every one-time login away, its own and any left behind: they carry one mark ([`MARK`]).

use super::mend;
use super::target::AzureHandle;
use crate::azure::admin::{self, AdminCommand};
use crate::azure::arm::ArmClient;
use crate::remedy::crypt::{CryptSalt, sha512_crypt};
use crate::secret::Secret;
use crate::shell::{BOOT_WAIT, ConsoleState, Session, ShellError};
use azure_core::http::Url;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the machine is restarted.
pub enum Restart {
    /// `--reset-cmd`: a local command (`virsh reset vm1`, `scripts/guest power-reset`), with
    /// the environment a `cmd:` console gets (no password variables).
    Command(String),
    /// The Azure Serial Console's `reset` admin command, to the console session in use.
    Azure {
        arm: ArmClient,
        session_url: Arc<Mutex<String>>,
    },
}

impl Restart {
    /// The restart of an Azure machine behind `handle`.
    pub(super) fn azure(handle: &AzureHandle) -> Restart {
        Restart::Azure {
            arm: handle.arm.clone(),
            session_url: handle.session_url.clone(),
        }
    }

    async fn run(&self) -> Result<(), String> {
        match self {
            Restart::Command(command) => {
                let status = tokio::process::Command::new("sh")
                    .args(["-c", command])
                    .env_clear()
                    .envs(crate::link::child_environment())
                    .stdin(std::process::Stdio::null())
                    .status()
                    .await
                    .map_err(|e| format!("could not run --reset-cmd: {e}"))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!("--reset-cmd failed ({status})"))
                }
            }
            Restart::Azure { arm, session_url } => {
                let url = session_url.lock().expect("session url lock").clone();
                admin::send(arm, &url, &AdminCommand::Reset)
                    .await
                    .map_err(|e| format!("the reset admin command failed: {e}"))
            }
        }
    }
}

/// The passwd comment every one-time login carries, and only they.
const MARK: &str = "lifeline one-time rescue login";

/// A login that exists only for this session: a uid-0 account with a random password.
#[derive(Debug, Clone)]
pub struct OneTimeLogin {
    pub user: String,
    password: Secret,
}

impl OneTimeLogin {
    pub(super) fn new() -> OneTimeLogin {
        let suffix: u32 = rand::random();
        let password: String = (0..2)
            .map(|_| format!("{:016x}", rand::random::<u64>()))
            .collect();
        OneTimeLogin {
            user: format!("lifeline-{:06x}", suffix & 0xff_ffff),
            password: Secret::new(password),
        }
    }

    pub(super) fn password(&self) -> &Secret {
        &self.password
    }

    /// The shell lines that add it: a passwd and a shadow entry, the hash made here.
    pub(super) fn add_script(&self) -> String {
        let hash = sha512_crypt(&self.password, &CryptSalt::random());
        format!(
            "umask 077; printf '%s\\n' '{u}:x:0:0:{MARK}:/root:/bin/sh' >> /etc/passwd && \
             printf '%s\\n' '{u}:{h}:1:0:99999:7:::' >> /etc/shadow",
            u = self.user,
            h = hash.expose()
        )
    }

    /// The shell lines that remove it with every other one-time login left behind (see
    /// [`remove_all_script`]).
    pub fn remove_script(&self) -> String {
        remove_all_script("/etc")
    }

    /// What remains when it could not be removed, and the line that removes it.
    pub fn left_behind(&self) -> String {
        format!(
            "the one-time login {u} (uid 0) remains in /etc/passwd and /etc/shadow: lifeline \
             removes it the next time it gets in on this VM with a one-time login (a break-in), \
             or as root run \
             sed -i '/^{u}:/d' /etc/passwd /etc/shadow",
            u = self.user
        )
    }
}

/// The shell lines that remove every one-time login from `etc`'s passwd and shadow, print the
/// names removed (`removed: NAME...`) and succeed only when none of them is left.
pub fn remove_all_script(etc: &str) -> String {
    format!(
        "n=$(sed -n 's/^\\(lifeline-[0-9a-f]*\\):x:0:0:{MARK}:.*/\\1/p' {etc}/passwd); \
         for u in $n; do sed -i \"/^$u:/d\" {etc}/passwd {etc}/shadow; done; \
         echo removed: $n; \
         left=$(for u in $n; do grep -h \"^$u:\" {etc}/passwd {etc}/shadow | cut -d: -f1; done); \
         [ -z \"$left\" ] && ! grep -q ':{MARK}:' {etc}/passwd"
    )
}

/// From the restart to GRUB's menu (firmware only); each boot after it gets
/// [`crate::shell::BOOT_WAIT`].
const GRUB_WAIT: Duration = Duration::from_secs(180);

/// What the break-in got: the one-time login, and what it had to mend before the offline
/// shell's own tools would run.
pub(super) struct BrokeIn {
    pub login: OneTimeLogin,
    pub mended: Option<String>,
}

/// Restarts the machine and comes back as root with a one-time login: in the offline shell
/// (`/` read-write, no init) when `offline`, else logged in after the normal boot.
pub(super) async fn break_in(
    session: &mut Session,
    restart: &Restart,
    mirrors: &[Url],
    offline: bool,
) -> Result<BrokeIn, BreakInError> {
    let mended = offline_shell(session, restart, mirrors).await?;
    let login = OneTimeLogin::new();
    session.register_secret(&login.password);
    let added = session.run(&login.add_script()).await?;
    if added.exit_status != 0 {
        return Err(BreakInError::Offline(added.text()));
    }
    if !offline && let Err(e) = boot_on(session, &login).await {
        return Err(e.left(&login));
    }
    Ok(BrokeIn { login, mended })
}

/// Mounts /proc (and `/` read-write, should `rw` not have been honoured) in the offline shell.
const PREPARE: &str =
    "mount -o remount,rw / && { mountpoint -q /proc || mount -t proc proc /proc; }";

/// Restarts the machine into GRUB's default entry with `rw init=/bin/sh`: a root shell, `/`
/// read-write, /proc mounted, no init. Says what it mended when the shell's tools could not
/// run: a library's link made again, or files put back from their packages (fetched from
/// `mirrors`, else the distribution's archive).
async fn offline_shell(
    session: &mut Session,
    restart: &Restart,
    mirrors: &[Url],
) -> Result<Option<String>, BreakInError> {
    restart.run().await.map_err(BreakInError::Restart)?;
    // Whatever shell the lower rungs left open went with the restart, and a panic with it.
    session.restarted();
    session.catch_grub_menu(GRUB_WAIT).await?;
    // `rw` from the start: with a library link gone, `mount` cannot run to make `/` writable,
    // and ldconfig (static) needs it writable to make the link again.
    session.boot_default_entry_with("rw init=/bin/sh").await?;
    match session.wait_for_prompt(BOOT_WAIT).await? {
        ConsoleState::Shell => {}
        other => return Err(BreakInError::NoShell(other)),
    }
    session.reach().await?;
    if !session.is_root() {
        return Err(BreakInError::NoShell(ConsoleState::Shell));
    }
    let prepared = session.run(PREPARE).await?;
    if prepared.exit_status == 0 {
        return Ok(None);
    }
    let said = prepared.text();
    // A library the loader refused, or a program that crashed or failed saying nothing (on a
    // damaged library as like as not): mended below. Anything else is the machine's to say.
    let refused = match library_refused(&said) {
        Some(refused) => refused.to_string(),
        None if crashed(&said, prepared.exit_status) => silent_failure(said, prepared.exit_status),
        None => return Err(BreakInError::Offline(said)),
    };
    // mount, sed and coreutils load libraries sshd loads too (libselinux): a soname link
    // deleted stops them all. ldconfig is linked statically and makes the links again from
    // the libraries on disk, as every library package's install does.
    let relink = format!("ldconfig && {PREPARE}");
    let relinked = session.run(&relink).await?;
    if relinked.exit_status == 0 {
        return Ok(Some(format!(
            "the offline shell's tools could not run ({refused}); ldconfig made the libraries' \
             links again"
        )));
    }
    let mut still = relinked;
    let mut mended = Vec::new();
    // Files that are not what their package installed, put back; again while that helps, as
    // the loader names a library only once the one before it loads.
    for _ in 0..MEND_ROUNDS {
        match mend::put_back_tools(session, mirrors).await {
            Ok(put_back) => mended.push(put_back),
            // The console itself failed: no rung can help.
            Err(BreakInError::Shell(e)) => return Err(BreakInError::Shell(e)),
            Err(e) => {
                let done = mended.iter().map(|m| format!("; {m}")).collect::<String>();
                return Err(BreakInError::Offline(format!(
                    "{refused}; ldconfig did not help ({}){done}; then: {e}",
                    silent_failure(still.text().trim().to_string(), still.exit_status)
                )));
            }
        }
        still = session.run(&relink).await?;
        if still.exit_status == 0 {
            return Ok(Some(format!(
                "the offline shell's tools could not run ({refused}); {}",
                mended.join("; ")
            )));
        }
    }
    Err(BreakInError::Offline(format!(
        "{refused}; {}; and still: {}",
        mended.join("; "),
        silent_failure(still.text(), still.exit_status)
    )))
}

/// How many times the offline shell's tools are checked and mended before the break-in gives up.
const MEND_ROUNDS: usize = 3;

/// A program that failed saying nothing, or was killed by a signal a damaged library brings
/// about (SIGILL, SIGABRT, SIGBUS, SIGFPE, SIGSEGV; the shell may name it: `Segmentation
/// fault`).
fn crashed(said: &str, status: i32) -> bool {
    said.trim().is_empty() || matches!(status - 128, 4 | 6 | 7 | 8 | 11)
}

/// What a failed command said, or, when it said nothing (a program killed by a signal, a
/// loader that crashed on a damaged library), its exit status.
fn silent_failure(said: String, status: i32) -> String {
    if said.trim().is_empty() {
        format!("exit status {status}, nothing said (a program that crashed on a damaged library?)")
    } else {
        said
    }
}

/// The loader's complaint in `output`, if a program could not load a library.
fn library_refused(output: &str) -> Option<&str> {
    output
        .lines()
        .find(|l| l.contains("error while loading shared libraries"))
        .map(str::trim)
}

/// After `cause`, a boot whose one-time login got no shell: breaks in once more to remove
/// `login` (and any left before it) offline, and lets the boot go on. No uid-0 login is left
/// behind unless that fails too, and the error then says so and how to remove it.
pub(super) async fn remove_offline(
    session: &mut Session,
    restart: &Restart,
    login: &OneTimeLogin,
    mirrors: &[Url],
    cause: BreakInError,
) -> BreakInError {
    let removed = async {
        offline_shell(session, restart, mirrors).await?;
        let removed = session.run(&login.remove_script()).await?;
        if removed.exit_status != 0 {
            return Err(BreakInError::Offline(removed.text()));
        }
        session.continue_boot().await?;
        Ok(removed.text().trim().to_string())
    }
    .await;
    match removed {
        Ok(removed) => BreakInError::LoginRemoved {
            cause: Box::new(cause),
            removed,
        },
        Err(e) => BreakInError::LoginLeft {
            cause: Box::new(cause),
            left: format!(
                "removing it offline failed too ({e}); {}",
                login.left_behind()
            ),
        },
    }
}

/// From the offline shell: lets the boot go on with the real init and logs in with `login`.
pub(super) async fn boot_on(
    session: &mut Session,
    login: &OneTimeLogin,
) -> Result<(), BreakInError> {
    session.continue_boot().await?;
    match session.wait_for_prompt(BOOT_WAIT).await? {
        ConsoleState::LoginPrompt | ConsoleState::LoginIncorrect | ConsoleState::LoginTimedOut => {}
        other => return Err(BreakInError::NoLogin(other)),
    }
    session.log_in(&login.user, Some(&login.password)).await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum BreakInError {
    #[error("{0}")]
    Restart(String),
    #[error("booting with rw init=/bin/sh gave no shell (the console showed {0:?})")]
    NoShell(ConsoleState),
    #[error("preparing the offline shell failed: {0}")]
    Offline(String),
    #[error(
        "the boot after the break-in reached no login prompt (the console showed {0:?}): \
         what stops it was not fixed offline; look at the console (lifeline connect)"
    )]
    NoLogin(ConsoleState),
    #[error(transparent)]
    Shell(#[from] ShellError),
    /// A failure after the one-time login was added, which a second restart removed offline.
    #[error(
        "{cause}; the one-time login was removed offline after a second restart ({removed}), \
         and the boot went on"
    )]
    LoginRemoved {
        cause: Box<BreakInError>,
        removed: String,
    },
    /// A failure after the one-time login was added, which stays behind.
    #[error("{cause}; {left}")]
    LoginLeft {
        cause: Box<BreakInError>,
        left: String,
    },
}

impl BreakInError {
    /// This failure, which leaves `login` behind: the error names it and how to remove it.
    pub(super) fn left(self, login: &OneTimeLogin) -> BreakInError {
        BreakInError::LoginLeft {
            cause: Box::new(self),
            left: login.left_behind(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        MARK, OneTimeLogin, Restart, crashed, library_refused, remove_all_script, silent_failure,
    };
    use std::path::{Path, PathBuf};

    /// A directory of this test's own holding `passwd` and `shadow`.
    fn scratch_etc(name: &str, passwd: &str, shadow: &str) -> PathBuf {
        let etc = std::env::temp_dir().join(format!("ll-etc-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("passwd"), passwd).unwrap();
        std::fs::write(etc.join("shadow"), shadow).unwrap();
        etc
    }

    /// Runs the removal on `etc` with a real sh.
    fn remove_in(etc: &Path) -> std::process::Output {
        std::process::Command::new("sh")
            .args(["-c", &remove_all_script(&etc.display().to_string())])
            .output()
            .unwrap()
    }

    /// The loader's complaint, a crash, or silence is mended; anything else is mount's to say.
    #[test]
    fn only_the_loaders_complaint_counts_as_a_library_refused() {
        let said = "mount: /: permission denied.\r\nmount: error while loading shared libraries: \
                    libselinux.so.1: cannot open shared object file: No such file or directory\r\n";
        assert_eq!(
            library_refused(said),
            Some(
                "mount: error while loading shared libraries: libselinux.so.1: cannot open \
                 shared object file: No such file or directory"
            )
        );
        assert_eq!(library_refused("mount: /: can't find in /etc/fstab."), None);
        assert_eq!(silent_failure("mount: no\n".into(), 1), "mount: no\n");
        assert!(silent_failure(" \n".into(), 139).starts_with("exit status 139, nothing said"));
        // A crash is mended whether or not the shell names the signal (dash does).
        assert!(crashed("", 1));
        assert!(crashed("Segmentation fault\n", 139));
        assert!(!crashed("mount: /: can't find in /etc/fstab.\n", 32));
    }

    /// The removal run by a real sh on copies of passwd and shadow: every one-time login goes,
    /// the one just made and one an earlier run left, and nothing else.
    #[test]
    fn the_removal_takes_every_one_time_login_and_nothing_else() {
        let now = OneTimeLogin::new();
        let passwd = format!(
            "root:x:0:0:root:/root:/bin/bash\nlifeline-0a1b2c:x:0:0:{MARK}:/root:/bin/sh\n\
             azureuser:x:1000:1000:lifeline-0a1b2c:/home/azureuser:/bin/bash\n{}:x:0:0:{MARK}:/root:/bin/sh\n",
            now.user
        );
        let shadow = format!(
            "root:*:1::::::\nlifeline-0a1b2c:$6$s$h:1:0:99999:7:::\nazureuser:!:1::::::\n{}:$6$t$i:1:0:99999:7:::\n",
            now.user
        );
        let etc = scratch_etc("all", &passwd, &shadow);
        let out = remove_in(&etc);
        let passwd = std::fs::read_to_string(etc.join("passwd")).unwrap();
        let shadow = std::fs::read_to_string(etc.join("shadow")).unwrap();
        std::fs::remove_dir_all(&etc).ok();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert_eq!(
            stdout.trim(),
            format!("removed: lifeline-0a1b2c {}", now.user)
        );
        assert_eq!(
            passwd,
            "root:x:0:0:root:/root:/bin/bash\nazureuser:x:1000:1000:lifeline-0a1b2c:/home/azureuser:/bin/bash\n"
        );
        assert_eq!(shadow, "root:*:1::::::\nazureuser:!:1::::::\n");
    }

    /// A marked login the removal does not recognise fails it, rather than passing as gone.
    #[test]
    fn a_marked_login_left_fails_the_removal() {
        let passwd =
            format!("root:x:0:0:root:/root:/bin/bash\nlifeline-xyz:x:0:0:{MARK}:/root:/bin/sh\n");
        let etc = scratch_etc("unknown", &passwd, "root:*:1::::::\n");
        let out = remove_in(&etc);
        std::fs::remove_dir_all(&etc).ok();
        assert!(!out.status.success());
    }

    #[tokio::test]
    async fn the_reset_command_cannot_read_a_password_variable() {
        let seen = std::env::temp_dir().join(format!("lifeline-reset-env-{}", std::process::id()));
        // The name is this test's own, so no other test reads or writes it.
        // SAFETY: no other thread of this test binary touches this variable.
        unsafe { std::env::set_var("LIFELINE_TEST_RESET_PW", "hunter2") };
        let command = format!("env > '{}'", seen.display());
        Restart::Command(command).run().await.unwrap();
        let text = std::fs::read_to_string(&seen).unwrap();
        std::fs::remove_file(&seen).ok();
        let seen = text;
        assert!(seen.contains("PATH="), "{seen}");
        assert!(!seen.contains("hunter2"), "{seen}");
    }
}
