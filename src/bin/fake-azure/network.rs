//! A VM's network as Microsoft.Network describes it: one NIC in a subnet, the NIC's network
//! security group (Azure's default rules and the `default-allow-ssh` rule `az vm create` adds),
//! an optional public IP, and the routes in force. The security group is not only served: the
//! SSH front ([`crate::front`]) enforces it on every connection.

use serde_json::{Value, json};
use std::net::Ipv4Addr;

pub const VNET_PREFIX: &str = "10.0.0.0/16";

/// One security rule, as the REST reference's `SecurityRulePropertiesFormat` has it.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub priority: u32,
    pub allow: bool,
    pub inbound: bool,
    /// `Tcp`, `Udp`, `Icmp`, `Esp`, `Ah` or `*`.
    pub protocol: String,
    pub sources: Vec<String>,
    /// Ranges as given: `22`, `1000-2000`, `*`.
    pub ports: Vec<String>,
    pub description: Option<String>,
}

impl Rule {
    /// Reads a PUT body's `properties`; `Err` is the reference's error code and message.
    pub fn from_properties(name: &str, p: &Value) -> Result<Rule, (&'static str, String)> {
        let invalid = |m: String| ("SecurityRuleInvalidParameter", m);
        let text = |k: &str| p[k].as_str().map(str::to_string);
        let priority = p["priority"]
            .as_u64()
            .filter(|n| (100..=4096).contains(n))
            .ok_or_else(|| {
                (
                    "SecurityRuleInvalidPriority",
                    format!("Security rule {name} has invalid Priority. Value provided: {}. Allowed range 100-4096.", p["priority"]),
                )
            })? as u32;
        let access = text("access").ok_or_else(|| {
            invalid(format!(
                "Security rule {name} has no access (Allow or Deny)."
            ))
        })?;
        let direction = text("direction").ok_or_else(|| {
            invalid(format!(
                "Security rule {name} has no direction (Inbound or Outbound)."
            ))
        })?;
        let protocol = text("protocol")
            .ok_or_else(|| invalid(format!("Security rule {name} has no protocol.")))?;
        let list = |one: &str, many: &str| -> Vec<String> {
            let mut v: Vec<String> = p[many]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect();
            if let Some(s) = text(one) {
                v.push(s);
            }
            v
        };
        let sources = list("sourceAddressPrefix", "sourceAddressPrefixes");
        let ports = list("destinationPortRange", "destinationPortRanges");
        if sources.is_empty() || ports.is_empty() {
            return Err(invalid(format!(
                "Security rule {name} needs a source address prefix and a destination port range."
            )));
        }
        if ports.iter().any(|p| port_range(p).is_none()) {
            return Err(invalid(format!(
                "Security rule {name} has an invalid destination port range {ports:?}."
            )));
        }
        Ok(Rule {
            name: name.to_string(),
            priority,
            allow: access.eq_ignore_ascii_case("allow"),
            inbound: direction.eq_ignore_ascii_case("inbound"),
            protocol,
            sources,
            ports,
            description: text("description"),
        })
    }

    fn allow_inbound(name: &str, priority: u32, source: &str, ports: &str) -> Rule {
        Rule {
            name: name.into(),
            priority,
            allow: true,
            inbound: true,
            protocol: "*".into(),
            sources: vec![source.into()],
            ports: vec![ports.into()],
            description: None,
        }
    }

    /// Azure's default inbound rules, which every group has and no one can remove.
    pub fn defaults() -> Vec<Rule> {
        let mut deny = Rule::allow_inbound("DenyAllInBound", 65500, "*", "*");
        deny.allow = false;
        vec![
            Rule::allow_inbound("AllowVnetInBound", 65000, "VirtualNetwork", "*"),
            Rule::allow_inbound(
                "AllowAzureLoadBalancerInBound",
                65001,
                "AzureLoadBalancer",
                "*",
            ),
            deny,
        ]
    }

    /// What `az vm create` adds for a Linux VM: SSH from anywhere.
    pub fn default_allow_ssh() -> Rule {
        let mut rule = Rule::allow_inbound("default-allow-ssh", 1000, "*", "22");
        rule.protocol = "Tcp".into();
        rule
    }

    fn matches(&self, client: Ipv4Addr, port: u16) -> bool {
        self.inbound
            && matches!(self.protocol.to_ascii_lowercase().as_str(), "tcp" | "*")
            && self
                .ports
                .iter()
                .filter_map(|p| port_range(p))
                .any(|(lo, hi)| lo <= port && port <= hi)
            && self.sources.iter().any(|s| source_covers(s, client))
    }

    /// The resource (`…/securityRules/NAME`) as GET and PUT answer it.
    pub fn to_json(&self, group_id: &str, kind: &str) -> Value {
        let mut properties = json!({
            "provisioningState": "Succeeded",
            "priority": self.priority,
            "access": if self.allow { "Allow" } else { "Deny" },
            "direction": if self.inbound { "Inbound" } else { "Outbound" },
            "protocol": self.protocol,
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
        });
        one_or_many(&mut properties, "sourceAddressPrefix", &self.sources);
        one_or_many(&mut properties, "destinationPortRange", &self.ports);
        if let Some(d) = &self.description {
            properties["description"] = json!(d);
        }
        json!({
            "name": self.name,
            "id": format!("{group_id}/{kind}/{}", self.name),
            "type": format!("Microsoft.Network/networkSecurityGroups/{kind}"),
            "properties": properties,
        })
    }

    /// The rule as `effectiveNetworkSecurityGroups` lists it: ranges expanded to `LOW-HIGH`,
    /// service tags with their expansion.
    pub fn to_effective_json(&self, kind: &str) -> Value {
        let ranges: Vec<String> = self
            .ports
            .iter()
            .filter_map(|p| port_range(p))
            .map(|(lo, hi)| format!("{lo}-{hi}"))
            .collect();
        let mut rule = json!({
            "name": format!("{kind}/{}", self.name),
            "protocol": match self.protocol.as_str() { "*" => "All".to_string(), p => p.to_string() },
            "sourcePortRange": "0-65535",
            "destinationAddressPrefix": "0.0.0.0/0",
            "access": if self.allow { "Allow" } else { "Deny" },
            "priority": self.priority,
            "direction": if self.inbound { "Inbound" } else { "Outbound" },
            "sourcePortRanges": [],
            "destinationPortRanges": [],
            "sourceAddressPrefixes": [],
            "destinationAddressPrefixes": [],
        });
        if ranges.len() == 1 {
            rule["destinationPortRange"] = json!(ranges[0]);
        } else {
            rule["destinationPortRanges"] = json!(ranges);
        }
        if self.sources.len() == 1 {
            let source = &self.sources[0];
            rule["sourceAddressPrefix"] = json!(if source == "*" { "0.0.0.0/0" } else { source });
            if source.eq_ignore_ascii_case("VirtualNetwork") {
                rule["expandedSourceAddressPrefix"] = json!([VNET_PREFIX]);
            }
        } else {
            rule["sourceAddressPrefixes"] = json!(self.sources);
        }
        rule
    }
}

fn one_or_many(properties: &mut Value, single: &str, values: &[String]) {
    if let [one] = values {
        properties[single] = json!(one);
    } else {
        properties[format!("{single}s")] = json!(values);
    }
}

/// `22`, `1000-2000` or `*`.
pub fn port_range(p: &str) -> Option<(u16, u16)> {
    let p = p.trim();
    if p == "*" {
        return Some((0, u16::MAX));
    }
    match p.split_once('-') {
        Some((lo, hi)) => {
            let (lo, hi) = (lo.parse().ok()?, hi.parse().ok()?);
            (lo <= hi).then_some((lo, hi))
        }
        None => p.parse().ok().map(|n| (n, n)),
    }
}

/// Whether a source prefix covers a client. The fake's clients all come from outside the
/// virtual network (over loopback), which the `Internet` tag covers, as `*` does.
fn source_covers(source: &str, client: Ipv4Addr) -> bool {
    if source == "*" || source.eq_ignore_ascii_case("Internet") {
        return true;
    }
    let (net, bits) = source.split_once('/').unwrap_or((source, "32"));
    match (net.parse::<Ipv4Addr>(), bits.parse::<u32>()) {
        (Ok(net), Ok(bits)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(net) & mask == u32::from(client) & mask
        }
        // Other service tags (VirtualNetwork, AzureLoadBalancer) never cover an outside client.
        _ => false,
    }
}

/// A user route in the VM subnet's route table.
#[derive(Debug, Clone)]
pub struct UserRoute {
    pub prefix: String,
    /// `VirtualAppliance`, `None`, `Internet`, `VnetLocal`, `VirtualNetworkGateway`.
    pub next_hop_type: String,
    pub next_hop_ip: Option<String>,
}

/// The public IP: its address, and the loopback port where the fake's SSH front serves it.
#[derive(Debug, Clone)]
pub struct PublicIp {
    pub address: Ipv4Addr,
    pub front_port: Option<u16>,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub private_ip: Ipv4Addr,
    pub public_ip: Option<PublicIp>,
    /// The NIC's security group's own rules (the defaults are added when evaluating).
    pub rules: Vec<Rule>,
    pub routes: Vec<UserRoute>,
}

impl Network {
    pub fn new(index: u8, public: bool) -> Network {
        Network {
            private_ip: Ipv4Addr::new(10, 0, 0, 4 + index),
            public_ip: public.then(|| PublicIp {
                address: documentation_address(index),
                front_port: None,
            }),
            rules: vec![Rule::default_allow_ssh()],
            routes: Vec::new(),
        }
    }

    /// Whether the NSG lets a TCP connection from `client` to `port` in: the rule of highest
    /// priority (lowest number) that matches decides, the defaults last.
    pub fn admits(&self, client: Ipv4Addr, port: u16) -> bool {
        self.decide(client, port).0
    }

    /// [`Network::admits`] with the rule that decided, as the effective view names it
    /// (`securityRules/AllowSSH`, `defaultSecurityRules/DenyAllInBound`).
    pub fn decide(&self, client: Ipv4Addr, port: u16) -> (bool, String) {
        let own = self.rules.iter().map(|r| (r, "securityRules"));
        let defaults = Rule::defaults();
        let mut rules: Vec<(&Rule, &str)> = own
            .chain(defaults.iter().map(|r| (r, "defaultSecurityRules")))
            .collect();
        rules.sort_by_key(|(r, _)| r.priority);
        match rules.iter().find(|(r, _)| r.matches(client, port)) {
            Some((r, kind)) => (r.allow, format!("{kind}/{}", r.name)),
            None => (false, "defaultSecurityRules/DenyAllInBound".into()),
        }
    }

    /// Where traffic to `destination` goes, by the longest matching prefix of the effective
    /// routes (a user route replaces the default of the same prefix): its next hop's type and
    /// address, and whether a user route decided.
    pub fn next_hop(&self, destination: Ipv4Addr) -> (String, Option<String>, bool) {
        let defaults = [(VNET_PREFIX, "VnetLocal"), ("0.0.0.0/0", "Internet")];
        let mut best: Option<(u32, String, Option<String>, bool)> = None;
        let candidates = self
            .routes
            .iter()
            .map(|r| {
                (
                    r.prefix.as_str(),
                    r.next_hop_type.clone(),
                    r.next_hop_ip.clone(),
                    true,
                )
            })
            .chain(
                defaults
                    .iter()
                    .map(|(p, t)| (*p, t.to_string(), None, false)),
            );
        for (prefix, kind, ip, user) in candidates {
            let bits = prefix
                .split_once('/')
                .and_then(|(_, b)| b.parse().ok())
                .unwrap_or(32);
            let better = best.as_ref().is_none_or(|(b, ..)| bits > *b);
            if source_covers(prefix, destination) && better {
                best = Some((bits, kind, ip, user));
            }
        }
        match best {
            Some((_, kind, ip, user)) => (kind, ip, user),
            None => ("None".into(), None, false),
        }
    }
}

/// Public addresses come from TEST-NET-3 (RFC 5737), which no real host has: the address
/// changes on redeploy as a real dynamic IP does, and the tag on the resource says where the
/// fake really serves it.
pub fn documentation_address(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(203, 0, 113, 10 + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_decides_and_defaults_deny() {
        let client = Ipv4Addr::LOCALHOST;
        let mut n = Network::new(0, true);
        assert!(n.admits(client, 22));
        assert!(!n.admits(client, 2200));
        let deny = Rule::from_properties(
            "DenySSH",
            &json!({"priority": 200, "access": "Deny", "direction": "Inbound", "protocol": "Tcp",
                    "sourceAddressPrefix": "*", "destinationPortRange": "22"}),
        )
        .unwrap();
        n.rules.push(deny);
        assert!(!n.admits(client, 22));
        let allow_me = Rule::from_properties(
            "AllowMe",
            &json!({"priority": 150, "access": "Allow", "direction": "Inbound", "protocol": "Tcp",
                    "sourceAddressPrefix": "127.0.0.1/32", "destinationPortRange": "22"}),
        )
        .unwrap();
        n.rules.push(allow_me);
        assert!(n.admits(client, 22));
        assert!(!n.admits(Ipv4Addr::new(127, 0, 0, 2), 22));
    }

    #[test]
    fn rejects_rules_the_reference_rejects() {
        let bad = json!({"priority": 50, "access": "Allow", "direction": "Inbound", "protocol": "Tcp",
                         "sourceAddressPrefix": "*", "destinationPortRange": "22"});
        assert_eq!(
            Rule::from_properties("x", &bad).unwrap_err().0,
            "SecurityRuleInvalidPriority"
        );
        assert!(port_range("2000-1000").is_none());
    }
}
