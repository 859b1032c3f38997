//! The fake Azure service against its specification (docs/azure-serial-console.md),
//! independently of lifeline's own Azure client: plain HTTPS (reqwest),
//! tokio-tungstenite, a hand-rolled websocket reader where raw frames matter, and azure_identity
//! for the token endpoint.
//!
//! Each test starts its own `fake-azure` with echo-mode machines and trusts only its `ca.pem`.

mod support;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const SUB: &str = "11111111-2222-3333-4444-555555555555";
const API: &str = "api-version=2018-05-01";
const CHALLENGE: &str =
    r#"{"type":"challenge","message":"Send the access token as the next text frame"}"#;
const CONNECT_ACTION: &str = "Microsoft.SerialConsole/serialPorts/connect/action";
const WAIT: Duration = Duration::from_secs(5);

struct FakeAzure {
    child: Child,
    stdin: Option<ChildStdin>,
    base: String,
    dir: PathBuf,
    http: reqwest::Client,
    tls: Arc<rustls::ClientConfig>,
}

impl FakeAzure {
    /// Starts the fake with VM `vm1` and scale-set instance `ss1/2` (echo getties) in
    /// subscription SUB, resource group `rg1`, plus the console-disabled subscription `off-sub`.
    fn start() -> FakeAzure {
        FakeAzure::start_with(|_| Vec::new())
    }

    /// Starts the fake with more arguments, made from its state directory.
    fn start_with(extra: impl FnOnce(&std::path::Path) -> Vec<String>) -> FakeAzure {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fake-azure-spec-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_fake-azure"))
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(&dir)
            .args(["--vm", &format!("{SUB}/rg1/vm1=echo")])
            .args(["--vmss", &format!("{SUB}/rg1/ss1/2=echo")])
            .args(["--subscription-disabled", "off-sub"])
            .args(["--auth-timeout-secs", "2", "--exit-on-stdin-eof", "-vv"])
            .args(extra(&dir))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start fake-azure");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("expected READY, got {line:?}"))
            .to_owned();
        assert!(base.starts_with("https://127.0.0.1:"), "{base}");
        let pem = std::fs::read(dir.join("ca.pem")).expect("ca.pem written before READY");
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .timeout(WAIT)
            .build()
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(&pem).unwrap())
            .unwrap();
        let tls = Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        let stdin = child.stdin.take();
        FakeAzure {
            child,
            stdin,
            base,
            dir,
            http,
            tls,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let r = self
            .http
            .post(self.url("/tenant-1/oauth2/v2.0/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, json_of(r).await)
    }

    async fn token(&self) -> String {
        let (status, v) = self
            .token_request(&[
                ("client_id", "app-1"),
                ("client_secret", "s3cret"),
                ("grant_type", "client_credentials"),
                ("scope", "https://management.azure.com/.default"),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["access_token"].as_str().unwrap().to_owned()
    }

    async fn arm(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        let r = req.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        let text = r.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, value)
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (s, _, v) = self
            .arm(reqwest::Method::GET, path, Some(token), None)
            .await;
        (s, v)
    }

    async fn post(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (s, _, v) = self
            .arm(reqwest::Method::POST, path, Some(token), None)
            .await;
        (s, v)
    }

    /// ARM connect for `vm1`: the session URL.
    async fn connect_vm1(&self, token: &str) -> String {
        self.connect("vm1", token).await
    }

    /// ARM connect for `vm`: the session URL.
    async fn connect(&self, vm: &str, token: &str) -> String {
        let (status, v) = self
            .post(
                &vm_path(
                    vm,
                    "/providers/Microsoft.SerialConsole/serialPorts/0/connect",
                ),
                token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["connectionString"].as_str().unwrap().to_owned()
    }

    async fn control(&self, body: Value) {
        let r = self
            .http
            .post(self.url("/fake/control"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = json_of(r).await;
        assert_eq!(status, StatusCode::OK, "control {body}: {v}");
    }

    async fn state(&self) -> Value {
        self.http
            .get(self.url("/fake/state"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap()
    }

    async fn ws(&self, url: &str) -> Ws {
        let (ws, response) = tokio_tungstenite::connect_async_tls_with_config(
            url,
            None,
            true,
            Some(Connector::Rustls(Arc::clone(&self.tls))),
        )
        .await
        .expect("websocket upgrade");
        assert_eq!(response.status(), 101);
        ws
    }

    /// Opens the websocket, checks the challenge comes first, answers it with the token.
    async fn authenticated_ws(&self, url: &str, token: &str) -> Ws {
        let mut ws = self.ws(url).await;
        assert_eq!(next(&mut ws).await, Message::text(CHALLENGE));
        ws.send(Message::text(token)).await.unwrap();
        ws
    }

    async fn admin(
        &self,
        session_url: &str,
        command: &str,
        token: Option<&str>,
        body: Value,
    ) -> StatusCode {
        let url = session_url
            .replacen("wss://", "https://", 1)
            .strip_suffix("/client")
            .unwrap()
            .to_owned()
            + "/adminCommand/"
            + command;
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap().status()
    }
}

impl Drop for FakeAzure {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!(
                "fake-azure's log: {}",
                self.dir.join("stderr.log").display()
            );
        }
    }
}

async fn json_of(r: reqwest::Response) -> Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn vm_path(vm: &str, rest: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/{vm}{rest}?{API}"
    )
}

fn admin_body(command: &str, parameters: Value) -> Value {
    json!({"command": command, "requestId": "0b5c2a3e-1111-4222-8333-944455556666", "commandParameters": parameters})
}

async fn next(ws: &mut Ws) -> Message {
    tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("a frame in time")
        .expect("the stream is open")
        .expect("a valid frame")
}

/// Reads frames (text or binary alike) until their bytes contain `needle`; returns them all.
async fn read_until(ws: &mut Ws, needle: &str) -> String {
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => seen.extend_from_slice(t.as_bytes()),
            Ok(Some(Ok(Message::Binary(b)))) => seen.extend_from_slice(&b),
            Ok(Some(Ok(_))) => {}
            other => panic!(
                "waiting for {needle:?} after {:?}: {other:?}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// The close frame that must come next (code, reason); pings may come before it.
async fn expect_close(ws: &mut Ws) -> (CloseCode, String) {
    loop {
        match next(ws).await {
            Message::Close(Some(frame)) => return (frame.code, frame.reason.to_string()),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn token_endpoint_and_arm_bearer_checks() {
    let fake = FakeAzure::start();
    let status_path = format!(
        "/subscriptions/{SUB}/providers/Microsoft.SerialConsole/consoleServices/default?{API}"
    );

    let (status, headers, v) = fake
        .arm(reqwest::Method::GET, &status_path, None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "AuthenticationFailed");
    assert!(headers.contains_key("www-authenticate"));
    let (status, _, v) = fake
        .arm(reqwest::Method::GET, &status_path, Some("made-up"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "InvalidAuthenticationToken");

    // A wrong secret fails as Entra does: azure_identity reads error_codes and the description.
    let (status, v) = fake
        .token_request(&[
            ("client_id", "app-1"),
            ("client_secret", "wrong"),
            ("grant_type", "client_credentials"),
            ("scope", "https://management.azure.com/.default"),
        ])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"], "invalid_client");
    assert_eq!(v["error_codes"], json!([7000215]));
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215")
    );

    // Client credentials need a `/.default` scope.
    let (status, v) = fake
        .token_request(&[
            ("client_id", "app-1"),
            ("client_secret", "s3cret"),
            ("grant_type", "client_credentials"),
            ("scope", "https://management.azure.com/user_impersonation"),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_scope");

    // Workload identity: a federated assertion instead of a secret.
    let (status, v) = fake
        .token_request(&[
            ("client_id", "app-2"),
            ("client_assertion", "eyJhbGciOi.eyJzdWIiOi.c2ln"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("grant_type", "client_credentials"),
            ("scope", "https://management.azure.com/.default"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    let federated = v["access_token"].as_str().unwrap().to_owned();
    assert_eq!(federated.split('.').count(), 3, "JWT-shaped");
    let (status, v) = fake.get(&status_path, &federated).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"properties": {"disabled": false}}));

    // A token for another resource does not open ARM.
    let (_, v) = fake
        .token_request(&[
            ("client_id", "app-1"),
            ("client_secret", "s3cret"),
            ("grant_type", "client_credentials"),
            ("scope", "https://vault.azure.net/.default"),
        ])
        .await;
    let vault = v["access_token"].as_str().unwrap();
    let (status, v) = fake.get(&status_path, vault).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "InvalidAuthenticationTokenAudience");

    // api-version is required.
    let token = fake.token().await;
    let no_version = status_path.split('?').next().unwrap();
    let (status, v) = fake.get(no_version, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "MissingApiVersionParameter");

    let counters = &fake.state().await["counters"];
    assert_eq!(counters["tokens_issued"], 3);
    assert_eq!(counters["token_failures"], 2);
}

#[tokio::test]
async fn azure_identity_client_secret_credential_gets_a_token() {
    use azure_core::credentials::{Secret, TokenCredential};
    use azure_core::http::{ClientOptions, Transport};
    let fake = FakeAzure::start();
    let mut cloud = azure_core::cloud::CustomConfiguration::default();
    cloud.authority_host = fake.base.clone();
    let options = azure_identity::ClientSecretCredentialOptions {
        client_options: ClientOptions {
            cloud: Some(Arc::new(cloud.into())),
            transport: Some(Transport::new(Arc::new(fake.http.clone()))),
            ..Default::default()
        },
    };
    let credential = azure_identity::ClientSecretCredential::new(
        "tenant-1",
        "app-1".into(),
        Secret::new("s3cret"),
        Some(options),
    )
    .unwrap();
    let token = credential
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .expect("token from the fake's authority");
    let (status, v) = fake.get(&vm_path("vm1", ""), token.token.secret()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn console_services_status_toggle_and_unknown_subscription() {
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let base =
        format!("/subscriptions/{SUB}/providers/Microsoft.SerialConsole/consoleServices/default");
    let connect = vm_path(
        "vm1",
        "/providers/Microsoft.SerialConsole/serialPorts/0/connect",
    );

    let (status, v) = fake
        .post(&format!("{base}/disableConsole?{API}"), &token)
        .await;
    assert_eq!(
        (status, v),
        (StatusCode::OK, json!({"properties": {"disabled": true}}))
    );
    let (_, v) = fake.get(&format!("{base}?{API}"), &token).await;
    assert_eq!(v, json!({"properties": {"disabled": true}}));
    // A disabled console refuses connect with a 403.
    let (status, v) = fake.post(&connect, &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"]["code"], "SerialConsoleDisabled");

    let (status, v) = fake
        .post(&format!("{base}/enableConsole?{API}"), &token)
        .await;
    assert_eq!(
        (status, v),
        (StatusCode::OK, json!({"properties": {"disabled": false}}))
    );
    assert_eq!(fake.post(&connect, &token).await.0, StatusCode::OK);

    // --subscription-disabled at start.
    let (_, v) = fake
        .get(&format!("/subscriptions/off-sub/providers/Microsoft.SerialConsole/consoleServices/default?{API}"), &token)
        .await;
    assert_eq!(v, json!({"properties": {"disabled": true}}));

    // Unknown subscription: the spec's flat 404 body, not a CloudError.
    let (status, v) = fake
        .get(&format!("/subscriptions/nope/providers/Microsoft.SerialConsole/consoleServices/default?{API}"), &token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        v,
        json!({"code": "SubscriptionNotFound", "message": "The subscription 'nope' could not be found."})
    );
}

#[tokio::test]
async fn vm_and_scale_set_reads_for_client_pre_checks() {
    let fake = FakeAzure::start();
    let token = fake.token().await;

    // az's template spells `resourcegroups`; names compare without case.
    let path = format!(
        "/subscriptions/{SUB}/resourcegroups/RG1/providers/Microsoft.Compute/virtualMachines/VM1?{API}&$expand=instanceView"
    );
    let (status, vm) = fake.get(&path, &token).await;
    assert_eq!(status, StatusCode::OK, "{vm}");
    assert_eq!(vm["name"], "vm1");
    assert_eq!(vm["location"], "eastus");
    assert_eq!(
        vm["id"],
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"
        )
    );
    let p = &vm["properties"];
    assert_eq!(
        p["diagnosticsProfile"]["bootDiagnostics"],
        json!({"enabled": true, "storageUri": null})
    );
    assert_eq!(p["storageProfile"]["imageReference"]["offer"], "debian-12");
    assert_eq!(p["instanceView"]["osName"], "debian");
    let power: Vec<&Value> = p["instanceView"]["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["code"].as_str().unwrap().starts_with("PowerState/"))
        .collect();
    assert_eq!(
        power,
        [&json!({"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"})]
    );
    // Without $expand there is no instance view.
    let (_, plain) = fake.get(&vm_path("vm1", ""), &token).await;
    assert!(plain["properties"].get("instanceView").is_none());

    // Power and boot diagnostics follow the control API.
    fake.control(
        json!({"vm_power": {"vm": format!("{SUB}/rg1/vm1"), "state": "deallocated"},
                        "boot_diagnostics": {"vm": format!("{SUB}/rg1/vm1"), "enabled": false}}),
    )
    .await;
    let (_, vm) = fake.get(&path, &token).await;
    let statuses = vm["properties"]["instanceView"]["statuses"].to_string();
    assert!(
        statuses.contains(r#""code":"PowerState/deallocated","displayStatus":"VM deallocated""#),
        "{statuses}"
    );
    assert_eq!(
        vm["properties"]["diagnosticsProfile"]["bootDiagnostics"]["enabled"],
        false
    );
    // Boot diagnostics off: connect fails with the portal's 404 text.
    let (status, v) = fake
        .post(
            &vm_path(
                "vm1",
                "/providers/Microsoft.SerialConsole/serialPorts/0/connect",
            ),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("boot diagnostics"),
        "{v}"
    );

    // A scale set's name used as a VM: 404, while the scale set itself exists, so a client can
    // tell the user to pass --instance-id.
    let (status, v) = fake.get(&vm_path("ss1", ""), &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "ResourceNotFound");
    let ss = format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachineScaleSets/ss1"
    );
    let (status, v) = fake.get(&format!("{ss}?{API}"), &token).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["type"], "Microsoft.Compute/virtualMachineScaleSets");
    let (status, view) = fake
        .get(
            &format!("{ss}/virtualmachines/2/instanceView?{API}"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert!(
        view["bootDiagnostics"].is_object(),
        "az requires it non-null: {view}"
    );
    assert!(view["statuses"].to_string().contains("PowerState/running"));
    assert_eq!(
        fake.get(
            &format!("{ss}/virtualMachines/7/instanceView?{API}"),
            &token
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // Unknown resource group and subscription.
    let (status, v) = fake
        .get(&format!("/subscriptions/{SUB}/resourceGroups/nope/providers/Microsoft.Compute/virtualMachines/vm1?{API}"), &token)
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ResourceGroupNotFound"))
    );
    let (status, v) = fake
        .get(&format!("/subscriptions/nope/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1?{API}"), &token)
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("SubscriptionNotFound"))
    );
}

#[tokio::test]
async fn connect_issues_sessions_for_vms_and_scale_set_instances() {
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let port = fake.base.rsplit(':').next().unwrap().to_owned();
    let shape = |url: &str| {
        let rest = url
            .strip_prefix(&format!("wss://127.0.0.1:{port}/n/connector/"))
            .unwrap_or_else(|| panic!("{url}"));
        let parts: Vec<&str> = rest.split('/').collect();
        assert_eq!(parts.len(), 4, "{url}");
        assert_eq!((parts[1], parts[3]), ("sessions", "client"), "{url}");
        for id in [parts[0], parts[2]] {
            assert_eq!(id.len(), 36, "a UUID: {id}");
        }
        parts[2].to_owned()
    };

    let connect = vm_path(
        "vm1",
        "/providers/Microsoft.SerialConsole/serialPorts/0/connect",
    );
    // No body (az) and `{}` (the F5 script) both work.
    let (status, _, v) = fake
        .arm(reqwest::Method::POST, &connect, Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let first = shape(v["connectionString"].as_str().unwrap());
    let (status, _, v) = fake
        .arm(reqwest::Method::POST, &connect, Some(&token), Some("{}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_ne!(
        shape(v["connectionString"].as_str().unwrap()),
        first,
        "a new session per call"
    );

    // The scale-set instance, with literal slashes and with az's %2F-quoted parent.
    let ss = format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachineScaleSets"
    );
    for parent in ["ss1/virtualMachines/2", "ss1%2FvirtualMachines%2F2"] {
        let (status, v) = fake
            .post(
                &format!(
                    "{ss}/{parent}/providers/Microsoft.SerialConsole/serialPorts/0/connect?{API}"
                ),
                &token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{parent}: {v}");
        shape(v["connectionString"].as_str().unwrap());
    }

    let (status, _, v) = fake.arm(reqwest::Method::POST, &connect, None, None).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("AuthenticationFailed"))
    );
    let (status, v) = fake
        .post(
            &vm_path(
                "vm9",
                "/providers/Microsoft.SerialConsole/serialPorts/0/connect",
            ),
            &token,
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ParentResourceNotFound"))
    );
    let (status, v) = fake
        .post(&format!("{ss}/ss1/virtualMachines/9/providers/Microsoft.SerialConsole/serialPorts/0/connect?{API}"), &token)
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ParentResourceNotFound"))
    );

    assert_eq!(fake.state().await["counters"]["connect_calls"], 6);
}

#[tokio::test]
async fn websocket_challenge_then_token_then_serial_echo() {
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let url = fake.connect_vm1(&token).await;
    let mut ws = fake.ws(&url).await;
    // The challenge arrives first, before the client has sent anything.
    assert_eq!(next(&mut ws).await, Message::text(CHALLENGE));
    ws.send(Message::text(token.as_str())).await.unwrap();
    // Scrollback: what the getty showed before anyone connected.
    let replay = read_until(&mut ws, "vm1 login: ").await;
    assert!(
        replay.contains("Debian GNU/Linux 12 vm1 ttyS0"),
        "{replay:?}"
    );
    // Keystrokes as text frames (az: one character a frame) and as binary.
    for c in ["r", "o", "o", "t"] {
        ws.send(Message::text(c)).await.unwrap();
    }
    assert_eq!(read_until(&mut ws, "root").await, "root");
    ws.send(Message::Binary(b"\r".to_vec().into()))
        .await
        .unwrap();
    assert_eq!(read_until(&mut ws, "login: ").await, "\r\nvm1 login: ");
    // Output is text frames by default.
    ws.send(Message::text("x")).await.unwrap();
    assert_eq!(next(&mut ws).await, Message::text("x"));

    fake.control(json!({"frames": "binary"})).await;
    ws.send(Message::text("y")).await.unwrap();
    assert_eq!(next(&mut ws).await, Message::Binary(b"y".to_vec().into()));

    let counters = &fake.state().await["counters"];
    assert_eq!(counters["ws_authenticated"], 1);
    assert_eq!(counters["serial_input_bytes"], 7);
}

#[tokio::test]
async fn latency_holds_each_frame_in_each_direction() {
    let fake = FakeAzure::start_with(|_| vec!["--latency-ms".into(), "50".into()]);
    let token = fake.token().await;
    let url = fake.connect_vm1(&token).await;
    let mut ws = fake.ws(&url).await;
    assert_eq!(next(&mut ws).await, Message::text(CHALLENGE));
    ws.send(Message::text(token.as_str())).await.unwrap();
    read_until(&mut ws, "vm1 login: ").await;
    // A keystroke and its echo: 50 ms to the VM, 50 ms back.
    let typed = Instant::now();
    ws.send(Message::text("x")).await.unwrap();
    assert_eq!(read_until(&mut ws, "x").await, "x");
    let round_trip = typed.elapsed();
    assert!(
        round_trip >= Duration::from_millis(100),
        "an echo came back in {round_trip:?} through a 50 ms gateway"
    );
}

#[tokio::test]
async fn bad_or_missing_token_is_not_trusted() {
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let url = fake.connect_vm1(&token).await;

    let mut ws = fake.authenticated_ws(&url, "not-a-token").await;
    assert_eq!(
        expect_close(&mut ws).await,
        (CloseCode::Error, "Connection not trusted".into())
    );
    // The token with "Bearer " is not the token.
    let mut ws = fake
        .authenticated_ws(&url, &format!("Bearer {token}"))
        .await;
    assert_eq!(expect_close(&mut ws).await.0, CloseCode::Error);
    // No answer at all: closed with 1008 after the (2 s) timeout.
    let mut ws = fake.ws(&url).await;
    assert_eq!(next(&mut ws).await, Message::text(CHALLENGE));
    assert_eq!(expect_close(&mut ws).await.0, CloseCode::Policy);
    // A session ARM never issued has no websocket.
    let forged = url.replace("/sessions/", "/sessions/0");
    let err = tokio_tungstenite::connect_async_tls_with_config(
        forged.as_str(),
        None,
        true,
        Some(Connector::Rustls(Arc::clone(&fake.tls))),
    )
    .await
    .expect_err("unknown session");
    assert!(err.to_string().contains("404"), "{err}");

    assert_eq!(fake.state().await["counters"]["ws_auth_failures"], 3);
}

#[tokio::test]
async fn legacy_query_token_is_accepted_and_repeated_tokens_are_not_typed() {
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let url = fake.connect_vm1(&token).await;
    let mut ws = fake
        .ws(&format!("{url}?authorization={}&new=1", encode(&token)))
        .await;
    assert_eq!(next(&mut ws).await, Message::text(CHALLENGE));
    read_until(&mut ws, "vm1 login: ").await;
    // az 0.1.7 sent the token again after the first frame: it must not reach the serial port.
    ws.send(Message::text(token.as_str())).await.unwrap();
    ws.send(Message::text("q")).await.unwrap();
    assert_eq!(next(&mut ws).await, Message::text("q"));
}

#[tokio::test]
async fn refuse_next_ws_closes_a_correct_answer_with_1011_once() {
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let url = fake.connect_vm1(&token).await;
    fake.control(json!({"refuse_next_ws": 1})).await;

    let mut ws = fake.authenticated_ws(&url, &token).await;
    assert_eq!(
        expect_close(&mut ws).await,
        (CloseCode::Error, "Connection not trusted".into())
    );
    // The retry succeeds.
    let mut ws = fake.authenticated_ws(&url, &token).await;
    read_until(&mut ws, "vm1 login: ").await;
    let counters = &fake.state().await["counters"];
    assert_eq!(
        (
            counters["ws_refused"].as_u64(),
            counters["ws_authenticated"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn a_new_session_evicts_the_old_one() {
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let first_url = fake.connect_vm1(&token).await;
    let mut first = fake.authenticated_ws(&first_url, &token).await;
    read_until(&mut first, "vm1 login: ").await;

    let second_url = fake.connect_vm1(&token).await;
    let mut second = fake.authenticated_ws(&second_url, &token).await;
    let (code, reason) = expect_close(&mut first).await;
    assert_eq!(code, CloseCode::Normal);
    assert!(reason.contains("Another connection"), "{reason}");
    // The newcomer has the console (and the same serial port: the scrollback carries on).
    read_until(&mut second, "vm1 login: ").await;
    second.send(Message::text("z")).await.unwrap();
    assert_eq!(next(&mut second).await, Message::text("z"));

    // Admin commands follow the console: the evicted session's are refused.
    let body = admin_body("nmi", json!({}));
    assert_eq!(
        fake.admin(&first_url, "nmi", Some(&token), body.clone())
            .await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        fake.admin(&second_url, "nmi", Some(&token), body).await,
        StatusCode::OK
    );
    assert_eq!(fake.state().await["counters"]["ws_evicted"], 1);
}

#[tokio::test]
async fn admin_commands_need_a_live_authenticated_session() {
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let url = fake.connect_vm1(&token).await;
    let sysrq_h = admin_body("sysrq", json!({"SysRqCommand": "h"}));

    // Issued, but no websocket yet.
    assert_eq!(
        fake.admin(&url, "sysrq", Some(&token), sysrq_h.clone())
            .await,
        StatusCode::CONFLICT
    );
    let mut ws = fake.authenticated_ws(&url, &token).await;
    read_until(&mut ws, "vm1 login: ").await;

    assert_eq!(
        fake.admin(&url, "sysrq", None, sysrq_h.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        fake.admin(&url, "sysrq", Some("made-up"), sysrq_h.clone())
            .await,
        StatusCode::UNAUTHORIZED
    );
    let unknown = url.replace("/sessions/", "/sessions/0");
    assert_eq!(
        fake.admin(&unknown, "sysrq", Some(&token), sysrq_h.clone())
            .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fake.admin(&url, "sysrq", Some(&token), admin_body("nmi", json!({})))
            .await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        fake.admin(
            &url,
            "sysrq",
            Some(&token),
            admin_body("sysrq", json!({"SysRqCommand": "h;"}))
        )
        .await,
        StatusCode::BAD_REQUEST
    );

    // The effects show on the stream, as the kernel would print them.
    assert_eq!(
        fake.admin(&url, "sysrq", Some(&token), sysrq_h.clone())
            .await,
        StatusCode::OK
    );
    let out = read_until(&mut ws, "show-blocked-tasks(w)").await;
    assert!(
        out.contains("] sysrq: HELP : loglevel(0-9) reboot(b)"),
        "{out:?}"
    );
    assert_eq!(
        fake.admin(&url, "nmi", Some(&token), admin_body("nmi", json!({})))
            .await,
        StatusCode::OK
    );
    read_until(&mut ws, "NMI received").await;
    assert_eq!(
        fake.admin(&url, "reset", Some(&token), admin_body("reset", json!({})))
            .await,
        StatusCode::OK
    );
    let out = read_until(&mut ws, "vm1 login: ").await;
    assert!(out.contains("Booting from Hard Disk"), "{out:?}");

    // Once the websocket is gone, so is the right to send commands.
    ws.close(None).await.unwrap();
    let deadline = Instant::now() + WAIT;
    while !fake.state().await["open_websockets"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the websocket is still open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        fake.admin(&url, "nmi", Some(&token), admin_body("nmi", json!({})))
            .await,
        StatusCode::CONFLICT
    );

    let state = fake.state().await;
    let commands = state["counters"]["admin_commands"].as_array().unwrap();
    let ok: Vec<&Value> = commands.iter().filter(|c| c["status"] == 200).collect();
    let names: Vec<&str> = ok.iter().map(|c| c["command"].as_str().unwrap()).collect();
    assert_eq!(names, ["sysrq", "nmi", "reset"]);
    assert_eq!(ok[0]["body"]["commandParameters"]["SysRqCommand"], "h");
    assert_eq!(ok[0]["body"]["requestId"], sysrq_h["requestId"]);
}

#[tokio::test]
async fn fail_next_injects_arm_errors_with_retry_after() {
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let connect = vm_path(
        "vm1",
        "/providers/Microsoft.SerialConsole/serialPorts/0/connect",
    );

    fake.control(json!({"fail_next": {"route": "connect", "status": 429, "retry_after": 1}}))
        .await;
    let (status, headers, v) = fake
        .arm(reqwest::Method::POST, &connect, Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(v["error"]["code"], "TooManyRequests");
    // Only the next one.
    assert_eq!(fake.post(&connect, &token).await.0, StatusCode::OK);

    fake.control(json!({"fail_next": {"route": "connect", "status": 403}}))
        .await;
    let (status, v) = fake.post(&connect, &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v["error"]["code"], "AuthorizationFailed");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(CONNECT_ACTION) && message.contains("'app-1'"),
        "{message}"
    );

    fake.control(
        json!({"fail_next": {"route": "connect", "status": 409, "code": "Conflict", "count": 2}}),
    )
    .await;
    for _ in 0..2 {
        let (status, v) = fake.post(&connect, &token).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("Conflict"))
        );
    }
    assert_eq!(fake.post(&connect, &token).await.0, StatusCode::OK);

    // A typo in the control body is refused, not ignored.
    let r = fake
        .http
        .post(fake.url("/fake/control"))
        .body(json!({"fail_nxt": {}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deallocated_vm_closes_before_the_challenge() {
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let url = fake.connect_vm1(&token).await;
    fake.control(json!({"vm_power": {"vm": format!("{SUB}/rg1/vm1"), "state": "deallocated"}}))
        .await;
    let mut ws = fake.ws(&url).await;
    // The first frame is a close, not the challenge (az: "Make sure that it is powered on").
    assert_eq!(expect_close(&mut ws).await.0, CloseCode::Error);
}

#[tokio::test]
async fn drop_sessions_cuts_the_stream_without_a_close_frame() {
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let url = fake.connect_vm1(&token).await;
    let mut ws = fake.authenticated_ws(&url, &token).await;
    read_until(&mut ws, "vm1 login: ").await;
    fake.control(json!({"drop_sessions": true})).await;
    match tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("the drop in time")
    {
        Some(Ok(Message::Close(frame))) => panic!("a close frame came: {frame:?}"),
        Some(Ok(other)) => panic!("a frame came: {other:?}"),
        Some(Err(_)) | None => {}
    }
    assert_eq!(fake.state().await["counters"]["ws_dropped"], 1);
}

/// A minimal websocket client over TLS that reads frames as they are on the wire.
struct RawWs {
    stream: tokio_rustls::client::TlsStream<TcpStream>,
}

impl RawWs {
    async fn open(fake: &FakeAzure, url: &str) -> RawWs {
        let rest = url.strip_prefix("wss://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let tcp = TcpStream::connect(host).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&fake.tls));
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let mut stream = connector.connect(name, tcp).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(stream.read_u8().await.unwrap());
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        // RFC 6455's example key and its accept value.
        assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
        RawWs { stream }
    }

    /// One unfragmented server frame: (opcode, payload).
    async fn read(&mut self) -> (u8, Vec<u8>) {
        let s = &mut self.stream;
        let b0 = s.read_u8().await.unwrap();
        let b1 = s.read_u8().await.unwrap();
        assert_eq!(b0 & 0x80, 0x80, "FIN");
        assert_eq!(b1 & 0x80, 0, "server frames are not masked");
        let len = match b1 & 0x7f {
            126 => u64::from(s.read_u16().await.unwrap()),
            127 => s.read_u64().await.unwrap(),
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).unwrap()];
        s.read_exact(&mut payload).await.unwrap();
        (b0 & 0x0f, payload)
    }

    /// One masked client frame.
    async fn write(&mut self, opcode: u8, payload: &[u8]) {
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        let mut frame = vec![0x80 | opcode];
        match u16::try_from(payload.len()) {
            Ok(n) if n < 126 => frame.push(0x80 | n as u8),
            Ok(n) => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&n.to_be_bytes());
            }
            Err(_) => panic!("test frames stay under 64 KiB"),
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.unwrap();
    }
}

#[tokio::test]
async fn invalid_utf8_really_arrives_in_a_text_frame() {
    const TEXT: u8 = 1;
    const BINARY: u8 = 2;
    let fake = FakeAzure::start();
    let token = fake.token().await;
    let url = fake.connect_vm1(&token).await;
    fake.control(json!({"invalid_utf8_text_frames": true}))
        .await;

    let mut raw = RawWs::open(&fake, &url).await;
    assert_eq!(raw.read().await, (TEXT, CHALLENGE.as_bytes().to_vec()));
    raw.write(TEXT, token.as_bytes()).await;
    let (opcode, replay) = raw.read().await;
    assert_eq!(opcode, TEXT);
    assert!(replay.ends_with(b"vm1 login: "));
    // The echo of bytes that are not UTF-8 comes back raw, in a text frame.
    raw.write(BINARY, b"a\xff\xfeb").await;
    let (opcode, payload) = raw.read().await;
    assert_eq!(opcode, TEXT);
    assert_eq!(payload, b"a\xff\xfeb");
    assert!(std::str::from_utf8(&payload).is_err());

    // By default text frames stay valid UTF-8 (invalid bytes become U+FFFD).
    fake.control(json!({"invalid_utf8_text_frames": false}))
        .await;
    raw.write(BINARY, b"c\xffd").await;
    assert_eq!(raw.read().await, (TEXT, "c\u{FFFD}d".as_bytes().to_vec()));
}

#[tokio::test]
async fn exits_when_stdin_closes() {
    let mut fake = FakeAzure::start();
    drop(fake.stdin.take());
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = fake.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running after stdin closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fake whose VM `vmq` has a serial socket the test plays qemu on (a chardev socket that
/// serves one client), with `extra` options.
fn fake_on_a_serial_socket(extra: &[&str]) -> (FakeAzure, tokio::net::UnixListener) {
    let mut listener = None;
    let fake = FakeAzure::start_with(|dir| {
        let path = dir.join("serial.sock");
        listener = Some(tokio::net::UnixListener::bind(&path).unwrap());
        let vm = format!("{SUB}/rg1/vmq=unix:{}", path.display());
        ["--vm", &vm]
            .iter()
            .chain(extra)
            .map(|arg| arg.to_string())
            .collect()
    });
    (fake, listener.unwrap())
}

/// The fake's connection to the serial socket `listener` stands for, within [`WAIT`].
async fn serial_client(listener: &tokio::net::UnixListener, what: &str) -> tokio::net::UnixStream {
    tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect(what)
        .unwrap()
        .0
}

#[tokio::test]
async fn a_unix_serial_socket_is_shared_by_successive_sessions() {
    let (fake, listener) = fake_on_a_serial_socket(&["--ping-secs", "1"]);
    let token = fake.token().await;
    let first_url = fake.connect("vmq", &token).await;
    let mut first = fake.authenticated_ws(&first_url, &token).await;
    // The fake connects to the serial socket once the session is in.
    let mut guest = serial_client(&listener, "the fake connects to the serial socket").await;
    guest
        .write_all("vmq login: \u{2500}".as_bytes())
        .await
        .unwrap();
    read_until(&mut first, "vmq login: \u{2500}").await;
    first.send(Message::text("root\r")).await.unwrap();
    let mut typed = [0u8; 5];
    guest.read_exact(&mut typed).await.unwrap();
    assert_eq!(&typed, b"root\r");

    // A second session evicts the first and reuses the same serial connection.
    let second_url = fake.connect("vmq", &token).await;
    let mut second = fake.authenticated_ws(&second_url, &token).await;
    assert_eq!(expect_close(&mut first).await.0, CloseCode::Normal);
    // The scrollback replays what the first session saw.
    read_until(&mut second, "vmq login: ").await;
    guest.write_all(b"Password: ").await.unwrap();
    read_until(&mut second, "Password: ").await;
    second
        .send(Message::Binary(b"pw\r".to_vec().into()))
        .await
        .unwrap();
    let mut typed = [0u8; 3];
    guest.read_exact(&mut typed).await.unwrap();
    assert_eq!(&typed, b"pw\r");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), listener.accept())
            .await
            .is_err(),
        "no second serial connection"
    );

    // --ping-secs: the server pings open sessions.
    let deadline = Instant::now() + WAIT;
    loop {
        if let Message::Ping(_) = next(&mut second).await {
            break;
        }
        assert!(Instant::now() < deadline, "no ping");
    }

    // qemu going away ends the session with a close frame.
    drop(guest);
    let (code, reason) = expect_close(&mut second).await;
    assert_eq!(code, CloseCode::Error);
    assert!(reason.contains("serial port"), "{reason}");
}

/// `release_serial` lets go of a VM's serial socket (closed by the time the control answers), so
/// that another client can have qemu's one connection; the next session connects again.
#[tokio::test]
async fn a_released_serial_socket_is_closed_and_connected_again_by_the_next_session() {
    let (fake, listener) = fake_on_a_serial_socket(&[]);
    let token = fake.token().await;
    let url = fake.connect("vmq", &token).await;
    let _first = fake.authenticated_ws(&url, &token).await;
    let mut held = serial_client(&listener, "the fake connects to the serial socket").await;

    fake.control(json!({"release_serial": format!("{SUB}/rg1/vmq")}))
        .await;
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_millis(500), held.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0))),
        "the connection is closed when the control answers: {read:?}"
    );

    let url = fake.connect("vmq", &token).await;
    let mut next = fake.authenticated_ws(&url, &token).await;
    let mut again = serial_client(&listener, "the next session connects again").await;
    again.write_all(b"vmq login: ").await.unwrap();
    read_until(&mut next, "vmq login: ").await;
}

/// Against the real test guest: its getty answers through the gateway, and a second session
/// still reaches it (qemu serves one client: the fake must reuse its connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_guest_answers_through_the_gateway() {
    let guest = support::shared_guest().await;
    let serial = guest.serial.display().to_string();
    let fake =
        FakeAzure::start_with(|_| vec!["--vm".into(), format!("{SUB}/rg1/guest=unix:{serial}")]);
    let token = fake.token().await;
    for probe in ["fa-probe-1", "fa-probe-2"] {
        let url = fake.connect("guest", &token).await;
        let mut ws = fake.authenticated_ws(&url, &token).await;
        ws.send(Message::text("\r")).await.unwrap();
        read_until(&mut ws, "login: ").await;
        // Typed at the login prompt, echoed by the guest's getty (not by any scrollback),
        // then erased with Ctrl-U to leave the prompt as it was.
        ws.send(Message::text(probe)).await.unwrap();
        read_until(&mut ws, probe).await;
        ws.send(Message::text("\x15")).await.unwrap();
        read_until(&mut ws, "\x08 \x08").await;
    }
}

// ------------------------------------------------------------------------------------------
// The checklist beyond the console (docs/azure-arm.md): Microsoft.Network reads, effective
// rules and routes, security rules, resource health, boot diagnostics, restart and redeploy,
// each long-running one polled as ARM's asynchronous pattern says; and the NSG enforced on the
// SSH front.

const NETWORK_API: &str = "api-version=2024-05-01";
const COMPUTE_API: &str = "api-version=2024-07-01";
const BANNER: &[u8] = b"SSH-2.0-OpenSSH_9.2p1 stand-in\r\n";

fn network_path(kind: &str, name: &str, rest: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/{kind}/{name}{rest}?{NETWORK_API}"
    )
}

fn compute_path(rest: &str, api: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1{rest}?{api}"
    )
}

/// A stand-in for the guest's forwarded SSH port: every connection gets an SSH banner.
async fn banner_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(BANNER).await;
        }
    });
    port
}

/// What connecting to `endpoint` gives: the banner's bytes (empty when the front closed).
async fn banner_at(endpoint: &str) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(endpoint).await?;
    let mut got = vec![0u8; BANNER.len()];
    let mut n = 0;
    while n < got.len() {
        match tokio::time::timeout(WAIT, s.read(&mut got[n..])).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(k)) => n += k,
            Err(_) => panic!("neither data nor a close from {endpoint}"),
        }
    }
    got.truncate(n);
    Ok(got)
}

impl FakeAzure {
    /// The fake with vm1's SSH front before a banner server.
    async fn start_with_ssh() -> FakeAzure {
        let backend = banner_server().await;
        FakeAzure::start_with(move |_| vec!["--ssh".into(), format!("{SUB}/rg1/vm1={backend}")])
    }

    /// A power action (`POST …/restart`, `/redeploy`, `/start`) followed to its end: accepted,
    /// then no content from its result.
    async fn power(&self, path: &str, token: &str) {
        let (s, headers, body) = self
            .arm(reqwest::Method::POST, path, Some(token), None)
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{path}: {body}");
        let (s, result) = self.follow(&headers, token).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{path}: {result}");
    }

    /// Follows a long-running operation's first answer as the pattern says: polls
    /// Azure-AsyncOperation until Succeeded (seeing InProgress first), then reads Location.
    async fn follow(
        &self,
        headers: &reqwest::header::HeaderMap,
        token: &str,
    ) -> (StatusCode, Value) {
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        let operation = header("azure-asyncoperation").expect("Azure-AsyncOperation");
        assert!(header("retry-after").is_some());
        let path = |url: &str| url.strip_prefix(&self.base).expect("same host").to_owned();
        let (s, first) = self.get(&path(&operation), token).await;
        assert_eq!(
            (s, first["status"].as_str()),
            (StatusCode::OK, Some("InProgress"))
        );
        let (s, done) = self.get(&path(&operation), token).await;
        assert_eq!(
            (s, done["status"].as_str()),
            (StatusCode::OK, Some("Succeeded"))
        );
        match header("location") {
            Some(location) => self.get(&path(&location), token).await,
            None => (StatusCode::OK, Value::Null),
        }
    }

    async fn put_rule(
        &self,
        token: &str,
        name: &str,
        properties: Value,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.arm(
            reqwest::Method::PUT,
            &network_path(
                "networkSecurityGroups",
                "vm1NSG",
                &format!("/securityRules/{name}"),
            ),
            Some(token),
            Some(&json!({ "properties": properties }).to_string()),
        )
        .await
    }

    /// vm1's SSH front, from its public IP's tag.
    async fn ssh_endpoint(&self, token: &str) -> (String, String) {
        let (s, ip) = self
            .get(&network_path("publicIPAddresses", "vm1PublicIP", ""), token)
            .await;
        assert_eq!(s, StatusCode::OK, "{ip}");
        (
            ip["properties"]["ipAddress"].as_str().unwrap().to_owned(),
            ip["tags"]["lifeline-ssh-endpoint"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }
}

fn tcp_rule(priority: u32, access: &str, source: &str, port: &str) -> Value {
    json!({"priority": priority, "access": access, "direction": "Inbound", "protocol": "Tcp",
           "sourceAddressPrefix": source, "sourcePortRange": "*",
           "destinationAddressPrefix": "*", "destinationPortRange": port})
}

#[tokio::test]
async fn network_reads_and_effective_rules_follow_the_reference() {
    let fake = FakeAzure::start_with_ssh().await;
    let token = fake.token().await;
    let (s, vm) = fake
        .get(
            &compute_path("", "api-version=2024-07-01&$expand=instanceView"),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{vm}");
    let nic_id = vm["properties"]["networkProfile"]["networkInterfaces"][0]["id"]
        .as_str()
        .unwrap();
    assert!(nic_id.ends_with("/networkInterfaces/vm1VMNic"), "{nic_id}");
    assert_eq!(
        vm["properties"]["instanceView"]["vmAgent"]["statuses"][0]["displayStatus"],
        "Ready"
    );
    let (s, nic) = fake.get(&format!("{nic_id}?{NETWORK_API}"), &token).await;
    assert_eq!(s, StatusCode::OK, "{nic}");
    let config = &nic["properties"]["ipConfigurations"][0]["properties"];
    assert_eq!(config["privateIPAddress"], "10.0.0.4");
    assert!(
        config["publicIPAddress"]["id"]
            .as_str()
            .unwrap()
            .ends_with("/vm1PublicIP")
    );
    assert!(
        nic["properties"]["networkSecurityGroup"]["id"]
            .as_str()
            .unwrap()
            .ends_with("/vm1NSG")
    );
    let (address, endpoint) = fake.ssh_endpoint(&token).await;
    assert!(address.starts_with("203.0.113."), "{address}");
    assert!(endpoint.starts_with("127.0.0.1:"), "{endpoint}");

    // An api-version the provider does not have is refused, naming the ones it has.
    let (s, v) = fake
        .get(&format!("{nic_id}?api-version=2015-01-01"), &token)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "NoRegisteredProviderFound");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2024-05-01")
    );

    // The effective rules: a long-running POST, its result behind Location.
    let (s, headers, v) = fake
        .arm(
            reqwest::Method::POST,
            &format!("{nic_id}/effectiveNetworkSecurityGroups?{NETWORK_API}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((s, v), (StatusCode::ACCEPTED, Value::Null));
    let (s, result) = fake.follow(&headers, &token).await;
    assert_eq!(s, StatusCode::OK, "{result}");
    let group = &result["value"][0];
    assert!(group["association"]["networkInterface"]["id"].is_string());
    let rules = group["effectiveSecurityRules"].as_array().unwrap();
    let ssh = rules
        .iter()
        .find(|r| r["name"] == "securityRules/default-allow-ssh")
        .expect("az vm create's SSH rule");
    assert_eq!(
        (
            &ssh["destinationPortRange"],
            &ssh["access"],
            &ssh["priority"]
        ),
        (&json!("22-22"), &json!("Allow"), &json!(1000))
    );
    assert!(
        rules
            .iter()
            .any(|r| r["name"] == "defaultSecurityRules/DenyAllInBound"
                && r["priority"] == 65500
                && r["access"] == "Deny")
    );

    // Routes: the defaults, and a user route that makes the default it overrides Invalid.
    fake.control(
        json!({"user_route": {"vm": format!("{SUB}/rg1/vm1"), "prefix": "0.0.0.0/0",
        "next_hop_type": "VirtualAppliance", "next_hop_ip": "10.0.9.4"}}),
    )
    .await;
    let (_, headers, _) = fake
        .arm(
            reqwest::Method::POST,
            &format!("{nic_id}/effectiveRouteTable?{NETWORK_API}"),
            Some(&token),
            None,
        )
        .await;
    let (_, routes) = fake.follow(&headers, &token).await;
    let routes = routes["value"].as_array().unwrap();
    assert!(routes.iter().any(|r| r["source"] == "Default"
        && r["nextHopType"] == "Internet"
        && r["state"] == "Invalid"));
    assert!(routes.iter().any(|r| r["source"] == "User"
        && r["nextHopType"] == "VirtualAppliance"
        && r["nextHopIpAddress"][0] == "10.0.9.4"));
}

#[tokio::test]
async fn the_nsg_is_enforced_on_the_ssh_front() {
    let fake = FakeAzure::start_with_ssh().await;
    let token = fake.token().await;
    let (_, endpoint) = fake.ssh_endpoint(&token).await;
    assert_eq!(banner_at(&endpoint).await.unwrap(), BANNER);

    // A deny on 22 above the allow: the front closes without a byte.
    let (s, headers, v) = fake
        .put_rule(&token, "DenySSH", tcp_rule(200, "Deny", "*", "22"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["properties"]["provisioningState"], "Updating");
    let (s, rule) = fake.follow(&headers, &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        rule,
        Value::Null,
        "a PUT's result is the resource, read with GET"
    );
    let (s, rule) = fake
        .get(
            &network_path("networkSecurityGroups", "vm1NSG", "/securityRules/DenySSH"),
            &token,
        )
        .await;
    assert_eq!(
        (s, &rule["properties"]["access"]),
        (StatusCode::OK, &json!("Deny"))
    );
    assert_eq!(banner_at(&endpoint).await.unwrap(), b"");

    // The same priority twice in one direction is a conflict; a bad priority is refused.
    let (s, _, v) = fake
        .put_rule(&token, "Other", tcp_rule(200, "Allow", "*", "80"))
        .await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("SecurityRuleConflict"))
    );
    let (s, _, v) = fake
        .put_rule(&token, "Other", tcp_rule(5000, "Allow", "*", "80"))
        .await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("SecurityRuleInvalidPriority")
        )
    );

    // An allow for this client's address above the deny lets SSH in again; for another, not.
    let (s, _, _) = fake
        .put_rule(
            &token,
            "AllowOther",
            tcp_rule(110, "Allow", "10.9.9.9/32", "22"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(banner_at(&endpoint).await.unwrap(), b"");
    let (s, _, _) = fake
        .put_rule(
            &token,
            "AllowMe",
            tcp_rule(120, "Allow", "127.0.0.1/32", "22"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(banner_at(&endpoint).await.unwrap(), BANNER);

    // DELETE is long-running too; afterwards the deny decides again.
    let (s, headers, _) = fake
        .arm(
            reqwest::Method::DELETE,
            &network_path("networkSecurityGroups", "vm1NSG", "/securityRules/AllowMe"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = fake.follow(&headers, &token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(banner_at(&endpoint).await.unwrap(), b"");
    let state = fake.state().await;
    assert!(
        state["counters"]["nsg_denied"].as_u64().unwrap() >= 3,
        "{state}"
    );
}

#[tokio::test]
async fn redeploy_moves_the_public_address() {
    let fake = FakeAzure::start_with_ssh().await;
    let token = fake.token().await;
    let (address, endpoint) = fake.ssh_endpoint(&token).await;
    let (s, headers, _) = fake
        .arm(
            reqwest::Method::POST,
            &compute_path("/redeploy", COMPUTE_API),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert!(
        headers["location"]
            .to_str()
            .unwrap()
            .contains("/providers/Microsoft.Compute/locations/")
    );
    let (s, _) = fake.follow(&headers, &token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (new_address, new_endpoint) = fake.ssh_endpoint(&token).await;
    assert_ne!(address, new_address);
    assert_ne!(endpoint, new_endpoint);
    assert!(
        TcpStream::connect(&endpoint).await.is_err(),
        "the old address still answers"
    );
    assert_eq!(banner_at(&new_endpoint).await.unwrap(), BANNER);
}

/// A stand-in for qemu's HMP monitor socket: greets with a prompt and answers each line with
/// a new one; every command line it got goes to the returned channel.
fn stand_in_monitor(path: &std::path::Path) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    use tokio::io::AsyncBufReadExt;
    let listener = tokio::net::UnixListener::bind(path).unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let (read, mut write) = conn.into_split();
            write
                .write_all(b"QEMU 7.2.0 monitor\r\n(qemu) ")
                .await
                .unwrap();
            let mut lines = tokio::io::BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line);
                let _ = write.write_all(b"\r\n(qemu) ").await;
            }
        }
    });
    rx
}

/// Restart, redeploy and start, on a VM and on a scale-set instance: each is a long-running
/// operation, and each that boots the VM resets the guest through its monitor before the
/// operation says Succeeded; restart of a stopped VM is refused, start boots it.
#[tokio::test]
async fn power_actions_reset_the_guest_through_its_monitor() {
    let dir = std::env::temp_dir().join(format!("fake-monitor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (vm_socket, ss_socket) = (dir.join("vm1.sock"), dir.join("ss1-2.sock"));
    let mut vm_monitor = stand_in_monitor(&vm_socket);
    let mut ss_monitor = stand_in_monitor(&ss_socket);
    let fake = FakeAzure::start_with(|_| {
        vec![
            "--monitor".into(),
            format!("{SUB}/rg1/vm1={}", vm_socket.display()),
            "--monitor".into(),
            format!("{SUB}/rg1/ss1/2={}", ss_socket.display()),
        ]
    });
    let token = fake.token().await;
    let instance = |action: &str| {
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachineScaleSets/ss1/virtualMachines/2/{action}?{COMPUTE_API}"
        )
    };
    for (path, on_vm) in [
        (compute_path("/restart", COMPUTE_API), true),
        (compute_path("/redeploy", COMPUTE_API), true),
        (instance("restart"), false),
        (instance("redeploy"), false),
    ] {
        fake.power(&path, &token).await;
        let monitor = if on_vm {
            &mut vm_monitor
        } else {
            &mut ss_monitor
        };
        assert_eq!(
            monitor.try_recv().as_deref(),
            Ok("system_reset"),
            "{path} did not reset the guest"
        );
    }
    // A running VM's start does nothing; a stopped one's boots it.
    fake.power(&compute_path("/start", COMPUTE_API), &token)
        .await;
    assert!(vm_monitor.try_recv().is_err(), "start reset a running VM");
    fake.control(json!({"vm_power": {"vm": format!("{SUB}/rg1/vm1"), "state": "stopped"}}))
        .await;
    let (s, _, body) = fake
        .arm(
            reqwest::Method::POST,
            &compute_path("/restart", COMPUTE_API),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("OperationNotAllowed")),
        "{body}"
    );
    fake.power(&compute_path("/start", COMPUTE_API), &token)
        .await;
    assert_eq!(vm_monitor.try_recv().as_deref(), Ok("system_reset"));
    let (_, view) = fake
        .get(
            &format!(
                "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1?{API}&$expand=instanceView"
            ),
            &token,
        )
        .await;
    assert!(view.to_string().contains("PowerState/running"), "{view}");
    let counters = &fake.state().await["counters"];
    assert_eq!(
        (
            &counters["restarts"],
            &counters["redeploys"],
            &counters["starts"]
        ),
        (&json!(2), &json!(2), &json!(2)),
        "{counters}"
    );
    // Unknown instances are 404, as ARM answers.
    let (s, _, _) = fake
        .arm(
            reqwest::Method::POST,
            &instance("restart").replace("/2/", "/9/"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn health_agent_and_boot_log() {
    let dir_log = std::env::temp_dir().join(format!("fake-boot-log-{}", std::process::id()));
    std::fs::write(
        &dir_log,
        "Linux version 6.1\r\n[FAILED] Failed to mount /data.\r\n",
    )
    .unwrap();
    let log_arg = dir_log.clone();
    let fake = FakeAzure::start_with(move |_| {
        vec![
            "--boot-log".into(),
            format!("{SUB}/rg1/vm1={}", log_arg.display()),
        ]
    });
    let token = fake.token().await;
    let health_path = compute_path(
        "/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
        "api-version=2020-05-01",
    );
    let (s, v) = fake.get(&health_path, &token).await;
    assert_eq!(
        (s, &v["properties"]["availabilityState"]),
        (StatusCode::OK, &json!("Available"))
    );
    fake.control(
        json!({"health": {"vm": format!("{SUB}/rg1/vm1"), "state": "Degraded"},
                        "agent_ready": {"vm": format!("{SUB}/rg1/vm1"), "ready": false}}),
    )
    .await;
    let (_, v) = fake.get(&health_path, &token).await;
    assert_eq!(v["properties"]["availabilityState"], "Degraded");
    let (_, vm) = fake
        .get(
            &compute_path("", "api-version=2024-07-01&$expand=instanceView"),
            &token,
        )
        .await;
    assert_eq!(
        vm["properties"]["instanceView"]["vmAgent"]["statuses"][0]["displayStatus"],
        "Not Ready"
    );

    let (s, uris) = fake
        .post(
            &compute_path("/retrieveBootDiagnosticsData", COMPUTE_API),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{uris}");
    let log_uri = uris["serialConsoleLogBlobUri"].as_str().unwrap();
    assert!(uris["consoleScreenshotBlobUri"].is_string());
    // The SAS URI is its own authorisation: no bearer, and without its signature it fails.
    let r = fake.http.get(log_uri).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Failed to mount /data"));
    let unsigned = log_uri.split('?').next().unwrap();
    assert_eq!(
        fake.http.get(unsigned).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    // The log holds the boots since the VM's last start: a restart keeps the boot before it,
    // a stop and a start begin the log again.
    let serial_log = || async {
        let (_, uris) = fake
            .post(
                &compute_path("/retrieveBootDiagnosticsData", COMPUTE_API),
                &token,
            )
            .await;
        let uri = uris["serialConsoleLogBlobUri"].as_str().unwrap();
        fake.http
            .get(uri)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let boot = |line: &str| {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&dir_log)
            .unwrap();
        write!(file, "Linux version 6.1\r\n{line}\r\n").unwrap();
    };
    fake.power(&compute_path("/restart", COMPUTE_API), &token)
        .await;
    boot("after the restart");
    let log = serial_log().await;
    assert!(
        log.contains("Failed to mount /data") && log.contains("after the restart"),
        "{log}"
    );
    fake.control(json!({"vm_power": {"vm": format!("{SUB}/rg1/vm1"), "state": "deallocated"}}))
        .await;
    fake.power(&compute_path("/start", COMPUTE_API), &token)
        .await;
    boot("after the start");
    assert_eq!(
        serial_log().await,
        "Linux version 6.1\r\nafter the start\r\n"
    );
    let _ = std::fs::remove_file(dir_log);
}

#[tokio::test]
async fn run_command_and_vmaccess_follow_the_reference_without_an_agent() {
    // An agent socket that takes connections and never answers: a hung VM agent.
    let socket = std::env::temp_dir().join(format!("silent-agent-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let agent = format!("{SUB}/rg1/vm1={}", socket.display());
    let fake = FakeAzure::start_with(move |_| vec!["--agent".into(), agent]);
    let token = fake.token().await;
    let run = |body: Value| {
        let fake = &fake;
        let token = &token;
        async move {
            fake.arm(
                reqwest::Method::POST,
                &compute_path("/runCommand", COMPUTE_API),
                Some(token),
                Some(&body.to_string()),
            )
            .await
        }
    };
    let (s, _, e) = run(json!({"commandId": "RunPowerShellScript", "script": ["dir"]})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("InvalidParameter"))
    );
    let (s, headers, _) = run(json!({"commandId": "RunShellScript", "script": ["id"]})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert!(headers.get("location").is_some());
    // One command at a time per VM.
    let (s, _, e) = run(json!({"commandId": "RunShellScript", "script": ["id"]})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("Conflict"))
    );
    // The operation fails as Azure's does when the agent does not report.
    let operation = headers["azure-asyncoperation"].to_str().unwrap();
    let path = operation.strip_prefix(&fake.base).unwrap().to_owned();
    let failed = loop {
        let (s, status) = fake.get(&path, &token).await;
        assert_eq!(s, StatusCode::OK);
        if status["status"] != "InProgress" {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(failed["status"], "Failed", "{failed}");
    assert_eq!(failed["error"]["code"], "VMAgentStatusCommunicationError");
    // Only VMAccessForLinux is served; its protected settings never come back.
    let extension = |kind: &str| {
        json!({"location": "eastus", "properties": {"publisher": "Microsoft.OSTCExtensions",
            "type": kind, "typeHandlerVersion": "1.5",
            "protectedSettings": {"username": "u", "password": "never-shown"}}})
    };
    let (s, _, _) = fake
        .arm(
            reqwest::Method::PUT,
            &compute_path("/extensions/enablevmaccess", COMPUTE_API),
            Some(&token),
            Some(&extension("CustomScript").to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, created) = fake
        .arm(
            reqwest::Method::PUT,
            &compute_path("/extensions/enablevmaccess", COMPUTE_API),
            Some(&token),
            Some(&extension("VMAccessForLinux").to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["properties"]["provisioningState"], "Creating");
    assert!(!created.to_string().contains("never-shown"), "{created}");
}

/// Network Watcher: the region's watcher is listed, and its `ipFlowVerify` and `nextHop` are
/// long-running POSTs answered from the NSG and routes the fake serves (and enforces); a region
/// without one lists none and answers its actions 404.
#[tokio::test]
async fn network_watcher_verifies_flows_and_next_hops_from_the_served_state() {
    let fake = FakeAzure::start_with_ssh().await;
    let token = fake.token().await;
    let (s, list) = fake
        .get(
            &format!(
                "/subscriptions/{SUB}/providers/Microsoft.Network/networkWatchers?{NETWORK_API}"
            ),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let watcher = list["value"][0]["id"]
        .as_str()
        .expect("a watcher")
        .to_owned();
    assert_eq!(list["value"][0]["location"], "eastus");
    let vm_id = format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"
    );
    let (_, nic) = fake
        .get(&network_path("networkInterfaces", "vm1VMNic", ""), &token)
        .await;
    let private = nic["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"]
        .as_str()
        .unwrap()
        .to_owned();
    let ask = |action: &'static str, body: Value| {
        let (fake, token, watcher) = (&fake, &token, &watcher);
        async move {
            let (s, headers, answer) = fake
                .arm(
                    reqwest::Method::POST,
                    &format!("{watcher}/{action}?{NETWORK_API}"),
                    Some(token),
                    Some(&body.to_string()),
                )
                .await;
            assert_eq!(s, StatusCode::ACCEPTED, "{action}: {answer}");
            let (s, result) = fake.follow(&headers, token).await;
            assert_eq!(s, StatusCode::OK, "{action}: {result}");
            result
        }
    };
    let flow = |port: &str| {
        json!({"targetResourceId": vm_id, "direction": "Inbound", "protocol": "TCP",
               "localPort": port, "remotePort": "*", "localIPAddress": private,
               "remoteIPAddress": "127.0.0.1"})
    };
    let verdict = ask("ipFlowVerify", flow("22")).await;
    assert_eq!(
        (&verdict["access"], &verdict["ruleName"]),
        (&json!("Allow"), &json!("securityRules/default-allow-ssh"))
    );
    let (s, _, _) = fake
        .put_rule(&token, "DenySSH", tcp_rule(100, "Deny", "*", "22"))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let verdict = ask("ipFlowVerify", flow("22")).await;
    assert_eq!(
        (&verdict["access"], &verdict["ruleName"]),
        (&json!("Deny"), &json!("securityRules/DenySSH"))
    );
    let verdict = ask("ipFlowVerify", flow("2200")).await;
    assert_eq!(
        (&verdict["access"], &verdict["ruleName"]),
        (
            &json!("Deny"),
            &json!("defaultSecurityRules/DenyAllInBound")
        )
    );
    // Return traffic to the client: the Internet, until a user route sends it to None.
    let hop = json!({"targetResourceId": vm_id, "sourceIPAddress": private,
                     "destinationIPAddress": "198.51.100.7"});
    let answer = ask("nextHop", hop.clone()).await;
    assert_eq!(
        (&answer["nextHopType"], &answer["routeTableId"]),
        (&json!("Internet"), &json!("System Route"))
    );
    fake.control(json!({"user_route": {"vm": format!("{SUB}/rg1/vm1"), "prefix": "198.51.100.0/24", "next_hop_type": "None"}}))
        .await;
    assert_eq!(ask("nextHop", hop).await["nextHopType"], "None");
    // A body the reference would refuse is a 400, not a guess.
    let (s, _, _) = fake
        .arm(
            reqwest::Method::POST,
            &format!("{watcher}/ipFlowVerify?{NETWORK_API}"),
            Some(&token),
            Some(&json!({"targetResourceId": vm_id}).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let without = FakeAzure::start_with(|_| vec!["--no-network-watcher".into()]);
    let token = without.token().await;
    let (_, list) = without
        .get(
            &format!(
                "/subscriptions/{SUB}/providers/Microsoft.Network/networkWatchers?{NETWORK_API}"
            ),
            &token,
        )
        .await;
    assert_eq!(list["value"], json!([]));
    let (s, _, _) = without
        .arm(
            reqwest::Method::POST,
            &format!("{watcher}/nextHop?{NETWORK_API}"),
            Some(&token),
            Some(&json!({}).to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
