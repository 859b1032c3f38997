//! How lifeline behaves as an Azure client, run as the real binary against the fake service
//! (token endpoint, ARM, gateway) with a stand-in serial port: sign-in failures quote Entra ID,
//! a custom cloud is discovered from its metadata, admin commands are sent once more after a
//! refusal, and two runs on one VM do not evict each other in a loop. No guest is needed: the
//! console side is the fake's echo getty.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SUB: &str = "00000000-0000-0000-0000-0000000e71c7";

/// One fake Azure service for one test; stops when dropped.
struct FakeAzure {
    url: String,
    dir: PathBuf,
    process: Child,
}

impl FakeAzure {
    fn start(name: &str) -> FakeAzure {
        let dir =
            std::env::temp_dir().join(format!("lifeline-etiquette-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut process = Command::new(env!("CARGO_BIN_EXE_fake-azure"))
            .arg("--state-dir")
            .arg(&dir)
            .args(["--vm", &format!("{SUB}/rg1/vm1=echo")])
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start fake-azure");
        let line = BufReader::new(process.stdout.take().unwrap())
            .lines()
            .next()
            .expect("READY line")
            .unwrap();
        let url = line.strip_prefix("READY ").expect("READY").to_string();
        FakeAzure { url, dir, process }
    }

    fn curl(&self, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let mut curl = Command::new("curl");
        curl.args(["-sS", "--fail", "--cacert"])
            .arg(self.dir.join("ca.pem"));
        if let Some(body) = body {
            curl.args([
                "-H",
                "content-type: application/json",
                "-d",
                &body.to_string(),
            ]);
        }
        let out = curl
            .arg(format!("{}/fake/{path}", self.url))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    }

    fn control(&self, body: serde_json::Value) {
        self.curl("control", Some(body));
    }

    fn counters(&self) -> serde_json::Value {
        self.curl("state", None)["counters"].clone()
    }

    /// lifeline against this fake, signing in with a client secret unless `args` say otherwise.
    fn lifeline(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lifeline"));
        command
            .args(["--arm-endpoint", &self.url, "--subscription", SUB])
            .args(args)
            .env("SSL_CERT_FILE", self.dir.join("ca.pem"))
            .env("AZURE_AUTHORITY_HOST", &self.url)
            .env("AZURE_TENANT_ID", "tenant-1")
            .env("AZURE_CLIENT_ID", "client-1")
            .env("AZURE_CLIENT_SECRET", "secret-1")
            .env_remove("AZURE_SUBSCRIPTION_ID")
            .stdin(Stdio::null());
        command
    }
}

impl Drop for FakeAzure {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_wrong_client_secret_quotes_entra_and_says_what_to_do() {
    let fake = FakeAzure::start("secret");
    let out = fake
        .lifeline(&["--auth", "client-secret", "console", "status"])
        .env("AZURE_CLIENT_SECRET", "wrong")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    for needed in [
        "client secret (environment) credential",
        "invalid_client",
        "AADSTS7000215: Invalid client secret provided.",
        "What to do:",
        "az ad app credential reset",
    ] {
        assert!(err.contains(needed), "missing {needed:?} in: {err}");
    }
    assert!(!err.contains("non-transport error"), "{err}");
    assert!(
        !err.contains("wrong"),
        "the secret must not be echoed: {err}"
    );
}

#[test]
fn an_invalid_scope_is_quoted_with_the_flags_to_check() {
    let fake = FakeAzure::start("scope");
    fake.control(serde_json::json!({"fail_next": {
        "route": "token", "status": 400, "code": "invalid_scope",
        "message": "AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid."
    }}));
    let out = fake
        .lifeline(&["--auth", "client-secret", "console", "status"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("Entra ID answered invalid_scope: AADSTS70011: The provided request"),
        "{err}"
    );
    assert!(err.contains("--arm-audience"), "{err}");
}

#[test]
fn the_azure_cli_credential_asks_for_the_subscriptions_tenant_and_quotes_its_error() {
    let fake = FakeAzure::start("cli");
    let bin = fake.dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let argv = fake.dir.join("az-argv");
    let az = bin.join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n\
             echo \"ERROR: AADSTS70043: The refresh token has expired due to inactivity.\" >&2\nexit 1\n",
            argv.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = fake
        .lifeline(&["--auth", "cli", "console", "status"])
        .env("PATH", path)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    let args: Vec<String> = std::fs::read_to_string(&argv)
        .expect("lifeline ran az")
        .lines()
        .map(String::from)
        .collect();
    let at = args
        .iter()
        .position(|a| a == "--subscription")
        .unwrap_or_else(|| panic!("no --subscription in {args:?}"));
    assert_eq!(args[at + 1], SUB);
    assert!(err.contains("Azure CLI credential"), "{err}");
    assert!(err.contains("AADSTS70043"), "{err}");
    assert!(err.contains("az login"), "{err}");
}

#[test]
fn a_custom_endpoint_without_an_audience_is_discovered_from_its_metadata() {
    let fake = FakeAzure::start("metadata");
    let out = fake
        .lifeline(&["--auth", "client-secret", "console", "status"])
        .env_remove("AZURE_AUTHORITY_HOST")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = fake.curl("state", None)["requests"].to_string();
    assert!(requests.contains("/metadata/endpoints"), "{requests}");
    // The sign-in went to the metadata's loginEndpoint (the fake), not the public cloud.
    assert!(
        requests.contains("/tenant-1/oauth2/v2.0/token"),
        "{requests}"
    );
}

#[test]
fn an_admin_command_refused_once_is_sent_again() {
    let fake = FakeAzure::start("admin");
    fake.control(serde_json::json!({"fail_next": {"route": "admin", "status": 500}}));
    let out = fake
        .lifeline(&["-g", "rg1", "-n", "vm1", "send", "sysrq", "h"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let statuses: Vec<u64> = fake.counters()["admin_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 200]);
}

/// `lifeline connect` on vm1, its stdin held open so that only the console can end it.
fn connect(fake: &FakeAzure, take_over: bool) -> Child {
    let mut args = vec!["-g", "rg1", "-n", "vm1", "connect"];
    if take_over {
        args.push("--take-over");
    }
    fake.lifeline(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn authenticated(fake: &FakeAzure) -> u64 {
    fake.counters()["ws_authenticated"].as_u64().unwrap()
}

/// Waits for `child` to end by itself and returns its stderr.
fn ended(mut child: Child) -> String {
    wait_for("lifeline to stop", || child.try_wait().unwrap().is_some());
    let out = child.wait_with_output().unwrap();
    stderr(&out)
}

#[test]
fn two_runs_on_one_vm_do_not_evict_each_other_in_a_loop() {
    let fake = FakeAzure::start("two-runs");

    // Without --take-over the first run yields to the second and says why.
    let first = connect(&fake, false);
    wait_for("the first run", || authenticated(&fake) == 1);
    let second = connect(&fake, false);
    let err = ended(first);
    assert!(err.contains("another client took"), "{err}");
    assert!(err.contains("--take-over"), "{err}");
    stop(second);

    // With --take-over on both, each takes the console back once, then one yields.
    let before = fake.counters()["ws_evicted"].as_u64().unwrap();
    let first = connect(&fake, true);
    let base = authenticated(&fake);
    wait_for("the first run", || authenticated(&fake) > base);
    let second = connect(&fake, true);
    let err = ended(first);
    assert!(err.contains("taking it back once"), "{err}");
    assert!(err.contains("another client took"), "{err}");
    // Let a loop show itself if there is one.
    std::thread::sleep(Duration::from_secs(5));
    let evicted = fake.counters()["ws_evicted"].as_u64().unwrap() - before;
    assert_eq!(
        evicted, 3,
        "first, second, first again; then the first yields"
    );
    let mut second = second;
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second run keeps the console"
    );
    stop(second);
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}
