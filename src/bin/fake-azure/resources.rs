//! The ARM calls of Azure's "cannot SSH" checklist beyond the console (docs/azure-arm.md):
//!
//! | call | api-versions | reference |
//! |---|---|---|
//! | `GET …/networkInterfaces/{nic}` | Network | Network Interfaces - Get |
//! | `POST …/networkInterfaces/{nic}/effectiveNetworkSecurityGroups` (async) | Network | Network Interfaces - List Effective Network Security Groups |
//! | `POST …/networkInterfaces/{nic}/effectiveRouteTable` (async) | Network | Network Interfaces - Get Effective Route Table |
//! | `GET …/publicIPAddresses/{ip}` | Network | Public IP Addresses - Get |
//! | `GET …/networkSecurityGroups/{nsg}` | Network | Network Security Groups - Get |
//! | `GET/PUT/DELETE …/networkSecurityGroups/{nsg}/securityRules/{rule}` (PUT, DELETE async) | Network | Security Rules |
//! | `POST …/virtualMachines/{vm}/retrieveBootDiagnosticsData` | Compute | Virtual Machines - Retrieve Boot Diagnostics Data |
//! | `POST …/virtualMachines/{vm}/restart`, `…/redeploy`, `…/start` (async; also on `…/virtualMachineScaleSets/{ss}/virtualMachines/{id}/…`) | Compute | Virtual Machines - Restart, Redeploy, Start; Virtual Machine Scale Set VMs - the same |
//! | `POST …/virtualMachines/{vm}/runCommand`, `PUT/GET …/extensions/{name}` | Compute | [`guest_ops`] |
//! | `GET …/providers/Microsoft.Network/networkWatchers`, `POST …/networkWatchers/{nw}/ipFlowVerify`, `…/nextHop` (async) | Network | Network Watchers - List All, Verify IP Flow, Get Next Hop ([`watcher`]) |
//! | `GET {vm}/providers/Microsoft.ResourceHealth/availabilityStatuses/current` | ResourceHealth | Availability Statuses - Get By Resource |
//! | `GET …/locations/{l}/operations/{id}`, `…/operationResults/{id}` | both | the asynchronous operation pattern |
//!
//! Network resources are named after their VM as `az vm create` names them: `{vm}VMNic`,
//! `{vm}NSG`, `{vm}PublicIP`, in the VM's resource group.

use crate::front::Fronts;
use crate::guest_ops;
use crate::http::{Body, CloudError, cloud_error, json_response};
use crate::machines::{Machine, MachineKey, MachineName, SerialSpec};
use crate::network::{self, Rule};
use crate::operations::{self, Provider, Start};
use crate::state::{Fake, random_uuid};
use crate::watcher;
use hyper::{Method, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tracing::{info, warn};

pub const NETWORK_API_VERSIONS: &[&str] = &[
    "2023-04-01",
    "2023-05-01",
    "2023-06-01",
    "2023-09-01",
    "2023-11-01",
    "2024-01-01",
    "2024-03-01",
    "2024-05-01",
    "2024-07-01",
];
pub const COMPUTE_API_VERSIONS: &[&str] = &[
    "2023-03-01",
    "2023-07-01",
    "2023-09-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
];
pub const HEALTH_API_VERSIONS: &[&str] = &["2017-07-01", "2018-07-01", "2020-05-01", "2022-10-01"];

pub const NIC_SUFFIX: &str = "VMNic";
pub const NSG_SUFFIX: &str = "NSG";
pub const PUBLIC_IP_SUFFIX: &str = "PublicIP";
/// The tag that tells clients where the fake really serves a public address (HOST:PORT).
pub const SSH_ENDPOINT_TAG: &str = "lifeline-ssh-endpoint";

/// What a request asks of one of these resources.
pub struct Call<'a> {
    pub method: Method,
    pub segments: &'a [String],
    pub api_version: &'a str,
    pub body: Value,
}

pub async fn handle(fake: &Arc<Fake>, call: Call<'_>) -> Response<Body> {
    let s = call.segments;
    let l: Vec<String> = s.iter().map(|x| x.to_ascii_lowercase()).collect();
    let l: Vec<&str> = l.iter().map(String::as_str).collect();
    const NET: &str = "microsoft.network";
    const CO: &str = "microsoft.compute";
    match l.as_slice() {
        [
            "subscriptions",
            _,
            "providers",
            ns,
            "locations",
            _,
            kind,
            id,
        ] if (*ns == NET || *ns == CO)
            && (*kind == "operations" || *kind == "operationresults") =>
        {
            operations::poll(fake, &s[7], *kind == "operationresults")
        }
        ["subscriptions", _, "providers", NET, "networkwatchers"] if call.method == Method::GET => {
            match check_api(call.api_version, NETWORK_API_VERSIONS, "Microsoft.Network") {
                Some(r) => r,
                None => watcher::list(fake, &s[1]),
            }
        }
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            NET,
            "networkwatchers",
            _,
            action,
        ] if call.method == Method::POST => {
            match check_api(call.api_version, NETWORK_API_VERSIONS, "Microsoft.Network") {
                Some(r) => r,
                None => watcher::action(
                    fake,
                    &s[1],
                    &s[3],
                    &s[7],
                    action,
                    call.api_version,
                    &call.body,
                ),
            }
        }
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            NET,
            kind,
            _,
            rest @ ..,
        ] => {
            if let Some(r) = check_api(call.api_version, NETWORK_API_VERSIONS, "Microsoft.Network")
            {
                return r;
            }
            let (sub, rg, name) = (&s[1], &s[3], &s[7]);
            match (*kind, rest, &call.method) {
                ("networkinterfaces", [], &Method::GET) => {
                    with_vm(fake, sub, rg, name, NIC_SUFFIX, "networkInterfaces", |m| {
                        json_response(StatusCode::OK, &nic_json(m))
                    })
                }
                ("networkinterfaces", [action], &Method::POST) => {
                    let result = with_machine(fake, sub, rg, name, NIC_SUFFIX, |m| match *action {
                        "effectivenetworksecuritygroups" => Some(effective_groups(m)),
                        "effectiveroutetable" => Some(effective_routes(m)),
                        _ => None,
                    });
                    match result {
                        Some(Some(Ok(v))) => operations::start(
                            fake,
                            sub,
                            call.api_version,
                            Provider::Network,
                            Start::Accepted,
                            None,
                            Some(v),
                        ),
                        Some(Some(Err(e))) => e.into(),
                        Some(None) => no_resource(&call),
                        None => not_found("networkInterfaces", name, rg),
                    }
                }
                ("publicipaddresses", [], &Method::GET) => with_vm(
                    fake,
                    sub,
                    rg,
                    name,
                    PUBLIC_IP_SUFFIX,
                    "publicIPAddresses",
                    |m| match public_ip_json(m) {
                        Some(v) => json_response(StatusCode::OK, &v),
                        None => not_found("publicIPAddresses", name, rg),
                    },
                ),
                ("networksecuritygroups", [], &Method::GET) => with_vm(
                    fake,
                    sub,
                    rg,
                    name,
                    NSG_SUFFIX,
                    "networkSecurityGroups",
                    |m| json_response(StatusCode::OK, &nsg_json(m)),
                ),
                ("networksecuritygroups", ["securityrules", _], method) => {
                    security_rule(fake, &call, sub, rg, name, &s[9], method)
                }
                _ => no_resource(&call),
            }
        }
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            CO,
            "virtualmachines",
            _,
            rest @ ..,
        ] => {
            let (sub, rg, name) = (&s[1], &s[3], &s[7]);
            let key = MachineKey::new(sub, rg, name, None);
            if !fake.world().machines.contains_key(&key) {
                return not_found("Microsoft.Compute/virtualMachines", name, rg).map(|b| b);
            }
            match (rest, &call.method) {
                (
                    [
                        "providers",
                        "microsoft.resourcehealth",
                        "availabilitystatuses",
                        "current",
                    ],
                    &Method::GET,
                ) => {
                    if let Some(r) = check_api(
                        call.api_version,
                        HEALTH_API_VERSIONS,
                        "Microsoft.ResourceHealth",
                    ) {
                        return r;
                    }
                    let w = fake.world();
                    let m = &w.machines[&key];
                    json_response(StatusCode::OK, &health_json(m))
                }
                (["retrievebootdiagnosticsdata"], &Method::POST) => {
                    if let Some(r) =
                        check_api(call.api_version, COMPUTE_API_VERSIONS, "Microsoft.Compute")
                    {
                        return r;
                    }
                    boot_diagnostics_uris(fake, &key)
                }
                (["runcommand"], &Method::POST) => {
                    if let Some(r) =
                        check_api(call.api_version, COMPUTE_API_VERSIONS, "Microsoft.Compute")
                    {
                        return r;
                    }
                    guest_ops::run_command(fake, &call, &key)
                }
                (["extensions", _], method @ (&Method::PUT | &Method::GET)) => {
                    if let Some(r) =
                        check_api(call.api_version, COMPUTE_API_VERSIONS, "Microsoft.Compute")
                    {
                        return r;
                    }
                    if method == Method::PUT {
                        guest_ops::put_extension(fake, &call, &key, &s[9])
                    } else {
                        guest_ops::get_extension(fake, &key, &s[9])
                    }
                }
                ([action @ ("restart" | "redeploy" | "start")], &Method::POST) => {
                    power_call(fake, &call, &key, action).await
                }
                _ => no_resource(&call),
            }
        }
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            CO,
            "virtualmachinescalesets",
            _,
            "virtualmachines",
            _,
            action @ ("restart" | "redeploy" | "start"),
        ] if call.method == Method::POST => {
            let key = MachineKey::new(&s[1], &s[3], &s[7], Some(&s[9]));
            if !fake.world().machines.contains_key(&key) {
                return not_found(
                    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
                    &format!("{}/{}", s[7], s[9]),
                    &s[3],
                );
            }
            power_call(fake, &call, &key, action).await
        }
        _ => no_resource(&call),
    }
}

/// ARM refuses an api-version the provider does not have, naming the ones it has.
fn check_api(given: &str, known: &[&str], provider: &str) -> Option<Response<Body>> {
    (!known.contains(&given)).then(|| {
        cloud_error(
            StatusCode::BAD_REQUEST,
            "NoRegisteredProviderFound",
            &format!(
                "No registered resource provider found for location 'eastus' and API version '{given}' for type '{provider}'. The supported api-versions are '{}'.",
                known.join(", ")
            ),
        )
    })
}

fn no_resource(call: &Call<'_>) -> Response<Body> {
    cloud_error(
        StatusCode::NOT_FOUND,
        "InvalidResourceType",
        &format!(
            "fake-azure serves no {} at /{}",
            call.method,
            call.segments.join("/")
        ),
    )
}

fn not_found(kind: &str, name: &str, rg: &str) -> Response<Body> {
    cloud_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!(
            "The Resource 'Microsoft.Network/{kind}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

/// The VM a network resource belongs to (`{vm}{suffix}`), if it has a network.
fn owner(fake: &Fake, sub: &str, rg: &str, name: &str, suffix: &str) -> Option<MachineKey> {
    let lower = name.to_ascii_lowercase();
    let vm = lower.strip_suffix(&suffix.to_ascii_lowercase())?;
    let key = MachineKey::new(sub, rg, vm, None);
    fake.world()
        .machines
        .get(&key)
        .is_some_and(|m| m.network.is_some())
        .then_some(key)
}

fn with_machine<T>(
    fake: &Fake,
    sub: &str,
    rg: &str,
    name: &str,
    suffix: &str,
    f: impl FnOnce(&Machine) -> T,
) -> Option<T> {
    let key = owner(fake, sub, rg, name, suffix)?;
    let w = fake.world();
    w.machines.get(&key).map(f)
}

fn with_vm(
    fake: &Fake,
    sub: &str,
    rg: &str,
    name: &str,
    suffix: &str,
    kind: &str,
    f: impl FnOnce(&Machine) -> Response<Body>,
) -> Response<Body> {
    with_machine(fake, sub, rg, name, suffix, f).unwrap_or_else(|| not_found(kind, name, rg))
}

fn vm_name(m: &Machine) -> String {
    match &m.spec.name {
        MachineName::Vm(vm) => vm.clone(),
        MachineName::ScaleSetInstance {
            scale_set,
            instance,
        } => format!("{scale_set}_{instance}"),
    }
}

fn network_id(m: &Machine, kind: &str, suffix: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/{kind}/{}{suffix}",
        m.spec.subscription,
        m.spec.resource_group,
        vm_name(m)
    )
}

pub fn nic_id(m: &Machine) -> String {
    network_id(m, "networkInterfaces", NIC_SUFFIX)
}

fn nsg_id(m: &Machine) -> String {
    network_id(m, "networkSecurityGroups", NSG_SUFFIX)
}

fn subnet_id(m: &Machine) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/virtualNetworks/{}VNET/subnets/{}Subnet",
        m.spec.subscription,
        m.spec.resource_group,
        vm_name(m),
        vm_name(m)
    )
}

fn nic_json(m: &Machine) -> Value {
    let net = m.network.as_ref().expect("owner() checked the network");
    let mut ip_config = json!({
        "privateIPAddress": net.private_ip.to_string(),
        "privateIPAllocationMethod": "Dynamic",
        "privateIPAddressVersion": "IPv4",
        "subnet": {"id": subnet_id(m)},
        "primary": true,
        "provisioningState": "Succeeded",
    });
    if net.public_ip.is_some() {
        ip_config["publicIPAddress"] =
            json!({"id": network_id(m, "publicIPAddresses", PUBLIC_IP_SUFFIX)});
    }
    json!({
        "name": format!("{}{NIC_SUFFIX}", vm_name(m)),
        "id": nic_id(m),
        "type": "Microsoft.Network/networkInterfaces",
        "location": crate::arm::LOCATION,
        "properties": {
            "provisioningState": "Succeeded",
            "ipConfigurations": [{
                "name": format!("ipconfig{}", vm_name(m)),
                "id": format!("{}/ipConfigurations/ipconfig{}", nic_id(m), vm_name(m)),
                "properties": ip_config,
            }],
            "networkSecurityGroup": {"id": nsg_id(m)},
            "primary": true,
            "virtualMachine": {"id": m.resource_id()},
            "enableAcceleratedNetworking": false,
            "enableIPForwarding": false,
        },
    })
}

fn public_ip_json(m: &Machine) -> Option<Value> {
    let ip = m.network.as_ref()?.public_ip.as_ref()?;
    let mut v = json!({
        "name": format!("{}{PUBLIC_IP_SUFFIX}", vm_name(m)),
        "id": network_id(m, "publicIPAddresses", PUBLIC_IP_SUFFIX),
        "type": "Microsoft.Network/publicIPAddresses",
        "location": crate::arm::LOCATION,
        "sku": {"name": "Basic", "tier": "Regional"},
        "properties": {
            "provisioningState": "Succeeded",
            "ipAddress": ip.address.to_string(),
            "publicIPAddressVersion": "IPv4",
            "publicIPAllocationMethod": "Dynamic",
            "idleTimeoutInMinutes": 4,
            "ipConfiguration": {"id": format!("{}/ipConfigurations/ipconfig{}", nic_id(m), vm_name(m))},
        },
    });
    if let Some(port) = ip.front_port {
        v["tags"] = json!({ SSH_ENDPOINT_TAG: format!("127.0.0.1:{port}") });
    }
    Some(v)
}

fn nsg_json(m: &Machine) -> Value {
    let net = m.network.as_ref().expect("owner() checked the network");
    let id = nsg_id(m);
    json!({
        "name": format!("{}{NSG_SUFFIX}", vm_name(m)),
        "id": id,
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": crate::arm::LOCATION,
        "properties": {
            "provisioningState": "Succeeded",
            "securityRules": net.rules.iter().map(|r| r.to_json(&id, "securityRules")).collect::<Vec<_>>(),
            "defaultSecurityRules": Rule::defaults().iter().map(|r| r.to_json(&id, "defaultSecurityRules")).collect::<Vec<_>>(),
            "networkInterfaces": [{"id": nic_id(m)}],
        },
    })
}

/// The effective view needs a running VM, as in Azure.
fn running(m: &Machine) -> Result<(), CloudError> {
    if m.power.running() {
        return Ok(());
    }
    Err(CloudError::new(
        StatusCode::BAD_REQUEST,
        "VMNotRunning",
        "The virtual machine is not running; effective security rules and routes are computed only for a running VM.",
    ))
}

fn effective_groups(m: &Machine) -> Result<Value, CloudError> {
    running(m)?;
    let net = m.network.as_ref().expect("owner() checked the network");
    let mut rules: Vec<Value> = net
        .rules
        .iter()
        .map(|r| r.to_effective_json("securityRules"))
        .collect();
    rules.extend(
        Rule::defaults()
            .iter()
            .map(|r| r.to_effective_json("defaultSecurityRules")),
    );
    Ok(json!({"value": [{
        "networkSecurityGroup": {"id": nsg_id(m)},
        "association": {"networkInterface": {"id": nic_id(m)}},
        "effectiveSecurityRules": rules,
        "tagMap": {"VirtualNetwork": [network::VNET_PREFIX]},
    }]}))
}

fn effective_routes(m: &Machine) -> Result<Value, CloudError> {
    running(m)?;
    let net = m.network.as_ref().expect("owner() checked the network");
    let mut routes = vec![
        json!({"source": "Default", "state": "Active", "addressPrefix": [network::VNET_PREFIX], "nextHopType": "VnetLocal", "nextHopIpAddress": []}),
        json!({"source": "Default", "state": "Active", "addressPrefix": ["0.0.0.0/0"], "nextHopType": "Internet", "nextHopIpAddress": []}),
    ];
    for user in &net.routes {
        // A user route for the same prefix wins; the default it replaces turns Invalid.
        for r in &mut routes {
            if r["addressPrefix"][0] == json!(user.prefix) {
                r["state"] = json!("Invalid");
            }
        }
        routes.push(json!({
            "source": "User",
            "state": "Active",
            "addressPrefix": [user.prefix],
            "nextHopType": user.next_hop_type,
            "nextHopIpAddress": user.next_hop_ip.iter().collect::<Vec<_>>(),
        }));
    }
    Ok(json!({"value": routes}))
}

fn security_rule(
    fake: &Fake,
    call: &Call<'_>,
    sub: &str,
    rg: &str,
    nsg: &str,
    rule: &str,
    method: &Method,
) -> Response<Body> {
    let Some(key) = owner(fake, sub, rg, nsg, NSG_SUFFIX) else {
        return not_found("networkSecurityGroups", nsg, rg);
    };
    let mut w = fake.world();
    let machine = w.machines.get_mut(&key).expect("owner() found it");
    let group = nsg_id(machine);
    let net = machine
        .network
        .as_mut()
        .expect("owner() checked the network");
    let existing = net
        .rules
        .iter()
        .position(|r| r.name.eq_ignore_ascii_case(rule));
    match *method {
        Method::GET => match existing {
            Some(i) => json_response(
                StatusCode::OK,
                &net.rules[i].to_json(&group, "securityRules"),
            ),
            None => not_found(
                &format!("networkSecurityGroups/{nsg}/securityRules"),
                rule,
                rg,
            ),
        },
        Method::PUT => {
            let parsed = match Rule::from_properties(rule, &call.body["properties"]) {
                Ok(r) => r,
                Err((code, message)) => {
                    return cloud_error(StatusCode::BAD_REQUEST, code, &message);
                }
            };
            if let Some(other) = net.rules.iter().find(|r| {
                !r.name.eq_ignore_ascii_case(rule)
                    && r.priority == parsed.priority
                    && r.inbound == parsed.inbound
            }) {
                return cloud_error(
                    StatusCode::BAD_REQUEST,
                    "SecurityRuleConflict",
                    &format!(
                        "Security rule {} conflicts with rule {}. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules.",
                        parsed.name, other.name
                    ),
                );
            }
            let body = parsed.to_json(&group, "securityRules");
            let created = existing.is_none();
            match existing {
                Some(i) => net.rules[i] = parsed,
                None => net.rules.push(parsed),
            }
            info!(vm = %key, rule, created, "security rule written");
            let mut body = body;
            body["properties"]["provisioningState"] = json!("Updating");
            drop(w);
            operations::start(
                fake,
                sub,
                call.api_version,
                Provider::Network,
                Start::Created,
                Some(body),
                None,
            )
        }
        Method::DELETE => match existing {
            Some(i) => {
                net.rules.remove(i);
                info!(vm = %key, rule, "security rule deleted");
                drop(w);
                operations::start(
                    fake,
                    sub,
                    call.api_version,
                    Provider::Network,
                    Start::Accepted,
                    None,
                    None,
                )
            }
            // ARM's DELETE of something absent: 204, nothing to do.
            None => crate::http::empty_response(StatusCode::NO_CONTENT),
        },
        _ => no_resource(call),
    }
}

fn health_json(m: &Machine) -> Value {
    let (summary, reason) = match m.health.as_str() {
        "Available" => (
            "There aren't any known Azure platform problems affecting this virtual machine.",
            "Unplanned",
        ),
        "Degraded" => (
            "We're sorry, your virtual machine is degraded because the host it runs on has a hardware problem.",
            "Unplanned",
        ),
        "Unavailable" => (
            "We're sorry, your virtual machine isn't available because of a problem with the host it runs on.",
            "Unplanned",
        ),
        _ => (
            "We are currently unable to determine the health of this virtual machine.",
            "Unplanned",
        ),
    };
    json!({
        "id": format!("{}/providers/Microsoft.ResourceHealth/availabilityStatuses/current", m.resource_id()),
        "name": "current",
        "type": "Microsoft.ResourceHealth/AvailabilityStatuses",
        "location": crate::arm::LOCATION,
        "properties": {
            "availabilityState": m.health,
            "summary": summary,
            "reasonType": reason,
            "occuredTime": "2026-01-01T00:00:00Z",
            "reasonChronicity": "Persistent",
        },
    })
}

/// The SAS URIs of the screenshot and the serial log (served by [`serve_blob`]).
fn boot_diagnostics_uris(fake: &Fake, key: &MachineKey) -> Response<Body> {
    let w = fake.world();
    let m = &w.machines[key];
    if !m.boot_diagnostics {
        return cloud_error(
            StatusCode::CONFLICT,
            "OperationNotAllowed",
            "Boot diagnostics are not enabled for this virtual machine.",
        );
    }
    let blob = |file: &str| {
        format!(
            "{}/fake-storage/bootdiagnostics-{}/{}.{file}?sv=2022-11-02&sr=b&sp=r&sig={}",
            fake.base_url,
            &m.vm_id[..8],
            m.vm_id,
            random_uuid()
        )
    };
    json_response(
        StatusCode::OK,
        &json!({
            "consoleScreenshotBlobUri": blob("screenshot.bmp"),
            "serialConsoleLogBlobUri": blob("serialconsole.log"),
        }),
    )
}

/// `GET /fake-storage/…/{vmId}.serialconsole.log?…sig=…`: the blob a SAS URI names. Storage
/// needs no ARM token (the signature is the authorisation) and refuses a URI without one.
pub fn serve_blob(fake: &Fake, path: &str, query: &str) -> Response<Body> {
    let storage_error = |status: StatusCode, code: &str| {
        let mut r = crate::http::empty_response(status);
        if let Ok(v) = hyper::header::HeaderValue::from_str(code) {
            r.headers_mut().insert("x-ms-error-code", v);
        }
        r
    };
    if !query
        .split('&')
        .any(|kv| kv.starts_with("sig=") && kv.len() > 4)
    {
        return storage_error(StatusCode::FORBIDDEN, "AuthenticationFailed");
    }
    let file = path.rsplit('/').next().unwrap_or_default();
    let Some(vm_id) = file.strip_suffix(".serialconsole.log") else {
        return storage_error(StatusCode::NOT_FOUND, "BlobNotFound");
    };
    let (log, scrollback) = {
        let w = fake.world();
        match w.machines.iter().find(|(_, m)| m.vm_id == vm_id) {
            Some((key, m)) => (
                m.boot_log.clone().map(|path| (path, m.boot_log_from)),
                fake.console(key),
            ),
            None => return storage_error(StatusCode::NOT_FOUND, "BlobNotFound"),
        }
    };
    let bytes = match log {
        Some((path, from)) => since_start(&path, from),
        None => scrollback.map(|c| c.scrollback()).unwrap_or_default(),
    };
    let mut response = crate::http::empty_response(StatusCode::OK);
    *response.body_mut() = Body::from(bytes);
    response
}

/// The log file's bytes from the VM's last start (all of them if the file is shorter, as a
/// new qemu's log would be).
fn since_start(path: &std::path::Path, from: u64) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap_or_default();
    match usize::try_from(from) {
        Ok(from) if from <= bytes.len() => bytes.split_off(from),
        _ => bytes,
    }
}

/// A power action's call, for a VM or a scale-set instance alike.
async fn power_call(
    fake: &Arc<Fake>,
    call: &Call<'_>,
    key: &MachineKey,
    action: &str,
) -> Response<Body> {
    if let Some(r) = check_api(call.api_version, COMPUTE_API_VERSIONS, "Microsoft.Compute") {
        return r;
    }
    let action = match action {
        "restart" => PowerAction::Restart,
        "redeploy" => PowerAction::Redeploy,
        _ => PowerAction::Start,
    };
    power_action(fake, call, key, action).await
}

/// What `POST {vm}/restart`, `/redeploy` and `/start` ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PowerAction {
    Restart,
    Redeploy,
    Start,
}

/// A power action, done before its first answer (a reset takes milliseconds) and reported
/// through the operation, which stays in progress for one poll as every operation here does:
/// - `restart` resets the guest (qemu's `system_reset` through `--monitor`; without one, the
///   console shows a reboot) and clears a Degraded health;
/// - `redeploy` moves the VM to another, healthy host: a new dynamic public address (the SSH
///   front moves to a new port) and a boot there, so the guest is reset too;
/// - `start` boots a stopped or deallocated VM and does nothing to a running one.
///
/// Restart and redeploy need a running VM (409 otherwise), as Azure's do. A reset that fails
/// makes the operation end `Failed`.
async fn power_action(
    fake: &Arc<Fake>,
    call: &Call<'_>,
    key: &MachineKey,
    action: PowerAction,
) -> Response<Body> {
    let (running, backend, index) = {
        let w = fake.world();
        let m = &w.machines[key];
        let index = w.machines.keys().position(|k| k == key).unwrap_or(0);
        (m.power.running(), m.ssh_backend, index)
    };
    if !running && action != PowerAction::Start {
        return cloud_error(
            StatusCode::CONFLICT,
            "OperationNotAllowed",
            "Cannot perform this operation because the VM is not running (its power state must be 'running').",
        );
    }
    let boots = match action {
        PowerAction::Restart => {
            let mut w = fake.world();
            w.counters.restarts += 1;
            // The fake's Degraded is a fault a restart cures (Azure's guide restarts first);
            // one that outlasts it is set again through the control, and redeploy is for it.
            if let Some(m) = w.machines.get_mut(key)
                && m.health.eq_ignore_ascii_case("degraded")
            {
                m.health = "Available".into();
            }
            true
        }
        PowerAction::Redeploy => {
            if let Err(response) = move_host(fake, key, backend, index).await {
                return response;
            }
            true
        }
        PowerAction::Start => {
            let mut w = fake.world();
            w.counters.starts += 1;
            match w.machines.get_mut(key) {
                Some(m) if !m.power.running() => {
                    m.power = crate::machines::Power::Running;
                    // A new start: the log begins again from here.
                    m.boot_log_from = m
                        .boot_log
                        .as_ref()
                        .and_then(|path| std::fs::metadata(path).ok())
                        .map_or(0, |meta| meta.len());
                    true
                }
                _ => false,
            }
        }
    };
    let outcome = if boots {
        info!(vm = %key, ?action, "booting the guest");
        boot_guest(fake, key).await.map(|()| None).map_err(|e| {
            json!({"code": "InternalExecutionError", "message": format!("the VM did not restart: {e}")})
        })
    } else {
        Ok(None)
    };
    operations::start_ended(
        fake,
        &key.subscription,
        call.api_version,
        Provider::Compute,
        Start::Accepted,
        outcome,
    )
}

/// Resets the guest as its power button would: through its qemu monitor when it has one. A
/// stand-in getty shows a reboot on its console instead; a real guest without a monitor cannot
/// be reset from here and is left running (the log says so).
async fn boot_guest(fake: &Fake, key: &MachineKey) -> Result<(), String> {
    let (monitor, serial) = match fake.world().machines.get(key) {
        Some(m) => (m.spec.monitor.clone(), m.spec.serial.clone()),
        None => return Err("the VM went away".into()),
    };
    match (monitor, serial) {
        (Some(socket), _) => crate::monitor::run(&socket, "system_reset").await,
        (None, SerialSpec::Echo) => {
            crate::gateway::inject_banner(fake, key, "reset", "");
            Ok(())
        }
        (None, SerialSpec::Unix(_)) => {
            warn!(vm = %key, "no --monitor: the guest is not reset");
            Ok(())
        }
    }
}

/// A redeploy's move: a healthy host, and a new public address whose SSH front is a new port.
async fn move_host(
    fake: &Arc<Fake>,
    key: &MachineKey,
    backend: Option<u16>,
    index: usize,
) -> Result<(), Response<Body>> {
    let port = match backend {
        Some(backend) => match Fronts::open(fake, key, backend).await {
            Ok(port) => Some(port),
            Err(e) => {
                return Err(cloud_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    &format!("fake-azure could not open the new SSH front: {e}"),
                ));
            }
        },
        None => None,
    };
    let mut w = fake.world();
    w.counters.redeploys += 1;
    let generation = w.counters.redeploys as u8;
    let Some(machine) = w.machines.get_mut(key) else {
        return Err(cloud_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "the VM went away",
        ));
    };
    // A healthy host: what a redeploy is for.
    machine.health = "Available".into();
    if let Some(ip) = machine.network.as_mut().and_then(|n| n.public_ip.as_mut()) {
        ip.address = network::documentation_address(index as u8 + 16 * generation);
        ip.front_port = port;
    }
    info!(vm = %key, ?port, "redeployed");
    Ok(())
}
