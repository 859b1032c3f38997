//! The rule catalogue: one file per way SSH dies, each with a stable id, its check over the
//! probe's [`Facts`], its fix as a value ([`fix`]; `None` leaves the finding to a person), its
//! documentation (what it checks, why that breaks SSH, how lifeline fixes it, how safe that fix
//! is) and its tests (on the facts fixtures, with the helpers of `testing`).
//!
//! The registry below is the only list of rules: `lifeline rules`, `lifeline rules ID` and
//! docs/rules.md are rendered from it ([`docs`]). Ids never change meaning; a retired rule's id
//! is not reused.
//!
//! A rule is a cause, a symptom or a fallback. Causes explain why SSH fails (a bad config line,
//! a locked account); symptoms describe what a person sees (sshd not running) and come second
//! in the verdict; a fallback (the local banner check failing) is reported only when no error
//! explains the failure better.

pub mod client;
pub mod cloud;
pub mod docs;
pub mod fix;
mod privsep;
#[cfg(test)]
pub(crate) mod testing;

pub use cloud::Source;

use crate::probe::facts::{Facts, Family, FileStat};
use fix::{Call, Fix, LineEdit, Phase};
use serde::Serialize;

/// How bad a finding is. Errors stop SSH; warnings stop it for some clients or after a
/// reboot, or block repairs; infos explain without blocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Service,
    Configuration,
    Keys,
    Accounts,
    Network,
    Resources,
    Selinux,
    /// Azure's side: the network security groups, routes, health, agent and boot log.
    Azure,
    /// The operator's side: this machine's key file and known_hosts.
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Cause,
    Symptom,
    Fallback,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Service => "service",
            Category::Configuration => "configuration",
            Category::Keys => "keys",
            Category::Accounts => "accounts",
            Category::Network => "network",
            Category::Resources => "resources",
            Category::Selinux => "selinux",
            Category::Azure => "azure",
            Category::Client => "client",
        }
    }
}

/// A rule's explanation, in the shape of ruff's rule pages.
#[derive(Debug)]
pub struct Docs {
    /// What the rule checks, in terms of the guest's state.
    pub what: &'static str,
    /// Why that state breaks SSH, and what a client sees.
    pub why: &'static str,
    /// How lifeline repairs it.
    pub fix: &'static str,
    /// What the repair can and cannot harm.
    pub safety: &'static str,
}

#[derive(Debug)]
pub struct Rule {
    /// Stable id, `SSH` and three digits; the hundreds give the category.
    pub id: &'static str,
    /// Stable kebab-case name, accepted wherever an id is.
    pub name: &'static str,
    /// What is wrong, as a clause ("sshd is not running"), for listings.
    pub title: &'static str,
    pub category: Category,
    /// The worst severity its findings have.
    pub severity: Severity,
    pub kind: Kind,
    pub docs: Docs,
    pub check: fn(&Facts) -> Option<Finding>,
    /// What `lifeline rescue` does about a finding on these facts; `None` (here or returned)
    /// leaves the finding to a person.
    pub fix: Option<fn(&Facts) -> Option<Fix>>,
}

/// One problem found on the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub category: Category,
    #[serde(skip)]
    pub kind: Kind,
    /// What is wrong on this guest, as a clause: "SSH is down because " + title reads well.
    pub title: String,
    /// What the probe saw that proves it.
    pub evidence: Vec<String>,
    /// What to do on this guest (commands where they are safe to suggest).
    pub fix: String,
    /// Where the facts behind it came from.
    pub source: Source,
}

impl Rule {
    /// A finding of this rule, with the rule's severity.
    pub fn finding(
        &'static self,
        title: impl Into<String>,
        evidence: Vec<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            id: self.id,
            name: self.name,
            severity: self.severity,
            category: self.category,
            kind: self.kind,
            title: title.into(),
            evidence,
            fix: fix.into(),
            source: Source::Guest,
        }
    }
}

impl Finding {
    /// What `lifeline rescue` does about it on these facts, as its rule declares; `None`: a
    /// person has to decide.
    pub fn fix_on(&self, facts: &Facts) -> Option<Fix> {
        (find(self.id)?.fix?)(facts)
    }

    /// The same finding, from other facts than the guest's alone.
    pub fn with_source(mut self, source: Source) -> Finding {
        self.source = source;
        self
    }

    /// The same finding, less severe (a rule whose problem is sometimes only a warning).
    pub fn downgraded(mut self, severity: Severity) -> Finding {
        self.severity = self.severity.max(severity);
        self
    }
}

/// Declares each rule module once; `all()` lists them in this order.
macro_rules! registry {
    ($($module:ident),* $(,)?) => {
        $(mod $module;)*

        /// Every rule, in catalogue order.
        pub fn all() -> &'static [&'static Rule] {
            static ALL: &[&Rule] = &[$(&$module::RULE),*];
            ALL
        }
    };
}

registry!(
    ssh001_sshd_not_running,
    ssh002_sshd_not_listening,
    ssh003_sshd_not_installed,
    ssh004_service_disabled,
    ssh005_service_masked,
    ssh006_start_limit_hit,
    ssh007_sshd_not_to_be_run,
    ssh008_socket_port_mismatch,
    ssh009_port_in_use,
    ssh010_sshd_libraries_broken,
    ssh011_launch_overrides_config,
    ssh012_system_file_modes,
    ssh101_config_invalid,
    ssh102_port_not_22,
    ssh103_listen_address_absent,
    ssh104_user_not_allowed,
    ssh105_user_denied,
    ssh106_root_login_refused,
    ssh107_pubkey_auth_disabled,
    ssh108_no_login_method,
    ssh109_keys_not_consulted,
    ssh110_ipv6_only,
    ssh111_forced_command_refuses,
    ssh112_setting_shuts_everyone_out,
    ssh201_host_keys_missing,
    ssh202_host_key_permissions,
    ssh203_privsep_dir_missing,
    ssh204_privsep_dir_unsafe,
    ssh205_privsep_user_missing,
    ssh206_authorized_keys_unsafe,
    ssh207_key_path_unsafe,
    ssh208_authorized_keys_unreadable,
    ssh209_home_missing,
    ssh210_key_file_malformed,
    ssh211_key_types_not_accepted,
    ssh212_fips_rejects_keys,
    ssh301_user_missing,
    ssh302_account_locked_without_pam,
    ssh303_login_shell_unusable,
    ssh304_nologin_file,
    ssh305_account_expired,
    ssh306_password_expired,
    ssh307_faillock_locked,
    ssh308_pam_module_missing,
    ssh309_login_files_damaged,
    ssh310_pam_module_damaged,
    ssh401_iptables_blocks,
    ssh402_nftables_blocks,
    ssh403_ufw_blocks,
    ssh404_firewalld_blocks,
    ssh405_sources_banned,
    ssh406_tcp_wrappers_deny,
    ssh407_no_ipv4_address,
    ssh408_no_banner,
    ssh501_disk_full,
    ssh502_inodes_exhausted,
    ssh503_root_read_only,
    ssh504_sshd_oom_killed,
    ssh505_boot_unfinished,
    ssh506_fstab_blocks_boot,
    ssh601_selinux_ssh_labels,
    ssh602_selinux_port_not_allowed,
    ssh701_nsg_blocks_ssh,
    ssh702_nsg_allows_only_22,
    ssh703_no_public_ip,
    ssh704_route_blackhole,
    ssh705_health_degraded,
    ssh706_agent_not_ready,
    ssh707_boot_failed,
    ssh801_private_key_unprotected,
    ssh802_known_host_changed,
    ssh803_key_not_authorized,
);

/// The client rules' checks (see [`client`]), in catalogue order.
pub fn client_checks() -> &'static [&'static client::ClientCheck] {
    static CHECKS: &[&client::ClientCheck] = &[
        &ssh801_private_key_unprotected::CLIENT,
        &ssh802_known_host_changed::CLIENT,
        &ssh803_key_not_authorized::CLIENT,
    ];
    CHECKS
}

/// The cloud rules' checks (see [`cloud`]), in catalogue order.
pub fn cloud_checks() -> &'static [&'static cloud::CloudCheck] {
    static CHECKS: &[&cloud::CloudCheck] = &[
        &ssh701_nsg_blocks_ssh::CLOUD,
        &ssh702_nsg_allows_only_22::CLOUD,
        &ssh703_no_public_ip::CLOUD,
        &ssh704_route_blackhole::CLOUD,
        &ssh705_health_degraded::CLOUD,
        &ssh706_agent_not_ready::CLOUD,
        &ssh707_boot_failed::CLOUD,
    ];
    CHECKS
}

/// A rule by id (`SSH001`, any case) or name (`sshd-not-running`).
pub fn find(id_or_name: &str) -> Option<&'static Rule> {
    all()
        .iter()
        .copied()
        .find(|r| r.id.eq_ignore_ascii_case(id_or_name) || r.name == id_or_name)
}

/// Runs every rule over the facts: errors first, causes before symptoms, then catalogue
/// order. Fallback rules run only when no error was found.
pub fn evaluate(facts: &Facts) -> Vec<Finding> {
    let run = |fallback: bool| {
        all()
            .iter()
            .filter(move |r| (r.kind == Kind::Fallback) == fallback)
            .filter_map(|r| (r.check)(facts))
    };
    let mut findings: Vec<Finding> = run(false).collect();
    if !findings.iter().any(|f| f.severity == Severity::Error) {
        findings.extend(run(true));
    }
    findings.sort_by_key(|f| (f.severity, f.kind));
    findings
}

// ----------------------------------------------------------------- helpers the rules share

/// How this guest's service manager restarts sshd: `systemctl restart ssh` (or `sshd`), the
/// socket after a daemon-reload where ssh.socket starts sshd, the init script without systemd.
pub(crate) fn restart(facts: &Facts) -> String {
    service_command(facts, "restart")
}

/// How this guest's service manager starts sshd (see `restart`).
pub(crate) fn start(facts: &Facts) -> String {
    service_command(facts, "start")
}

fn service_command(facts: &Facts, verb: &str) -> String {
    if let Some(script) = facts
        .init
        .init_script
        .as_deref()
        .filter(|_| facts.init.is_sysv())
    {
        return format!("{script} {verb}");
    }
    if let Some(socket) = facts.socket_unit().filter(|_| facts.socket_activated()) {
        return format!("systemctl daemon-reload && systemctl {verb} {}", socket.id);
    }
    match verb {
        "start" => format!(
            "systemctl reset-failed {0}; systemctl start {0}",
            facts.service_name()
        ),
        _ => format!("systemctl {verb} {}", facts.service_name()),
    }
}

/// "Port 2222 (/etc/ssh/sshd_config:14)", or "(default)" when no file sets it.
pub(crate) fn config_ref(facts: &Facts, keyword: &str, label: &str) -> String {
    let value = facts.config.get(keyword).unwrap_or("?");
    match facts.config.origin(keyword) {
        Some(line) => format!("{label} {value} ({})", line.location()),
        None => format!("{label} {value} (OpenSSH's default)"),
    }
}

/// The command that puts `packages` back (each named once, in order), on a Debian-family
/// guest: the packages a damaged file came from, as dpkg named them.
pub(crate) fn reinstall_packages<'a>(
    facts: &Facts,
    packages: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut packages: Vec<&str> = packages.into_iter().collect();
    packages.sort_unstable();
    packages.dedup();
    match (packages.is_empty(), facts.os.family) {
        (true, _) => "reinstall the package that ships it".to_string(),
        (false, Family::Debian) => format!("apt-get install --reinstall {}", packages.join(" ")),
        (false, _) => format!("reinstall the package {}", packages.join(" ")),
    }
}

/// The package manager command that reinstalls the OpenSSH server.
pub(crate) fn reinstall_command(facts: &Facts) -> &'static str {
    match facts.os.family {
        Family::Debian => "apt-get install --reinstall openssh-server",
        Family::Rhel => "dnf reinstall openssh-server",
        Family::Suse => "zypper install --force openssh-server",
        Family::AzureLinux => "tdnf reinstall openssh-server",
        Family::Unknown => "reinstall the openssh-server package with the package manager",
    }
}

/// The last `n` sshd log lines that contain any of `needles` (all lines when empty), as
/// evidence.
pub(crate) fn recent_log(facts: &Facts, n: usize, needles: &[&str]) -> Vec<String> {
    let matching: Vec<&String> = facts
        .log
        .iter()
        .filter(|l| needles.is_empty() || needles.iter().any(|n| l.contains(n)))
        .collect();
    matching[matching.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("log: {l}"))
        .collect()
}

/// "22, 2222"
pub(crate) fn port_list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The user the diagnosis is for is root.
pub(crate) fn user_is_root(facts: &Facts) -> bool {
    facts.account.uid == Some(0) || facts.user == "root"
}

/// What sshd's StrictModes check (`safe_path` in misc.c, plus Debian's `secure_permissions`)
/// objects to in one path it walks, if anything: an owner other than root or the user, or
/// write permission for group or others. Debian and Ubuntu allow group write when the group
/// is the user's own and has no other member.
pub(crate) fn strict_modes_problem(facts: &Facts, stat: &FileStat) -> Option<String> {
    let uid = facts.account.uid?;
    if stat.uid != 0 && stat.uid != uid {
        return Some(format!(
            "owned by {}, not root or {}",
            stat.owner, facts.user
        ));
    }
    let group_write_ok = facts.os.family == Family::Debian
        && Some(stat.gid) == facts.account.gid
        && facts
            .account
            .primary_group_members
            .as_ref()
            .is_some_and(|m| m.iter().all(|u| *u == facts.user));
    let forbidden = if group_write_ok { 0o002 } else { 0o022 };
    (stat.mode & forbidden != 0).then(|| {
        let who = if stat.mode & 0o002 != 0 {
            "anyone"
        } else {
            "its group"
        };
        format!("writable by {who} ({})", stat.describe())
    })
}

/// The authorized keys files sshd would open for the user: configured, existing.
pub(crate) fn existing_key_files(facts: &Facts) -> impl Iterator<Item = (&str, &FileStat)> {
    facts.key_file_paths.iter().filter_map(|path| {
        let stat = facts.file(path)??;
        Some((path.as_str(), stat))
    })
}

/// The directories StrictModes walks for a key file: its parents up to and including the
/// home directory when the file is under it, else up to `/`.
pub(crate) fn strict_modes_dirs(file: &str, home: &str) -> Vec<String> {
    let under_home = file.starts_with(&format!("{}/", home.trim_end_matches('/')));
    let mut dirs = Vec::new();
    let mut path = file;
    while let Some(at) = path.rfind('/') {
        path = &path[..at];
        let dir = if path.is_empty() { "/" } else { path };
        dirs.push(dir.to_string());
        if (under_home && dir == home) || dir == "/" {
            break;
        }
    }
    dirs
}

/// StrictModes is on (sshd checks ownership and modes at all).
pub(crate) fn strict_modes(facts: &Facts) -> bool {
    facts.config.flag("strictmodes") != Some(false)
}

/// Interfaces with a global address, for firewall rules that name an interface.
pub(crate) fn external_interfaces(facts: &Facts) -> Vec<String> {
    let mut names: Vec<String> = facts
        .addresses
        .iter()
        .filter(|a| a.interface != "lo" && !a.cidr.starts_with("fe80:"))
        .map(|a| a.interface.clone())
        .collect();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let mut ids = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for rule in all() {
            assert!(ids.insert(rule.id), "duplicate id {}", rule.id);
            assert!(names.insert(rule.name), "duplicate name {}", rule.name);
            assert!(
                rule.id.len() == 6
                    && rule.id.starts_with("SSH")
                    && rule.id[3..].bytes().all(|b| b.is_ascii_digit()),
                "{}",
                rule.id
            );
            let hundreds = match rule.category {
                Category::Service => '0',
                Category::Configuration => '1',
                Category::Keys => '2',
                Category::Accounts => '3',
                Category::Network => '4',
                Category::Resources => '5',
                Category::Selinux => '6',
                Category::Azure => '7',
                Category::Client => '8',
            };
            assert_eq!(
                rule.id.as_bytes()[3] as char,
                hundreds,
                "{} category",
                rule.id
            );
            for text in [
                rule.docs.what,
                rule.docs.why,
                rule.docs.fix,
                rule.docs.safety,
            ] {
                assert!(text.len() > 30, "{}: docs too short: {text:?}", rule.id);
            }
        }
        assert!(all().len() >= 32);
    }

    /// A rule's docs say it is left to a person exactly when the rule has no fix. Azure's side
    /// is not held to it: its fixes go through ARM (`rescue::cloud`), not a guest plan.
    #[test]
    fn the_docs_say_who_fixes_it() {
        for rule in all()
            .iter()
            .filter(|r| !matches!(r.category, Category::Azure | Category::Client))
        {
            let fix = docs::squeeze(rule.docs.fix);
            let left = [
                "leaves this to you",
                "leaves the choice to you",
                "left to the",
            ]
            .iter()
            .any(|words| fix.contains(words));
            assert_eq!(left, rule.fix.is_none(), "{}: {fix}", rule.id);
        }
    }

    #[test]
    fn rules_are_found_by_id_or_name() {
        assert_eq!(find("ssh001").unwrap().name, "sshd-not-running");
        assert_eq!(find("sshd-not-running").unwrap().id, "SSH001");
        assert!(find("SSH999").is_none());
    }

    #[test]
    fn strict_modes_walks_to_home_or_root() {
        assert_eq!(
            strict_modes_dirs("/home/u/.ssh/authorized_keys", "/home/u"),
            ["/home/u/.ssh", "/home/u"]
        );
        assert_eq!(
            strict_modes_dirs("/etc/ssh/keys/u", "/home/u"),
            ["/etc/ssh/keys", "/etc/ssh", "/etc", "/"]
        );
    }
}
