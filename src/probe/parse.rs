//! From the probe's text to [`Facts`].
//!
//! The text is a list of sections, each a line `@name` and the lines after it (see probe.sh).
//! Text before the first section is ignored (fixtures put a comment there); a section may
//! repeat (`@stat`); an unknown section is ignored, so an older lifeline can read a newer
//! probe's output. Parsing never fails on odd content: a line it cannot read is skipped and the
//! fact stays unknown. It fails only when the output is not a probe's, or was cut short.

use super::facts::*;
use super::firewall::{self, Firewall, Nft, Ufw, Xtables, Zone};
use super::sshd_config::{ConfigLine, SshdConfig};
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

/// The version of the probe's output format this parser reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("no @{first} section: this is not the output of the script that was sent")]
    NotScriptOutput { first: String },
    #[error(
        "the output ends before its @end section (last section: {last}); it was cut short on the console or the guest stopped it"
    )]
    Truncated { last: String },
    #[error(
        "the probe's output has format version {0}, this lifeline reads version {FORMAT_VERSION}"
    )]
    Version(u32),
}

/// Lines of each section, by name; a repeated section keeps every occurrence in order.
struct Sections<'a> {
    by_name: HashMap<&'a str, Vec<Vec<&'a str>>>,
}

impl<'a> Sections<'a> {
    /// The sections of `text`, which must hold `first` and end with `@end` (else it was cut
    /// short).
    fn split(text: &'a str, first: &str) -> Result<Sections<'a>, ParseError> {
        let mut by_name: HashMap<&str, Vec<Vec<&str>>> = HashMap::new();
        let mut current: Option<&str> = None;
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if let Some(name) = section_name(line) {
                by_name.entry(name).or_default().push(Vec::new());
                current = Some(name);
            } else if let Some(last) = current
                .and_then(|name| by_name.get_mut(name))
                .and_then(|v| v.last_mut())
            {
                last.push(line);
            }
        }
        if !by_name.contains_key(first) {
            return Err(ParseError::NotScriptOutput {
                first: first.to_string(),
            });
        }
        if !by_name.contains_key("end") {
            return Err(ParseError::Truncated {
                last: current.unwrap_or(first).to_string(),
            });
        }
        Ok(Sections { by_name })
    }

    /// All lines of every occurrence of `name`, without blank lines.
    fn lines(&self, name: &str) -> Vec<&'a str> {
        self.by_name
            .get(name)
            .map(|all| {
                all.iter()
                    .flatten()
                    .copied()
                    .filter(|l| !l.trim().is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The lines of `name`, or None when the probe did not print that section.
    fn present(&self, name: &str) -> Option<Vec<&'a str>> {
        self.by_name.contains_key(name).then(|| self.lines(name))
    }

    /// `key=value` lines of a section; the first value of each key.
    fn pairs(&self, name: &str) -> HashMap<&'a str, &'a str> {
        let mut pairs = HashMap::new();
        for line in self.lines(name) {
            if let Some((k, v)) = line.split_once('=') {
                pairs.entry(k.trim()).or_insert(v);
            }
        }
        pairs
    }

    /// Every value of a repeated key.
    fn values(&self, name: &str, key: &str) -> Vec<&'a str> {
        self.lines(name)
            .into_iter()
            .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .collect()
    }
}

/// `@name` starts a section; lines such as sshd's `@@@@ WARNING` banner do not.
fn section_name(line: &str) -> Option<&str> {
    let name = line.strip_prefix('@')?;
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
}

/// What the break-in's check of its own tools' files printed (src/access/mend.rs).
pub struct PackageCheck {
    /// The sections `os` and `package_files`, as [`parse`] reads them; the rest empty.
    pub facts: Facts,
    /// Why it could not judge (the section `errors`).
    pub errors: Vec<String>,
}

/// Parses the break-in's check of its own tools' files.
pub fn parse_package_check(text: &str) -> Result<PackageCheck, ParseError> {
    let s = Sections::split(text, "os")?;
    Ok(PackageCheck {
        facts: Facts {
            os: os(&s),
            package_files: package_files(&s),
            ..Facts::default()
        },
        errors: s.lines("errors").iter().map(|l| l.to_string()).collect(),
    })
}

/// Parses the probe's output.
pub fn parse(text: &str) -> Result<Facts, ParseError> {
    let s = Sections::split(text, "probe")?;
    let probe = s.pairs("probe");
    let version = num(probe.get("version").copied()).unwrap_or(0);
    if version != FORMAT_VERSION {
        return Err(ParseError::Version(version));
    }
    let user = probe.get("user").copied().unwrap_or_default().to_string();
    let account = account(&s);
    let config_lines = config_lines(&s);
    let missing_files: Vec<String> = s
        .lines("config")
        .iter()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (file, line) = (f.next()?, f.next()?);
            (line == "-").then(|| file.to_string())
        })
        .collect();
    let sshd_t = s.lines("sshd_T");
    let mut config = if sshd_t.is_empty() {
        SshdConfig::from_files(config_lines, &user, &account.groups)
    } else {
        SshdConfig::from_sshd_t(&sshd_t, config_lines)
    };
    config.missing_files = missing_files;
    let (listeners, listen_tool) = listeners(&s);
    Ok(Facts {
        probe: ProbeRun {
            version,
            started: num(probe.get("start").copied()),
            ended: num(s.pairs("end").get("end").copied()),
        },
        user,
        os: os(&s),
        init: init(&s),
        units: units(&s),
        launch: launch(&s),
        sshd: sshd(&s),
        processes: processes(&s),
        listeners,
        listen_tool,
        config,
        host_keys: s
            .lines("hostkeys")
            .iter()
            .map(|l| l.trim().into())
            .collect(),
        host_key_fingerprints: s
            .lines("hostkey_fp")
            .iter()
            .filter(|l| l.starts_with("SHA256:"))
            .map(|l| l.trim().into())
            .collect(),
        files: stats(&s),
        privsep_user: s.pairs("privsep").get("user").map(|v| *v == "yes"),
        account,
        key_file_paths: s
            .values("keyfiles", "file")
            .iter()
            .map(|f| f.to_string())
            .collect(),
        key_files: key_files(&s),
        authorized_fingerprints: authorized_fingerprints(&s),
        nologin: nologin(&s),
        pam: pam(&s),
        pam_damage: pam_damage(&s),
        package_files: package_files(&s),
        login_files: login_files(&s),
        sshd_files: sshd_files(&s),
        firewall: firewall(&s),
        hosts_access: s
            .lines("hosts_access")
            .iter()
            .map(|l| l.to_string())
            .collect(),
        disks: disks(&s),
        root_mount_options: s.lines("mounts").first().and_then(|l| {
            let options = l.split_whitespace().nth(3)?;
            Some(options.split(',').map(str::to_string).collect())
        }),
        fstab: super::fstab::parse(&s.lines("fstab")),
        addresses: addresses(&s),
        selinux: selinux(&s),
        crypto: crypto(&s),
        log: s.lines("log").iter().map(|l| l.to_string()).collect(),
        oom: s.lines("oom").iter().map(|l| l.to_string()).collect(),
        banners: banners(&s),
    })
}

fn num<T: std::str::FromStr>(text: Option<&str>) -> Option<T> {
    text?.trim().parse().ok()
}

fn unquote(value: &str) -> String {
    value
        .trim()
        .trim_matches('"')
        .trim_matches('\'')
        .to_string()
}

fn os(s: &Sections) -> Os {
    let pairs = s.pairs("os");
    let get = |k: &str| pairs.get(k).map(|v| unquote(v)).filter(|v| !v.is_empty());
    let id = get("ID");
    let id_like: Vec<String> = get("ID_LIKE")
        .map(|v| v.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    Os {
        family: Os::family_of(id.as_deref(), &id_like),
        id,
        id_like,
        version_id: get("VERSION_ID"),
        pretty_name: get("PRETTY_NAME"),
    }
}

fn init(s: &Sections) -> Init {
    let pairs = s.pairs("init");
    Init {
        pid1: pairs.get("pid1").map(|v| v.trim().to_string()),
        system_state: pairs
            .get("state")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()),
        init_script: pairs.get("init_script").map(|v| v.trim().to_string()),
        boot_links: pairs
            .get("boot_links")
            .map(|v| v.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
    }
}

fn units(s: &Sections) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    for block in s.by_name.get("units").into_iter().flatten() {
        let mut unit = Unit::default();
        let mut flush = |unit: &mut Unit| {
            if !unit.id.is_empty() && !units.iter().any(|u| u.id == unit.id) {
                units.push(std::mem::take(unit));
            }
            *unit = Unit::default();
        };
        for line in block {
            if line.trim().is_empty() {
                flush(&mut unit);
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let words = || value.split_whitespace().map(str::to_string).collect();
            match key {
                "Id" => unit.id = value.into(),
                "LoadState" => unit.load_state = value.into(),
                "UnitFileState" => unit.unit_file_state = value.into(),
                "ActiveState" => unit.active_state = value.into(),
                "SubState" => unit.sub_state = value.into(),
                "Result" => unit.result = value.into(),
                "NRestarts" => unit.n_restarts = value.parse().ok(),
                "DropInPaths" => unit.drop_in_paths = words(),
                "RuntimeDirectory" => unit.runtime_directory = words(),
                "Listen" if !value.is_empty() => unit.listen.push(value.into()),
                _ => {}
            }
        }
        flush(&mut unit);
    }
    units
}

/// `FILE:KEY=VALUE` lines; the file is an absolute path without a colon.
fn launch(s: &Sections) -> Vec<LaunchSetting> {
    s.lines("launch")
        .iter()
        .filter_map(|line| {
            let (file, setting) = line.split_once(':')?;
            let (key, value) = setting.split_once('=')?;
            let key = key.trim().trim_start_matches("export").trim();
            Some(LaunchSetting {
                file: file.to_string(),
                key: key.to_string(),
                value: value.trim().to_string(),
            })
        })
        .collect()
}

fn sshd(s: &Sections) -> Sshd {
    let pairs = s.pairs("sshd");
    let some = |k: &str| {
        pairs
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let test_pairs = s.pairs("sshd_t");
    let exit_status = num(test_pairs.get("rc").copied());
    let messages: Vec<String> = s
        .lines("sshd_t")
        .into_iter()
        .filter(|l| !l.starts_with("rc="))
        .map(str::to_string)
        .collect();
    let problems = classify_test_output(&messages, exit_status.unwrap_or(0));
    Sshd {
        binary: some("path"),
        version: some("version"),
        libwrap: pairs.get("libwrap") == Some(&"yes"),
        missing_libs: s
            .values("sshd", "missing_lib")
            .iter()
            .map(|v| v.trim().into())
            .collect(),
        not_to_be_run: pairs.get("not_to_be_run") == Some(&"yes"),
        test: SshdTest {
            exit_status,
            messages,
            problems,
        },
        start_problems: start_problems(&s.lines("log"), exit_status == Some(0)),
    }
}

/// sshd's words since the service's last start attempt, when that start failed, classified;
/// lines the catalogue does not know are left to be quoted (SSH001), not acted on. When
/// `sshd -t` passes now, the configuration it read is readable, whatever an earlier start said.
fn start_problems(log: &[&str], test_passed: bool) -> Vec<TestProblem> {
    let last = log
        .iter()
        .rposition(|l| l.starts_with("Starting ") || l.starts_with("Started "));
    let Some(last) = last.filter(|i| log[*i].starts_with("Starting ")) else {
        return Vec::new();
    };
    // journald's `sshd[PID]: ` prefix goes (it is there with `-o short`, not with `-o cat`).
    let said: Vec<String> = log[last + 1..]
        .iter()
        .map(|l| match l.split_once("]: ") {
            Some((head, rest)) if head.contains("sshd[") => rest,
            _ => l,
        })
        .map(|l| {
            let l = l.strip_prefix("error: ").unwrap_or(l);
            l.strip_prefix("fatal: ").unwrap_or(l).to_string()
        })
        .collect();
    classify_test_output(&said, 255)
        .into_iter()
        .filter(|p| match p {
            TestProblem::Other { .. } => false,
            TestProblem::ConfigUnusable { .. } => !test_passed,
            _ => true,
        })
        .collect()
}

static CONFIG_ERROR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(/\S+?):? line (\d+): (.*)$").expect("pattern"));
/// sshd's words when it cannot read its configuration at all (`perror` on the main file, an
/// Include nested too deep).
static CONFIG_UNUSABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^/\S*sshd_config\S*: (No such file or directory|Permission denied|Is a directory)$|recursive.*include|include.*(recurs|deep)")
        .expect("pattern")
});
static TOO_OPEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Permissions (\d+) for '([^']+)' are too open").expect("pattern")
});

/// What `sshd -t` objected to, line by line. Decorations and informational lines (deprecated
/// options) are not problems; an unrecognised line is one only when sshd failed.
pub fn classify_test_output(messages: &[String], exit_status: i32) -> Vec<TestProblem> {
    let mut problems = Vec::new();
    for message in messages {
        let m = message.trim();
        let problem = if m.contains("no hostkeys available") {
            TestProblem::NoHostKeys
        } else if let Some(c) = TOO_OPEN.captures(m) {
            TestProblem::HostKeyTooOpen {
                path: c[2].into(),
                mode: c[1].into(),
            }
        } else if let Some(path) = m.strip_prefix("Missing privilege separation directory: ") {
            TestProblem::PrivsepDirMissing { path: path.into() }
        } else if let Some(path) =
            m.strip_suffix(" must be owned by root and not group or world-writable.")
        {
            TestProblem::PrivsepDirUnsafe { path: path.into() }
        } else if let Some(user) = m
            .strip_prefix("Privilege separation user ")
            .and_then(|r| r.strip_suffix(" does not exist"))
        {
            TestProblem::PrivsepUserMissing { user: user.into() }
        } else if m.contains("error while loading shared libraries")
            || m.contains("OpenSSL version mismatch")
        {
            TestProblem::Library { message: m.into() }
        } else if CONFIG_UNUSABLE.is_match(m) {
            TestProblem::ConfigUnusable { message: m.into() }
        } else if let Some(c) = CONFIG_ERROR.captures(m) {
            if c[3].starts_with("Deprecated option") || c[3].starts_with("Unsupported option") {
                continue;
            }
            TestProblem::Config {
                file: c[1].into(),
                line: c[2].parse().unwrap_or(0),
                message: c[3].into(),
            }
        } else if exit_status == 0
            || m.starts_with('@')
            || m.contains("UNPROTECTED PRIVATE KEY FILE")
            || m.starts_with("It is required that your private key")
            || m.starts_with("This private key will be ignored")
            || m.contains("bad configuration options")
        {
            continue;
        } else {
            TestProblem::Other { message: m.into() }
        };
        if !problems.contains(&problem) {
            problems.push(problem);
        }
    }
    problems
}

fn processes(s: &Sections) -> Vec<Process> {
    s.lines("processes")
        .iter()
        .filter_map(|l| {
            let (pid, args) = l.split_once(' ')?;
            Some(Process {
                pid: pid.parse().ok()?,
                args: args.trim().into(),
            })
        })
        .collect()
}

fn listeners(s: &Sections) -> (Vec<Listener>, Option<String>) {
    let pairs = s.pairs("listen");
    let tool = pairs.get("tool").map(|t| t.to_string());
    let lines = s.lines("listen");
    let mut out: Vec<Listener> = lines
        .iter()
        .filter(|l| !l.starts_with("tool="))
        .filter_map(|l| match tool.as_deref() {
            Some("ss") => ss_listener(l),
            Some("netstat") => netstat_listener(l),
            Some("proc") => proc_listener(l),
            _ => None,
        })
        .collect();
    out.dedup();
    (out, tool)
}

static SS_USER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\(\("([^"]+)",pid=(\d+)"#).expect("pattern"));

/// `LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=229,fd=3))`
fn ss_listener(line: &str) -> Option<Listener> {
    let local = line.split_whitespace().nth(3)?;
    let (address, port) = split_local(local)?;
    let owner = SS_USER.captures(line);
    Some(Listener {
        address,
        port,
        process: owner.as_ref().map(|c| c[1].to_string()),
        pid: owner.and_then(|c| c[2].parse().ok()),
    })
}

/// `tcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN 229/sshd`
fn netstat_listener(line: &str) -> Option<Listener> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (address, port) = split_local(fields.get(3)?)?;
    let owner = fields.last().and_then(|f| f.split_once('/'));
    Some(Listener {
        address,
        port,
        process: owner.map(|(_, name)| name.to_string()),
        pid: owner.and_then(|(pid, _)| pid.parse().ok()),
    })
}

/// `00000000:0016` (IPv4, little-endian hex) or 32 hex digits (IPv6) from /proc/net/tcp*.
fn proc_listener(line: &str) -> Option<Listener> {
    let (addr, port) = line.trim().split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let address = match addr.len() {
        8 => {
            let n = u32::from_str_radix(addr, 16).ok()?;
            std::net::Ipv4Addr::from(n.swap_bytes()).to_string()
        }
        32 => {
            let mut bytes = [0u8; 16];
            for (word, chunk) in addr.as_bytes().chunks(8).enumerate() {
                let n = u32::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
                bytes[word * 4..word * 4 + 4].copy_from_slice(&n.swap_bytes().to_be_bytes());
            }
            format!("[{}]", std::net::Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(Listener {
        address,
        port,
        process: None,
        pid: None,
    })
}

/// `0.0.0.0:22`, `[::]:22`, `*:22`, `127.0.0.53%lo:53` → (address, port).
fn split_local(local: &str) -> Option<(String, u16)> {
    let (address, port) = local.rsplit_once(':')?;
    let address = address.split('%').next().unwrap_or(address);
    Some((address.to_string(), port.parse().ok()?))
}

fn config_lines(s: &Sections) -> Vec<ConfigLine> {
    s.lines("config")
        .iter()
        .filter_map(|l| {
            let mut fields = l.splitn(3, '\t');
            let (file, line, text) = (fields.next()?, fields.next()?, fields.next()?);
            ConfigLine::parse(file, line.parse().ok()?, text)
        })
        .collect()
}

fn stats(s: &Sections) -> BTreeMap<String, Option<FileStat>> {
    let mut files = BTreeMap::new();
    for line in s.lines("stat") {
        if let Some(path) = line.strip_prefix("- ") {
            files.entry(path.to_string()).or_insert(None);
        } else if let Some((path, stat)) = stat_line(line) {
            files.insert(path.to_string(), Some(stat));
        }
    }
    files
}

/// One line of the probe's `stat` format, "HEXMODE UID GID USER GROUP SIZE PATH".
fn stat_line(line: &str) -> Option<(&str, FileStat)> {
    let fields: Vec<&str> = line.splitn(7, ' ').collect();
    let [mode, uid, gid, owner, group, size, path] = fields[..] else {
        return None;
    };
    let raw = u32::from_str_radix(mode, 16).ok()?;
    let kind = match raw & 0o170000 {
        0o100000 => FileKind::File,
        0o040000 => FileKind::Directory,
        _ => FileKind::Other,
    };
    let stat = FileStat {
        mode: raw & 0o7777,
        kind,
        uid: uid.parse().ok()?,
        gid: gid.parse().ok()?,
        owner: owner.into(),
        group: group.into(),
        size: size.parse().unwrap_or(0),
    };
    Some((path, stat))
}

/// "ROLE PATH" lines, the stat lines of those paths, and dpkg's overrides (sshd_files.sh).
fn sshd_files(s: &Sections) -> SshdFiles {
    let mut out = SshdFiles::default();
    let mut stats = HashMap::new();
    for line in s.lines("sshd_files") {
        let Some((word, rest)) = line.split_once(' ') else {
            continue;
        };
        let role = match word {
            "exec" => FileRole::Exec,
            "lib" => FileRole::Library,
            "pam" => FileRole::PamModule,
            "conf" => FileRole::Config,
            "override" => {
                let f: Vec<&str> = rest.splitn(4, ' ').collect();
                if let [user, group, mode, path] = f[..]
                    && let Ok(mode) = u32::from_str_radix(mode, 8)
                {
                    out.overrides.push(StatOverride {
                        user: user.into(),
                        group: group.into(),
                        mode,
                        path: path.into(),
                    });
                }
                continue;
            }
            _ => {
                if let Some((path, stat)) = stat_line(line) {
                    stats.insert(path, stat);
                }
                continue;
            }
        };
        out.files.push(SystemFile {
            role,
            path: rest.into(),
            stat: None,
        });
    }
    for file in &mut out.files {
        file.stat = stats.get(file.path.as_str()).cloned();
    }
    out
}

fn account(s: &Sections) -> Account {
    let pairs = s.pairs("account");
    let mut account = Account {
        today: num(pairs.get("today").copied()),
        shell_executable: pairs.get("shell_executable") == Some(&"yes"),
        shell_file: (pairs.get("shell_file").filter(|f| !f.is_empty())).map(|f| f.to_string()),
        faillock_failures: num(pairs.get("faillock_valid").copied()),
        faillock_deny: num(pairs.get("faillock_deny").copied()),
        ..Account::default()
    };
    if let Some(passwd) = pairs.get("passwd").filter(|p| !p.is_empty()) {
        let f: Vec<&str> = passwd.split(':').collect();
        if f.len() >= 7 {
            account.exists = true;
            account.uid = f[2].parse().ok();
            account.gid = f[3].parse().ok();
            account.home = Some(f[5].to_string());
            account.shell = Some(f[6].to_string());
        }
    }
    account.groups = pairs
        .get("groups")
        .map(|g| g.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    if let Some(group) = pairs.get("group").filter(|g| !g.is_empty()) {
        let f: Vec<&str> = group.split(':').collect();
        account.primary_group_members = f.get(3).map(|m| {
            m.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        });
    }
    if let Some(shadow) = pairs.get("shadow") {
        let f: Vec<&str> = shadow.split(':').collect();
        account.password = match f.first().copied() {
            Some("hashed") => Some(PasswordState::Hashed),
            Some("locked") => Some(PasswordState::Locked),
            Some("nopassword") => Some(PasswordState::NoPassword),
            Some("empty") => Some(PasswordState::Empty),
            Some("none") => Some(PasswordState::NoEntry),
            _ => None,
        };
        let day = |i: usize| f.get(i).and_then(|v| v.parse().ok());
        account.last_change = day(1);
        account.max_days = day(3);
        account.inactive_days = day(5);
        account.expires = day(6);
    }
    account
}

fn key_files(s: &Sections) -> Vec<KeyFile> {
    s.values("keyfiles", "keys")
        .iter()
        .filter_map(|v| {
            let at = v.find(" lines=")?;
            let path = v[..at].to_string();
            let mut file = KeyFile {
                path,
                ..KeyFile::default()
            };
            for field in v[at..].split_whitespace() {
                let (k, val) = field.split_once('=')?;
                match k {
                    "lines" => file.lines = val.parse().unwrap_or(0),
                    "bad" => file.bad = val.parse().unwrap_or(0),
                    "cr" => file.crlf = val.parse().unwrap_or(0),
                    "types" => {
                        file.types = val
                            .split(',')
                            .filter(|t| !t.is_empty())
                            .map(str::to_string)
                            .collect()
                    }
                    _ => {}
                }
            }
            Some(file)
        })
        .collect()
}

/// `PATH<TAB>SHA256:…<TAB>(TYPE)` lines; `unavailable` (no ssh-keygen) or no section at all
/// (no home directory, or an older probe) tells nothing.
fn authorized_fingerprints(s: &Sections) -> Option<Vec<AuthorizedKey>> {
    let lines = s.present("authorized_fp")?;
    if lines.iter().any(|l| l.trim() == "unavailable") {
        return None;
    }
    Some(
        lines
            .iter()
            .filter_map(|l| {
                let mut fields = l.split('\t');
                let (file, fingerprint) = (fields.next()?, fields.next()?);
                let kind = fields.next().unwrap_or("");
                fingerprint.starts_with("SHA256:").then(|| AuthorizedKey {
                    file: file.to_string(),
                    fingerprint: fingerprint.to_string(),
                    kind: kind.trim_matches(['(', ')']).to_string(),
                })
            })
            .collect(),
    )
}

fn nologin(s: &Sections) -> Vec<Nologin> {
    s.lines("nologin")
        .iter()
        .map(|l| {
            let (path, message) = l.split_once(' ').unwrap_or((l, ""));
            Nologin {
                path: path.into(),
                message: message.trim().into(),
            }
        })
        .collect()
}

fn pam(s: &Sections) -> Pam {
    let mut pam = Pam::default();
    for line in s.lines("pam") {
        if let Some(file) = line.strip_prefix("nofile ") {
            pam.missing_files.push(file.trim().into());
        } else if let Some((module, state)) = line.rsplit_once(' ') {
            let optional = module.starts_with('-');
            let name = module.trim_start_matches('-').to_string();
            let found = state == "ok";
            match pam.modules.iter_mut().find(|m| m.name == name) {
                // A module listed both ways counts as required and found if found anywhere.
                Some(m) => {
                    m.optional &= optional;
                    m.found |= found;
                }
                None => pam.modules.push(PamModule {
                    name,
                    optional,
                    found,
                }),
            }
        }
    }
    pam
}

/// "PATH MEMBER PACKAGE ARCH VERSION SOURCE MD5", tab-separated (package_files.sh); a line
/// with a field missing is left out.
fn package_files(s: &Sections) -> Vec<PackageFile> {
    s.lines("package_files")
        .iter()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let [path, member, package, architecture, version, source, md5] = f[..] else {
                return None;
            };
            if f.iter().any(|v| v.is_empty()) {
                return None;
            }
            Some(PackageFile {
                path: path.into(),
                member: member.into(),
                package: package.into(),
                architecture: architecture.into(),
                version: version.into(),
                source: source.into(),
                md5: md5.into(),
                copy: PackageCopy::NotFetched,
            })
        })
        .collect()
}

/// "FILE LINE MODULE STATE PATH PACKAGE MD5 MEMBER DEB TEXT", tab-separated, "-" for none
/// (pam_modules.sh).
fn pam_damage(s: &Sections) -> Vec<PamDamage> {
    let given = |v: &str| (v != "-").then(|| v.to_string());
    s.lines("pam_damage")
        .iter()
        .filter_map(|line| {
            let f: Vec<&str> = line.splitn(10, '\t').collect();
            let [
                file,
                number,
                module,
                state,
                path,
                package,
                md5,
                member,
                deb,
                text,
            ] = f[..]
            else {
                return None;
            };
            Some(PamDamage {
                file: file.into(),
                line: number.parse().ok()?,
                module: module.into(),
                missing: state == "missing",
                path: given(path),
                package: given(package),
                md5: given(md5),
                member: given(member),
                deb: given(deb),
                text: text.trim_matches([' ', '\t', '\r']).into(),
            })
        })
        .collect()
}

fn login_files(s: &Sections) -> Vec<LoginFile> {
    let given = |v: &str| (v != "-").then(|| v.to_string());
    s.lines("login_files")
        .iter()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let [path, kind, mode, flaw, source] = f[..] else {
                return None;
            };
            let ids: Vec<u32> = mode.split(' ').filter_map(|n| n.parse().ok()).collect();
            let mode = match (mode.split(' ').next(), &ids[..]) {
                (Some(bits), [_, uid, gid]) => {
                    Some((u32::from_str_radix(bits, 8).ok()?, *uid, *gid))
                }
                _ => None,
            };
            Some(LoginFile {
                path: path.into(),
                kind: kind.into(),
                mode,
                flaw: given(flaw),
                source: given(source),
            })
        })
        .collect()
}

fn firewall(s: &Sections) -> Firewall {
    Firewall {
        iptables: s.present("iptables").map(|l| Xtables::parse(&l)),
        nft: s.present("nft").map(|l| Nft::parse(&l)),
        ufw: s.present("ufw").map(|l| {
            let mut ufw = Ufw::parse(&l);
            // The status text is only printed when ufw.conf says ENABLED=yes.
            ufw.active &= l.contains(&"ENABLED=yes");
            ufw
        }),
        firewalld: s.present("firewalld").map(|l| Zone::parse(&l)),
        fail2ban_banned: s.present("fail2ban").map(|l| firewall::parse_fail2ban(&l)),
    }
}

fn disks(s: &Sections) -> Vec<Disk> {
    let inodes: HashMap<String, u8> = s
        .lines("dfi")
        .iter()
        .skip_while(|l| l.starts_with("Filesystem"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let pct = f.get(4)?.trim_end_matches('%').parse().ok()?;
            Some((f.get(5..)?.join(" "), pct))
        })
        .collect();
    let mut disks: Vec<Disk> = Vec::new();
    for line in s.lines("df") {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[0] == "Filesystem" {
            continue;
        }
        let mount = f[5..].join(" ");
        if disks.iter().any(|d| d.mount == mount) {
            continue;
        }
        let Ok(used_percent) = f[4].trim_end_matches('%').parse() else {
            continue;
        };
        disks.push(Disk {
            filesystem: f[0].into(),
            inodes_used_percent: inodes.get(&mount).copied(),
            mount,
            used_percent,
            available_kib: f[3].parse().unwrap_or(0),
        });
    }
    disks
}

fn addresses(s: &Sections) -> Vec<Address> {
    s.lines("addr")
        .iter()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some(Address {
                interface: f.next()?.into(),
                family: f.next()?.into(),
                cidr: f.next()?.into(),
            })
        })
        .collect()
}

fn selinux(s: &Sections) -> Selinux {
    let pairs = s.pairs("selinux");
    Selinux {
        enforcing: pairs.get("enforce").map(|v| v.trim() == "1"),
        labels: s
            .values("selinux", "label")
            .iter()
            .filter_map(|v| {
                let (context, path) = v.split_once(' ')?;
                Some((path.to_string(), context.to_string()))
            })
            .collect(),
        ssh_ports: pairs.get("ssh_port_t").map(|v| {
            v.split([',', ' '])
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        }),
    }
}

fn crypto(s: &Sections) -> Crypto {
    let pairs = s.pairs("crypto");
    Crypto {
        policy: pairs
            .get("policy")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()),
        fips: pairs.get("fips").map(|v| v.trim() == "1"),
    }
}

fn banners(s: &Sections) -> Vec<Banner> {
    s.lines("banner")
        .iter()
        .filter_map(|l| {
            let mut f = l.splitn(4, ' ');
            let host = f.next()?.to_string();
            let port = f.next()?.parse().ok()?;
            let rc = f.next()?;
            let text = f.next().unwrap_or("").trim().to_string();
            let outcome = if rc == "-" {
                BannerOutcome::Unavailable
            } else if rc == "0" && text.starts_with("SSH-") {
                BannerOutcome::Answered(text)
            } else if text.contains("Connection refused") {
                BannerOutcome::Refused
            } else if matches!(rc, "124" | "137" | "143") || text.contains("timed out") {
                BannerOutcome::TimedOut
            } else if text.is_empty() {
                BannerOutcome::NoBanner("the connection closed before sshd sent its banner".into())
            } else {
                BannerOutcome::NoBanner(text)
            };
            Some(Banner {
                host,
                port,
                outcome,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_starts_words_become_problems_until_a_start_succeeds() {
        let failed = [
            "Starting ssh.service - OpenBSD Secure Shell server...",
            "sshd[812]: /etc/ssh/sshd_config.d/site.conf line 2: Bad configuration option: Bogus",
            "ssh.service: Main process exited, code=exited, status=255/EXCEPTION",
            "Starting ssh.service - OpenBSD Secure Shell server...",
            "fatal: Missing privilege separation directory: /run/sshd",
            "sshd[901]: no hostkeys available -- exiting.",
            "ssh.service: Failed with result 'exit-code'.",
        ];
        // Only the last attempt counts: the Bogus line was mended before it.
        assert_eq!(
            start_problems(&failed, false),
            [
                TestProblem::PrivsepDirMissing {
                    path: "/run/sshd".into()
                },
                TestProblem::NoHostKeys
            ]
        );
        let mended = [
            &failed[..],
            &["Started ssh.service - OpenBSD Secure Shell server."],
        ]
        .concat();
        assert_eq!(start_problems(&mended, false), []);
        // A config line named by the start is located (file and line), like sshd -t's.
        assert_eq!(
            start_problems(&failed[..3], true),
            [TestProblem::Config {
                file: "/etc/ssh/sshd_config.d/site.conf".into(),
                line: 2,
                message: "Bad configuration option: Bogus".into()
            }]
        );
        assert_eq!(start_problems(&["sshd[1]: something unknown"], false), []);
        let unreadable = [failed[0], "/etc/ssh/sshd_config: No such file or directory"];
        assert_eq!(start_problems(&unreadable, false).len(), 1);
        assert_eq!(
            start_problems(&unreadable, true),
            [],
            "sshd -t reads it now"
        );
    }

    /// As the bookworm guest printed it with libsystemd truncated (one field short: left out).
    #[test]
    fn package_files_name_the_package_to_fetch() {
        let out = format!(
            "@probe\nversion={FORMAT_VERSION}\nuser=azureuser\n@package_files\n\
             /usr/lib/x86_64-linux-gnu/libsystemd.so.0.35.0\tusr/lib/x86_64-linux-gnu/libsystemd.so.0.35.0\t\
             libsystemd0\tamd64\t252.39-1~deb12u2\tsystemd\tf94f88eecc03cb3d3f84780f7c2a1c10\n\
             /usr/lib/libx.so\tusr/lib/libx.so\tlibx\tamd64\t1\tx\t\n@end\n"
        );
        let facts = parse(&out).unwrap();
        assert_eq!(
            facts.package_files,
            [PackageFile {
                path: "/usr/lib/x86_64-linux-gnu/libsystemd.so.0.35.0".into(),
                member: "usr/lib/x86_64-linux-gnu/libsystemd.so.0.35.0".into(),
                package: "libsystemd0".into(),
                architecture: "amd64".into(),
                version: "252.39-1~deb12u2".into(),
                source: "systemd".into(),
                md5: "f94f88eecc03cb3d3f84780f7c2a1c10".into(),
                copy: PackageCopy::NotFetched,
            }]
        );
    }

    #[test]
    fn output_without_end_is_truncated() {
        assert_eq!(
            parse("@probe\nversion=1\n@sshd\npath=/usr/sbin/sshd\n").unwrap_err(),
            ParseError::Truncated {
                last: "sshd".into()
            }
        );
        assert_eq!(
            parse("hello\n").unwrap_err(),
            ParseError::NotScriptOutput {
                first: "probe".into()
            }
        );
        assert_eq!(
            parse("@probe\nversion=9\n@end\n").unwrap_err(),
            ParseError::Version(9)
        );
    }

    #[test]
    fn sshd_test_messages_are_classified() {
        let messages: Vec<String> = [
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
            "Permissions 0644 for '/etc/ssh/ssh_host_rsa_key' are too open.",
            "This private key will be ignored.",
            "sshd: no hostkeys available -- exiting.",
            "/etc/ssh/sshd_config: line 123: Bad configuration option: Bogus",
            "/etc/ssh/sshd_config line 124: no argument after keyword \"Port\"",
            "/etc/ssh/sshd_config line 5: Deprecated option RSAAuthentication",
            "/etc/ssh/sshd_config: terminating, 2 bad configuration options",
            "Missing privilege separation directory: /run/sshd",
            "Privilege separation user sshd does not exist",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let problems = classify_test_output(&messages, 255);
        assert_eq!(
            problems,
            vec![
                TestProblem::HostKeyTooOpen {
                    path: "/etc/ssh/ssh_host_rsa_key".into(),
                    mode: "0644".into()
                },
                TestProblem::NoHostKeys,
                TestProblem::Config {
                    file: "/etc/ssh/sshd_config".into(),
                    line: 123,
                    message: "Bad configuration option: Bogus".into()
                },
                TestProblem::Config {
                    file: "/etc/ssh/sshd_config".into(),
                    line: 124,
                    message: "no argument after keyword \"Port\"".into()
                },
                TestProblem::PrivsepDirMissing {
                    path: "/run/sshd".into()
                },
                TestProblem::PrivsepUserMissing {
                    user: "sshd".into()
                },
            ]
        );
    }

    #[test]
    fn a_configuration_sshd_cannot_read_is_unusable_as_a_whole() {
        for said in [
            "/etc/ssh/sshd_config: No such file or directory",
            "/etc/ssh/sshd_config: Is a directory",
        ] {
            assert_eq!(
                classify_test_output(&[said.to_string()], 255),
                [TestProblem::ConfigUnusable {
                    message: said.into()
                }]
            );
        }
        // A host key that is missing is not the configuration's fault.
        assert!(!matches!(
            classify_test_output(
                &["/etc/ssh/ssh_host_x_key: No such file or directory".into()],
                1
            )[..],
            [TestProblem::ConfigUnusable { .. }]
        ));
    }

    #[test]
    fn listeners_come_from_ss_netstat_or_proc() {
        let ss = ss_listener(
            "LISTEN 0      128       [::]:22    [::]:* users:((\"sshd\",pid=229,fd=4))",
        )
        .unwrap();
        assert_eq!(
            (ss.address.as_str(), ss.port, ss.process.as_deref(), ss.pid),
            ("[::]", 22, Some("sshd"), Some(229))
        );
        let ns = netstat_listener("tcp 0 0 0.0.0.0:2222 0.0.0.0:* LISTEN 1/systemd").unwrap();
        assert_eq!((ns.port, ns.process.as_deref()), (2222, Some("systemd")));
        let v4 = proc_listener("0F02000A:0016").unwrap();
        assert_eq!((v4.address.as_str(), v4.port), ("10.0.2.15", 22));
        let v6 = proc_listener("00000000000000000000000000000000:08AE").unwrap();
        assert_eq!((v6.address.as_str(), v6.port), ("[::]", 2222));
    }

    #[test]
    fn stat_lines_give_modes_and_kinds() {
        let s = Sections::split(
            "@probe\nversion=1\n@stat\n81a4 0 0 root root 3221 /etc/ssh/sshd_config\n- /run/sshd\n41ff 1000 1000 a b 4096 /home/a b\n@end\n",
            "probe",
        )
        .unwrap();
        let files = stats(&s);
        assert_eq!(files["/etc/ssh/sshd_config"].as_ref().unwrap().mode, 0o644);
        assert_eq!(files["/run/sshd"], None);
        let dir = files["/home/a b"].as_ref().unwrap();
        assert_eq!((dir.mode, dir.kind), (0o777, FileKind::Directory));
    }
}
