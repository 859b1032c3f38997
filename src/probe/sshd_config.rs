//! The effective sshd configuration.
//!
//! `sshd -T` is the truth when it runs, but it refuses to run exactly when SSH is most broken:
//! a bad option, missing host keys, a missing privilege-separation directory (which on Debian
//! is simply "sshd is stopped"). Then we read the config files ourselves the way sshd does:
//! the probe lists their active lines with `Include` expanded in place, and here the first
//! value of a keyword wins, list keywords accumulate, `Match` blocks apply only when they
//! select the login user (`Match all`, `Match User`, `Match Group`; address criteria cannot be
//! known without a client), and unset keywords take OpenSSH's compiled-in defaults.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigSource {
    /// `sshd -T -C user=…` printed it.
    SshdT,
    /// Read from the files because `sshd -T` could not run.
    #[default]
    Files,
}

/// One active line of a config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigLine {
    pub file: String,
    pub line: u32,
    /// Lower case, aliases folded (`challengeresponseauthentication` is
    /// `kbdinteractiveauthentication`).
    pub keyword: String,
    pub value: String,
    /// The line as written, without leading blanks.
    pub text: String,
    /// Inside a `Match` block.
    pub in_match: bool,
}

impl ConfigLine {
    /// Splits `Keyword value`, `Keyword=value` or `Keyword = value`.
    pub fn parse(file: &str, line: u32, text: &str) -> Option<ConfigLine> {
        let text = text.trim();
        let end = text.find(|c: char| c.is_whitespace() || c == '=')?;
        let keyword = canonical_keyword(&text[..end].to_ascii_lowercase()).to_string();
        let value = text[end..]
            .trim_start_matches(|c: char| c.is_whitespace() || c == '=')
            .trim();
        Some(ConfigLine {
            file: file.to_string(),
            line,
            keyword,
            value: unquote(value).to_string(),
            text: text.to_string(),
            in_match: false,
        })
    }

    /// "/etc/ssh/sshd_config:14" for evidence lines.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// Keywords that may appear several times, each adding values.
const LIST_KEYWORDS: &[&str] = &[
    "port",
    "listenaddress",
    "hostkey",
    "allowusers",
    "denyusers",
    "allowgroups",
    "denygroups",
    "acceptenv",
];

/// Keywords whose value is a list of words, each its own entry.
const WORD_LIST_KEYWORDS: &[&str] = &["allowusers", "denyusers", "allowgroups", "denygroups"];

/// OpenSSH's compiled-in defaults for the keywords the rules read.
const DEFAULTS: &[(&str, &str)] = &[
    ("port", "22"),
    ("addressfamily", "any"),
    ("permitrootlogin", "prohibit-password"),
    ("passwordauthentication", "yes"),
    ("pubkeyauthentication", "yes"),
    ("kbdinteractiveauthentication", "yes"),
    ("usepam", "no"),
    ("strictmodes", "yes"),
    (
        "authorizedkeysfile",
        ".ssh/authorized_keys .ssh/authorized_keys2",
    ),
    ("authorizedkeyscommand", "none"),
    ("chrootdirectory", "none"),
    ("forcecommand", "none"),
    ("authenticationmethods", "any"),
    ("permitemptypasswords", "no"),
    ("maxstartups", "10:30:100"),
    ("usedns", "no"),
];

const DEFAULT_HOST_KEYS: &[&str] = &[
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ecdsa_key",
    "/etc/ssh/ssh_host_ed25519_key",
];

#[derive(Debug, Clone, Default, Serialize)]
pub struct SshdConfig {
    pub source: ConfigSource,
    /// Effective values by lower-case keyword; list keywords hold one entry per value.
    pub values: BTreeMap<String, Vec<String>>,
    /// Every active line of the files, in the order sshd reads them.
    pub lines: Vec<ConfigLine>,
    /// Config files that do not exist (the main file, or an `Include` target the probe named).
    pub missing_files: Vec<String>,
}

impl SshdConfig {
    /// From `sshd -T` output; `lines` are the files' lines, kept for provenance.
    pub fn from_sshd_t(output: &[&str], lines: Vec<ConfigLine>) -> SshdConfig {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in output {
            if let Some((keyword, value)) = line.split_once(' ') {
                values
                    .entry(canonical_keyword(keyword).to_string())
                    .or_default()
                    .push(value.trim().to_string());
            }
        }
        SshdConfig {
            source: ConfigSource::SshdT,
            values,
            // Read the files' way only to mark which lines sit in Match blocks.
            lines: SshdConfig::from_files(lines, "", &[]).lines,
            missing_files: Vec::new(),
        }
    }

    /// Resolves the files' lines as sshd would for `user`, a member of `groups`.
    pub fn from_files(mut lines: Vec<ConfigLine>, user: &str, groups: &[String]) -> SshdConfig {
        let main_file = lines.first().map(|l| l.file.clone()).unwrap_or_default();
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // The file whose Match block we are in, and whether that block selects the user.
        let mut block: Option<(String, bool)> = None;
        for line in &mut lines {
            if let Some((file, _)) = &block {
                // A Match block in an included file ends with that file.
                if *file != main_file && line.file == main_file {
                    block = None;
                }
            }
            if line.keyword == "match" {
                block = Some((line.file.clone(), match_selects(&line.value, user, groups)));
            }
            line.in_match = block.is_some();
            let applies = block.as_ref().is_none_or(|(_, selected)| *selected);
            if !applies || matches!(line.keyword.as_str(), "match" | "include") {
                continue;
            }
            let entry = values.entry(line.keyword.clone()).or_default();
            if WORD_LIST_KEYWORDS.contains(&line.keyword.as_str()) {
                entry.extend(line.value.split_whitespace().map(str::to_string));
            } else if LIST_KEYWORDS.contains(&line.keyword.as_str()) || entry.is_empty() {
                entry.push(line.value.clone());
            }
        }
        for (keyword, default) in DEFAULTS {
            values
                .entry(keyword.to_string())
                .or_insert_with(|| vec![default.to_string()]);
        }
        values
            .entry("hostkey".into())
            .or_insert_with(|| DEFAULT_HOST_KEYS.iter().map(|k| k.to_string()).collect());
        SshdConfig {
            source: ConfigSource::Files,
            values,
            lines,
            missing_files: Vec::new(),
        }
    }

    /// The first (for most keywords, the only) effective value.
    pub fn get(&self, keyword: &str) -> Option<&str> {
        self.values.get(keyword)?.first().map(String::as_str)
    }

    /// All effective values of a list keyword.
    pub fn all(&self, keyword: &str) -> &[String] {
        self.values.get(keyword).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A yes/no keyword; `None` when unset or not a yes/no value.
    pub fn flag(&self, keyword: &str) -> Option<bool> {
        match self.get(keyword)?.to_ascii_lowercase().as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        }
    }

    pub fn ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .all("port")
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        if ports.is_empty() {
            ports.push(22);
        }
        ports.dedup();
        ports
    }

    /// Where sshd binds: (host without brackets, port). `0.0.0.0` and `::` mean every address.
    pub fn listen_addresses(&self) -> Vec<(String, u16)> {
        let ports = self.ports();
        let configured = self.all("listenaddress");
        let mut out = Vec::new();
        if configured.is_empty() {
            let family = self.get("addressfamily").unwrap_or("any");
            for port in &ports {
                if family != "inet6" {
                    out.push(("0.0.0.0".to_string(), *port));
                }
                if family != "inet" {
                    out.push(("::".to_string(), *port));
                }
            }
            return out;
        }
        for entry in configured {
            // `host`, `host:port`, `[v6]`, `[v6]:port`, a bare v6 address, optionally followed
            // by `rdomain NAME`.
            let entry = entry.split_whitespace().next().unwrap_or_default();
            let (host, port) = split_host_port(entry);
            match port {
                Some(port) => out.push((host, port)),
                None => out.extend(ports.iter().map(|p| (host.clone(), *p))),
            }
        }
        out
    }

    /// The line that set `keyword` to its effective value, when a file set it: a global line
    /// if one says so (`sshd -T` does not tell which Match block applied), else a Match line.
    pub fn origin(&self, keyword: &str) -> Option<&ConfigLine> {
        let value = self.get(keyword)?;
        let sets = |l: &&ConfigLine| {
            l.keyword == keyword
                && (l.value.eq_ignore_ascii_case(value)
                    || l.value.split_whitespace().any(|w| w == value))
        };
        let mut candidates = self.lines.iter().filter(sets);
        let first = candidates.clone().next()?;
        Some(candidates.find(|l| !l.in_match).unwrap_or(first))
    }

    /// Every line that sets `keyword`.
    pub fn lines_for<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a ConfigLine> {
        self.lines.iter().filter(move |l| l.keyword == keyword)
    }
}

pub(crate) fn split_host_port(entry: &str) -> (String, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (host.to_string(), port);
    }
    match entry.matches(':').count() {
        1 => {
            let (host, port) = entry.split_once(':').unwrap_or((entry, ""));
            (host.to_string(), port.parse().ok())
        }
        _ => (entry.to_string(), None),
    }
}

/// Whether a `Match` line's criteria select `user` (all criteria must hold).
fn match_selects(criteria: &str, user: &str, groups: &[String]) -> bool {
    let words: Vec<&str> = criteria.split_whitespace().collect();
    if words.len() == 1 && words[0].eq_ignore_ascii_case("all") {
        return true;
    }
    words.chunks(2).all(|pair| match pair {
        [kind, patterns] => match kind.to_ascii_lowercase().as_str() {
            "user" => pattern_list_matches(patterns, user),
            "group" => groups.iter().any(|g| pattern_list_matches(patterns, g)),
            "all" => true,
            _ => false,
        },
        _ => false,
    })
}

/// OpenSSH's `match_pattern_list`: comma-separated globs, a `!` pattern that matches vetoes.
pub fn pattern_list_matches(list: &str, name: &str) -> bool {
    let mut matched = false;
    for pattern in list.split(',') {
        match pattern.strip_prefix('!') {
            Some(negated) if glob_matches(negated, name) => return false,
            Some(_) => {}
            None if glob_matches(pattern, name) => matched = true,
            None => {}
        }
    }
    matched
}

/// `*` and `?` globs, as OpenSSH's `match_pattern`, in at most pattern × text steps.
///
/// Only the latest `*` is ever retried: whatever an earlier `*` could absorb, a later one can
/// too, so going back further finds nothing new. Retrying every `*` (a plain recursion) takes
/// exponential time on a pattern like `*a*a*a…b`, and the patterns and group names come from
/// the guest.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // The latest `*` and where in the text what it absorbs ends.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((at, end)) => {
                    star = Some((at, end + 1));
                    pi = at + 1;
                    ti = end + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn canonical_keyword(keyword: &str) -> &str {
    match keyword {
        "challengeresponseauthentication" => "kbdinteractiveauthentication",
        "pubkeyacceptedkeytypes" => "pubkeyacceptedalgorithms",
        other => other,
    }
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[(&str, u32, &str)]) -> Vec<ConfigLine> {
        text.iter()
            .filter_map(|(f, n, t)| ConfigLine::parse(f, *n, t))
            .collect()
    }

    #[test]
    fn first_value_wins_and_lists_accumulate() {
        let config = SshdConfig::from_files(
            lines(&[
                (
                    "/etc/ssh/sshd_config",
                    1,
                    "Include /etc/ssh/sshd_config.d/*.conf",
                ),
                (
                    "/etc/ssh/sshd_config.d/50-cloud.conf",
                    1,
                    "PasswordAuthentication no",
                ),
                ("/etc/ssh/sshd_config", 3, "Port 22"),
                ("/etc/ssh/sshd_config", 4, "Port=2222"),
                ("/etc/ssh/sshd_config", 5, "PasswordAuthentication yes"),
                ("/etc/ssh/sshd_config", 6, "AllowUsers alice bob"),
                ("/etc/ssh/sshd_config", 7, "allowusers carol"),
                (
                    "/etc/ssh/sshd_config",
                    8,
                    "ChallengeResponseAuthentication no",
                ),
            ]),
            "alice",
            &[],
        );
        assert_eq!(config.flag("passwordauthentication"), Some(false));
        assert_eq!(config.ports(), vec![22, 2222]);
        assert_eq!(config.all("allowusers"), ["alice", "bob", "carol"]);
        assert_eq!(config.flag("kbdinteractiveauthentication"), Some(false));
        assert_eq!(config.flag("usepam"), Some(false), "compiled-in default");
        assert_eq!(
            config.origin("passwordauthentication").unwrap().location(),
            "/etc/ssh/sshd_config.d/50-cloud.conf:1"
        );
        assert_eq!(config.all("hostkey").len(), 3);
    }

    #[test]
    fn match_blocks_apply_only_to_the_users_they_select() {
        let text = [
            ("/etc/ssh/sshd_config", 1, "PermitRootLogin no"),
            ("/etc/ssh/sshd_config", 2, "Match User deploy,!admin*"),
            ("/etc/ssh/sshd_config", 3, "PasswordAuthentication no"),
            ("/etc/ssh/sshd_config", 4, "Match Group wheel"),
            ("/etc/ssh/sshd_config", 5, "AllowUsers nobody"),
        ];
        let deploy = SshdConfig::from_files(lines(&text), "deploy", &[]);
        assert_eq!(deploy.flag("passwordauthentication"), Some(false));
        assert!(deploy.all("allowusers").is_empty());
        let admin = SshdConfig::from_files(lines(&text), "admin1", &["wheel".into()]);
        assert_eq!(admin.flag("passwordauthentication"), Some(true));
        assert_eq!(admin.all("allowusers"), ["nobody"]);
        assert!(admin.lines[4].in_match);
    }

    #[test]
    fn a_match_block_in_a_drop_in_ends_with_the_drop_in() {
        let config = SshdConfig::from_files(
            lines(&[
                (
                    "/etc/ssh/sshd_config",
                    1,
                    "Include /etc/ssh/sshd_config.d/*.conf",
                ),
                (
                    "/etc/ssh/sshd_config.d/10.conf",
                    1,
                    "Match Address 10.0.0.0/8",
                ),
                ("/etc/ssh/sshd_config.d/10.conf", 2, "Port 2200"),
                ("/etc/ssh/sshd_config", 2, "Port 22"),
            ]),
            "u",
            &[],
        );
        assert_eq!(config.ports(), vec![22]);
    }

    #[test]
    fn listen_addresses_combine_with_ports() {
        let config = SshdConfig::from_files(
            lines(&[
                ("f", 1, "Port 22"),
                ("f", 2, "ListenAddress 10.9.9.9"),
                ("f", 3, "ListenAddress [fe80::1]:2200"),
                ("f", 4, "ListenAddress 192.0.2.1:23"),
            ]),
            "u",
            &[],
        );
        assert_eq!(
            config.listen_addresses(),
            vec![
                ("10.9.9.9".to_string(), 22),
                ("fe80::1".to_string(), 2200),
                ("192.0.2.1".to_string(), 23)
            ]
        );
        let sshd_t = SshdConfig::from_sshd_t(
            &[
                "port 22",
                "listenaddress [::]:22",
                "listenaddress 0.0.0.0:22",
            ],
            Vec::new(),
        );
        assert_eq!(
            sshd_t.listen_addresses(),
            vec![("::".to_string(), 22), ("0.0.0.0".to_string(), 22)]
        );
        let inet6 = SshdConfig::from_files(lines(&[("f", 1, "AddressFamily inet6")]), "u", &[]);
        assert_eq!(inet6.listen_addresses(), vec![("::".to_string(), 22)]);
    }

    #[test]
    fn patterns_follow_openssh() {
        assert!(pattern_list_matches("a*,b?", "alice"));
        assert!(pattern_list_matches("a*,b?", "bo"));
        assert!(!pattern_list_matches("*,!root", "root"));
        assert!(!pattern_list_matches("alice", "alicex"));
    }

    #[test]
    fn globs_match_as_openssh_does() {
        for (pattern, text, matches) in [
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("**", "azureuser", true),
            ("a*r", "azureuser", true),
            ("a*r", "azureusers", false),
            ("*user", "azureuser", true),
            ("?zure*", "azureuser", true),
            ("a?", "a", false),
            ("*a*b", "aaab", true),
            ("*a*b", "aaba", false),
            ("a*b*c", "abcbc", true),
            ("a*b*c", "acb", false),
        ] {
            assert_eq!(
                glob_matches(pattern, text),
                matches,
                "{pattern:?} on {text:?}"
            );
        }
    }

    #[test]
    fn a_pattern_with_many_stars_is_matched_in_polynomial_time() {
        // Retrying every star, 14 stars against 30 letters ran for over two minutes; 24 would
        // not end. Matched as sshd does, it takes microseconds.
        let pattern = format!("{}b", "*a".repeat(24));
        let group = "a".repeat(40);
        let (sender, answer) = std::sync::mpsc::channel();
        std::thread::spawn(move || sender.send(glob_matches(&pattern, &group)));
        let matched = answer.recv_timeout(std::time::Duration::from_secs(20));
        assert_eq!(matched, Ok(false), "the glob did not finish in 20 s");
    }
}
