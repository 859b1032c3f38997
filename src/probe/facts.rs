//! What the probe found on the guest, typed.
//!
//! Every field says what the guest showed, not what it means: judging is the rules' job.
//! `Option` means "the probe could not tell" (a tool was missing or timed out), which the
//! rules treat as "no evidence", never as "fine" or "broken". Fields are public so rules and
//! fixtures can read and build them directly; the few questions several rules ask (which unit
//! runs sshd, the mode of a path, the effective config) are methods here.

use super::firewall::Firewall;
use super::fstab::FstabEntry;
use super::sshd_config::SshdConfig;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    /// The account whose login matters (the `user` given to the probe).
    pub user: String,
    pub probe: ProbeRun,
    pub os: Os,
    pub init: Init,
    /// How sshd is started: the unit files' Exec and Environment lines and the environment
    /// files' options, each with the file it came from.
    pub launch: Vec<LaunchSetting>,
    /// `ssh.service`, `sshd.service`, `ssh.socket`, `sshd.socket`, deduplicated by unit id.
    pub units: Vec<Unit>,
    pub sshd: Sshd,
    /// Processes named sshd (the listener, per-connection children).
    pub processes: Vec<Process>,
    /// Listening TCP sockets and the tool that listed them (`ss`, `netstat`, `proc`).
    pub listeners: Vec<Listener>,
    pub listen_tool: Option<String>,
    /// The effective sshd configuration and where each line came from.
    pub config: SshdConfig,
    /// The private host key files sshd is configured to load.
    pub host_keys: Vec<String>,
    /// The SHA256 fingerprints of those host keys that could be read (`SHA256:…`).
    pub host_key_fingerprints: Vec<String>,
    /// Ownership and modes of the paths that matter (host keys, /etc/ssh, privilege-separation
    /// directories, the path to authorized_keys). `None`: the path does not exist.
    pub files: BTreeMap<String, Option<FileStat>>,
    /// Whether the privilege-separation user `sshd` exists.
    pub privsep_user: Option<bool>,
    pub account: Account,
    /// The authorized keys files sshd consults for the user, in order.
    pub key_file_paths: Vec<String>,
    /// What is in each of those files that exists and is readable.
    pub key_files: Vec<KeyFile>,
    /// The SHA256 fingerprint of each key in the files sshd consults (`None`: the probe could
    /// not tell: no ssh-keygen, or no home directory).
    pub authorized_fingerprints: Option<Vec<AuthorizedKey>>,
    pub nologin: Vec<Nologin>,
    pub pam: Pam,
    /// The module lines of the login path's PAM stacks (login, sshd, sudo, su and what they
    /// include) whose module is missing or not as its package shipped it.
    pub pam_damage: Vec<PamDamage>,
    /// sshd's files and libraries that are not what their package installed, read when sshd
    /// cannot run (`ll_package_files`).
    pub package_files: Vec<PackageFile>,
    /// The files every login reads (the account databases, nsswitch.conf, sshd's PAM files),
    /// as the probe judged them (`ll_login_files_flaws`, the check the rescue judges its
    /// repairs with).
    pub login_files: Vec<LoginFile>,
    /// The files sshd and a login run or load, with their owners and modes (`ll_sshd_files`).
    pub sshd_files: SshdFiles,
    pub firewall: Firewall,
    /// Active lines of /etc/hosts.allow and /etc/hosts.deny ("file:line").
    pub hosts_access: Vec<String>,
    pub disks: Vec<Disk>,
    pub root_mount_options: Option<Vec<String>>,
    /// The active lines of /etc/fstab.
    pub fstab: Vec<FstabEntry>,
    pub addresses: Vec<Address>,
    pub selinux: Selinux,
    pub crypto: Crypto,
    /// Recent sshd log lines of this boot (journal or auth log).
    pub log: Vec<String>,
    /// Kernel lines about sshd killed for lack of memory.
    pub oom: Vec<String>,
    /// The local check: connecting to each configured address and port on the guest.
    pub banners: Vec<Banner>,
}

/// When the probe ran, by the guest's clock.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeRun {
    pub version: u32,
    pub started: Option<i64>,
    pub ended: Option<i64>,
}

impl ProbeRun {
    /// Seconds the probe took on the guest (whole seconds: the guest's `date +%s`).
    pub fn guest_seconds(&self) -> Option<i64> {
        Some(self.ended? - self.started?)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Debian,
    Rhel,
    Suse,
    AzureLinux,
    #[default]
    Unknown,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Os {
    pub id: Option<String>,
    pub id_like: Vec<String>,
    pub version_id: Option<String>,
    pub pretty_name: Option<String>,
    pub family: Family,
}

impl Os {
    /// The family from `ID` and `ID_LIKE` (never from `NAME`, which clones rename).
    pub fn family_of(id: Option<&str>, id_like: &[String]) -> Family {
        let names = id.into_iter().chain(id_like.iter().map(String::as_str));
        for name in names {
            let family = match name {
                "debian" | "ubuntu" => Family::Debian,
                "rhel" | "centos" | "fedora" | "almalinux" | "rocky" | "ol" => Family::Rhel,
                "sles" | "suse" | "opensuse" => Family::Suse,
                "azurelinux" | "mariner" => Family::AzureLinux,
                n if n.starts_with("opensuse") => Family::Suse,
                _ => continue,
            };
            return family;
        }
        Family::Unknown
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Init {
    /// The command name of PID 1 (`systemd`, `init`, `bash` in an emergency shell).
    pub pid1: Option<String>,
    /// `systemctl is-system-running`: running, degraded, starting, maintenance, …
    pub system_state: Option<String>,
    /// Without systemd: the init script that starts sshd (`/etc/init.d/ssh`).
    pub init_script: Option<String>,
    /// Its start links (`/etc/rc2.d/S01ssh` …): none means sshd does not start at boot.
    pub boot_links: Vec<String>,
}

impl Init {
    /// PID 1 is neither systemd nor an init (a break-in's `init=/bin/sh`): no service, unit,
    /// listener or journal of this boot can be asked about.
    pub fn no_service_manager(&self) -> bool {
        self.pid1
            .as_deref()
            .is_some_and(|pid1| pid1 != "systemd" && pid1 != "init")
    }

    pub fn is_systemd(&self) -> bool {
        self.pid1.as_deref() == Some("systemd")
    }

    /// sysvinit (or another `init`) runs the system and an init script starts sshd, as on
    /// Debian with sysvinit-core: `service`/`/etc/init.d`, no systemctl, no journal.
    pub fn is_sysv(&self) -> bool {
        self.pid1.as_deref() == Some("init") && self.init_script.is_some()
    }
}

/// One line that decides how sshd is started: `ExecStart=…` in a unit file or a drop-in, or
/// `SSHD_OPTS=…` in an environment file (/etc/default/ssh).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LaunchSetting {
    pub file: String,
    pub key: String,
    pub value: String,
}

impl LaunchSetting {
    /// A file the distribution's package owns (the unit as shipped), not a local override.
    pub fn is_vendor(&self) -> bool {
        self.file.starts_with("/lib/systemd/") || self.file.starts_with("/usr/lib/systemd/")
    }
}

/// One systemd unit as `systemctl show` describes it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Unit {
    pub id: String,
    pub load_state: String,
    pub unit_file_state: String,
    pub active_state: String,
    pub sub_state: String,
    pub result: String,
    pub n_restarts: Option<u32>,
    pub drop_in_paths: Vec<String>,
    pub runtime_directory: Vec<String>,
    /// Sockets only: what the socket listens on, e.g. `[::]:22 (Stream)`.
    pub listen: Vec<String>,
}

impl Unit {
    pub fn is_loaded(&self) -> bool {
        self.load_state == "loaded"
    }

    pub fn is_masked(&self) -> bool {
        self.load_state == "masked" || self.unit_file_state.starts_with("masked")
    }

    /// Up now; a unit waiting to be restarted (`activating`, `auto-restart`) is not.
    pub fn is_active(&self) -> bool {
        matches!(self.active_state.as_str(), "active" | "reloading")
    }

    /// Starts at boot (directly, or because it is static or pulled in by an alias).
    pub fn is_enabled(&self) -> bool {
        matches!(
            self.unit_file_state.as_str(),
            "enabled" | "enabled-runtime" | "static" | "alias" | "indirect" | "generated"
        )
    }

    pub fn is_socket(&self) -> bool {
        self.id.ends_with(".socket")
    }

    /// Ports a socket unit listens on.
    pub fn listen_ports(&self) -> Vec<u16> {
        self.listen
            .iter()
            .filter_map(|l| {
                let addr = l.split_whitespace().next()?;
                addr.rsplit(':').next()?.parse().ok()
            })
            .collect()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Sshd {
    pub binary: Option<String>,
    pub version: Option<String>,
    /// sshd is linked with libwrap, so /etc/hosts.allow and hosts.deny apply to it.
    pub libwrap: bool,
    /// Shared libraries the dynamic linker cannot find for sshd.
    pub missing_libs: Vec<String>,
    /// Debian's /etc/ssh/sshd_not_to_be_run exists.
    pub not_to_be_run: bool,
    pub test: SshdTest,
    /// What sshd said when its last start failed (the service's log since its last `Starting`,
    /// none once a start succeeded), classified as `sshd -t`'s words are: a start meets what
    /// `sshd -t` does not (the unit's options, the files and addresses a real start needs).
    pub start_problems: Vec<TestProblem>,
}

impl Sshd {
    /// Every problem sshd named, by `sshd -t` first, then by its last failed start; each once.
    pub fn problems(&self) -> impl Iterator<Item = &TestProblem> {
        let test = &self.test.problems;
        test.iter()
            .chain(self.start_problems.iter().filter(|p| !test.contains(p)))
    }

    /// Who named `problem`, as evidence says it.
    pub fn named_by(&self, problem: &TestProblem) -> &'static str {
        if self.test.problems.contains(problem) {
            "sshd -t"
        } else {
            "sshd's failed start"
        }
    }
}

/// `sshd -t`: its exit status and what it said, classified.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SshdTest {
    pub exit_status: Option<i32>,
    pub messages: Vec<String>,
    pub problems: Vec<TestProblem>,
}

/// A reason `sshd -t` gave for refusing to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TestProblem {
    /// A configuration line sshd rejects: the file, the line and sshd's words.
    Config {
        file: String,
        line: u32,
        message: String,
    },
    /// The configuration as a whole cannot be read: the main file missing or unreadable, an
    /// Include loop. No line to mend: only a reset to the default helps.
    ConfigUnusable {
        message: String,
    },
    NoHostKeys,
    HostKeyTooOpen {
        path: String,
        mode: String,
    },
    PrivsepDirMissing {
        path: String,
    },
    PrivsepDirUnsafe {
        path: String,
    },
    PrivsepUserMissing {
        user: String,
    },
    Library {
        message: String,
    },
    Other {
        message: String,
    },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Process {
    pub pid: u32,
    pub args: String,
}

impl Process {
    /// The daemon that accepts connections, as opposed to a per-connection child
    /// (`sshd: user [priv]`, `sshd: user@pts/0`, `sshd-session`).
    pub fn is_listener(&self) -> bool {
        self.args.contains("[listener]")
            || self
                .args
                .split_whitespace()
                .next()
                .is_some_and(|arg0| arg0.starts_with('/') && arg0.ends_with("/sshd"))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Listener {
    /// The local address as the tool printed it, without the port (`0.0.0.0`, `[::]`, `*`).
    pub address: String,
    pub port: u16,
    /// The process that owns the socket, when the tool could tell (`sshd`, `systemd`).
    pub process: Option<String>,
    pub pid: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    File,
    Directory,
    Other,
}

/// What `stat -L` says about a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStat {
    /// Permission bits, e.g. 0o644.
    pub mode: u32,
    pub kind: FileKind,
    pub uid: u32,
    pub gid: u32,
    pub owner: String,
    pub group: String,
    pub size: u64,
}

impl FileStat {
    pub fn mode_text(&self) -> String {
        format!("{:04o}", self.mode)
    }

    /// "0644 root:root" for evidence lines.
    pub fn describe(&self) -> String {
        format!("{} {}:{}", self.mode_text(), self.owner, self.group)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordState {
    /// A password hash is set.
    Hashed,
    /// The hash starts with `!`: locked (`passwd -l`, `usermod -L`).
    Locked,
    /// `*`: no password can ever match (key-only accounts).
    NoPassword,
    /// An empty field: login without a password.
    Empty,
    /// passwd's `x` sends the password to shadow, which has no entry for the user.
    NoEntry,
}

/// The login user's account as the guest's passwd, shadow and group databases describe it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Account {
    pub exists: bool,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub home: Option<String>,
    pub shell: Option<String>,
    pub shell_executable: bool,
    /// Where the shell's path leads, links followed, when it cannot run: the file its package
    /// check names.
    pub shell_file: Option<String>,
    pub groups: Vec<String>,
    /// Members listed for the primary group (Debian's StrictModes accepts a group-writable
    /// path when that group has no other member).
    pub primary_group_members: Option<Vec<String>>,
    pub password: Option<PasswordState>,
    /// Shadow fields, in days since 1970.
    pub last_change: Option<i64>,
    pub max_days: Option<i64>,
    pub inactive_days: Option<i64>,
    pub expires: Option<i64>,
    /// The guest's today, in days since 1970.
    pub today: Option<i64>,
    /// pam_faillock: recorded valid failures and the `deny` threshold.
    pub faillock_failures: Option<u32>,
    pub faillock_deny: Option<u32>,
}

/// What an authorized keys file holds, summarised on the guest (keys never cross the console).
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyFile {
    pub path: String,
    /// Non-comment, non-blank lines.
    pub lines: u32,
    /// Lines with no recognisable key type.
    pub bad: u32,
    /// Lines ending in a carriage return (a file edited on Windows).
    pub crlf: u32,
    pub types: Vec<String>,
}

impl KeyFile {
    /// Lines sshd can read as a key.
    pub fn valid(&self) -> u32 {
        self.lines.saturating_sub(self.bad)
    }
}

/// One key sshd would accept for the user, by fingerprint (the key itself stays on the guest).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuthorizedKey {
    pub file: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The key type as ssh-keygen names it (`ED25519`, `RSA`).
    pub kind: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Nologin {
    pub path: String,
    pub message: String,
}

/// The PAM modules the `sshd` service uses.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pam {
    /// /etc/pam.d/sshd (or a file it includes) does not exist.
    pub missing_files: Vec<String>,
    pub modules: Vec<PamModule>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PamModule {
    pub name: String,
    /// The line starts with `-`: PAM skips the module quietly when it is missing.
    pub optional: bool,
    pub found: bool,
}

/// A file whose checksum is not the one dpkg recorded for it, with what it takes to fetch its
/// package's copy (`ll_package_files`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackageFile {
    /// The file on disk, links followed.
    pub path: String,
    /// Its path in the package, as dpkg's checksums list it.
    pub member: String,
    pub package: String,
    pub architecture: String,
    /// The installed version, epoch included.
    pub version: String,
    pub source: String,
    /// The checksum dpkg recorded.
    pub md5: String,
    /// The package's own copy of the file, as far as lifeline got fetching it where it runs
    /// (the rescue fetches it; the probe cannot).
    pub copy: PackageCopy,
}

impl PackageFile {
    /// A PAM module (its package's path is under a `security` directory): rule SSH310's, not
    /// one of the programs and libraries of rule SSH010.
    pub fn is_pam_module(&self) -> bool {
        self.member.contains("/security/")
    }
}

#[cfg(test)]
impl PackageFile {
    /// Bookworm's libwrap as the probe names it damaged, with the checksum `md5` recorded.
    pub fn libwrap(md5: &str, copy: PackageCopy) -> PackageFile {
        PackageFile {
            path: "/usr/lib/x86_64-linux-gnu/libwrap.so.0.7.6".into(),
            member: "usr/lib/x86_64-linux-gnu/libwrap.so.0.7.6".into(),
            package: "libwrap0".into(),
            architecture: "amd64".into(),
            version: "7.6.q-32".into(),
            source: "tcp-wrappers".into(),
            md5: md5.into(),
            copy,
        }
    }
}

/// The package's copy of a damaged file, fetched from the distribution's archive where
/// lifeline runs and checked against dpkg's record on the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum PackageCopy {
    /// Not fetched (a diagnosis alone fetches nothing).
    #[default]
    NotFetched,
    /// Fetched and checked: the file's content, gzipped, in base64 (the form a plan carries
    /// it in; the report shows only where it came from).
    Fetched {
        from: String,
        /// The mode the package gives the file: a file that is gone comes back with it.
        #[serde(skip_serializing)]
        mode: u32,
        #[serde(skip_serializing)]
        gzip_base64: std::sync::Arc<str>,
    },
    /// Not to be had: why.
    Failed { why: String },
}

/// A module line of a login stack whose module is missing or changed (`ll_pam_damage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PamDamage {
    /// The stack file and the line's number in it.
    pub file: String,
    pub line: u32,
    /// The module as the line names it (`pam_env.so`).
    pub module: String,
    /// The module file is missing (else: its checksum is none its package recorded).
    pub missing: bool,
    /// The module's file, where there is one.
    pub path: Option<String>,
    /// What dpkg recorded for a module of that name: its package, checksum and path in the
    /// package (`None` without dpkg).
    pub package: Option<String>,
    pub md5: Option<String>,
    pub member: Option<String>,
    /// A copy of the package in apt's cache.
    pub deb: Option<String>,
    /// The line, blanks around it trimmed.
    pub text: String,
}

impl PamDamage {
    /// The line's type (`auth`, `account`, `session`, `password`), without a leading `-`.
    pub fn kind(&self) -> &str {
        let word = self.text.split_whitespace().next().unwrap_or("");
        word.trim_start_matches('-')
    }

    /// The line's control: `required`, or a bracketed `[value=action ...]`.
    pub fn control(&self) -> &str {
        let rest = self.text.trim_start_matches(|c: char| !c.is_whitespace());
        let rest = rest.trim_start();
        if rest.starts_with('[') {
            rest.find(']').map_or(rest, |end| &rest[..=end])
        } else {
            rest.split_whitespace().next().unwrap_or("")
        }
    }
}

/// A file every login reads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoginFile {
    pub path: String,
    /// How it is judged: `passwd`, `group`, `shadow`, `nsswitch`, `pam` or `limits`.
    pub kind: String,
    /// Permission bits, owner and group ids; `None`: the file does not exist.
    pub mode: Option<(u32, u32, u32)>,
    /// What makes it unusable (`line 3 is not a passwd entry`); `None`: it is sound.
    pub flaw: Option<String>,
    /// A sound copy to restore it from: a path on the guest, `pam-auth-update`,
    /// `dpkg:MD5`, the checksum the package manager recorded for it, or `lifeline`, a file
    /// lifeline writes itself (limits.conf without limits).
    pub source: Option<String>,
}

impl LoginFile {
    /// Missing, or unusable as its kind: its content must come back from a sound copy.
    pub fn is_damaged(&self) -> bool {
        self.mode.is_none() || self.flaw.is_some()
    }
}

/// What a file is to sshd or a login, which decides who must be able to do what with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    /// sshd, a helper it executes (sshd-session, sshd-auth), or the user's login shell.
    Exec,
    /// A shared library one of those loads (`ldd`).
    Library,
    /// A PAM module sshd's stack names.
    PamModule,
    /// /etc/ssh, sshd_config, its drop-in directory and the files in it.
    Config,
}

/// A file sshd or a login needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemFile {
    pub role: FileRole,
    /// The path as sshd, ldd or PAM names it (a link, often: `stat` follows it).
    pub path: String,
    /// `None`: stat printed nothing for it (it vanished, or stat timed out).
    pub stat: Option<FileStat>,
}

/// An entry of dpkg-statoverride: the owner, group and mode the administrator or a package's
/// scripts gave a file instead of the ones the package ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatOverride {
    pub user: String,
    pub group: String,
    pub mode: u32,
    pub path: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SshdFiles {
    pub files: Vec<SystemFile>,
    /// Empty where dpkg is not the package manager.
    pub overrides: Vec<StatOverride>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Disk {
    pub filesystem: String,
    pub mount: String,
    pub used_percent: u8,
    pub available_kib: u64,
    pub inodes_used_percent: Option<u8>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Address {
    pub interface: String,
    /// `inet` or `inet6`.
    pub family: String,
    /// Address with prefix length, e.g. `10.0.2.15/24`.
    pub cidr: String,
}

impl Address {
    pub fn ip(&self) -> &str {
        self.cidr.split('/').next().unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Selinux {
    /// `/sys/fs/selinux/enforce`: `Some(true)` enforcing, `Some(false)` permissive, `None`
    /// SELinux not active.
    pub enforcing: Option<bool>,
    /// (path, context) of the home directory, `.ssh` and `authorized_keys`.
    pub labels: Vec<(String, String)>,
    /// Ports labelled `ssh_port_t` (asked only when sshd uses a port other than 22).
    pub ssh_ports: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Crypto {
    /// The system-wide crypto policy (RHEL family): DEFAULT, LEGACY, FUTURE, FIPS, …
    pub policy: Option<String>,
    pub fips: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum BannerOutcome {
    /// sshd answered with this identification line (`SSH-2.0-OpenSSH_9.2p1 …`).
    Answered(String),
    Refused,
    TimedOut,
    /// The connection opened, or failed, without a banner; what the client said.
    NoBanner(String),
    /// Neither bash nor nc exists on the guest to try.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Banner {
    pub host: String,
    pub port: u16,
    #[serde(flatten)]
    pub outcome: BannerOutcome,
}

impl Facts {
    /// The login user's shadow entry is lost, or may be once /etc/shadow, missing or damaged,
    /// comes back from a sound copy (its backup may predate the account): the repair looks for
    /// it again afterwards, and makes it anew if it is gone.
    pub fn shadow_entry_at_risk(&self) -> bool {
        let restored = |f: &LoginFile| f.kind == "shadow" && f.is_damaged() && f.source.is_some();
        self.account.exists
            && (self.account.password == Some(PasswordState::NoEntry)
                || self.login_files.iter().any(restored))
    }

    /// The unit that runs sshd as a service: `ssh.service` on Debian and Ubuntu, `sshd.service`
    /// elsewhere; the one systemd knows, whatever the distribution says.
    pub fn service_unit(&self) -> Option<&Unit> {
        self.find_unit(&["ssh.service", "sshd.service"])
    }

    /// The socket unit that can start sshd on demand (`ssh.socket`, `sshd.socket`).
    pub fn socket_unit(&self) -> Option<&Unit> {
        self.find_unit(&["ssh.socket", "sshd.socket"])
    }

    fn find_unit(&self, ids: &[&str]) -> Option<&Unit> {
        ids.iter().find_map(|id| {
            self.units
                .iter()
                .find(|u| u.id == *id && (u.is_loaded() || u.is_masked()))
        })
    }

    /// The service name to give systemctl: the loaded unit's, else the distribution's.
    pub fn service_name(&self) -> &str {
        match self.service_unit() {
            Some(unit) => unit.id.trim_end_matches(".service"),
            None if self.os.family == Family::Debian => "ssh",
            None => "sshd",
        }
    }

    /// sshd is started by its socket (Ubuntu 22.10 and later): the socket listens, and the
    /// service is started on the first connection.
    pub fn socket_activated(&self) -> bool {
        self.socket_unit()
            .is_some_and(|s| s.is_active() || (s.is_enabled() && !self.sshd_process_running()))
    }

    /// An sshd listener process exists (not only per-connection children).
    pub fn sshd_process_running(&self) -> bool {
        self.processes.iter().any(Process::is_listener)
    }

    /// Something accepts SSH connections: an sshd process, or an active socket unit.
    pub fn sshd_up(&self) -> bool {
        self.sshd_process_running() || self.socket_unit().is_some_and(Unit::is_active)
    }

    /// The ports something listens on for sshd (sshd itself, or systemd for a socket unit).
    pub fn sshd_listen_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .listeners
            .iter()
            .filter(|l| is_sshd_owner(l.process.as_deref()))
            .map(|l| l.port)
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// The listeners on `port`, whoever owns them.
    pub fn listeners_on(&self, port: u16) -> impl Iterator<Item = &Listener> {
        self.listeners.iter().filter(move |l| l.port == port)
    }

    /// `Some(None)`: the probe looked and the path does not exist; `None`: not looked at.
    pub fn file(&self, path: &str) -> Option<Option<&FileStat>> {
        self.files.get(path).map(Option::as_ref)
    }

    /// Authorized keys files that exist, with what they hold.
    pub fn key_file(&self, path: &str) -> Option<&KeyFile> {
        self.key_files.iter().find(|k| k.path == path)
    }

    /// Keys sshd could read for the user, over the authorized keys files it consults.
    pub fn authorized_key_count(&self) -> u32 {
        self.key_files
            .iter()
            .filter(|k| self.key_file_paths.contains(&k.path))
            .map(KeyFile::valid)
            .sum()
    }

    /// Addresses of this guest, without the prefix length.
    pub fn local_ips(&self) -> impl Iterator<Item = &str> {
        self.addresses.iter().map(Address::ip)
    }
}

/// Listeners owned by sshd itself or by systemd (socket activation); an unknown owner counts,
/// since `/proc/net/tcp` and an unprivileged `ss` cannot tell.
fn is_sshd_owner(process: Option<&str>) -> bool {
    match process {
        None => true,
        Some(p) => p == "sshd" || p == "systemd" || p.starts_with("sshd"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_come_from_id_and_id_like() {
        let like = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Os::family_of(Some("ubuntu"), &like(&["debian"])),
            Family::Debian
        );
        assert_eq!(
            Os::family_of(Some("almalinux"), &like(&["rhel", "centos", "fedora"])),
            Family::Rhel
        );
        assert_eq!(
            Os::family_of(Some("opensuse-leap"), &like(&["suse", "opensuse"])),
            Family::Suse
        );
        assert_eq!(Os::family_of(Some("azurelinux"), &[]), Family::AzureLinux);
        assert_eq!(Os::family_of(Some("mariner"), &[]), Family::AzureLinux);
        assert_eq!(Os::family_of(Some("arch"), &[]), Family::Unknown);
    }

    #[test]
    fn socket_listen_ports_parse() {
        let unit = Unit {
            id: "ssh.socket".into(),
            listen: vec!["[::]:2222 (Stream)".into(), "0.0.0.0:22 (Stream)".into()],
            ..Unit::default()
        };
        assert_eq!(unit.listen_ports(), vec![2222, 22]);
    }
}
