//! What Azure says about a VM, typed: its network path in (NICs, addresses, the effective
//! security rules and routes), its health, its agent, and its boot log. Like the guest's
//! [`crate::probe::Facts`], each field says what Azure showed; judging is the rules' job, and
//! what could not be read is listed in [`CloudFacts::unread`] rather than guessed.

use serde::Serialize;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Default, Serialize)]
pub struct CloudFacts {
    /// The VM's resource id.
    pub vm: String,
    /// `PowerState/…` without its prefix.
    pub power_state: Option<String>,
    /// `ProvisioningState/…` without its prefix.
    pub provisioning_state: Option<String>,
    /// The guest agent as the instance view reports it (`vmAgent`); `None` when it never reported.
    pub agent: Option<Agent>,
    pub health: Option<Health>,
    pub nics: Vec<Nic>,
    /// The NSGs in force on the primary NIC (its own and its subnet's), with their rules.
    pub security_groups: Vec<SecurityGroup>,
    /// The NIC's effective routes.
    pub routes: Vec<RouteEntry>,
    pub boot_log: Option<BootLog>,
    /// The address SSH clients come from, as the NSG sees them, and how it was learnt.
    pub client: Option<ClientAddress>,
    /// Network Watcher's own verdicts, when the VM's region has a watcher.
    pub watcher: Option<WatcherView>,
    /// What could not be read, and why (permissions, a stopped VM, an old api-version).
    pub unread: Vec<String>,
    /// The SSH public keys the VM was created with (`osProfile.linuxConfiguration.ssh.
    /// publicKeys`): what the owner meant to log in with, kept by Azure whatever the guest lost.
    pub model_keys: Vec<ModelKey>,
}

/// What Network Watcher says of the path in (`ipFlowVerify`) and back (`nextHop`).
#[derive(Debug, Clone, Serialize)]
pub struct WatcherView {
    /// The watcher's resource id.
    pub watcher: String,
    pub flow: Option<FlowVerdict>,
    pub next_hop: Option<NextHop>,
}

/// IP flow verify of an inbound TCP connection from the client to the NIC's private address.
#[derive(Debug, Clone, Serialize)]
pub struct FlowVerdict {
    pub port: u16,
    pub client: String,
    pub allowed: bool,
    /// The rule that decided, as the effective view names it (`securityRules/DenySSH`).
    pub rule: String,
}

impl FlowVerdict {
    pub fn describe(&self) -> String {
        format!(
            "TCP {} from {}: {} by {}",
            self.port,
            self.client,
            if self.allowed { "Allow" } else { "Deny" },
            self.rule
        )
    }
}

/// Where the VM's traffic to `destination` (the client) goes next.
#[derive(Debug, Clone, Serialize)]
pub struct NextHop {
    pub destination: String,
    /// `Internet`, `VnetLocal`, `VirtualAppliance`, `VirtualNetworkGateway`, `None`, …
    pub kind: String,
    pub address: Option<String>,
    /// The route table that decided, or `System Route`.
    pub route_table: Option<String>,
}

impl NextHop {
    pub fn describe(&self) -> String {
        let mut text = format!("to {}: {}", self.destination, self.kind);
        if let Some(address) = &self.address {
            text.push_str(&format!(" {address}"));
        }
        if let Some(table) = &self.route_table {
            text.push_str(&format!(" ({table})"));
        }
        text
    }
}

/// One public key of the VM model: the file Azure's provisioning put it in, and the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelKey {
    pub path: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    /// `Ready`, `Not Ready`, `Unknown`: the first status's display text.
    pub status: String,
    pub message: Option<String>,
    pub version: Option<String>,
}

impl Agent {
    pub fn ready(&self) -> bool {
        self.status.eq_ignore_ascii_case("ready")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// `Available`, `Degraded`, `Unavailable` or `Unknown`.
    pub state: String,
    pub summary: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Nic {
    pub name: String,
    pub id: String,
    pub primary: bool,
    pub private_ips: Vec<String>,
    pub public_ips: Vec<PublicIp>,
    /// The NIC's own NSG, by id.
    pub security_group: Option<String>,
    pub subnet: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicIp {
    pub id: String,
    /// `None` while a dynamic address is not allocated (the VM is deallocated).
    pub address: Option<String>,
    /// Where SSH to this address really goes when it is not `address:22` (a NAT or port
    /// forward in front), from the resource's `lifeline-ssh-endpoint` tag: `HOST:PORT`.
    pub ssh_endpoint: Option<String>,
}

/// Where a security group applies: to the NIC, or to its subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Association {
    Subnet,
    Nic,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecurityGroup {
    pub id: String,
    pub association: Association,
    /// Inbound rules, default rules included, in priority order.
    pub inbound: Vec<SecurityRule>,
}

impl SecurityGroup {
    /// The group's resource group and name, from its id.
    pub fn name(&self) -> &str {
        self.id.rsplit('/').next().unwrap_or(&self.id)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SecurityRule {
    /// As the effective view names it: `securityRules/AllowSSH`, `defaultSecurityRules/…`.
    pub name: String,
    pub priority: u32,
    pub allow: bool,
    /// `Tcp`, `Udp`, `Icmp`, `All` (or `*`).
    pub protocol: String,
    /// Address prefixes, CIDR or service tags, with the tags' expansion where Azure gave one.
    pub sources: Vec<String>,
    /// `LOW-HIGH` ranges (`22-22`, `0-65535`).
    pub ports: Vec<(u16, u16)>,
}

impl SecurityRule {
    /// Whether the rule applies to a TCP connection from `client` to `port`.
    pub fn matches(&self, client: Ipv4Addr, port: u16) -> bool {
        let protocol = self.protocol.to_ascii_lowercase();
        matches!(protocol.as_str(), "tcp" | "all" | "*")
            && self.ports.iter().any(|&(lo, hi)| lo <= port && port <= hi)
            && self.sources.iter().any(|s| source_matches(s, client))
    }

    /// The rule as a person reads it: `securityRules/DenySSH (priority 100, deny tcp 22 from *)`.
    pub fn describe(&self) -> String {
        let ports: Vec<String> = self
            .ports
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            })
            .collect();
        format!(
            "{} (priority {}, {} {} port {} from {})",
            self.name,
            self.priority,
            if self.allow { "allow" } else { "deny" },
            self.protocol.to_ascii_lowercase(),
            ports.join(","),
            self.sources.join(",")
        )
    }
}

/// What the NSGs do to a connection, and which rule decided it in each group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsgVerdict {
    pub allowed: bool,
    /// The first deciding rule that denied, or the last one that allowed.
    pub decided_by: String,
}

impl CloudFacts {
    /// Whether the security groups let a TCP connection from `client` to `port` in: every
    /// group in force must allow it (the subnet's and the NIC's). `None` with no groups read.
    pub fn nsg_verdict(&self, client: Ipv4Addr, port: u16) -> Option<NsgVerdict> {
        if self.security_groups.is_empty() {
            return None;
        }
        let mut last_allow = String::new();
        for group in &self.security_groups {
            let rule = group.inbound.iter().find(|r| r.matches(client, port));
            match rule {
                Some(r) if r.allow => last_allow = format!("{}: {}", group.name(), r.describe()),
                Some(r) => {
                    return Some(NsgVerdict {
                        allowed: false,
                        decided_by: format!("{}: {}", group.name(), r.describe()),
                    });
                }
                // No default rules in the view: Azure's own default denies.
                None => {
                    return Some(NsgVerdict {
                        allowed: false,
                        decided_by: format!("{}: no rule allows it", group.name()),
                    });
                }
            }
        }
        Some(NsgVerdict {
            allowed: true,
            decided_by: last_allow,
        })
    }

    /// Network Watcher's IP flow verdict as evidence, when it was asked about one of `ports`.
    pub fn watcher_flow_evidence(&self, ports: &[u16]) -> Option<String> {
        let flow = self.watcher.as_ref()?.flow.as_ref()?;
        ports
            .contains(&flow.port)
            .then(|| format!("Network Watcher's IP flow verify: {}", flow.describe()))
    }

    /// The client's IPv4 address, when known.
    pub fn client_ip(&self) -> Option<Ipv4Addr> {
        self.client.as_ref()?.address.parse().ok()
    }

    /// The primary NIC (the first, when none says so).
    pub fn primary_nic(&self) -> Option<&Nic> {
        self.nics
            .iter()
            .find(|n| n.primary)
            .or_else(|| self.nics.first())
    }

    /// The NIC's own security group, where lifeline adds its allow rule.
    pub fn nic_security_group(&self) -> Option<&SecurityGroup> {
        self.security_groups
            .iter()
            .find(|g| g.association == Association::Nic)
    }

    /// Where an SSH client reaches the VM: its public IP's tagged endpoint, or the address on
    /// port 22.
    pub fn ssh_address(&self) -> Option<String> {
        let ip = self.public_ip()?;
        ip.ssh_endpoint
            .clone()
            .or_else(|| ip.address.as_ref().map(|a| format!("{a}:22")))
    }

    /// The first public address, if the VM has one.
    pub fn public_ip(&self) -> Option<&PublicIp> {
        self.nics.iter().flat_map(|n| &n.public_ips).next()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientAddress {
    pub address: String,
    /// `--client-ip`, or the source address this machine uses toward the VM.
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteEntry {
    /// `Default`, `User`, `VirtualNetworkGateway`.
    pub source: String,
    /// `Active` or `Invalid`.
    pub state: String,
    pub prefixes: Vec<String>,
    /// `Internet`, `VirtualAppliance`, `None`, `VnetLocal`, `VirtualNetworkGateway`, …
    pub next_hop_type: String,
    pub next_hop_ips: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BootLog {
    /// How many bytes of serial log Azure returned.
    pub bytes: usize,
    /// Lines that show the boot failing, as found (escaped for a terminal).
    pub failures: Vec<String>,
    /// The last lines, for context.
    pub tail: Vec<String>,
}

/// Whether an NSG source (CIDR, address, `*` or a service tag) covers `client`. Service tags
/// other than `*`/`Internet` (which covers every address outside private ranges, and, as
/// Azure's default rules treat the outside world, any address lifeline itself connects from)
/// are matched only through the expansion Azure gives.
fn source_matches(source: &str, client: Ipv4Addr) -> bool {
    let source = source.trim();
    if source == "*" || source.eq_ignore_ascii_case("any") {
        return true;
    }
    if source.eq_ignore_ascii_case("internet") {
        return !client.is_private() || client.is_loopback();
    }
    let (net, bits) = match source.split_once('/') {
        Some((net, bits)) => (net, bits.parse::<u32>().unwrap_or(33)),
        None => (source, 32),
    };
    let Ok(net) = net.parse::<Ipv4Addr>() else {
        return false;
    };
    if bits > 32 {
        return false;
    }
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    u32::from(net) & mask == u32::from(client) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, priority: u32, allow: bool, source: &str, port: u16) -> SecurityRule {
        SecurityRule {
            name: name.into(),
            priority,
            allow,
            protocol: "Tcp".into(),
            sources: vec![source.into()],
            ports: vec![(port, port)],
        }
    }

    fn facts(rules: Vec<SecurityRule>) -> CloudFacts {
        CloudFacts {
            security_groups: vec![SecurityGroup {
                id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/vm1-nsg".into(),
                association: Association::Nic,
                inbound: rules,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_first_matching_rule_by_priority_decides() {
        let client: Ipv4Addr = "198.51.100.7".parse().unwrap();
        let f = facts(vec![
            rule("securityRules/DenySSH", 100, false, "*", 22),
            rule("securityRules/AllowSSH", 1000, true, "*", 22),
        ]);
        let v = f.nsg_verdict(client, 22).unwrap();
        assert!(!v.allowed);
        assert!(v.decided_by.contains("DenySSH"), "{v:?}");
        assert!(f.nsg_verdict(client, 2200).is_some_and(|v| !v.allowed));
        let open = facts(vec![rule(
            "securityRules/AllowSSH",
            1000,
            true,
            "Internet",
            22,
        )]);
        assert!(open.nsg_verdict(client, 22).unwrap().allowed);
    }

    #[test]
    fn sources_match_by_prefix() {
        let ip: Ipv4Addr = "10.1.2.3".parse().unwrap();
        assert!(source_matches("10.0.0.0/8", ip));
        assert!(source_matches("10.1.2.3", ip));
        assert!(!source_matches("10.1.2.4/32", ip));
        assert!(!source_matches("Internet", ip));
        assert!(source_matches("Internet", "127.0.0.1".parse().unwrap()));
        assert!(!source_matches("VirtualNetwork", ip));
        assert!(source_matches("0.0.0.0/0", ip));
    }
}
