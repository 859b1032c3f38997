//! The one change lifeline makes on Azure's side: an inbound allow rule in the NIC's network
//! security group, for sshd's port from the client's address only, at the free priority
//! closest above the rule that denies. Its name is its undo id (`lifeline-allow-ssh-…`):
//! `lifeline undo --backup NAME` deletes exactly that rule, and nothing else in the group is
//! ever written.

use crate::azure::facts::{Association, CloudFacts};
use crate::azure::observe::NETWORK_API;
use crate::azure::{ArmClient, ArmError};
use azure_core::http::Method;
use serde::Serialize;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Every rule lifeline adds is named so, and only such rules are ever deleted by it.
pub const RULE_PREFIX: &str = "lifeline-allow-ssh-";
/// The lowest priority number a custom rule may have.
const FIRST_PRIORITY: u32 = 100;
const LIMIT: Duration = Duration::from_secs(300);

/// The rule to add, as planned from the facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NsgAllow {
    /// The NIC's security group (resource id).
    pub group: String,
    /// `lifeline-allow-ssh-PORT-xxxxxxxx`: also the id `lifeline undo` takes.
    pub name: String,
    pub priority: u32,
    pub port: u16,
    /// `ADDRESS/32`.
    pub source: String,
}

impl NsgAllow {
    /// The rule that lets `client` reach `port`, when one rule in the NIC's group can: the
    /// subnet's group (applied first) must already allow it, and the NIC's deny must leave a
    /// free priority above it.
    pub fn plan(cloud: &CloudFacts, client: Ipv4Addr, port: u16) -> Result<NsgAllow, String> {
        for group in &cloud.security_groups {
            if group.association != Association::Subnet {
                continue;
            }
            if let Some(r) = group.inbound.iter().find(|r| r.matches(client, port))
                && !r.allow
            {
                return Err(format!(
                    "the subnet's security group {} denies it ({}); a rule in the NIC's group cannot override that",
                    group.name(),
                    r.describe()
                ));
            }
        }
        let group = cloud
            .nic_security_group()
            .ok_or("the NIC has no security group of its own to add the rule to")?;
        let deny = group
            .inbound
            .iter()
            .find(|r| r.matches(client, port))
            .filter(|r| !r.allow)
            .ok_or("the NIC's security group does not deny it")?;
        let used: Vec<u32> = group.inbound.iter().map(|r| r.priority).collect();
        let priority = (FIRST_PRIORITY..deny.priority)
            .rev()
            .find(|p| !used.contains(p))
            .ok_or_else(|| {
                format!(
                    "no free priority above {} in {}",
                    deny.describe(),
                    group.name()
                )
            })?;
        let suffix: u32 = rand::random();
        Ok(NsgAllow {
            group: group.id.clone(),
            name: format!("{RULE_PREFIX}{port}-{suffix:08x}"),
            priority,
            port,
            source: format!("{client}/32"),
        })
    }

    /// What the rule does, for the plan and the report.
    pub fn describe(&self) -> String {
        format!(
            "allow TCP {} from {} in NSG {} (rule {}, priority {})",
            self.port,
            self.source,
            self.group.rsplit('/').next().unwrap_or(&self.group),
            self.name,
            self.priority
        )
    }

    /// The PUT body (Security Rules - Create Or Update).
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"properties": {
            "description": "Added by lifeline rescue: SSH from the rescuing client. `lifeline undo --backup NAME` removes it.",
            "protocol": "Tcp",
            "sourcePortRange": "*",
            "destinationPortRange": self.port.to_string(),
            "sourceAddressPrefix": self.source,
            "destinationAddressPrefix": "*",
            "access": "Allow",
            "priority": self.priority,
            "direction": "Inbound",
        }})
    }

    /// Creates the rule and waits until Azure has it in force.
    pub async fn apply(&self, arm: &ArmClient) -> Result<(), ArmError> {
        arm.long_running(
            Method::Put,
            &rule_path(&self.group, &self.name),
            NETWORK_API,
            Some(self.body()),
            &format!("add the security rule {}", self.name),
            LIMIT,
        )
        .await
        .map(drop)
    }
}

/// Deletes a rule lifeline added (`name` must carry [`RULE_PREFIX`]).
pub async fn remove(arm: &ArmClient, group: &str, name: &str) -> Result<(), ArmError> {
    if !name.starts_with(RULE_PREFIX) {
        return Err(ArmError::Transport {
            what: format!("remove the security rule {name}"),
            message: format!("lifeline removes only rules it added, named {RULE_PREFIX}…"),
        });
    }
    arm.long_running(
        Method::Delete,
        &rule_path(group, name),
        NETWORK_API,
        None,
        &format!("remove the security rule {name}"),
        LIMIT,
    )
    .await
    .map(drop)
}

fn rule_path(group: &str, name: &str) -> String {
    format!("{}/securityRules/{name}", group.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::facts::{SecurityGroup, SecurityRule};

    fn rule(name: &str, priority: u32, allow: bool, port: u16) -> SecurityRule {
        SecurityRule {
            name: name.into(),
            priority,
            allow,
            protocol: "Tcp".into(),
            sources: vec!["*".into()],
            ports: vec![(port, port)],
        }
    }

    fn facts(association: Association, rules: Vec<SecurityRule>) -> CloudFacts {
        CloudFacts {
            security_groups: vec![SecurityGroup {
                id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/vm1NSG".into(),
                association,
                inbound: rules,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_rule_sits_just_above_the_deny_at_a_free_priority() {
        let client = Ipv4Addr::new(198, 51, 100, 7);
        let f = facts(
            Association::Nic,
            vec![
                rule("securityRules/Web", 299, true, 80),
                rule("securityRules/DenySSH", 300, false, 22),
            ],
        );
        let plan = NsgAllow::plan(&f, client, 22).unwrap();
        assert_eq!((plan.priority, plan.port), (298, 22));
        assert_eq!(plan.source, "198.51.100.7/32");
        assert!(plan.name.starts_with("lifeline-allow-ssh-22-"));
        assert_eq!(plan.body()["properties"]["priority"], 298);
        let mut after = f.clone();
        after.security_groups[0].inbound.insert(
            0,
            rule(&format!("securityRules/{}", plan.name), 298, true, 22),
        );
        after.security_groups[0].inbound[0].sources = vec![plan.source.clone()];
        after.security_groups[0].inbound.sort_by_key(|r| r.priority);
        assert!(after.nsg_verdict(client, 22).unwrap().allowed);
    }

    #[test]
    fn no_plan_where_one_nic_rule_cannot_help() {
        let client = Ipv4Addr::new(198, 51, 100, 7);
        let top = facts(
            Association::Nic,
            vec![rule("securityRules/Deny", 100, false, 22)],
        );
        assert!(
            NsgAllow::plan(&top, client, 22)
                .unwrap_err()
                .contains("no free priority")
        );
        let subnet = facts(
            Association::Subnet,
            vec![rule("securityRules/Deny", 500, false, 22)],
        );
        assert!(
            NsgAllow::plan(&subnet, client, 22)
                .unwrap_err()
                .contains("subnet")
        );
    }
}
