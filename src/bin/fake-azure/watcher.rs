//! Network Watcher, as its REST reference has it: one watcher per region (`GET
//! /subscriptions/{sub}/providers/Microsoft.Network/networkWatchers` lists them), and on it
//! the long-running POSTs `ipFlowVerify` (would this packet reach the VM's NIC, and which rule
//! decides) and `nextHop` (where does traffic from the VM to an address go). The answers come
//! from the same NSG rules and routes the fake serves and enforces. `--no-network-watcher`
//! plays a region without one.

use crate::http::{Body, cloud_error, json_response};
use crate::operations::{self, Provider, Start};
use crate::state::Fake;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use std::net::Ipv4Addr;

/// The resource group and name `az network watcher configure` gives the region's watcher.
pub const GROUP: &str = "NetworkWatcherRG";
pub const NAME: &str = "NetworkWatcher_eastus";

/// `GET …/providers/Microsoft.Network/networkWatchers`.
pub fn list(fake: &Fake, sub: &str) -> Response<Body> {
    let watchers: Vec<Value> = fake
        .settings
        .network_watcher
        .then(|| {
            json!({
                "id": format!("/subscriptions/{sub}/resourceGroups/{GROUP}/providers/Microsoft.Network/networkWatchers/{NAME}"),
                "name": NAME,
                "type": "Microsoft.Network/networkWatchers",
                "location": crate::arm::LOCATION,
                "properties": {"provisioningState": "Succeeded"},
            })
        })
        .into_iter()
        .collect();
    json_response(StatusCode::OK, &json!({ "value": watchers }))
}

/// `POST …/networkWatchers/{name}/ipFlowVerify` or `…/nextHop`.
pub fn action(
    fake: &Fake,
    sub: &str,
    rg: &str,
    name: &str,
    action: &str,
    api_version: &str,
    body: &Value,
) -> Response<Body> {
    if !(fake.settings.network_watcher
        && rg.eq_ignore_ascii_case(GROUP)
        && name.eq_ignore_ascii_case(NAME))
    {
        return cloud_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!(
                "The Resource 'Microsoft.Network/networkWatchers/{name}' under resource group '{rg}' was not found."
            ),
        );
    }
    let result = match action {
        "ipflowverify" => ip_flow_verify(fake, body),
        "nexthop" => next_hop(fake, body),
        _ => Err(format!("networkWatchers has no action {action:?}")),
    };
    match result {
        Ok(v) => operations::start(
            fake,
            sub,
            api_version,
            Provider::Network,
            Start::Accepted,
            None,
            Some(v),
        ),
        Err(message) => cloud_error(StatusCode::BAD_REQUEST, "InvalidRequestFormat", &message),
    }
}

/// The machine a `targetResourceId` names, and its network.
fn target(fake: &Fake, body: &Value) -> Result<crate::network::Network, String> {
    let id = body["targetResourceId"]
        .as_str()
        .ok_or("the body needs a \"targetResourceId\"")?;
    let w = fake.world();
    let machine = w
        .machines
        .values()
        .find(|m| m.resource_id().eq_ignore_ascii_case(id))
        .ok_or_else(|| format!("no VM {id}"))?;
    machine
        .network
        .clone()
        .ok_or_else(|| format!("{id} has no network interface"))
}

fn address(body: &Value, field: &str) -> Result<Ipv4Addr, String> {
    body[field]
        .as_str()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("the body needs \"{field}\" as an IPv4 address"))
}

fn ip_flow_verify(fake: &Fake, body: &Value) -> Result<Value, String> {
    let network = target(fake, body)?;
    if !body["direction"]
        .as_str()
        .is_some_and(|d| d.eq_ignore_ascii_case("Inbound"))
        || !body["protocol"]
            .as_str()
            .is_some_and(|p| p.eq_ignore_ascii_case("TCP"))
    {
        return Err("the fake verifies inbound TCP flows only".into());
    }
    let port: u16 = body["localPort"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .ok_or("the body needs \"localPort\" as one port")?;
    let local = address(body, "localIPAddress")?;
    if local != network.private_ip {
        return Err(format!("localIPAddress {local} is not the NIC's address"));
    }
    let (allowed, rule) = network.decide(address(body, "remoteIPAddress")?, port);
    Ok(json!({"access": if allowed { "Allow" } else { "Deny" }, "ruleName": rule}))
}

fn next_hop(fake: &Fake, body: &Value) -> Result<Value, String> {
    let network = target(fake, body)?;
    let source = address(body, "sourceIPAddress")?;
    if source != network.private_ip {
        return Err(format!("sourceIPAddress {source} is not the NIC's address"));
    }
    let (kind, ip, user) = network.next_hop(address(body, "destinationIPAddress")?);
    Ok(json!({
        "nextHopType": kind,
        "nextHopIpAddress": ip,
        "routeTableId": if user { "user route table" } else { "System Route" },
    }))
}
