//! Azure Resource Manager, as much of it as a serial-console client touches (see
//! docs/azure-serial-console.md):
//!
//! - `Microsoft.SerialConsole/consoleServices/default` status, `enableConsole`, `disableConsole`;
//! - `Microsoft.Compute` VM (`?$expand=instanceView`), scale set, scale-set instance and its
//!   `instanceView`, which clients read for their pre-checks;
//! - `…/providers/Microsoft.SerialConsole/serialPorts/0/connect` for a VM or a scale-set instance,
//!   which issues a gateway session.
//!
//! ARM matches its literal path segments without regard to case (az's template says
//! `resourcegroups`, other clients `resourceGroups`), and so do names. Every call needs a bearer
//! token issued by the fake for a management audience and an `api-version` query parameter.

use crate::http::{
    Body, CloudError, bearer, cloud_error, default_arm_failure, failure_response, json_response,
    query_pairs, read_body, segments,
};
use crate::machines::{Machine, MachineKey, MachineName};
use crate::resources;
use crate::state::{Fake, GatewaySession, Identity, Route, random_uuid};
use crate::token::{self, MANAGEMENT_AUDIENCES, TokenProblem};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tracing::info;

pub const LOCATION: &str = "eastus";
const CONNECT_ACTION: &str = "Microsoft.SerialConsole/serialPorts/connect/action";

/// A parsed ARM path. Names are as the client sent them.
enum ArmRoute {
    ConsoleStatus {
        sub: String,
    },
    ConsoleToggle {
        sub: String,
        disable: bool,
    },
    Vm {
        target: Target,
    },
    ScaleSet {
        sub: String,
        rg: String,
        scale_set: String,
    },
    ScaleSetVm {
        target: Target,
    },
    InstanceView {
        target: Target,
    },
    SerialPort {
        target: Target,
        port: String,
    },
    Connect {
        target: Target,
        port: String,
    },
}

/// The machine a path names.
struct Target {
    sub: String,
    rg: String,
    /// The VM, or the scale set.
    name: String,
    instance: Option<String>,
}

impl Target {
    fn key(&self) -> MachineKey {
        MachineKey::new(&self.sub, &self.rg, &self.name, self.instance.as_deref())
    }

    /// How ARM names the parent in messages: `vm`, or `vmss/virtualMachines/2`.
    fn parent(&self) -> String {
        match &self.instance {
            None => self.name.clone(),
            Some(id) => format!("{}/virtualMachines/{id}", self.name),
        }
    }

    fn resource_id(&self) -> String {
        let base = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute",
            self.sub, self.rg
        );
        match &self.instance {
            None => format!("{base}/virtualMachines/{}", self.name),
            Some(id) => format!(
                "{base}/virtualMachineScaleSets/{}/virtualMachines/{id}",
                self.name
            ),
        }
    }
}

fn parse(segs: &[String]) -> Option<ArmRoute> {
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let s = |i: usize| segs[i].clone();
    let vm = || Target {
        sub: s(1),
        rg: s(3),
        name: s(7),
        instance: None,
    };
    let instance = || Target {
        sub: s(1),
        rg: s(3),
        name: s(7),
        instance: Some(s(9)),
    };
    const SC: &str = "microsoft.serialconsole";
    const CO: &str = "microsoft.compute";
    Some(match l.as_slice() {
        [
            "subscriptions",
            _,
            "providers",
            SC,
            "consoleservices",
            "default",
        ] => ArmRoute::ConsoleStatus { sub: s(1) },
        [
            "subscriptions",
            _,
            "providers",
            SC,
            "consoleservices",
            "default",
            action,
        ] => ArmRoute::ConsoleToggle {
            sub: s(1),
            disable: match *action {
                "disableconsole" => true,
                "enableconsole" => false,
                _ => return None,
            },
        },
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            CO,
            "virtualmachines",
            _,
        ] => ArmRoute::Vm { target: vm() },
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            CO,
            "virtualmachines",
            _,
            "providers",
            SC,
            "serialports",
            _,
        ] => ArmRoute::SerialPort {
            target: vm(),
            port: s(11),
        },
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            CO,
            "virtualmachines",
            _,
            "providers",
            SC,
            "serialports",
            _,
            "connect",
        ] => ArmRoute::Connect {
            target: vm(),
            port: s(11),
        },
        [
            "subscriptions",
            _,
            "resourcegroups",
            _,
            "providers",
            CO,
            "virtualmachinescalesets",
            _,
        ] => ArmRoute::ScaleSet {
            sub: s(1),
            rg: s(3),
            scale_set: s(7),
        },
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
        ] => ArmRoute::ScaleSetVm { target: instance() },
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
            "instanceview",
        ] => ArmRoute::InstanceView { target: instance() },
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
            "providers",
            SC,
            "serialports",
            _,
        ] => ArmRoute::SerialPort {
            target: instance(),
            port: s(13),
        },
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
            "providers",
            SC,
            "serialports",
            _,
            "connect",
        ] => ArmRoute::Connect {
            target: instance(),
            port: s(13),
        },
        _ => return None,
    })
}

pub async fn handle(fake: &Arc<Fake>, req: Request<Incoming>) -> Response<Body> {
    let identity = match authenticate(fake, &req) {
        Ok(identity) => identity,
        Err(e) => return unauthorized_response(e),
    };
    let query = query_pairs(&req);
    if !query
        .iter()
        .any(|(k, v)| k == "api-version" && !v.is_empty())
    {
        return cloud_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    let expand_instance_view = query
        .iter()
        .any(|(k, v)| k == "$expand" && v.eq_ignore_ascii_case("instanceView"));
    let segs = segments(req.uri().path());
    let Some(route) = parse(&segs) else {
        let api_version = query
            .iter()
            .find(|(k, _)| k == "api-version")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let method = req.method().clone();
        let body = match read_body(req.into_body()).await {
            Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
            Err(response) => return response,
        };
        let call = resources::Call {
            method,
            segments: &segs,
            api_version: &api_version,
            body,
        };
        return resources::handle(fake, call).await;
    };
    let method = req.method().clone();
    let expect = |m: Method| {
        (method != m).then(|| {
            cloud_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                &format!("{method} is not supported here; use {m}"),
            )
        })
    };
    match route {
        ArmRoute::ConsoleStatus { sub } => {
            if let Some(r) = expect(Method::GET) {
                return r;
            }
            console_services(fake, &identity, &sub, None).await
        }
        ArmRoute::ConsoleToggle { sub, disable } => {
            if let Some(r) = expect(Method::POST) {
                return r;
            }
            console_services(fake, &identity, &sub, Some(disable)).await
        }
        ArmRoute::Vm { target } => {
            if let Some(r) = expect(Method::GET) {
                return r;
            }
            get_machine(fake, &identity, &target, Route::Vm, expand_instance_view).await
        }
        ArmRoute::ScaleSetVm { target } => {
            if let Some(r) = expect(Method::GET) {
                return r;
            }
            get_machine(
                fake,
                &identity,
                &target,
                Route::ScaleSet,
                expand_instance_view,
            )
            .await
        }
        ArmRoute::InstanceView { target } => {
            if let Some(r) = expect(Method::GET) {
                return r;
            }
            instance_view(fake, &identity, &target).await
        }
        ArmRoute::ScaleSet { sub, rg, scale_set } => {
            if let Some(r) = expect(Method::GET) {
                return r;
            }
            get_scale_set(fake, &identity, &sub, &rg, &scale_set).await
        }
        ArmRoute::SerialPort { target, port } => {
            if let Some(r) = expect(Method::GET) {
                return r;
            }
            serial_port(fake, &target, &port)
        }
        ArmRoute::Connect { target, port } => {
            if let Some(r) = expect(Method::POST) {
                return r;
            }
            let body = match read_body(req.into_body()).await {
                Ok(b) => b,
                Err(response) => return response,
            };
            connect(fake, &identity, &target, &port, &body).await
        }
    }
}

/// ARM's bearer check: a missing header and an unknown token fail differently, as in Azure.
fn authenticate(fake: &Fake, req: &Request<Incoming>) -> Result<Identity, CloudError> {
    let unauthorized =
        |code: &str, message: String| CloudError::new(StatusCode::UNAUTHORIZED, code, message);
    let Some(token) = bearer(req) else {
        return Err(unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".into(),
        ));
    };
    match token::check(fake, &token) {
        Ok(identity) => Ok(identity),
        Err(TokenProblem::Unknown) => Err(unauthorized(
            "InvalidAuthenticationToken",
            "The access token is invalid.".into(),
        )),
        Err(TokenProblem::Audience(aud)) => Err(unauthorized(
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences '{}'.",
                MANAGEMENT_AUDIENCES.join("','")
            ),
        )),
    }
}

/// A 401 with the `WWW-Authenticate` challenge ARM sends along.
fn unauthorized_response(e: CloudError) -> Response<Body> {
    let challenge = format!(
        "Bearer authorization_uri=\"https://login.windows.net/\", error=\"invalid_token\", error_description=\"{}\"",
        e.message.replace('"', "'")
    );
    let mut response: Response<Body> = e.into();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// GET status, or POST enable/disable (`toggle = Some(disable)`).
async fn console_services(
    fake: &Fake,
    who: &Identity,
    sub: &str,
    toggle: Option<bool>,
) -> Response<Body> {
    fake.delay(Route::ConsoleServices).await;
    if let Some(f) = fake.take_failure(Route::ConsoleServices) {
        let (code, message) = default_arm_failure(
            f.status,
            "Microsoft.SerialConsole/consoleServices/write",
            &format!("/subscriptions/{sub}"),
            (&who.client_id, &who.object_id),
        );
        return failure_response(&f, &code, &message);
    }
    let mut w = fake.world();
    let Some((_, disabled)) = w.subscriptions.get_mut(&sub.to_ascii_lowercase()) else {
        // Not a CloudError: the spec's SerialConsoleStatus example has a flat body here.
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({
                "code": "SubscriptionNotFound",
                "message": format!("The subscription '{sub}' could not be found."),
            }),
        );
    };
    if let Some(disable) = toggle {
        *disabled = disable;
        info!(subscription = %sub, disabled = disable, "console services toggled");
    }
    json_response(
        StatusCode::OK,
        &json!({"properties": {"disabled": *disabled}}),
    )
}

/// The 404s of a lookup: subscription, resource group, then the resource.
fn lookup<T>(
    fake: &Fake,
    sub: &str,
    rg: &str,
    found: impl FnOnce(&crate::state::World) -> Option<T>,
    missing: impl FnOnce() -> CloudError,
) -> Result<T, CloudError> {
    let w = fake.world();
    if !w.subscriptions.contains_key(&sub.to_ascii_lowercase()) {
        return Err(CloudError::new(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        ));
    }
    let (lsub, lrg) = (sub.to_ascii_lowercase(), rg.to_ascii_lowercase());
    if !w
        .machines
        .keys()
        .any(|k| k.subscription == lsub && k.resource_group == lrg)
    {
        return Err(CloudError::new(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            format!("Resource group '{rg}' could not be found."),
        ));
    }
    found(&w).ok_or_else(missing)
}

fn resource_not_found(kind: &str, name: &str, rg: &str) -> CloudError {
    CloudError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!(
            "The Resource '{kind}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

async fn get_machine(
    fake: &Fake,
    who: &Identity,
    target: &Target,
    route: Route,
    expand_instance_view: bool,
) -> Response<Body> {
    fake.delay(route).await;
    if let Some(f) = fake.take_failure(route) {
        let (code, message) = default_arm_failure(
            f.status,
            "Microsoft.Compute/virtualMachines/read",
            &target.resource_id(),
            (&who.client_id, &who.object_id),
        );
        return failure_response(&f, &code, &message);
    }
    let key = target.key();
    let kind = match target.instance {
        None => "Microsoft.Compute/virtualMachines",
        Some(_) => "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
    };
    match lookup(
        fake,
        &target.sub,
        &target.rg,
        |w| w.machines.get(&key).cloned(),
        || resource_not_found(kind, &target.parent(), &target.rg),
    ) {
        Ok(machine) => json_response(
            StatusCode::OK,
            &machine_json(&machine, expand_instance_view),
        ),
        Err(e) => e.into(),
    }
}

async fn instance_view(fake: &Fake, who: &Identity, target: &Target) -> Response<Body> {
    fake.delay(Route::InstanceView).await;
    if let Some(f) = fake.take_failure(Route::InstanceView) {
        let (code, message) = default_arm_failure(
            f.status,
            "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/instanceView/read",
            &target.resource_id(),
            (&who.client_id, &who.object_id),
        );
        return failure_response(&f, &code, &message);
    }
    let key = target.key();
    match lookup(
        fake,
        &target.sub,
        &target.rg,
        |w| w.machines.get(&key).cloned(),
        || {
            resource_not_found(
                "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
                &target.parent(),
                &target.rg,
            )
        },
    ) {
        Ok(machine) => json_response(StatusCode::OK, &instance_view_json(&machine)),
        Err(e) => e.into(),
    }
}

async fn get_scale_set(
    fake: &Fake,
    who: &Identity,
    sub: &str,
    rg: &str,
    scale_set: &str,
) -> Response<Body> {
    fake.delay(Route::ScaleSet).await;
    let id = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{scale_set}"
    );
    if let Some(f) = fake.take_failure(Route::ScaleSet) {
        let (code, message) = default_arm_failure(
            f.status,
            "Microsoft.Compute/virtualMachineScaleSets/read",
            &id,
            (&who.client_id, &who.object_id),
        );
        return failure_response(&f, &code, &message);
    }
    let (lsub, lrg, lss) = (
        sub.to_ascii_lowercase(),
        rg.to_ascii_lowercase(),
        scale_set.to_ascii_lowercase(),
    );
    let instances = lookup(
        fake,
        sub,
        rg,
        |w| {
            let found: Vec<Machine> = w
                .machines
                .iter()
                .filter(|(k, _)| {
                    k.subscription == lsub
                        && k.resource_group == lrg
                        && k.name == lss
                        && k.instance.is_some()
                })
                .map(|(_, m)| m.clone())
                .collect();
            (!found.is_empty()).then_some(found)
        },
        || resource_not_found("Microsoft.Compute/virtualMachineScaleSets", scale_set, rg),
    );
    let instances = match instances {
        Ok(i) => i,
        Err(e) => return e.into(),
    };
    let boot_diagnostics = instances.iter().all(|m| m.boot_diagnostics);
    json_response(
        StatusCode::OK,
        &json!({
            "name": scale_set,
            "id": id,
            "type": "Microsoft.Compute/virtualMachineScaleSets",
            "location": LOCATION,
            "sku": {"name": "Standard_B1s", "tier": "Standard", "capacity": instances.len()},
            "properties": {
                "provisioningState": "Succeeded",
                "upgradePolicy": {"mode": "Manual"},
                "virtualMachineProfile": {
                    "osProfile": {"computerNamePrefix": scale_set, "adminUsername": "azureuser"},
                    "storageProfile": {"imageReference": image_reference()},
                    "diagnosticsProfile": {"bootDiagnostics": {"enabled": boot_diagnostics}},
                },
            },
        }),
    )
}

fn serial_port(fake: &Fake, target: &Target, port: &str) -> Response<Body> {
    let key = target.key();
    let found = lookup(
        fake,
        &target.sub,
        &target.rg,
        |w| w.machines.contains_key(&key).then_some(()),
        || parent_not_found(target),
    );
    if let Err(e) = found {
        return e.into();
    }
    if port != "0" {
        return serial_port_not_found(target, port).into();
    }
    json_response(
        StatusCode::OK,
        &json!({
            "name": "0",
            "id": format!("{}/providers/Microsoft.SerialConsole/serialPorts/0", target.resource_id()),
            "type": "Microsoft.SerialConsole/serialPorts",
            "properties": {"state": "enabled"},
        }),
    )
}

fn parent_not_found(target: &Target) -> CloudError {
    CloudError::new(
        StatusCode::NOT_FOUND,
        "ParentResourceNotFound",
        format!(
            "Can not perform requested operation on nested resource. Parent resource '{}' not found.",
            target.parent()
        ),
    )
}

fn serial_port_not_found(target: &Target, port: &str) -> CloudError {
    resource_not_found(
        "Microsoft.SerialConsole/serialPorts",
        &format!("{}/{port}", target.parent()),
        &target.rg,
    )
}

/// `POST …/serialPorts/0/connect`: issues a gateway session for the machine.
async fn connect(
    fake: &Fake,
    who: &Identity,
    target: &Target,
    port: &str,
    body: &[u8],
) -> Response<Body> {
    fake.world().counters.connect_calls += 1;
    fake.delay(Route::Connect).await;
    let scope = format!(
        "{}/providers/Microsoft.SerialConsole/serialPorts/{port}",
        target.resource_id()
    );
    if let Some(f) = fake.take_failure(Route::Connect) {
        let (code, message) = default_arm_failure(
            f.status,
            CONNECT_ACTION,
            &scope,
            (&who.client_id, &who.object_id),
        );
        return failure_response(&f, &code, &message);
    }
    // az sends no body, the F5 script `{}`: both are fine, anything else is not JSON we expect.
    let blank = body.iter().all(u8::is_ascii_whitespace);
    if !blank && serde_json::from_slice::<Value>(body).is_err() {
        return cloud_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized.",
        );
    }
    let key = target.key();
    let machine = match lookup(
        fake,
        &target.sub,
        &target.rg,
        |w| w.machines.get(&key).cloned(),
        || parent_not_found(target),
    ) {
        Ok(m) => m,
        Err(e) => return e.into(),
    };
    let disabled = fake
        .world()
        .subscriptions
        .get(&key.subscription)
        .is_some_and(|(_, d)| *d);
    if disabled {
        // The real code is not documented (docs/azure-serial-console.md); this one
        // is ours, and the message says what to do.
        return cloud_error(
            StatusCode::FORBIDDEN,
            "SerialConsoleDisabled",
            &format!(
                "Azure Serial Console is disabled for subscription '{}'. Enable it with 'az serial-console enable' (POST …/consoleServices/default/enableConsole).",
                target.sub
            ),
        );
    }
    if port != "0" {
        return serial_port_not_found(target, port).into();
    }
    if !machine.boot_diagnostics {
        // The portal's 404 text for this case (docs/azure-serial-console.md); az checks it client-side first.
        return cloud_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!(
                "Unable to retrieve boot diagnostics settings for '{}'. To use serial console, ensure that boot diagnostics is enabled for this VM.",
                target.parent()
            ),
        );
    }
    let container = random_uuid();
    let session = random_uuid();
    let host = fake
        .base_url
        .strip_prefix("https://")
        .unwrap_or(&fake.base_url);
    let url = format!("wss://{host}/n/connector/{container}/sessions/{session}/client");
    fake.world().sessions.insert(
        session.clone(),
        GatewaySession {
            container,
            machine: key.clone(),
        },
    );
    info!(vm = %key, %session, "connect issued a gateway session");
    json_response(StatusCode::OK, &json!({"connectionString": url}))
}

/// The guest agent's status as the instance view reports it.
fn vm_agent(machine: &Machine) -> Value {
    let status = if machine.agent_ready {
        json!({"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready",
               "message": "Guest Agent is running"})
    } else {
        json!({"code": "ProvisioningState/Unavailable", "level": "Warning", "displayStatus": "Not Ready",
               "message": "VM Agent is unresponsive."})
    };
    json!({"vmAgentVersion": "2.9.1.1", "statuses": [status]})
}

fn image_reference() -> Value {
    json!({"publisher": "Debian", "offer": "debian-12", "sku": "12-gen2", "version": "latest"})
}

fn statuses(machine: &Machine) -> Value {
    json!([
        {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"},
        {"code": format!("PowerState/{}", machine.power.code()), "level": "Info", "displayStatus": machine.power.display()},
    ])
}

/// A VM, or a scale-set instance (which has an `instanceId` and its own type).
fn machine_json(machine: &Machine, expand_instance_view: bool) -> Value {
    let host = machine.host_name();
    let mut properties = json!({
        "vmId": machine.vm_id,
        "provisioningState": "Succeeded",
        "hardwareProfile": {"vmSize": "Standard_B1s"},
        "storageProfile": {
            "imageReference": image_reference(),
            "osDisk": {"osType": "Linux", "name": format!("{host}_OsDisk_1"), "createOption": "FromImage"},
        },
        "osProfile": {
            "computerName": host,
            "adminUsername": machine.admin.user,
            "linuxConfiguration": {
                "disablePasswordAuthentication": false,
                "ssh": {"publicKeys": machine.admin.keys.iter().map(|key| json!({
                    "path": format!("/home/{}/.ssh/authorized_keys", machine.admin.user),
                    "keyData": key,
                })).collect::<Vec<_>>()},
            },
        },
        // storageUri null: managed boot-diagnostics storage, which needs no storage lookup.
        "diagnosticsProfile": {"bootDiagnostics": {"enabled": machine.boot_diagnostics, "storageUri": null}},
    });
    if machine.network.is_some() {
        properties["networkProfile"] = json!({"networkInterfaces": [
            {"id": resources::nic_id(machine), "properties": {"primary": true}}
        ]});
    }
    if expand_instance_view {
        properties["instanceView"] = json!({
            "computerName": host,
            "osName": "debian",
            "osVersion": "12",
            "statuses": statuses(machine),
            "vmAgent": vm_agent(machine),
        });
    }
    let (name, kind, instance_id) = match &machine.spec.name {
        MachineName::Vm(vm) => (vm.clone(), "Microsoft.Compute/virtualMachines", None),
        MachineName::ScaleSetInstance {
            scale_set,
            instance,
        } => (
            format!("{scale_set}_{instance}"),
            "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
            Some(instance.clone()),
        ),
    };
    let mut vm = json!({
        "name": name,
        "id": machine.resource_id(),
        "type": kind,
        "location": LOCATION,
        "properties": properties,
    });
    if let Some(id) = instance_id {
        vm["instanceId"] = json!(id);
    }
    vm
}

/// A scale-set instance's instance view. az requires `bootDiagnostics` to be present (not
/// null), which is what it is when boot diagnostics are on; with them off it is absent.
fn instance_view_json(machine: &Machine) -> Value {
    let mut view = json!({
        "platformUpdateDomain": 0,
        "platformFaultDomain": 0,
        "computerName": machine.host_name(),
        "osName": "debian",
        "osVersion": "12",
        "statuses": statuses(machine),
    });
    if machine.boot_diagnostics {
        view["bootDiagnostics"] = json!({});
    }
    view
}
