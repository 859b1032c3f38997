//! Network Watcher's two checks of Azure's guide (step 3), asked of the watcher of the VM's
//! region: `ipFlowVerify` (would TCP 22 from the client's address reach the NIC, and which
//! rule decides) and `nextHop` (where the VM's answers to the client go). Both are
//! long-running POSTs. Their answers are Azure's own evaluation, beside the one lifeline makes
//! of the effective rules and routes; a region without a watcher has neither, and the facts
//! say so.

use super::arm::{ArmClient, ArmError};
use super::facts::{CloudFacts, FlowVerdict, NextHop, WatcherView};
use super::observe::NETWORK_API;
use azure_core::http::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// How long each check may take (Azure's take seconds to a minute).
const CHECK_LIMIT: Duration = Duration::from_secs(120);
/// The port the flow is verified for: SSH's, as the guide's step 3 asks.
pub const SSH_PORT: u16 = 22;

/// The watcher of `location` in the subscription, by its id (`None`: the region has none).
pub async fn find(
    arm: &ArmClient,
    subscription: &str,
    location: &str,
) -> Result<Option<String>, ArmError> {
    let list = arm
        .get(
            &format!("subscriptions/{subscription}/providers/Microsoft.Network/networkWatchers"),
            NETWORK_API,
            "list the Network Watchers",
        )
        .await?;
    Ok(in_region(&list, location))
}

/// The id of the listed watcher whose location is `location` (ARM's names: `eastus`).
fn in_region(list: &Value, location: &str) -> Option<String> {
    let wanted = |w: &&Value| {
        w["location"].as_str().is_some_and(|l| {
            l.replace(' ', "")
                .eq_ignore_ascii_case(&location.replace(' ', ""))
        })
    };
    list["value"].as_array()?.iter().find(wanted)?["id"]
        .as_str()
        .map(str::to_string)
}

/// Both checks on `watcher` for the VM in `facts` (its NIC's private address and the client's
/// address must be known); what fails is listed in `unread`.
pub async fn check(
    arm: &ArmClient,
    watcher: &str,
    facts: &CloudFacts,
    unread: &mut Vec<String>,
) -> WatcherView {
    let mut view = WatcherView {
        watcher: watcher.to_string(),
        flow: None,
        next_hop: None,
    };
    let private = facts
        .nics
        .iter()
        .find(|n| n.primary)
        .or(facts.nics.first())
        .and_then(|n| n.private_ips.first());
    let (Some(private), Some(client)) = (private, facts.client_ip()) else {
        unread.push(
            "Network Watcher: the NIC's private address or the client's address is unknown, so nothing was asked"
                .into(),
        );
        return view;
    };
    let path = watcher.trim_start_matches('/');
    let post = |action: &'static str, body: Value, what: &'static str| async move {
        arm.long_running(
            Method::Post,
            &format!("{path}/{action}"),
            NETWORK_API,
            Some(body),
            what,
            CHECK_LIMIT,
        )
        .await
    };
    let (flow, hop) = tokio::join!(
        post(
            "ipFlowVerify",
            json!({
                "targetResourceId": facts.vm,
                "direction": "Inbound",
                "protocol": "TCP",
                "localPort": SSH_PORT.to_string(),
                "remotePort": "*",
                "localIPAddress": private,
                "remoteIPAddress": client.to_string(),
            }),
            "verify the SSH flow with Network Watcher",
        ),
        post(
            "nextHop",
            json!({
                "targetResourceId": facts.vm,
                "sourceIPAddress": private,
                "destinationIPAddress": client.to_string(),
            }),
            "ask Network Watcher for the next hop",
        ),
    );
    match flow {
        Ok(v) => view.flow = flow_of(&v, client.to_string()),
        Err(e) => unread.push(format!("Network Watcher IP flow verify: {e}")),
    }
    match hop {
        Ok(v) => view.next_hop = hop_of(&v, client.to_string()),
        Err(e) => unread.push(format!("Network Watcher next hop: {e}")),
    }
    view
}

fn flow_of(v: &Value, client: String) -> Option<FlowVerdict> {
    Some(FlowVerdict {
        port: SSH_PORT,
        client,
        allowed: v["access"].as_str()?.eq_ignore_ascii_case("allow"),
        rule: v["ruleName"].as_str().unwrap_or_default().to_string(),
    })
}

fn hop_of(v: &Value, destination: String) -> Option<NextHop> {
    Some(NextHop {
        destination,
        kind: v["nextHopType"].as_str()?.to_string(),
        address: v["nextHopIpAddress"]
            .as_str()
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        route_table: v["routeTableId"].as_str().map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers as the REST reference shows them (Network Watchers - List All, Verify IP Flow,
    /// Get Next Hop).
    #[test]
    fn reads_the_reference_answers() {
        let list = json!({"value": [
            {"id": "/subscriptions/s/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westus", "location": "westus"},
            {"id": "/subscriptions/s/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_eastus", "location": "eastus"},
        ]});
        assert!(in_region(&list, "East US").unwrap().ends_with("_eastus"));
        assert_eq!(in_region(&list, "northeurope"), None);
        assert_eq!(in_region(&json!({"value": []}), "eastus"), None);

        let flow = flow_of(
            &json!({"access": "Deny", "ruleName": "securityRules/DenySSH"}),
            "198.51.100.7".into(),
        )
        .unwrap();
        assert!(!flow.allowed);
        assert_eq!(
            flow.describe(),
            "TCP 22 from 198.51.100.7: Deny by securityRules/DenySSH"
        );

        let hop = hop_of(
            &json!({"nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.2.4",
                    "routeTableId": "/subscriptions/s/.../routeTables/rt1"}),
            "198.51.100.7".into(),
        )
        .unwrap();
        assert_eq!(
            hop.describe(),
            "to 198.51.100.7: VirtualAppliance 10.0.2.4 (/subscriptions/s/.../routeTables/rt1)"
        );
        let none = hop_of(
            &json!({"nextHopType": "None", "nextHopIpAddress": ""}),
            "x".into(),
        );
        assert_eq!(none.unwrap().address, None);
    }
}
