//! Azure Resource Manager calls, through azure_core's pipeline (retries with Retry-After on
//! 408/429/5xx, request ids, bearer tokens). Every failure becomes an [`ArmError`] that says what
//! Azure answered and what the user can do about it; nothing is swallowed.

use super::body;
use super::cloud::Cloud;
use super::target::{Machine, VmTarget};
use crate::exit::ExitClass;
use azure_core::credentials::TokenCredential;
use azure_core::http::headers::HeaderName;
use azure_core::http::policies::Policy;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{ClientOptions, Context, Method, Pipeline, Request, Url};
use serde_json::Value;
use std::sync::Arc;

const CONSOLE_API: &str = "2018-05-01";
pub(crate) const COMPUTE_API: &str = "2024-07-01";

#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    #[error("Azure answered {status} {code} to {what}: {message}{hint}")]
    Http {
        what: String,
        status: u16,
        code: String,
        message: String,
        hint: String,
    },
    #[error("could not {what}: {message}")]
    Transport { what: String, message: String },
    #[error("{0}")]
    Credential(String),
}

impl ArmError {
    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        match self {
            // No token, or a token ARM refused: a sign-in failure, not an unreachable console.
            ArmError::Credential(_) | ArmError::Http { status: 401, .. } => ExitClass::Auth,
            ArmError::Http { .. } | ArmError::Transport { .. } => ExitClass::Link,
        }
    }
}

impl ArmError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ArmError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// What the pre-checks need to know about a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineView {
    /// The `PowerState/…` code without its prefix: running, stopped, deallocated, …
    pub power_state: Option<String>,
    pub boot_diagnostics: bool,
    pub is_windows: bool,
}

#[derive(Clone, Debug)]
pub struct ArmClient {
    pipeline: Pipeline,
    /// The same pipeline without the ARM token, for presigned storage URLs.
    anonymous: Pipeline,
    cloud: Cloud,
    credential: Arc<dyn TokenCredential>,
}

impl ArmClient {
    pub fn new(cloud: Cloud, credential: Arc<dyn TokenCredential>) -> Self {
        let auth = Arc::new(BearerTokenAuthorizationPolicy::new(
            credential.clone(),
            [cloud.scope.clone()],
        ));
        let pipeline = |policies: Vec<Arc<dyn Policy>>| {
            Pipeline::new(
                Some(env!("CARGO_PKG_NAME")),
                Some(env!("CARGO_PKG_VERSION")),
                ClientOptions::default(),
                Vec::new(),
                policies,
                None,
            )
        };
        ArmClient {
            pipeline: pipeline(vec![auth]),
            anonymous: pipeline(Vec::new()),
            cloud,
            credential,
        }
    }

    /// The ARM token itself: the gateway wants it as the websocket's first message, and
    /// admin commands as a bearer.
    pub async fn token(&self) -> Result<String, ArmError> {
        self.credential
            .get_token(&[self.cloud.scope.as_str()], None)
            .await
            .map(|t| t.token.secret().to_string())
            .map_err(|e| ArmError::Credential(e.to_string()))
    }

    /// Whether the Serial Console is disabled for the subscription.
    pub async fn console_disabled(&self, subscription: &str) -> Result<bool, ArmError> {
        let path = format!(
            "subscriptions/{subscription}/providers/Microsoft.SerialConsole/consoleServices/default"
        );
        let v = self
            .call(
                Method::Get,
                &path,
                CONSOLE_API,
                "read the Serial Console setting",
            )
            .await?;
        Ok(disabled_flag(&v))
    }

    /// Enables or disables the Serial Console for the subscription; returns the new `disabled`.
    pub async fn set_console(&self, subscription: &str, enabled: bool) -> Result<bool, ArmError> {
        let action = if enabled {
            "enableConsole"
        } else {
            "disableConsole"
        };
        let path = format!(
            "subscriptions/{subscription}/providers/Microsoft.SerialConsole/consoleServices/default/{action}"
        );
        let v = self.call(Method::Post, &path, CONSOLE_API, action).await?;
        Ok(disabled_flag(&v))
    }

    /// Power state, boot diagnostics and OS of a VM or scale-set instance.
    pub async fn machine(&self, target: &VmTarget) -> Result<MachineView, ArmError> {
        match &target.machine {
            Machine::Vm { .. } => {
                let path = format!("{}?$expand=instanceView", target.resource_path());
                let v = self
                    .call(Method::Get, &path, COMPUTE_API, &format!("read {target}"))
                    .await?;
                let props = &v["properties"];
                Ok(MachineView {
                    power_state: power_state(&props["instanceView"]["statuses"]),
                    boot_diagnostics: props["diagnosticsProfile"]["bootDiagnostics"]["enabled"]
                        .as_bool()
                        .unwrap_or(false),
                    is_windows: text_contains(&props["instanceView"]["osName"], "windows")
                        || text_contains(
                            &props["storageProfile"]["imageReference"]["offer"],
                            "windows",
                        ),
                })
            }
            Machine::ScaleSetInstance { .. } => {
                let path = format!("{}/instanceView", target.resource_path());
                let v = self
                    .call(Method::Get, &path, COMPUTE_API, &format!("read {target}"))
                    .await?;
                Ok(MachineView {
                    power_state: power_state(&v["statuses"]),
                    boot_diagnostics: !v["bootDiagnostics"].is_null(),
                    is_windows: text_contains(&v["osName"], "windows"),
                })
            }
        }
    }

    /// Whether a scale set of this name exists in the resource group (to explain a 404 for a VM
    /// name that is really a scale set).
    pub async fn scale_set_exists(
        &self,
        subscription: &str,
        resource_group: &str,
        name: &str,
    ) -> bool {
        let path = format!(
            "subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"
        );
        self.call(Method::Get, &path, COMPUTE_API, "read the scale set")
            .await
            .is_ok()
    }

    /// `serialPorts/0/connect`: a fresh websocket URL for one console session.
    pub async fn connect(&self, target: &VmTarget) -> Result<String, ArmError> {
        let path = format!(
            "{}/providers/Microsoft.SerialConsole/serialPorts/0/connect",
            target.resource_path()
        );
        let v = self
            .call(
                Method::Post,
                &path,
                CONSOLE_API,
                &format!("open the serial console of {target}"),
            )
            .await?;
        let url = v["connectionString"]
            .as_str()
            .ok_or_else(|| ArmError::Transport {
                what: "open the serial console".into(),
                message: format!("the answer had no connectionString: {v}"),
            })?;
        // The token goes to this host next: only to a gateway of the cloud in use.
        let host = Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        if !self.cloud.is_gateway(&host) {
            let why = if self.cloud.has_no_documented_gateway() {
                "Azure documents no serial console for this cloud, so no gateway host is known"
            } else {
                "which is not a serial-console gateway host of this cloud"
            };
            return Err(ArmError::Transport {
                what: "open the serial console".into(),
                message: format!(
                    "Azure named {host:?} as the console gateway, {why} ({}): the token is not \
                     sent there",
                    self.cloud.arm_endpoint
                ),
            });
        }
        Ok(url.to_string())
    }

    /// POSTs a JSON body to an absolute https URL with the ARM token (admin commands).
    pub async fn post_json(&self, url: Url, body: Value, what: &str) -> Result<Value, ArmError> {
        self.send(Method::Post, url, Some(body), what).await
    }

    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        api: &str,
        what: &str,
    ) -> Result<Value, ArmError> {
        let url = self.api_url(path_and_query, api, what)?;
        let body = (method == Method::Post).then(|| serde_json::json!({}));
        self.send(method, url, body, what).await
    }

    /// The absolute URL of an ARM path, with its `api-version`.
    pub(super) fn api_url(
        &self,
        path_and_query: &str,
        api: &str,
        what: &str,
    ) -> Result<Url, ArmError> {
        let mut url = self.url(path_and_query, what)?;
        url.query_pairs_mut().append_pair("api-version", api);
        Ok(url)
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
        what: &str,
    ) -> Result<Value, ArmError> {
        Ok(self.request(method, url, body, what).await?.value)
    }

    /// One request through the authenticated pipeline; a status outside 2xx is an error that
    /// carries ARM's code and message.
    pub(super) async fn request(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
        what: &str,
    ) -> Result<Reply, ArmError> {
        send_through(&self.pipeline, method, url, body, what).await
    }

    /// A GET of a URL that carries its own authorisation (a storage SAS URI): sent without
    /// the ARM token, which must not travel to storage.
    pub(super) async fn get_presigned(&self, url: Url, what: &str) -> Result<String, ArmError> {
        let mut request = Request::new(url, Method::Get);
        let response = self
            .anonymous
            .stream(&Context::new(), &mut request, Some(skip_checks()))
            .await
            .map_err(|e| transport_or_credential(e, what))?;
        let status = u16::from(response.status());
        let body = read_body(response.into_body(), body::SERIAL_LOG_LIMIT, what).await?;
        // A serial log holds whatever the guest printed, invalid UTF-8 included: decoded
        // lossily, or one stray byte would turn the whole log into nothing.
        let body = String::from_utf8_lossy(&body).into_owned();
        if (200..300).contains(&status) {
            return Ok(body);
        }
        Err(ArmError::Http {
            what: what.to_string(),
            status,
            code: String::new(),
            message: body.chars().take(300).collect(),
            hint: String::new(),
        })
    }

    fn url(&self, path_and_query: &str, what: &str) -> Result<Url, ArmError> {
        self.cloud
            .arm_endpoint
            .join(path_and_query)
            .map_err(|e| ArmError::Transport {
                what: what.to_string(),
                message: format!("bad resource path {path_and_query:?}: {e}"),
            })
    }
}

/// What an ARM answer carries besides its body: the headers of a long-running operation.
#[derive(Debug, Clone)]
pub(super) struct Reply {
    pub status: u16,
    pub value: Value,
    pub async_operation: Option<String>,
    pub location: Option<String>,
    pub retry_after: Option<u64>,
}

fn skip_checks() -> azure_core::http::PipelineStreamOptions {
    azure_core::http::PipelineStreamOptions {
        skip_checks: true,
        ..Default::default()
    }
}

async fn send_through(
    pipeline: &Pipeline,
    method: Method,
    url: Url,
    body: Option<Value>,
    what: &str,
) -> Result<Reply, ArmError> {
    let mut request = Request::new(url, method);
    request.insert_header("accept", "application/json");
    request.insert_header("accept-language", "en");
    if let Some(body) = body {
        request.insert_header("content-type", "application/json");
        request.set_body(serde_json::to_vec(&body).expect("json"));
    }
    let response = pipeline
        .stream(&Context::new(), &mut request, Some(skip_checks()))
        .await
        .map_err(|e| transport_or_credential(e, what))?;
    let (status, headers, response) = response.deconstruct();
    let status = u16::from(status);
    let header = |name: &'static str| headers.get_optional_string(&HeaderName::from_static(name));
    let request_id = header("x-ms-request-id");
    let async_operation = header("azure-asyncoperation");
    let location = header("location");
    let retry_after = header("retry-after").and_then(|v| v.trim().parse().ok());
    let body = read_body(response, body::ARM_ANSWER_LIMIT, what).await?;
    let body = String::from_utf8(body).unwrap_or_default();
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(Reply {
            status,
            value,
            async_operation,
            location,
            retry_after,
        });
    }
    let error = if value["error"].is_object() {
        &value["error"]
    } else {
        &value
    };
    let code = error["code"].as_str().unwrap_or("").to_string();
    let mut message = error["message"].as_str().unwrap_or(body.trim()).to_string();
    if let Some(id) = request_id {
        message.push_str(&format!(" (request id {id})"));
    }
    Err(ArmError::Http {
        what: what.to_string(),
        status,
        hint: hint(status, &code),
        code,
        message,
    })
}

/// A body read up to `limit`; past it, a transport error that names the request.
async fn read_body(
    response: azure_core::http::AsyncResponseBody,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, ArmError> {
    body::read_bounded(response, limit)
        .await
        .map_err(|e| ArmError::Transport {
            what: what.to_string(),
            message: e.to_string(),
        })
}

fn transport_or_credential(e: azure_core::Error, what: &str) -> ArmError {
    if matches!(e.kind(), azure_core::error::ErrorKind::Credential) {
        ArmError::Credential(super::sign_in::innermost_message(&e))
    } else {
        ArmError::Transport {
            what: what.to_string(),
            message: format!("{e}; check the network path to Azure Resource Manager and any proxy"),
        }
    }
}

/// What the user can do about an ARM status, beyond Azure's own message.
fn hint(status: u16, code: &str) -> String {
    let text = match (status, code) {
        (401, _) => {
            "the token was refused: log in again (`az login`) or check the service principal"
        }
        (403, "SerialConsoleDisabled") | (403, "ConsoleDisabled") => {
            "the Serial Console is disabled for this subscription: run `lifeline console enable`"
        }
        (403, _) => {
            "your identity lacks a permission: the Virtual Machine Contributor role (or any role with \
             Microsoft.SerialConsole/serialPorts/connect/action and Microsoft.Compute/virtualMachines/read) is needed"
        }
        (404, _) => {
            "check the subscription, resource group and VM name (and --instance-id for scale sets)"
        }
        (409, _) => {
            "another operation or a resource lock is in the way; retry when it has finished"
        }
        (429, _) => {
            "Azure is throttling requests; lifeline already retried with Retry-After, try again later"
        }
        (400, _) => {
            "the request was refused as invalid; if the VM is still provisioning, wait until it has finished"
        }
        _ => return String::new(),
    };
    format!(".\n  What to do: {text}.")
}

fn disabled_flag(v: &Value) -> bool {
    v["properties"]["disabled"]
        .as_bool()
        .or_else(|| v["disabled"].as_bool())
        .unwrap_or(false)
}

fn power_state(statuses: &Value) -> Option<String> {
    statuses.as_array()?.iter().find_map(|s| {
        s["code"]
            .as_str()?
            .strip_prefix("PowerState/")
            .map(str::to_string)
    })
}

fn text_contains(v: &Value, needle: &str) -> bool {
    v.as_str()
        .is_some_and(|s| s.to_ascii_lowercase().contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_power_state_and_flags() {
        let statuses = serde_json::json!([
            {"code": "ProvisioningState/succeeded"},
            {"code": "PowerState/deallocated", "displayStatus": "VM deallocated"}
        ]);
        assert_eq!(power_state(&statuses).as_deref(), Some("deallocated"));
        assert!(disabled_flag(
            &serde_json::json!({"properties": {"disabled": true}})
        ));
        assert!(disabled_flag(&serde_json::json!({"disabled": true})));
    }

    #[test]
    fn hints_name_the_fix() {
        assert!(hint(403, "AuthorizationFailed").contains("Virtual Machine Contributor"));
        assert!(hint(403, "SerialConsoleDisabled").contains("lifeline console enable"));
        assert!(hint(500, "").is_empty());
    }
}
