//! A booted Debian guest (of any flavour) for integration tests: its serial socket, SSH port and credentials,
//! and a check of whether SSH login works right now.
//!
//! The guest runs under `scripts/guest run`, which stops qemu as soon as its stdin closes: when
//! the guest handle is dropped, when a test panics, and when the test process dies in any way.
//! A test that needs the guest and cannot get one fails with the reason; it is never skipped.

#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod fake_azure;
pub mod flavour;
pub mod scenario;
pub mod ssh_password;
pub mod watched;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, MutexGuard};

use lifeline::link::{Link, LinkSpec};
use lifeline::secret::{Secret, SecretRegistry};
use lifeline::shell::{Credentials, Session, Timeouts};
use lifeline::term::Console;
use ssh_password::{Login, ssh_as};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running guest. Dropping it stops the guest.
pub struct Guest {
    pub name: String,
    /// Which image it runs (`--flavour`; bookworm when not given).
    pub flavour: String,
    pub serial: PathBuf,
    pub ssh_port: u16,
    pub user: String,
    pub password: String,
    pub root_password: String,
    pub key: PathBuf,
    runner: Child,
    /// Closing this tells `scripts/guest run` to stop qemu.
    stdin: Option<ChildStdin>,
}

/// How an SSH login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshAuth {
    Key,
    Password,
}

impl Guest {
    /// Boots a fresh guest named `name`; panics with the script's own explanation on failure.
    pub fn boot(name: &str) -> Guest {
        Guest::boot_with(name, &[])
    }

    /// [`Guest::boot`] with more options for `scripts/guest run` (`--grub hidden`).
    pub fn boot_with(name: &str, options: &[&str]) -> Guest {
        let script = repo_root().join("scripts/guest");
        let mut runner = Command::new(&script)
            .args(["run", "--name", name])
            .args(options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", script.display()));
        let stdin = runner.stdin.take();
        let stdout = runner.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("READY ") => break line,
                Some(Ok(_)) => continue,
                _ => {
                    let status = runner.wait().ok();
                    panic!(
                        "the test guest {name:?} did not boot (scripts/guest run ended with {status:?}); \
                         see its messages above. Build it with scripts/guest build (needs root and \
                         Debian's package mirror)."
                    );
                }
            }
        };
        let fields: HashMap<&str, &str> = ready
            .split_whitespace()
            .skip(1)
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let env = guest_env(name);
        let flavour = options
            .windows(2)
            .find(|pair| pair[0] == "--flavour")
            .map_or("bookworm", |pair| pair[1]);
        let mut guest = Guest {
            name: name.to_string(),
            flavour: flavour.to_string(),
            serial: PathBuf::from(fields["serial"]),
            ssh_port: fields["ssh_port"].parse().expect("ssh_port in READY"),
            user: env["GUEST_USER"].clone(),
            password: env["GUEST_PASSWORD"].clone(),
            root_password: env["GUEST_ROOT_PASSWORD"].clone(),
            key: PathBuf::from(&env["GUEST_KEY"]),
            runner,
            stdin,
        };
        // Drain further stdout so the runner never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        guest.key = private_copy_of_key(&guest.key, name);
        guest
    }

    /// Back to the clean booted state (login prompt on the console, sshd up).
    pub fn reset(&self) {
        let status = Command::new(repo_root().join("scripts/guest"))
            // Under load, sshd can take well over the default 30 s to answer after loadvm.
            .args(["reset", "--name", &self.name, "--timeout", "120"])
            .stdout(Stdio::null())
            .status()
            .expect("run scripts/guest reset");
        assert!(
            status.success(),
            "scripts/guest reset --name {} failed",
            self.name
        );
    }

    /// The guests' directory (`LIFELINE_RUN_DIR` of scripts/guest) this guest runs under.
    pub fn run_dir(&self) -> &Path {
        self.serial
            .parent()
            .and_then(|state| state.parent())
            .expect("the guest's state directory")
    }

    /// The command that presses this guest's reset button (`scripts/guest power-reset`), for
    /// lifeline's `--reset-cmd`. It gets no more of lifeline's environment than a `cmd:`
    /// console: it names the guests' directory itself.
    pub fn reset_command(&self) -> String {
        format!(
            "LIFELINE_RUN_DIR='{}' {} power-reset --name {}",
            self.run_dir().display(),
            repo_root().join("scripts/guest").display(),
            self.name
        )
    }

    pub fn serial_spec(&self) -> LinkSpec {
        LinkSpec::Unix(self.serial.clone())
    }

    pub fn credentials(&self) -> Credentials {
        Credentials {
            user: self.user.clone(),
            password: Some(Secret::new(self.password.clone())),
            root_password: Some(Secret::new(self.root_password.clone())),
        }
    }

    /// Opens the serial console and reaches a shell as the guest user.
    pub async fn session(&self) -> Session {
        let link = Link::open(&self.serial_spec())
            .await
            .expect("open the serial socket");
        self.session_over(link).await
    }

    /// Reaches a shell as the guest user over `link` (a wrapped socket, the Azure console).
    pub async fn session_over(&self, link: Link) -> Session {
        session_as(link, &self.credentials()).await
    }

    /// A session on the serial console logged in as root directly, with root's password
    /// (whatever happened to the guest user's).
    pub async fn root_login(&self) -> Session {
        let link = Link::open(&self.serial_spec())
            .await
            .expect("open the serial socket");
        let root = Credentials {
            user: "root".into(),
            password: Some(Secret::new(self.root_password.clone())),
            root_password: None,
        };
        let session = session_as(link, &root).await;
        assert!(session.is_root());
        session
    }

    /// Runs `command` as root on the serial console (a login with root's password, left tidy)
    /// and returns its output: how a test breaks the guest before lifeline mends it.
    pub async fn as_root(&self, command: &str) -> String {
        let mut session = self.root_login().await;
        let out = sh(&mut session, command).await;
        session.leave().await.expect("leave the console");
        out
    }

    /// The break that shuts the user out by key too: the account locked and sshd without PAM
    /// (with PAM, sshd lets a locked account in by key).
    pub fn lock_out(&self) -> String {
        format!(
            "usermod -L {u}; sed -i 's/^UsePAM yes/UsePAM no/' /etc/ssh/sshd_config; systemctl restart ssh",
            u = self.user
        )
    }

    /// A session on the serial console that became root with sudo.
    pub async fn root_session(&self) -> Session {
        self.try_root_session().await.expect("sudo on the guest")
    }

    /// [`Guest::root_session`], or why sudo did not make it root.
    pub async fn try_root_session(&self) -> Result<Session, String> {
        let mut session = self.session().await;
        match session
            .become_root(&self.user, Some(&Secret::new(self.password.clone())))
            .await
        {
            Ok(_) => Ok(session),
            Err(e) => {
                let _ = session.leave().await;
                Err(format!("{e:?}"))
            }
        }
    }

    /// Runs `command` over SSH as the guest user with the given authentication; `Err` carries
    /// ssh's own message.
    pub fn ssh(&self, auth: SshAuth, command: &str) -> Result<Output, String> {
        let login = match auth {
            SshAuth::Key => Login::Key(&self.key),
            SshAuth::Password => Login::Password(&self.password),
        };
        ssh_as(self, &self.user, login, command)
    }

    /// Whether SSH login works right now, by key and by password (the first failure is returned).
    pub fn ssh_works(&self) -> Result<(), String> {
        for auth in [SshAuth::Key, SshAuth::Password] {
            let out = self.ssh(auth, "id -un")?;
            let who = String::from_utf8_lossy(&out.stdout);
            if who.trim() != self.user {
                return Err(format!(
                    "ssh ({auth:?}) logged in as {who:?}, not {}",
                    self.user
                ));
            }
        }
        Ok(())
    }

    /// The serial console's complete output so far (qemu's chardev log).
    pub fn serial_log(&self) -> String {
        let log = self.serial.with_file_name("serial.log");
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(log) {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).ok();
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.runner.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.runner.kill();
        let _ = self.runner.wait();
    }
}

/// The flavour of test guest (`scripts/guest-build --flavour`) that `shared_guest` boots:
/// bookworm, or the one LIFELINE_FLAVOUR names (`scripts/test --all-flavours` sets it).
pub fn flavour_under_test() -> String {
    std::env::var("LIFELINE_FLAVOUR").unwrap_or_else(|_| "bookworm".into())
}

/// One guest shared by all tests of a test binary, handed to one test at a time and reset to
/// the clean booted state before each. It stops when the test process exits.
pub async fn shared_guest() -> MutexGuard<'static, Guest> {
    static GUEST: OnceLock<Mutex<Guest>> = OnceLock::new();
    let guest = GUEST.get_or_init(|| {
        let name = format!("t{}", std::process::id());
        // 600 s, as tests/flavours_guest.rs gives its boots: Debian 13's kernel boots slower
        // under TCG, and at a load of 13 the trixie guest had no login prompt after 120 s.
        Mutex::new(Guest::boot_with(
            &name,
            &["--flavour", &flavour_under_test(), "--timeout", "600"],
        ))
    });
    let guard = guest.lock().await;
    guard.reset();
    guard
}

fn guest_env(name: &str) -> HashMap<String, String> {
    let out = Command::new(repo_root().join("scripts/guest"))
        .args(["env", "--name", name])
        .output()
        .expect("run scripts/guest env");
    assert!(
        out.status.success(),
        "scripts/guest env failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

/// ssh refuses a private key that others can read; the cached key is copied with mode 0600.
fn private_copy_of_key(key: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let copy = std::env::temp_dir().join(format!("lifeline-test-key-{name}"));
    std::fs::copy(key, &copy).expect("copy the guest's ssh key");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).expect("chmod key");
    copy
}

/// Runs shell on the guest and insists that it succeeds; returns its output.
pub async fn sh(session: &mut Session, command: &str) -> String {
    let out = session.run(command).await.expect("run on the guest");
    assert_eq!(out.exit_status, 0, "{command}: {}", out.text());
    out.text()
}

async fn session_as(link: Link, credentials: &Credentials) -> Session {
    let mut session = Session::new(
        link,
        Console::new(24, 80, None),
        SecretRegistry::default(),
        // A guest under TCG on a loaded machine can take minutes to show a shell after login.
        Timeouts {
            login: Duration::from_secs(120),
            attach: Duration::from_secs(120),
            ..Timeouts::default()
        },
    );
    session
        .attach(credentials)
        .await
        .unwrap_or_else(|e| panic!("log in as {} on the serial console: {e}", credentials.user));
    session
}
