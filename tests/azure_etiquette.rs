//! How lifeline behaves as an Azure client, run as the real binary against the fake service
//! (token endpoint, ARM, gateway) with a stand-in serial port: sign-in failures quote Entra ID,
//! a custom cloud is discovered from its metadata, admin commands are sent once more after a
//! refusal, and two runs on one VM do not evict each other in a loop. No guest is needed: the
//! console side is the fake's echo getty.

mod support;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::fake_azure::FakeAzure;

const SUB: &str = "00000000-0000-0000-0000-0000000e71c7";

fn start(name: &str) -> FakeAzure {
    FakeAzure::start(name, &[format!("{SUB}/rg1/vm1=echo")])
}

fn counters(fake: &FakeAzure) -> serde_json::Value {
    fake.state()["counters"].clone()
}

/// lifeline against `fake`, signing in with a client secret unless the caller's env says
/// otherwise.
fn lifeline(fake: &FakeAzure, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lifeline"));
    command
        .args(["--arm-endpoint", &fake.url, "--subscription", SUB])
        .args(args)
        .envs(fake.env())
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .stdin(Stdio::null());
    command
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_wrong_client_secret_quotes_entra_and_says_what_to_do() {
    let fake = start("secret");
    let out = lifeline(&fake, &["--auth", "client-secret", "console", "status"])
        .env("AZURE_CLIENT_SECRET", "wrong")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(77),
        "a failed sign-in is an auth failure: {err}"
    );
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
fn a_refresh_refused_after_the_first_sign_in_quotes_entra_and_says_what_to_do() {
    let fake = start("refresh");
    // Tokens that expire at once are renewed on every use; the first sign-in works, every
    // renewal fails the way an expired secret does.
    fake.control(serde_json::json!({
        "token_lifetime_secs": 0,
        "fail_next": {
            "route": "token", "status": 401, "code": "invalid_client", "after": 1, "count": 10,
            "message": "AADSTS7000222: The provided client secret keys for app 'client-1' are expired."
        }
    }));
    let args: Vec<&str> = "--auth client-secret -g rg1 -n vm1 send sysrq h"
        .split(' ')
        .collect();
    let out = lifeline(&fake, &args).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(77), "{err}");
    for needed in [
        "the client secret (environment) credential signed in, then could not renew its token",
        "Entra ID answered invalid_client: AADSTS7000222",
        "What to do: the client secret has expired",
    ] {
        assert!(err.contains(needed), "missing {needed:?} in: {err}");
    }
    assert_eq!(counters(&fake)["tokens_issued"], 1, "{err}");
}

#[test]
fn an_invalid_scope_is_quoted_with_the_flags_to_check() {
    let fake = start("scope");
    fake.control(serde_json::json!({"fail_next": {
        "route": "token", "status": 400, "code": "invalid_scope",
        "message": "AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid."
    }}));
    let out = lifeline(&fake, &["--auth", "client-secret", "console", "status"])
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
    let fake = start("cli");
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
    let out = lifeline(&fake, &["--auth", "cli", "console", "status"])
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
    let fake = start("metadata");
    let out = lifeline(&fake, &["--auth", "client-secret", "console", "status"])
        .env_remove("AZURE_AUTHORITY_HOST")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = fake.state()["requests"].to_string();
    assert!(requests.contains("/metadata/endpoints"), "{requests}");
    // The sign-in went to the metadata's loginEndpoint (the fake), not the public cloud.
    assert!(
        requests.contains("/tenant-1/oauth2/v2.0/token"),
        "{requests}"
    );
}

#[test]
fn an_admin_command_refused_once_is_sent_again() {
    let fake = start("admin");
    fake.control(serde_json::json!({"fail_next": {"route": "admin", "status": 500}}));
    let out = lifeline(&fake, &["-g", "rg1", "-n", "vm1", "send", "sysrq", "h"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let statuses: Vec<u64> = counters(&fake)["admin_commands"]
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
    lifeline(fake, &args)
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
    counters(fake)["ws_authenticated"].as_u64().unwrap()
}

/// Waits for `child` to end by itself and returns its stderr.
fn ended(mut child: Child) -> String {
    wait_for("lifeline to stop", || child.try_wait().unwrap().is_some());
    let out = child.wait_with_output().unwrap();
    stderr(&out)
}

#[test]
fn two_runs_on_one_vm_do_not_evict_each_other_in_a_loop() {
    let fake = start("two-runs");

    // Without --take-over the first run yields to the second and says why.
    let first = connect(&fake, false);
    wait_for("the first run", || authenticated(&fake) == 1);
    let second = connect(&fake, false);
    let err = ended(first);
    assert!(err.contains("another client took"), "{err}");
    assert!(err.contains("--take-over"), "{err}");
    stop(second);

    // With --take-over on both, each takes the console back once, then one yields.
    let before = counters(&fake)["ws_evicted"].as_u64().unwrap();
    let first = connect(&fake, true);
    let base = authenticated(&fake);
    wait_for("the first run", || authenticated(&fake) > base);
    let second = connect(&fake, true);
    let err = ended(first);
    assert!(err.contains("taking it back once"), "{err}");
    assert!(err.contains("another client took"), "{err}");
    // Let a loop show itself if there is one.
    std::thread::sleep(Duration::from_secs(5));
    let evicted = counters(&fake)["ws_evicted"].as_u64().unwrap() - before;
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

/// `exec --root` on vm1 as a user whose login the echo getty refuses, with `-o json`: the
/// failure's JSON and the paths of the requests the fake saw.
fn refused_climb(flags: &[&str]) -> (serde_json::Value, Vec<String>) {
    let fake = start("agent-rung");
    let out = lifeline(&fake, &["-g", "rg1", "-n", "vm1", "-o", "json"])
        .args(["--user", "alice", "--password-env", "PW"])
        .args(flags)
        .args(["exec", "--root", "--", "true"])
        .env("PW", "alice-pw")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));
    let failure: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let paths = fake.state()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    (failure, paths)
}

/// The agent rung of `failure`'s access record: its outcome and why.
fn agent_rung(failure: &serde_json::Value) -> (String, String) {
    let tried = failure["access"]["tried"].as_array().unwrap_or_else(|| {
        panic!("the failure lists every rung: {failure:#}");
    });
    let rungs: Vec<&str> = tried.iter().map(|a| a["rung"].as_str().unwrap()).collect();
    assert_eq!(
        rungs,
        ["login", "root", "expired", "agent", "break-in"],
        "{failure:#}"
    );
    let agent = &tried[3];
    (
        agent["outcome"].as_str().unwrap().into(),
        agent["why"].as_str().unwrap().into(),
    )
}

#[test]
fn the_agent_rung_adds_no_login_unless_the_operator_allows_it() {
    let (failure, paths) = refused_climb(&[]);
    let (outcome, why) = agent_rung(&failure);
    assert_eq!(outcome, "skipped", "{failure:#}");
    assert!(why.contains("--allow-agent-login"), "{why}");
    assert!(
        !paths.iter().any(|p| p.contains("/runCommand")),
        "Run Command was called without the flag: {paths:?}"
    );

    // Allowed, the rung asks the agent; this one runs nothing, and the rung says what Azure
    // answered.
    let (failure, paths) = refused_climb(&["--allow-agent-login"]);
    let (outcome, why) = agent_rung(&failure);
    assert_eq!(outcome, "failed", "{failure:#}");
    assert!(why.contains("Run Command"), "{why}");
    assert!(
        paths.iter().any(|p| p.contains("/runCommand")),
        "the allowed rung tried Run Command: {paths:?}"
    );
}

#[test]
fn the_agent_rung_is_named_in_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["rescue", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--allow-agent-login"), "{help}");
}

/// `diagnose` with no way into the guest, JSON out: Azure's side alone.
fn cloud_only_diagnosis(fake: &FakeAzure) -> serde_json::Value {
    let out = lifeline(
        fake,
        &[
            "--arm-audience",
            "https://management.azure.com/",
            "--auth",
            "client-secret",
            "diagnose",
            "-g",
            "rg1",
            "-n",
            "vm1",
            "--client-ip",
            "127.0.0.1",
            "-o",
            "json",
        ],
    )
    .output()
    .expect("run lifeline");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)))
}

/// Network Watcher's IP flow verify and next hop are asked where the region has a watcher, and
/// Azure's verdict joins the NSG finding's evidence; without a watcher the facts say so and the
/// NSG is judged from the effective rules alone.
#[test]
fn network_watcher_is_asked_where_there_is_one_and_its_absence_is_said() {
    let deny_22 = serde_json::json!({"nsg_rule": {"vm": format!("{SUB}/rg1/vm1"), "name": "DenySSH",
        "properties": {"priority": 100, "access": "Deny", "direction": "Inbound", "protocol": "Tcp",
                       "sourceAddressPrefix": "*", "sourcePortRange": "*",
                       "destinationAddressPrefix": "*", "destinationPortRange": "22"}}});
    let fake = start("watcher");
    fake.control(deny_22.clone());
    let report = cloud_only_diagnosis(&fake);
    let watcher = &report["cloud"]["watcher"];
    assert_eq!(
        (&watcher["flow"]["allowed"], &watcher["flow"]["rule"]),
        (&false.into(), &"securityRules/DenySSH".into()),
        "{report:#}"
    );
    assert_eq!(watcher["next_hop"]["kind"], "Internet", "{report:#}");
    let ssh701 = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "SSH701")
        .unwrap_or_else(|| panic!("no SSH701: {report:#}"));
    assert!(
        ssh701["evidence"].to_string().contains(
            "Network Watcher's IP flow verify: TCP 22 from 127.0.0.1: Deny by securityRules/DenySSH"
        ),
        "{ssh701:#}"
    );

    let without = FakeAzure::start_with(
        "no-watcher",
        &[format!("{SUB}/rg1/vm1=echo")],
        &[("--no-network-watcher", String::new())],
    );
    without.control(deny_22);
    let report = cloud_only_diagnosis(&without);
    assert!(report["cloud"]["watcher"].is_null(), "{report:#}");
    assert!(
        report["cloud"]["unread"]
            .to_string()
            .contains("Network Watcher: none in region eastus"),
        "{report:#}"
    );
    assert!(
        report["findings"].to_string().contains("SSH701"),
        "{report:#}"
    );
}
