//! Reads a VM's [`CloudFacts`] through ARM with as few calls as the facts allow, all but the
//! first at once: the VM with its instance view (power, provisioning, agent, NICs) comes first
//! because it names the NIC; then the NIC, its public addresses, its effective security
//! rules and routes (two long-running POSTs), resource health, the boot log and the region's
//! Network Watcher, concurrently; then the watcher's two checks ([`super::watcher`]).
//! A call that fails leaves its facts empty and says why in `unread`; only the first is fatal.
//! docs/azure-arm.md lists every call and its api-version.

use super::arm::{ArmClient, ArmError, COMPUTE_API};
use super::facts::{
    Agent, Association, BootLog, ClientAddress, CloudFacts, Health, ModelKey, Nic, PublicIp,
    RouteEntry, SecurityGroup, SecurityRule,
};
use super::target::VmTarget;
use azure_core::http::{Method, Url};
use serde_json::Value;
use std::net::IpAddr;
use std::time::Duration;

pub const NETWORK_API: &str = "2024-05-01";
pub const HEALTH_API: &str = "2020-05-01";
/// How long the effective-rules and effective-routes operations may take.
const VIEW_LIMIT: Duration = Duration::from_secs(120);
/// The tag on a public IP that says where SSH to it really goes (a NAT or port forward).
pub const SSH_ENDPOINT_TAG: &str = "lifeline-ssh-endpoint";

/// Reads what Azure knows about `target`. `client_ip` is the address SSH clients come from
/// as Azure sees it, when the user knows it (`--client-ip`).
pub async fn observe(
    arm: &ArmClient,
    target: &VmTarget,
    client_ip: Option<IpAddr>,
) -> Result<CloudFacts, ArmError> {
    let vm_path = target.resource_path();
    let vm = arm
        .get(
            &format!("{vm_path}?$expand=instanceView"),
            COMPUTE_API,
            &format!("read {target}"),
        )
        .await?;
    let mut facts = from_vm(&vm);
    facts.vm = format!("/{vm_path}");
    let nic_id = facts.nics.first().map(|n| n.id.clone());
    let health_path =
        format!("{vm_path}/providers/Microsoft.ResourceHealth/availabilityStatuses/current");
    let location = vm["location"].as_str().unwrap_or_default().to_string();
    let (health, boot_log, network, watcher) = tokio::join!(
        arm.get(&health_path, HEALTH_API, "read the VM's resource health",),
        boot_log(arm, &vm_path),
        async {
            match &nic_id {
                Some(id) => Some(network(arm, id).await),
                None => None,
            }
        },
        super::watcher::find(arm, &target.subscription, &location),
    );
    match health {
        Ok(v) => facts.health = Some(health_of(&v)),
        Err(e) => facts.unread.push(format!("resource health: {e}")),
    }
    match boot_log {
        Ok(log) => facts.boot_log = log,
        Err(e) => facts.unread.push(format!("boot diagnostics log: {e}")),
    }
    if let Some(network) = network {
        facts.nics = network.nics;
        facts.security_groups = network.security_groups;
        facts.routes = network.routes;
        facts.unread.extend(network.unread);
    }
    facts.client = client_address(&facts, client_ip);
    match watcher {
        Ok(Some(watcher)) => {
            let mut unread = Vec::new();
            facts.watcher = Some(super::watcher::check(arm, &watcher, &facts, &mut unread).await);
            facts.unread.extend(unread);
        }
        Ok(None) => facts.unread.push(format!(
            "Network Watcher: none in region {location}, so its IP flow verify and next hop were not asked; the NSG and routes are judged from the effective rules and routes alone"
        )),
        Err(e) => facts.unread.push(format!("Network Watcher: {e}")),
    }
    Ok(facts)
}

/// The id of the security group on the VM's primary NIC, if it has one (two reads).
pub async fn nic_security_group(
    arm: &ArmClient,
    target: &VmTarget,
) -> Result<Option<String>, ArmError> {
    let vm = arm
        .get(
            &target.resource_path(),
            COMPUTE_API,
            &format!("read {target}"),
        )
        .await?;
    let Some(nic) = from_vm(&vm).nics.into_iter().next() else {
        return Ok(None);
    };
    let nic = arm
        .get(
            nic.id.trim_start_matches('/'),
            NETWORK_API,
            "read the VM's network interface",
        )
        .await?;
    Ok(nic_of(&nic).security_group)
}

impl ArmClient {
    /// A GET of an ARM path (the path may carry its own query, such as `$expand`).
    pub async fn get(&self, path: &str, api: &str, what: &str) -> Result<Value, ArmError> {
        self.long_running(Method::Get, path, api, None, what, VIEW_LIMIT)
            .await
    }
}

struct Network {
    nics: Vec<Nic>,
    security_groups: Vec<SecurityGroup>,
    routes: Vec<RouteEntry>,
    unread: Vec<String>,
}

/// The primary NIC, its public addresses, its effective rules and routes.
async fn network(arm: &ArmClient, nic_id: &str) -> Network {
    let nic_path = nic_id.trim_start_matches('/');
    let post = |action: &'static str, what: &'static str| async move {
        let path = format!("{nic_path}/{action}");
        arm.long_running(
            Method::Post,
            &path,
            NETWORK_API,
            Some(serde_json::json!({})),
            what,
            VIEW_LIMIT,
        )
        .await
    };
    let (nic, rules, routes) = tokio::join!(
        arm.get(nic_path, NETWORK_API, "read the VM's network interface"),
        post(
            "effectiveNetworkSecurityGroups",
            "list the NIC's effective security rules"
        ),
        post("effectiveRouteTable", "list the NIC's effective routes"),
    );
    let mut unread = Vec::new();
    let mut nics = Vec::new();
    match nic {
        Ok(v) => {
            let mut nic = nic_of(&v);
            for ip in &mut nic.public_ips {
                let read = arm
                    .get(
                        ip.id.trim_start_matches('/'),
                        NETWORK_API,
                        "read the public IP address",
                    )
                    .await;
                match read {
                    Ok(v) => {
                        ip.address = v["properties"]["ipAddress"].as_str().map(str::to_string);
                        ip.ssh_endpoint = v["tags"][SSH_ENDPOINT_TAG].as_str().map(str::to_string);
                    }
                    Err(e) => unread.push(format!("public IP {}: {e}", ip.id)),
                }
            }
            nics.push(nic);
        }
        Err(e) => unread.push(format!("network interface: {e}")),
    }
    let security_groups = match rules {
        Ok(v) => security_groups_of(&v),
        Err(e) => {
            unread.push(format!("effective security rules: {e}"));
            Vec::new()
        }
    };
    let routes = match routes {
        Ok(v) => routes_of(&v),
        Err(e) => {
            unread.push(format!("effective routes: {e}"));
            Vec::new()
        }
    };
    Network {
        nics,
        security_groups,
        routes,
        unread,
    }
}

/// `retrieveBootDiagnosticsData`, then the serial log from the SAS URI it returns.
async fn boot_log(arm: &ArmClient, vm_path: &str) -> Result<Option<BootLog>, ArmError> {
    let what = "read the boot diagnostics log";
    let uris = arm
        .long_running(
            Method::Post,
            &format!("{vm_path}/retrieveBootDiagnosticsData"),
            COMPUTE_API,
            None,
            what,
            VIEW_LIMIT,
        )
        .await?;
    let Some(uri) = uris["serialConsoleLogBlobUri"].as_str() else {
        return Ok(None);
    };
    let url = Url::parse(uri).map_err(|e| ArmError::Transport {
        what: what.into(),
        message: format!("the serial log URI is not a URL: {e}"),
    })?;
    let text = arm.get_presigned(url, what).await?;
    Ok(Some(super::boot_log::classify(&text)))
}

/// Power, provisioning, agent and NIC ids from the VM with its instance view.
pub fn from_vm(vm: &Value) -> CloudFacts {
    let props = &vm["properties"];
    let view = &props["instanceView"];
    let code = |prefix: &str| {
        view["statuses"].as_array().and_then(|s| {
            s.iter()
                .find_map(|s| s["code"].as_str()?.strip_prefix(prefix).map(str::to_string))
        })
    };
    let agent = view["vmAgent"].is_object().then(|| {
        let status = &view["vmAgent"]["statuses"][0];
        Agent {
            status: status["displayStatus"]
                .as_str()
                .unwrap_or("Unknown")
                .to_string(),
            message: status["message"].as_str().map(str::to_string),
            version: view["vmAgent"]["vmAgentVersion"]
                .as_str()
                .map(str::to_string),
        }
    });
    let mut nics: Vec<Nic> = props["networkProfile"]["networkInterfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            let id = n["id"].as_str()?.to_string();
            Some(Nic {
                name: id.rsplit('/').next().unwrap_or_default().to_string(),
                primary: n["properties"]["primary"].as_bool().unwrap_or(false),
                id,
                private_ips: Vec::new(),
                public_ips: Vec::new(),
                security_group: None,
                subnet: None,
            })
        })
        .collect();
    // The primary NIC first: the one whose network is read.
    nics.sort_by_key(|n| !n.primary);
    CloudFacts {
        power_state: code("PowerState/"),
        provisioning_state: code("ProvisioningState/"),
        agent,
        nics,
        model_keys: model_keys_of(props),
        ..Default::default()
    }
}

/// The public keys given at the VM's creation, with the file each was placed in.
fn model_keys_of(props: &Value) -> Vec<ModelKey> {
    props["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| {
            Some(ModelKey {
                path: k["path"].as_str()?.to_string(),
                key: k["keyData"].as_str()?.trim().to_string(),
            })
        })
        .filter(|k| !k.key.is_empty())
        .collect()
}

pub fn nic_of(v: &Value) -> Nic {
    let props = &v["properties"];
    let configs = props["ipConfigurations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let text = |v: &Value| v.as_str().map(str::to_string);
    Nic {
        name: text(&v["name"]).unwrap_or_default(),
        id: text(&v["id"]).unwrap_or_default(),
        primary: props["primary"].as_bool().unwrap_or(true),
        private_ips: configs
            .iter()
            .filter_map(|c| text(&c["properties"]["privateIPAddress"]))
            .collect(),
        public_ips: configs
            .iter()
            .filter_map(|c| text(&c["properties"]["publicIPAddress"]["id"]))
            .map(|id| PublicIp {
                id,
                address: None,
                ssh_endpoint: None,
            })
            .collect(),
        security_group: text(&props["networkSecurityGroup"]["id"]),
        subnet: configs
            .iter()
            .find_map(|c| text(&c["properties"]["subnet"]["id"])),
    }
}

/// `effectiveNetworkSecurityGroups`: the subnet's group first, as Azure applies it inbound.
pub fn security_groups_of(v: &Value) -> Vec<SecurityGroup> {
    let mut groups: Vec<SecurityGroup> = v["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let association = if g["association"]["subnet"].is_object() {
                Association::Subnet
            } else {
                Association::Nic
            };
            let mut inbound: Vec<SecurityRule> = g["effectiveSecurityRules"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| {
                    r["direction"]
                        .as_str()
                        .is_some_and(|d| d.eq_ignore_ascii_case("inbound"))
                })
                .map(rule_of)
                .collect();
            inbound.sort_by_key(|r| r.priority);
            SecurityGroup {
                id: g["networkSecurityGroup"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                association,
                inbound,
            }
        })
        .collect();
    groups.sort_by_key(|g| g.association != Association::Subnet);
    groups
}

fn rule_of(r: &Value) -> SecurityRule {
    let strings = |single: &str, many: &str| -> Vec<String> {
        let mut out: Vec<String> = r[many]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
        if let Some(s) = r[single].as_str()
            && !s.is_empty()
        {
            out.push(s.to_string());
        }
        out
    };
    // A service tag's expansion, where Azure gave one, is what matches.
    let expanded = strings("", "expandedSourceAddressPrefix");
    let sources = if expanded.is_empty() {
        strings("sourceAddressPrefix", "sourceAddressPrefixes")
    } else {
        expanded
    };
    let ports = strings("destinationPortRange", "destinationPortRanges")
        .iter()
        .filter_map(|p| port_range(p))
        .collect();
    SecurityRule {
        name: r["name"].as_str().unwrap_or_default().to_string(),
        priority: r["priority"].as_u64().unwrap_or(u64::from(u32::MAX)) as u32,
        allow: r["access"]
            .as_str()
            .is_some_and(|a| a.eq_ignore_ascii_case("allow")),
        protocol: r["protocol"].as_str().unwrap_or("All").to_string(),
        sources,
        ports,
    }
}

/// `22`, `22-22`, `0-65535` or `*`.
fn port_range(p: &str) -> Option<(u16, u16)> {
    if p.trim() == "*" {
        return Some((0, u16::MAX));
    }
    match p.split_once('-') {
        Some((lo, hi)) => Some((lo.trim().parse().ok()?, hi.trim().parse().ok()?)),
        None => {
            let port = p.trim().parse().ok()?;
            Some((port, port))
        }
    }
}

pub fn routes_of(v: &Value) -> Vec<RouteEntry> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    v["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| RouteEntry {
            source: r["source"].as_str().unwrap_or_default().to_string(),
            state: r["state"].as_str().unwrap_or_default().to_string(),
            prefixes: strings(&r["addressPrefix"]),
            next_hop_type: r["nextHopType"].as_str().unwrap_or_default().to_string(),
            next_hop_ips: strings(&r["nextHopIpAddress"]),
        })
        .collect()
}

pub fn health_of(v: &Value) -> Health {
    let p = &v["properties"];
    let text = |v: &Value| v.as_str().map(str::to_string);
    Health {
        state: text(&p["availabilityState"]).unwrap_or_else(|| "Unknown".into()),
        summary: text(&p["summary"]),
        reason: text(&p["reasonType"]),
    }
}

/// The address the NSG sees clients come from: the user's `--client-ip`, or else the source
/// address this machine uses toward the VM's SSH address (right when no NAT lies between).
fn client_address(facts: &CloudFacts, given: Option<IpAddr>) -> Option<ClientAddress> {
    if let Some(ip) = given {
        return Some(ClientAddress {
            address: ip.to_string(),
            source: "--client-ip".into(),
        });
    }
    let ip = facts.public_ip()?;
    let host = match &ip.ssh_endpoint {
        Some(endpoint) => endpoint
            .rsplit_once(':')
            .map_or(endpoint.as_str(), |(h, _)| h),
        None => ip.address.as_deref()?,
    };
    let remote: IpAddr = host.parse().ok()?;
    // A UDP "connect" sends nothing; it only asks the kernel which source address it would use.
    let socket =
        std::net::UdpSocket::bind((if remote.is_ipv4() { "0.0.0.0" } else { "::" }, 0)).ok()?;
    socket.connect((remote, 22)).ok()?;
    let local = socket.local_addr().ok()?.ip();
    Some(ClientAddress {
        address: local.to_string(),
        source: format!(
            "this machine's source address toward {host} (pass --client-ip if a NAT lies between)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_effective_rules_subnet_first() {
        let v = json!({"value": [
            {"networkSecurityGroup": {"id": "/x/networkSecurityGroups/nic-nsg"},
             "association": {"networkInterface": {"id": "/x/nic"}},
             "effectiveSecurityRules": [
                {"name": "defaultSecurityRules/DenyAllInBound", "protocol": "All", "destinationPortRange": "0-65535",
                 "sourceAddressPrefix": "*", "access": "Deny", "priority": 65500, "direction": "Inbound"},
                {"name": "securityRules/AllowSSH", "protocol": "Tcp", "destinationPortRange": "22-22",
                 "sourceAddressPrefix": "Internet", "expandedSourceAddressPrefix": ["1.0.0.0/8"],
                 "access": "Allow", "priority": 1000, "direction": "Inbound"},
                {"name": "defaultSecurityRules/AllowInternetOutBound", "protocol": "All", "destinationPortRange": "0-65535",
                 "sourceAddressPrefix": "*", "access": "Allow", "priority": 65001, "direction": "Outbound"}]},
            {"networkSecurityGroup": {"id": "/x/networkSecurityGroups/subnet-nsg"},
             "association": {"subnet": {"id": "/x/subnets/default"}},
             "effectiveSecurityRules": []}
        ]});
        let groups = security_groups_of(&v);
        assert_eq!(groups[0].association, Association::Subnet);
        assert_eq!(groups[1].name(), "nic-nsg");
        let rules = &groups[1].inbound;
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].name, "securityRules/AllowSSH");
        assert_eq!(rules[0].sources, vec!["1.0.0.0/8"]);
        assert_eq!(rules[0].ports, vec![(22, 22)]);
        assert_eq!(rules[1].ports, vec![(0, 65535)]);
    }

    #[test]
    fn reads_agent_power_and_nics_from_the_instance_view() {
        let vm = json!({"properties": {
            "networkProfile": {"networkInterfaces": [
                {"id": "/s/networkInterfaces/b", "properties": {"primary": false}},
                {"id": "/s/networkInterfaces/a", "properties": {"primary": true}}]},
            "instanceView": {
                "vmAgent": {"vmAgentVersion": "2.9.1.1", "statuses": [
                    {"code": "ProvisioningState/Unavailable", "displayStatus": "Not Ready",
                     "message": "VM Agent is unresponsive."}]},
                "statuses": [{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/running"}]}}});
        let f = from_vm(&vm);
        assert_eq!(f.power_state.as_deref(), Some("running"));
        assert_eq!(f.provisioning_state.as_deref(), Some("succeeded"));
        let agent = f.agent.unwrap();
        assert!(!agent.ready());
        assert_eq!(agent.message.as_deref(), Some("VM Agent is unresponsive."));
        assert_eq!(f.nics[0].name, "a");
    }

    #[test]
    fn reads_the_keys_the_vm_was_created_with() {
        let vm = json!({"properties": {"osProfile": {"adminUsername": "ops", "linuxConfiguration": {
            "disablePasswordAuthentication": true, "ssh": {"publicKeys": [
                {"path": "/home/ops/.ssh/authorized_keys", "keyData": "ssh-ed25519 AAAA ops@laptop\r\n"},
                {"path": "/home/ops/.ssh/authorized_keys", "keyData": ""}]}}}}});
        assert_eq!(
            from_vm(&vm).model_keys,
            vec![ModelKey {
                path: "/home/ops/.ssh/authorized_keys".into(),
                key: "ssh-ed25519 AAAA ops@laptop".into()
            }]
        );
        assert!(from_vm(&json!({"properties": {}})).model_keys.is_empty());
    }

    #[test]
    fn reads_routes_and_health() {
        let routes = routes_of(&json!({"value": [{"source": "User", "state": "Active",
            "addressPrefix": ["0.0.0.0/0"], "nextHopType": "VirtualAppliance", "nextHopIpAddress": ["10.0.9.4"]}]}));
        assert_eq!(routes[0].next_hop_ips, vec!["10.0.9.4"]);
        let h =
            health_of(&json!({"properties": {"availabilityState": "Degraded", "summary": "s"}}));
        assert_eq!(h.state, "Degraded");
        assert_eq!(port_range("*"), Some((0, 65535)));
        assert_eq!(port_range("2200"), Some((2200, 2200)));
    }
}
