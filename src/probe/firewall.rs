//! The guest's packet filters, and whether they let a new SSH connection in.
//!
//! Each front-end is read from what it prints (`iptables-save`, `nft -s list ruleset`,
//! `ufw status verbose`, `firewall-cmd --list-all`, `fail2ban-client status sshd`) and asked
//! one question: does a new TCP connection to port P, from an address we do not know, arriving
//! on the VM's network interface, get through? The answer is three-valued: a rule whose
//! matches we cannot decide (a source address, a rate limit, an address type) makes the
//! verdict [`Verdict::Unknown`] rather than a guess, so a finding is only ever made on a rule
//! that certainly drops that connection.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Firewall {
    /// The filter table of `iptables-save` (None: the tool is absent).
    pub iptables: Option<Xtables>,
    /// `nft -s list ruleset`, parsed into base chains.
    pub nft: Option<Nft>,
    pub ufw: Option<Ufw>,
    /// The default zone of an active firewalld.
    pub firewalld: Option<Zone>,
    /// Addresses fail2ban has banned from sshd.
    pub fail2ban_banned: Option<Vec<String>>,
}

/// How a filter treats a new connection to the SSH port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "by", rename_all = "snake_case")]
pub enum Verdict {
    Open,
    /// Dropped or rejected by this rule (or chain policy).
    Blocked(String),
    Unknown,
}

/// Facts about the connection a verdict is for.
pub struct Packet<'a> {
    pub port: u16,
    /// Interfaces with a global address: a rule limited to one of them applies.
    pub external_interfaces: &'a [String],
}

/// Whether a rule's matches hold for the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Yes,
    No,
    Maybe,
}

impl Match {
    fn and(self, other: Match) -> Match {
        match (self, other) {
            (Match::No, _) | (_, Match::No) => Match::No,
            (Match::Maybe, _) | (_, Match::Maybe) => Match::Maybe,
            _ => Match::Yes,
        }
    }
}

/// How walking a chain ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Accept,
    Block(String),
    Return,
    Unknown,
}

// ------------------------------------------------------------------------------- iptables

#[derive(Debug, Clone, Default, Serialize)]
pub struct Xtables {
    /// Built-in chain policies, e.g. INPUT → DROP; user chains map to "-".
    pub chains: BTreeMap<String, String>,
    pub rules: Vec<XtRule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct XtRule {
    pub chain: String,
    /// The rule as iptables-save printed it, without `-A CHAIN`.
    pub spec: String,
}

impl Xtables {
    /// Reads the `:CHAIN POLICY` and `-A CHAIN …` lines of the filter table.
    pub fn parse(lines: &[&str]) -> Xtables {
        let mut table = Xtables::default();
        for line in lines {
            if let Some(rest) = line.strip_prefix(':') {
                let mut words = rest.split_whitespace();
                if let (Some(chain), Some(policy)) = (words.next(), words.next()) {
                    table.chains.insert(chain.into(), policy.into());
                }
            } else if let Some(rest) = line.strip_prefix("-A ") {
                let (chain, spec) = rest.split_once(' ').unwrap_or((rest, ""));
                table.rules.push(XtRule {
                    chain: chain.into(),
                    spec: spec.into(),
                });
            }
        }
        table
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.chains.values().all(|p| p == "ACCEPT" || p == "-")
    }

    pub fn verdict(&self, packet: &Packet) -> Verdict {
        match self.walk("INPUT", packet, 0) {
            Outcome::Accept | Outcome::Return => Verdict::Open,
            Outcome::Block(by) => Verdict::Blocked(by),
            Outcome::Unknown => Verdict::Unknown,
        }
    }

    fn walk(&self, chain: &str, packet: &Packet, depth: usize) -> Outcome {
        if depth > 8 {
            return Outcome::Unknown;
        }
        let mut uncertain = false;
        for rule in self.rules.iter().filter(|r| r.chain == chain) {
            let (matches, target) = xt_rule_matches(&rule.spec, packet);
            let Some(target) = target else { continue };
            if matches == Match::No {
                continue;
            }
            let sure = matches == Match::Yes;
            let outcome = match target.as_str() {
                "ACCEPT" => Outcome::Accept,
                "DROP" | "REJECT" => Outcome::Block(format!("-A {chain} {}", rule.spec)),
                "RETURN" => Outcome::Return,
                user if self.chains.get(user).is_some_and(|p| p == "-") => {
                    match self.walk(user, packet, depth + 1) {
                        Outcome::Return => continue,
                        other => other,
                    }
                }
                _ => continue,
            };
            match (sure, outcome) {
                (true, Outcome::Block(_)) if uncertain => return Outcome::Unknown,
                (true, outcome) => return outcome,
                // A rule that may or may not apply: a possible drop proves nothing; a possible
                // accept or return makes anything after it uncertain.
                (false, Outcome::Block(_)) => {}
                (false, _) => uncertain = true,
            }
        }
        match self.chains.get(chain).map(String::as_str) {
            Some("DROP") | Some("REJECT") if uncertain => Outcome::Unknown,
            Some(policy @ ("DROP" | "REJECT")) => Outcome::Block(format!(":{chain} {policy}")),
            Some("-") | None if uncertain => Outcome::Unknown,
            Some("-") | None => Outcome::Return,
            _ => Outcome::Accept,
        }
    }

    /// `-s ADDR … -j DROP|REJECT` rules: addresses banned by source (fail2ban, sshguard, by hand).
    pub fn banned_sources(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| r.spec.contains("-j DROP") || r.spec.contains("-j REJECT"))
            .filter_map(|r| {
                let words: Vec<&str> = r.spec.split_whitespace().collect();
                let at = words.iter().position(|w| *w == "-s")?;
                (at == 0 || words[at - 1] != "!")
                    .then(|| words.get(at + 1).map(|s| s.to_string()))?
            })
            .collect()
    }
}

/// Decides an iptables-save rule's matches; returns them with the `-j`/`-g` target.
fn xt_rule_matches(spec: &str, packet: &Packet) -> (Match, Option<String>) {
    let words = shell_words(spec);
    let mut result = Match::Yes;
    let mut negate = false;
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        let arg = words.get(i + 1).map(String::as_str).unwrap_or_default();
        let (m, used) = match word {
            "!" => {
                negate = true;
                i += 1;
                continue;
            }
            "-j" | "-g" => return (result, Some(arg.to_string())),
            "-m" | "--comment" => (Match::Yes, 2),
            "--syn" => (Match::Yes, 1),
            "-p" | "--protocol" => (bool_match(matches!(arg, "tcp" | "6")), 2),
            "--dport" | "--destination-port" => (bool_match(port_in(arg, packet.port)), 2),
            "--dports" | "--destination-ports" | "--ports" => (
                bool_match(arg.split(',').any(|p| port_in(p, packet.port))),
                2,
            ),
            "--state" | "--ctstate" => (bool_match(arg.split(',').any(|s| s == "NEW")), 2),
            "-i" | "--in-interface" => (interface_match(arg, packet), 2),
            "-s" | "--source" | "-d" | "--destination" => {
                let anywhere = matches!(arg, "0.0.0.0/0" | "::/0");
                (if anywhere { Match::Yes } else { Match::Maybe }, 2)
            }
            // Anything else (rate limits, address types, sets, owners) may or may not hold.
            _ if word.starts_with('-') => (Match::Maybe, 2),
            _ => (Match::Yes, 1),
        };
        result = result.and(if negate { invert(m) } else { m });
        negate = false;
        i += used;
    }
    (result, None)
}

fn bool_match(yes: bool) -> Match {
    if yes { Match::Yes } else { Match::No }
}

fn invert(m: Match) -> Match {
    match m {
        Match::Yes => Match::No,
        Match::No => Match::Yes,
        Match::Maybe => Match::Maybe,
    }
}

/// `22`, `1:1024` (iptables) or `1-1024` (nft).
fn port_in(spec: &str, port: u16) -> bool {
    let spec = spec.trim();
    match spec.split_once([':', '-']) {
        Some((low, high)) => {
            let low = low.parse().unwrap_or(0);
            let high = high.parse().unwrap_or(u16::MAX);
            (low..=high).contains(&port)
        }
        None => spec.parse::<u16>().is_ok_and(|p| p == port),
    }
}

fn interface_match(name: &str, packet: &Packet) -> Match {
    let name = name.trim_matches('"');
    if name == "lo" {
        return Match::No;
    }
    let matches = |iface: &String| match name.strip_suffix(['+', '*']) {
        Some(prefix) => iface.starts_with(prefix),
        None => iface == name,
    };
    if packet.external_interfaces.iter().any(matches) {
        Match::Yes
    } else {
        Match::Maybe
    }
}

/// Splits on blanks, keeping double-quoted strings (iptables comments) whole.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

// ------------------------------------------------------------------------------- nftables

#[derive(Debug, Clone, Default, Serialize)]
pub struct Nft {
    pub chains: Vec<NftChain>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NftChain {
    /// `family name` of the table, e.g. `inet filter`.
    pub table: String,
    pub name: String,
    /// The hook of a base chain (`input`, `forward`, …); None for a regular chain.
    pub hook: Option<String>,
    pub policy: Option<String>,
    pub rules: Vec<String>,
}

impl Nft {
    pub fn parse(lines: &[&str]) -> Nft {
        let mut nft = Nft::default();
        let mut table = String::new();
        let mut chain: Option<NftChain> = None;
        // Braces opened by sets, maps and multi-line elements inside a table.
        let mut skipping = 0i32;
        for raw in lines {
            let line = raw.trim();
            let opens = line.matches('{').count() as i32;
            let closes = line.matches('}').count() as i32;
            if skipping > 0 {
                skipping += opens - closes;
                continue;
            }
            if let Some(rest) = line.strip_prefix("table ") {
                table = rest.trim_end_matches('{').trim().to_string();
            } else if let Some(rest) = line.strip_prefix("chain ") {
                chain = Some(NftChain {
                    table: table.clone(),
                    name: rest.trim_end_matches('{').trim().to_string(),
                    ..NftChain::default()
                });
            } else if line == "}" {
                if let Some(done) = chain.take() {
                    nft.chains.push(done);
                }
            } else if let Some(current) = chain.as_mut() {
                if line.starts_with("type ") && line.contains(" hook ") {
                    current.hook = word_after(line, "hook");
                    current.policy =
                        word_after(line, "policy").map(|p| p.trim_end_matches(';').into());
                } else if !line.is_empty() {
                    current.rules.push(line.to_string());
                }
            } else if opens > closes {
                // A set, map, flowtable or counter object at table level.
                skipping = opens - closes;
            }
        }
        nft
    }

    /// The verdict for IPv4 traffic: every base chain on the input hook of an `ip` or `inet`
    /// table must let the packet through. `skip_tables` are judged elsewhere (the tables
    /// iptables-nft and firewalld manage).
    pub fn verdict(&self, packet: &Packet, skip_tables: &[&str]) -> Verdict {
        let mut unknown = false;
        for chain in self.chains.iter().filter(|c| {
            c.hook.as_deref() == Some("input")
                && (c.table.starts_with("ip ") || c.table.starts_with("inet "))
                && !skip_tables.contains(&c.table.as_str())
        }) {
            match self.walk(chain, packet, 0) {
                Outcome::Block(by) => return Verdict::Blocked(by),
                Outcome::Unknown => unknown = true,
                Outcome::Accept | Outcome::Return => {}
            }
        }
        if unknown {
            Verdict::Unknown
        } else {
            Verdict::Open
        }
    }

    fn walk(&self, chain: &NftChain, packet: &Packet, depth: usize) -> Outcome {
        if depth > 8 {
            return Outcome::Unknown;
        }
        let mut uncertain = false;
        for rule in &chain.rules {
            let (matches, verdict) = nft_rule_matches(rule, packet);
            let Some(verdict) = verdict else { continue };
            if matches == Match::No {
                continue;
            }
            let sure = matches == Match::Yes;
            let outcome = match verdict.as_str() {
                "accept" => Outcome::Accept,
                "drop" | "reject" => {
                    Outcome::Block(format!("{} {}: {rule}", chain.table, chain.name))
                }
                "return" => Outcome::Return,
                jump => {
                    let name = jump.rsplit(' ').next().unwrap_or_default();
                    let Some(target) = self
                        .chains
                        .iter()
                        .find(|c| c.table == chain.table && c.name == name)
                    else {
                        continue;
                    };
                    match self.walk(target, packet, depth + 1) {
                        Outcome::Return => continue,
                        other => other,
                    }
                }
            };
            match (sure, outcome) {
                (true, Outcome::Block(_)) if uncertain => return Outcome::Unknown,
                (true, outcome) => return outcome,
                (false, Outcome::Block(_)) => {}
                (false, _) => uncertain = true,
            }
        }
        match chain.policy.as_deref() {
            Some("drop") if uncertain => Outcome::Unknown,
            Some("drop") => Outcome::Block(format!("{} {}: policy drop", chain.table, chain.name)),
            Some(_) => Outcome::Accept,
            None if uncertain => Outcome::Unknown,
            None => Outcome::Return,
        }
    }
}

fn word_after(line: &str, key: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    words.find(|w| *w == key)?;
    words.next().map(|w| w.trim_end_matches(';').to_string())
}

/// Decides an nft rule's matches; returns them with its verdict statement.
fn nft_rule_matches(rule: &str, packet: &Packet) -> (Match, Option<String>) {
    let words = shell_words(&expand_sets(rule));
    let mut result = Match::Yes;
    let mut i = 0;
    while i < words.len() {
        let w = |k: usize| words.get(i + k).map(String::as_str).unwrap_or_default();
        let (m, used) = match (w(0), w(1)) {
            ("accept" | "drop" | "return", _) => return (result, Some(w(0).into())),
            ("reject", _) => return (result, Some("reject".into())),
            ("jump" | "goto", name) => return (result, Some(format!("jump {name}"))),
            ("counter" | "log" | "comment" | "continue", _) => (Match::Yes, 1),
            ("packets" | "bytes" | "prefix" | "level", _) => (Match::Yes, 2),
            ("tcp", "dport") => value_match(&words, i + 2, |v| port_in(v, packet.port)),
            ("udp" | "icmp" | "icmpv6" | "sctp", _) => (Match::No, 3),
            ("meta", "l4proto") | ("ip", "protocol") | ("ip6", "nexthdr") => {
                value_match(&words, i + 2, |v| v == "tcp" || v == "6")
            }
            ("ct", "state") => value_match(&words, i + 2, |v| v.split(',').any(|s| s == "new")),
            ("iif" | "iifname", _) => {
                let (negated, name) = if w(1) == "!=" {
                    (true, w(2))
                } else {
                    (false, w(1))
                };
                let m = interface_match(name, packet);
                (
                    if negated { invert(m) } else { m },
                    if negated { 3 } else { 2 },
                )
            }
            _ => (Match::Maybe, 1),
        };
        result = result.and(m);
        i += used;
    }
    (result, None)
}

/// Matches `value`, `!= value` or a `{ a, b }` set (expanded to `a,b`) at `at`; returns the
/// result and the number of words used counting the two keyword words before `at`.
fn value_match(words: &[String], at: usize, pred: impl Fn(&str) -> bool) -> (Match, usize) {
    let (negated, at) = match words.get(at).map(String::as_str) {
        Some("!=") => (true, at + 1),
        _ => (false, at),
    };
    let value = words.get(at).map(String::as_str).unwrap_or_default();
    let yes = value.split(',').any(|v| pred(v.trim()));
    let m = if yes != negated {
        Match::Yes
    } else {
        Match::No
    };
    (m, 3 + usize::from(negated))
}

/// `{ 22, 2222 }` → `22,2222`, so a set is one word.
fn expand_sets(rule: &str) -> String {
    let mut out = String::with_capacity(rule.len());
    let mut in_set = false;
    for c in rule.chars() {
        match c {
            '{' => in_set = true,
            '}' => in_set = false,
            c if in_set && c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

// ------------------------------------------------------------------------------------ ufw

#[derive(Debug, Clone, Default, Serialize)]
pub struct Ufw {
    pub active: bool,
    /// `deny`, `reject` or `allow`, for incoming traffic.
    pub default_incoming: Option<String>,
    /// (to, action) per rule, e.g. ("22/tcp", "ALLOW IN").
    pub rules: Vec<(String, String)>,
}

impl Ufw {
    pub fn parse(lines: &[&str]) -> Ufw {
        let mut ufw = Ufw::default();
        for line in lines {
            if let Some(status) = line.strip_prefix("Status:") {
                ufw.active = status.trim() == "active";
            } else if let Some(default) = line.strip_prefix("Default:") {
                ufw.default_incoming = default
                    .split(',')
                    .find(|p| p.contains("(incoming)"))
                    .and_then(|p| p.split_whitespace().next())
                    .map(str::to_string);
            } else if let Some(at) = ["ALLOW", "DENY", "REJECT", "LIMIT"]
                .iter()
                .filter_map(|a| line.find(&format!(" {a}")))
                .min()
            {
                let to = line[..at].trim().to_string();
                let action = line[at..]
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                if !to.is_empty() && !to.starts_with("To") {
                    ufw.rules.push((to, action));
                }
            }
        }
        ufw
    }

    pub fn verdict(&self, port: u16) -> Verdict {
        if !self.active {
            return Verdict::Open;
        }
        for (to, action) in &self.rules {
            let to_port = to.split_whitespace().next().unwrap_or_default();
            let covers = if to_port == "OpenSSH" {
                port == 22
            } else {
                !to_port.ends_with("/udp")
                    && to_port
                        .split('/')
                        .next()
                        .is_some_and(|p| p.split(',').any(|p| port_in(p, port)))
            };
            if covers && !action.ends_with("OUT") {
                return if action.starts_with("ALLOW") || action.starts_with("LIMIT") {
                    Verdict::Open
                } else {
                    Verdict::Blocked(format!("ufw rule: {to} {action}"))
                };
            }
        }
        match self.default_incoming.as_deref() {
            Some("allow") | None => Verdict::Open,
            Some(policy) => Verdict::Blocked(format!("ufw default {policy} (incoming)")),
        }
    }
}

// ------------------------------------------------------------------------------ firewalld

#[derive(Debug, Clone, Default, Serialize)]
pub struct Zone {
    pub name: String,
    pub target: String,
    pub services: Vec<String>,
    pub ports: Vec<String>,
    pub rich_rules: Vec<String>,
}

impl Zone {
    pub fn parse(lines: &[&str]) -> Zone {
        let mut zone = Zone::default();
        let mut in_rich = false;
        for line in lines {
            let trimmed = line.trim();
            let list = |key: &str| -> Option<Vec<String>> {
                trimmed
                    .strip_prefix(key)
                    .map(|v| v.split_whitespace().map(str::to_string).collect())
            };
            if !line.starts_with(' ') && !trimmed.is_empty() {
                zone.name = trimmed.split_whitespace().next().unwrap_or_default().into();
            } else if let Some(target) = trimmed.strip_prefix("target:") {
                zone.target = target.trim().into();
            } else if let Some(services) = list("services:") {
                zone.services = services;
            } else if let Some(ports) = list("ports:") {
                zone.ports = ports;
            } else if trimmed.starts_with("rich rules:") {
                in_rich = true;
            } else if in_rich && !trimmed.is_empty() {
                zone.rich_rules.push(trimmed.into());
            }
        }
        zone
    }

    pub fn verdict(&self, port: u16) -> Verdict {
        let allowed = self.target.eq_ignore_ascii_case("accept")
            || (port == 22 && self.services.iter().any(|s| s == "ssh"))
            || self.ports.iter().any(|p| {
                p.strip_suffix("/tcp")
                    .is_some_and(|range| port_in(range, port))
            });
        if allowed {
            Verdict::Open
        } else if !self.rich_rules.is_empty() {
            Verdict::Unknown
        } else {
            Verdict::Blocked(format!(
                "firewalld zone {}: services {:?}, ports {:?}",
                self.name, self.services, self.ports
            ))
        }
    }
}

/// The banned addresses in `fail2ban-client status sshd`.
pub fn parse_fail2ban(lines: &[&str]) -> Vec<String> {
    lines
        .iter()
        .find_map(|l| l.split_once("Banned IP list:"))
        .map(|(_, ips)| ips.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(port: u16) -> Packet<'static> {
        static IFACES: [String; 0] = [];
        Packet {
            port,
            external_interfaces: &IFACES,
        }
    }

    #[test]
    fn an_iptables_drop_on_the_port_blocks() {
        let t = Xtables::parse(&[
            ":INPUT ACCEPT [0:0]",
            "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            "-A INPUT -i lo -j ACCEPT",
            "-A INPUT -p tcp -m tcp --dport 22 -j DROP",
        ]);
        assert_eq!(
            t.verdict(&packet(22)),
            Verdict::Blocked("-A INPUT -p tcp -m tcp --dport 22 -j DROP".into())
        );
        assert_eq!(t.verdict(&packet(2222)), Verdict::Open);
    }

    #[test]
    fn a_drop_policy_blocks_unless_the_port_is_accepted() {
        let t = Xtables::parse(&[
            ":INPUT DROP [0:0]",
            ":OPENPORTS - [0:0]",
            "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT",
            "-A INPUT -j OPENPORTS",
            "-A OPENPORTS -p tcp -m multiport --dports 80,22 -j ACCEPT",
        ]);
        assert_eq!(t.verdict(&packet(22)), Verdict::Open);
        assert_eq!(
            t.verdict(&packet(2222)),
            Verdict::Blocked(":INPUT DROP".into())
        );
    }

    #[test]
    fn a_source_allowlist_makes_the_verdict_unknown() {
        let t = Xtables::parse(&[
            ":INPUT ACCEPT [0:0]",
            "-A INPUT -s 203.0.113.0/24 -p tcp --dport 22 -j ACCEPT",
            "-A INPUT -p tcp --dport 22 -j REJECT --reject-with icmp-port-unreachable",
        ]);
        assert_eq!(t.verdict(&packet(22)), Verdict::Unknown);
        let bans = Xtables::parse(&[
            ":f2b-sshd - [0:0]",
            "-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd",
            "-A f2b-sshd -s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable",
            "-A f2b-sshd -j RETURN",
        ]);
        assert_eq!(bans.verdict(&packet(22)), Verdict::Open);
        assert_eq!(bans.banned_sources(), vec!["198.51.100.7/32".to_string()]);
    }

    #[test]
    fn nft_input_chains_are_judged_with_sets_and_jumps() {
        let nft = Nft::parse(&[
            "table inet filter {",
            "\tset blocked {",
            "\t\ttype ipv4_addr",
            "\t\telements = { 192.0.2.1,",
            "\t\t\t     192.0.2.2 }",
            "\t}",
            "\tchain input {",
            "\t\ttype filter hook input priority filter; policy drop;",
            "\t\tct state established,related accept",
            "\t\tiif \"lo\" accept",
            "\t\tjump services",
            "\t}",
            "\tchain services {",
            "\t\ttcp dport { 80, 443 } accept",
            "\t}",
            "}",
        ]);
        assert_eq!(
            nft.verdict(&packet(22), &[]),
            Verdict::Blocked("inet filter input: policy drop".into())
        );
        assert_eq!(nft.verdict(&packet(443), &[]), Verdict::Open);
        assert_eq!(nft.verdict(&packet(22), &["inet filter"]), Verdict::Open);
        let direct = Nft::parse(&[
            "table ip filter {",
            "\tchain INPUT {",
            "\t\ttype filter hook input priority filter; policy accept;",
            "\t\tmeta l4proto tcp tcp dport 22 counter drop",
            "\t}",
            "}",
        ]);
        assert!(matches!(
            direct.verdict(&packet(22), &[]),
            Verdict::Blocked(_)
        ));
    }

    #[test]
    fn ufw_and_firewalld_read_their_status() {
        let ufw = Ufw::parse(&[
            "Status: active",
            "Logging: on (low)",
            "Default: deny (incoming), allow (outgoing), disabled (routed)",
            "New profiles: skip",
            "",
            "To                         Action      From",
            "--                         ------      ----",
            "80/tcp                     ALLOW IN    Anywhere",
            "22/tcp                     DENY IN     Anywhere",
        ]);
        assert_eq!(
            ufw.verdict(22),
            Verdict::Blocked("ufw rule: 22/tcp DENY IN".into())
        );
        assert_eq!(ufw.verdict(80), Verdict::Open);
        assert!(matches!(ufw.verdict(2222), Verdict::Blocked(_)));
        let zone = Zone::parse(&[
            "public (active)",
            "  target: default",
            "  services: cockpit dhcpv6-client ssh",
            "  ports: 8080-8090/tcp",
            "  rich rules: ",
        ]);
        assert_eq!(zone.verdict(22), Verdict::Open);
        assert_eq!(zone.verdict(8085), Verdict::Open);
        assert!(matches!(zone.verdict(2222), Verdict::Blocked(_)));
    }
}
