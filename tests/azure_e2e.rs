//! The whole Azure path end to end: lifeline → fake ARM (token, pre-checks, connect) → fake
//! gateway (challenge, token, frames) → the real guest's ttyS0 under qemu. Credentials go through
//! the real code path (the client-secret credential against the fake's token endpoint) and TLS
//! through the operating system's trust store (SSL_CERT_FILE names the fake's CA).

mod support;

use lifeline::azure::target::{Machine, VmTarget};
use lifeline::azure::{ArmClient, AuthMethod, Cloud, credential};
use lifeline::azure::{agent, console_link};
use lifeline::shell::ShellError;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use support::fake_azure::FakeAzure;
use support::ssh_password::{Login, new_key, ssh_as};
use support::{Guest, SshAuth, shared_guest};

const SUB: &str = "00000000-0000-0000-0000-00000000a2e5";

/// The fake Azure service in front of one guest, shared by this binary's tests; it stops when
/// the test process ends (its stdin closes). Library calls sign in through the environment.
static SHARED_FAKE: OnceLock<FakeAzure> = OnceLock::new();

fn fake_azure(guest: &Guest) -> &'static FakeAzure {
    SHARED_FAKE.get_or_init(|| {
        let public = public_key_of(&guest.key);
        let fake = FakeAzure::start_with(
            "e2e",
            &[format!("{SUB}/rg1/vm1=unix:{}", guest.serial.display())],
            &[
                ("--vmss", format!("{SUB}/rg1/ss1/0=echo")),
                // vm1's SSH behind the fake's NSG-enforcing front, and its boot log.
                ("--ssh", format!("{SUB}/rg1/vm1={}", guest.ssh_port)),
                beside_serial(guest, "--boot-log", VM1, "serial.log"),
                // vm1 was created for the guest's user with the guest's key.
                (
                    "--admin",
                    format!("{SUB}/rg1/vm1={}:{}", guest.user, public.display()),
                ),
                // vm1's VM agent: qemu-guest-agent in the guest, for Run Command and VMAccess.
                beside_serial(guest, "--agent", VM1, "agent.sock"),
                // Never dropped: it cleans up after itself when the test process ends.
                ("--remove-state-dir", String::new()),
            ],
        );
        for (name, value) in fake.env() {
            // SAFETY: set once, before any thread of this test binary reads these variables.
            unsafe { std::env::set_var(name, value) };
        }
        fake
    })
}

/// A fake's option `FLAG KEY=PATH` whose file (a socket, the console's log) lies beside the
/// guest's serial socket.
fn beside_serial(
    guest: &Guest,
    flag: &'static str,
    key: &str,
    file: &str,
) -> (&'static str, String) {
    (
        flag,
        format!("{key}={}", guest.serial.with_file_name(file).display()),
    )
}

/// A fake Azure of a test's own whose `consoles` include this guest's serial port: the shared
/// fake keeps the port once a session used it, and qemu serves one client, so it lets go
/// first (its next session connects again).
fn own_fake_azure(
    name: &str,
    consoles: &[String],
    options: &[(&'static str, String)],
) -> FakeAzure {
    if let Some(shared) = SHARED_FAKE.get() {
        shared.control(serde_json::json!({"release_serial": format!("{SUB}/rg1/vm1")}));
    }
    FakeAzure::start_with(name, consoles, options)
}

/// The shared fake with no fault left armed and its NSG as it started: each test's first step.
fn clean_fake_azure(guest: &Guest) -> &'static FakeAzure {
    let fake = fake_azure(guest);
    fake.control(serde_json::json!({"clear_faults": true}));
    fake.reset_nsg();
    fake
}

impl FakeAzure {
    fn args(&self) -> Vec<String> {
        [
            "--arm-endpoint",
            &self.url,
            "--arm-audience",
            "https://management.azure.com/",
            "--subscription",
            SUB,
            "--auth",
            "client-secret",
        ]
        .map(String::from)
        .to_vec()
    }

    /// `lifeline exec` on vm1 as the guest user, with extra `flags`.
    fn exec(&self, guest: &Guest, flags: &[&str], command: &str) -> Output {
        let mut args = vec!["exec"];
        args.extend(vm1_login(guest));
        args.extend_from_slice(flags);
        args.extend(["--", command]);
        self.lifeline(guest, &args)
    }

    /// `command` on vm1 as root, which must succeed: how a test breaks the guest.
    fn as_root(&self, guest: &Guest, command: &str) {
        let out = self.exec(guest, &["--root"], command);
        assert!(out.status.success(), "{:?}", text(&out));
    }

    fn lifeline(&self, guest: &Guest, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_lifeline"))
            .args(self.args())
            .args(args)
            .env("GUEST_PW", &guest.password)
            .stdin(Stdio::null())
            .output()
            .expect("run lifeline")
    }
}

/// vm1, logged in to as the guest user with the password in GUEST_PW.
/// The public half of `key`, written beside it (`KEY.pub`).
fn public_key_of(key: &std::path::Path) -> std::path::PathBuf {
    let public = key.with_extension("pub");
    let out = Command::new("ssh-keygen")
        .args(["-y", "-f"])
        .arg(key)
        .output()
        .expect("run ssh-keygen -y");
    assert!(out.status.success(), "ssh-keygen -y: {out:?}");
    std::fs::write(&public, &out.stdout).expect("write the public key");
    public
}

fn vm1_login(guest: &Guest) -> [&str; 8] {
    [
        "-g",
        "rg1",
        "-n",
        "vm1",
        "--user",
        &guest.user,
        "--password-env",
        "GUEST_PW",
    ]
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_through_fake_arm_and_gateway_returns_output_and_status() {
    let guest = shared_guest().await;
    let fake = fake_azure(&guest);
    fake.control(serde_json::json!({"clear_faults": true}));
    let out = fake.exec(&guest, &["--root"], "hostname; id -u; exit 7");
    let (stdout, stderr) = text(&out);
    assert_eq!(stdout, "rescue-guest\n0\n", "stderr: {stderr}");
    assert_eq!(out.status.code(), Some(7));
}

/// `text` as the three forms a dump can take: itself, lower-case hex, and a Debug byte list.
fn dumped_forms(text: &str) -> [String; 3] {
    let bytes = text.as_bytes();
    [
        text.to_string(),
        bytes.iter().map(|b| format!("{b:02x}")).collect(),
        bytes
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logging_shows_neither_the_token_nor_the_typed_password() {
    let guest = shared_guest().await;
    let fake = fake_azure(&guest);
    fake.control(serde_json::json!({"clear_faults": true}));
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(fake.args())
        .args(["exec", "-g", "rg1", "-n", "vm1", "--user", &guest.user])
        .args(["--password-env", "GUEST_PW", "--root", "--", "id -u"])
        .env("GUEST_PW", &guest.password)
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .output()
        .expect("run lifeline");
    let (stdout, stderr) = text(&out);
    assert_eq!(stdout, "0\n", "stderr: {stderr}");
    assert!(
        stderr.contains("DEBUG") || stderr.contains("TRACE"),
        "trace logging was on: {stderr}"
    );
    // Every token is a JWT: base64url of '{"', so it starts with "eyJ".
    let client_secret = std::env::var("AZURE_CLIENT_SECRET").unwrap();
    for secret in ["eyJ", &guest.password, &client_secret] {
        for form in dumped_forms(secret) {
            assert!(
                !stderr.contains(&form),
                "the trace log holds {form:?} ({} bytes of log)",
                stderr.len()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1011_refusal_on_the_first_attempt_recovers() {
    let guest = shared_guest().await;
    let fake = fake_azure(&guest);
    fake.control(serde_json::json!({"clear_faults": true, "refuse_next_ws": 1}));
    let out = fake.exec(&guest, &["-v"], "echo recovered");
    let (stdout, stderr) = text(&out);
    assert_eq!(stdout, "recovered\n", "stderr: {stderr}");
    assert!(stderr.contains("1011"), "the refusal is reported: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_carries_the_console_both_ways() {
    let guest = shared_guest().await;
    let fake = fake_azure(&guest);
    fake.control(serde_json::json!({"clear_faults": true}));
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(fake.args())
        .args(["connect", "-g", "rg1", "-n", "vm1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        std::thread::sleep(Duration::from_secs(3));
        stdin.write_all(b"\r").unwrap();
        std::thread::sleep(Duration::from_secs(1));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        stdout.contains("rescue-guest login: "),
        "stdout {stdout:?} stderr {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_dropped_mid_command_is_reported_and_the_session_goes_on() {
    let guest = shared_guest().await;
    let fake = fake_azure(&guest);
    fake.control(serde_json::json!({"clear_faults": true}));
    let (arm, target) = vm1_arm(fake);
    let console = console_link::open(arm, target, console_link::TakeOver::Yield)
        .await
        .expect("open the Azure console");
    let mut session = guest.session_over(console.link).await;
    assert_eq!(session.run("echo before").await.unwrap().text(), "before\n");

    let dropper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        fake.control(serde_json::json!({"drop_sessions": true}));
    });
    let err = session
        .run_with_timeout("sleep 3; echo during", Duration::from_secs(15))
        .await
        .expect_err("a command interrupted by a drop must not report a result");
    dropper.await.unwrap();
    assert!(matches!(err, ShellError::LinkInterrupted), "{err}");

    let after = session
        .run("echo after; exit 4")
        .await
        .expect("the session goes on");
    assert_eq!((after.text().as_str(), after.exit_status), ("after\n", 4));
    session.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_precheck_error_says_what_to_do() {
    let guest = shared_guest().await;
    let fake = fake_azure(&guest);
    let exec = [
        "exec",
        "-g",
        "rg1",
        "-n",
        "vm1",
        "--user",
        "azureuser",
        "--password-env",
        "GUEST_PW",
        "--",
        "true",
    ];
    let cases: Vec<(serde_json::Value, Vec<&str>, &str)> = vec![
        (
            serde_json::json!({"console_disabled": {"subscription": SUB, "disabled": true}}),
            exec.to_vec(),
            "lifeline console enable",
        ),
        (
            serde_json::json!({"vm_power": {"vm": format!("{SUB}/rg1/vm1"), "state": "deallocated"}}),
            exec.to_vec(),
            "az vm start -g rg1 -n vm1",
        ),
        (
            serde_json::json!({"boot_diagnostics": {"vm": format!("{SUB}/rg1/vm1"), "enabled": false}}),
            exec.to_vec(),
            "az vm boot-diagnostics enable -g rg1 -n vm1",
        ),
        (
            serde_json::json!({"fail_next": {"route": "connect", "status": 403}}),
            exec.to_vec(),
            "Virtual Machine Contributor",
        ),
        (
            serde_json::json!({"fail_next": {"route": "connect", "status": 409}}),
            exec.to_vec(),
            "another operation",
        ),
        (
            serde_json::json!({}),
            vec![
                "exec",
                "-g",
                "rg1",
                "-n",
                "nosuchvm",
                "--user",
                "azureuser",
                "--password-env",
                "GUEST_PW",
                "--",
                "true",
            ],
            "check the subscription, resource group and VM name",
        ),
        (
            serde_json::json!({}),
            vec![
                "exec",
                "-g",
                "rg1",
                "-n",
                "ss1",
                "--user",
                "azureuser",
                "--password-env",
                "GUEST_PW",
                "--",
                "true",
            ],
            "--instance-id",
        ),
    ];
    for (fault, args, says) in cases {
        fake.control(serde_json::json!({"clear_faults": true}));
        fake.control(
            serde_json::json!({"console_disabled": {"subscription": SUB, "disabled": false}}),
        );
        fake.control(
            serde_json::json!({"vm_power": {"vm": format!("{SUB}/rg1/vm1"), "state": "running"}}),
        );
        fake.control(serde_json::json!({"boot_diagnostics": {"vm": format!("{SUB}/rg1/vm1"), "enabled": true}}));
        if fault != serde_json::json!({}) {
            fake.control(fault.clone());
        }
        let out = fake.lifeline(&guest, &args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(74), "{fault}: {stderr}");
        assert!(
            stderr.contains(says),
            "{fault}: expected {says:?} in:\n{stderr}"
        );
    }
    // Throttling is retried with Retry-After, invisibly.
    fake.control(serde_json::json!({"clear_faults": true}));
    fake.control(
        serde_json::json!({"vm_power": {"vm": format!("{SUB}/rg1/vm1"), "state": "running"}}),
    );
    fake.control(
        serde_json::json!({"boot_diagnostics": {"vm": format!("{SUB}/rg1/vm1"), "enabled": true}}),
    );
    fake.control(
        serde_json::json!({"fail_next": {"route": "connect", "status": 429, "retry_after": 1}}),
    );
    let out = fake.lifeline(
        &guest,
        &[
            "exec",
            "-g",
            "rg1",
            "-n",
            "vm1",
            "--user",
            "azureuser",
            "--password-env",
            "GUEST_PW",
            "--",
            "echo throttled-then-ok",
        ],
    );
    assert_eq!(text(&out).0, "throttled-then-ok\n", "{}", text(&out).1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_switch_and_admin_commands() {
    let guest = shared_guest().await;
    let fake = fake_azure(&guest);
    fake.control(serde_json::json!({"clear_faults": true}));
    for (action, want) in [
        ("disable", "disabled"),
        ("status", "disabled"),
        ("enable", "enabled"),
    ] {
        let out = fake.lifeline(&guest, &["console", action]);
        assert!(
            text(&out).0.contains(&format!("is {want}")),
            "{action}: {:?}",
            text(&out)
        );
    }
    let out = fake.lifeline(
        &guest,
        &[
            "send",
            "--vmss",
            "ss1",
            "--instance-id",
            "0",
            "-g",
            "rg1",
            "sysrq",
            "h",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(
        stdout.contains("sysrq: HELP"),
        "stdout {stdout} stderr {stderr}"
    );
    let out = fake.lifeline(
        &guest,
        &[
            "send",
            "--vmss",
            "ss1",
            "--instance-id",
            "0",
            "-g",
            "rg1",
            "nmi",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "NMI without --yes and no terminal is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_utf8_in_text_frames_do_not_end_the_session() {
    let guest = shared_guest().await;
    let fake = fake_azure(&guest);
    fake.control(serde_json::json!({"clear_faults": true, "invalid_utf8_text_frames": true}));
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(fake.args())
        .args(["connect", "-g", "rg1", "-n", "vm1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let pause = || std::thread::sleep(Duration::from_secs(2));
        for keys in [
            "\r".to_string(),
            "root\r".to_string(),
            format!("{}\r", guest.root_password),
            "printf 'raw \\377\\376 bytes\\n'; echo still-here\r".to_string(),
            "exit\r".to_string(),
        ] {
            pause();
            stdin.write_all(keys.as_bytes()).unwrap();
        }
        pause();
    }
    let out = child.wait_with_output().unwrap();
    fake.control(serde_json::json!({"clear_faults": true, "invalid_utf8_text_frames": false}));
    let raw = out.stdout;
    // The command's echo spells the bytes as octal escapes; its output carries them raw.
    let at = raw
        .windows(7)
        .position(|w| w == b"raw \xff\xfe ")
        .expect("the raw bytes reached the client unchanged");
    let after = String::from_utf8_lossy(&raw[at..]);
    assert!(
        after.contains("still-here"),
        "the session went on: {after:?}"
    );
}

/// `lifeline rescue` over two resource ids at once: ARM throttles the first connect call (429
/// with Retry-After) and the rescue still completes; the scale-set instance is deallocated and
/// fails on its own without stopping the other; one JSON document holds both results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_rescue_honours_throttling_and_one_failure_does_not_stop_the_other() {
    let guest = shared_guest().await;
    let fake = fake_azure(&guest);
    fake.control(serde_json::json!({"clear_faults": true}));
    let broke = fake.exec(&guest, &["--root"], "systemctl stop ssh");
    assert!(broke.status.success(), "{:?}", text(&broke));
    let connects_before = fake.state()["counters"]["connect_calls"].as_u64().unwrap();
    fake.control(serde_json::json!({
        "fail_next": {"route": "connect", "status": 429, "retry_after": 2, "count": 1},
        "vm_power": {"vm": format!("{SUB}/rg1/ss1/0"), "state": "deallocated"},
    }));
    let base = format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute");
    let vm = format!("{base}/virtualMachines/vm1");
    let instance = format!("{base}/virtualMachineScaleSets/ss1/virtualMachines/0");
    let out = fake.lifeline(
        &guest,
        &[
            "-o",
            "json",
            "rescue",
            "--ids",
            &vm,
            "--ids",
            &instance,
            "--user",
            &guest.user,
            "--password-env",
            "GUEST_PW",
            "--yes",
            "--parallel",
            "2",
        ],
    );
    let (stdout, stderr) = text(&out);
    fake.control(serde_json::json!({
        "clear_faults": true,
        "vm_power": {"vm": format!("{SUB}/rg1/ss1/0"), "state": "running"},
    }));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(report["summary"]["targets"], 2);
    let (rescued, deallocated) = (&report["targets"][0], &report["targets"][1]);
    assert_eq!(rescued["ok"], true, "{rescued:#}\n{stderr}");
    assert_eq!(rescued["operations"][0]["rescue"]["verified"], true);
    assert_eq!(deallocated["ok"], false);
    assert_eq!(deallocated["exit_code"], 74, "{deallocated:#}");
    assert!(
        deallocated["error"]
            .as_str()
            .unwrap()
            .contains("deallocated"),
        "{deallocated:#}"
    );
    let connects = fake.state()["counters"]["connect_calls"].as_u64().unwrap() - connects_before;
    assert!(
        connects >= 2,
        "the throttled connect call was not retried: {connects} calls"
    );
    tokio::task::block_in_place(|| guest.ssh_works()).expect("SSH after the bulk rescue");
}

/// `lifeline diagnose --ids A --ids B` reads Azure's side of each target beside its console:
/// the NSG denies 22 on both. vm1 (this guest) gets a diagnosis that joins the guest's facts
/// and Azure's (SSH701, joint); vm3, whose console (the fake's stand-in getty) no login gets
/// through, still gets Azure's side (SSH701 from the cloud alone) beside its login error, in
/// the same JSON document. A fake of its own, so that vm3 has a network of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_diagnosis_reports_azure_side_per_target_even_without_a_login() {
    let guest = shared_guest().await;
    let fake = own_fake_azure(
        "bulk",
        &[
            format!("{SUB}/rg1/vm1=unix:{}", guest.serial.display()),
            format!("{SUB}/rg1/vm3=echo"),
        ],
        &[("--ssh", format!("{SUB}/rg1/vm1={}", guest.ssh_port))],
    );
    for vm in ["vm1", "vm3"] {
        fake.control(
            serde_json::json!({"nsg_rule": {"vm": format!("{SUB}/rg1/{vm}"), "name": "DenySSH", "properties": {
            "priority": 200, "access": "Deny", "direction": "Inbound", "protocol": "Tcp",
            "sourceAddressPrefix": "*", "destinationPortRange": "22"}}}),
        );
    }
    let id = |vm: &str| {
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/{vm}"
        )
    };
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(fake.args())
        .args(["-o", "json", "--login-timeout", "20", "diagnose"])
        .args(["--ids", &id("vm1"), "--ids", &id("vm3")])
        .args(["--user", &guest.user, "--password-env", "GUEST_PW"])
        .args(["--client-ip", "127.0.0.1"])
        .envs(fake.env())
        .env("GUEST_PW", &guest.password)
        .stdin(Stdio::null())
        .output()
        .expect("run lifeline");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    let (logged_in, shut_out) = (&report["targets"][0], &report["targets"][1]);

    let diagnosis = &logged_in["operations"][0]["diagnosis"];
    assert_eq!(
        ids(&diagnosis["findings"]),
        ["SSH701"],
        "{logged_in:#}\n{stderr}"
    );
    assert_eq!(diagnosis["findings"][0]["source"], "joint", "{diagnosis:#}");
    assert!(logged_in["error"].is_null(), "{logged_in:#}");

    assert!(shut_out["error"].is_string(), "{shut_out:#}");
    let diagnosis = &shut_out["operations"][0]["diagnosis"];
    assert_eq!(ids(&diagnosis["findings"]), ["SSH701"], "{shut_out:#}");
    assert_eq!(diagnosis["findings"][0]["source"], "cloud", "{diagnosis:#}");
    assert_eq!(diagnosis["healthy"], false);
}

// ------------------------------------------------------------------------------------------
// Azure's side of the checklist on the real guest: the fake's NSG really decides whether SSH
// reaches the guest, and lifeline finds, fixes and undoes it through ARM.

const VM1: &str = "00000000-0000-0000-0000-00000000a2e5/rg1/vm1";

impl FakeAzure {
    /// vm1's record in the fake's state.
    /// Waits (at most 60 s) for the fake to see vm1's agent Not Ready, once it was stopped.
    async fn agent_gone_not_ready(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self.vm1_state()["agent_ready"] != false {
            assert!(
                std::time::Instant::now() < deadline,
                "the agent never went Not Ready"
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn vm1_state(&self) -> serde_json::Value {
        self.machine(VM1)
    }

    /// The record of the machine `key` (`SUB/RG/VM`) in the fake's state.
    fn machine(&self, key: &str) -> serde_json::Value {
        self.state()["machines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["vm"] == key.to_ascii_lowercase())
            .unwrap_or_else(|| panic!("{key} in the fake's state"))
            .clone()
    }

    /// vm1's SSH front (`127.0.0.1:PORT`), where its public address is served.
    fn ssh_front(&self) -> String {
        self.vm1_state()["public_ip"]["ssh_front"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The names of vm1's own NSG rules.
    fn nsg_rules(&self) -> Vec<String> {
        serde_json::from_value(self.vm1_state()["nsg_rules"].clone()).unwrap()
    }

    /// vm1's rules back to what `az vm create` leaves: only default-allow-ssh.
    fn reset_nsg(&self) {
        for name in self.nsg_rules() {
            if name != "default-allow-ssh" {
                self.control(serde_json::json!({"remove_nsg_rule": {"vm": VM1, "name": name}}));
            }
        }
    }

    /// `lifeline SUBCOMMAND -g rg1 -n vm1 …` as the guest user, JSON out.
    fn on_vm1(&self, guest: &Guest, subcommand: &[&str]) -> (Output, serde_json::Value) {
        let mut args = subcommand.to_vec();
        args.extend(vm1_login(guest));
        args.extend(["-o", "json"]);
        if matches!(subcommand[0], "diagnose" | "rescue") {
            args.extend(["--client-ip", "127.0.0.1"]);
        }
        let out = self.lifeline(guest, &args);
        let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out, json)
    }
}

/// The SSH banner at `endpoint`, or why there is none.
fn banner(endpoint: &str) -> Result<String, String> {
    use std::io::Read;
    let addr = endpoint.parse().map_err(|e| format!("{endpoint}: {e}"))?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => Err("closed without a banner".into()),
        Ok(n) => Ok(String::from_utf8_lossy(&buf[..n]).into_owned()),
        Err(e) => Err(format!("read: {e}")),
    }
}

fn ids(findings: &serde_json::Value) -> Vec<String> {
    findings
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_nsg_deny_on_22_is_found_fixed_and_undone() {
    let guest = shared_guest().await;
    let fake = clean_fake_azure(&guest);
    let front = fake.ssh_front();
    assert!(banner(&front).unwrap().starts_with("SSH-2.0-"));
    fake.control(
        serde_json::json!({"nsg_rule": {"vm": VM1, "name": "DenySSH", "properties": {
        "priority": 200, "access": "Deny", "direction": "Inbound", "protocol": "Tcp",
        "sourceAddressPrefix": "*", "destinationPortRange": "22"}}}),
    );
    banner(&front).expect_err("the NSG's deny really stops SSH");

    let (out, report) = fake.on_vm1(&guest, &["diagnose"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert_eq!(ids(&report["findings"]), ["SSH701"], "{report:#}");
    let finding = &report["findings"][0];
    assert_eq!(finding["source"], "joint");
    assert!(
        finding["evidence"]
            .to_string()
            .contains("DenySSH (priority 200"),
        "{finding}"
    );
    assert_eq!(report["cloud"]["client"]["address"], "127.0.0.1");

    let (out, report) = fake.on_vm1(&guest, &["rescue", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(report["verified"], true, "{report:#}");
    let fix = &report["cloud_fixes"][0];
    assert_eq!(
        (&fix["id"], &fix["applied"]),
        (&"SSH701".into(), &true.into()),
        "{fix}"
    );
    assert_eq!(fix["rule"]["priority"], 199, "just above the deny");
    assert_eq!(fix["rule"]["source"], "127.0.0.1/32");
    assert_logged_in_at(&report, &front);
    assert!(banner(&front).unwrap().starts_with("SSH-2.0-"));
    guest.ssh_works().unwrap();

    let rule = fix["rule"]["name"].as_str().unwrap().to_owned();
    let (out, _) = fake.on_vm1(&guest, &["undo", "--backup", &rule, "--dry-run"]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(
        fake.nsg_rules().contains(&rule),
        "a dry run removes nothing"
    );
    let (out, undone) = fake.on_vm1(&guest, &["undo", "--backup", &rule, "--yes"]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(undone["removed"], rule);
    assert_eq!(fake.nsg_rules(), ["default-allow-ssh", "DenySSH"]);
    banner(&front).expect_err("the undo took exactly the allow rule back");
    fake.reset_nsg();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sshd_moved_to_2200_while_the_nsg_allows_22_is_one_joint_finding_fixed() {
    let guest = shared_guest().await;
    let fake = clean_fake_azure(&guest);
    fake.as_root(&guest, "sed -i 's/^#\\?Port .*/Port 2200/' /etc/ssh/sshd_config && grep -q '^Port 2200' /etc/ssh/sshd_config && systemctl restart ssh");
    let front = fake.ssh_front();
    banner(&front).expect_err("sshd no longer listens where the NSG lets clients in");

    let (out, report) = fake.on_vm1(&guest, &["rescue", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let before = ids(&report["before"]);
    assert!(before.contains(&"SSH702".to_string()), "{before:?}");
    assert!(
        !before.contains(&"SSH102".to_string()),
        "SSH702 stands for SSH102: {before:?}"
    );
    assert!(!before.contains(&"SSH701".to_string()), "{before:?}");
    let joint = report["before"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "SSH702")
        .unwrap();
    assert_eq!(joint["source"], "joint");
    assert_eq!(report["verified"], true, "{report:#}");
    assert!(
        report["cloud_fixes"].is_null(),
        "the NSG is left alone: {report:#}"
    );
    assert!(banner(&front).unwrap().starts_with("SSH-2.0-"));
    guest.ssh_works().unwrap();
}

/// The user's authorized_keys is deleted and the operator names no key: the keys the VM was
/// created with (its model on Azure) are put back, the report says so, and the key logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_authorized_keys_comes_back_from_the_vm_model() {
    let guest = shared_guest().await;
    let fake = clean_fake_azure(&guest);
    fake.as_root(
        &guest,
        &format!("rm /home/{}/.ssh/authorized_keys", guest.user),
    );
    guest
        .ssh(SshAuth::Key, "true")
        .expect_err("the key no longer logs in");

    let key = guest.key.to_str().expect("a UTF-8 path");
    let (out, report) = fake.on_vm1(&guest, &["rescue", "--yes", "--verify-key", key]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(
        report["keys_restored_from"],
        "the Azure VM model (osProfile.linuxConfiguration.ssh.publicKeys)",
        "{report:#}"
    );
    let login = report["login"].as_array().and_then(|l| l.last()).unwrap();
    assert!(
        login["proven"]
            .as_array()
            .is_some_and(|p| p.contains(&"key_login".into())),
        "{login:#}"
    );
    guest
        .ssh(SshAuth::Key, "true")
        .expect("the model's key logs in again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeploy_moves_the_address_and_ssh_is_verified_there() {
    let guest = shared_guest().await;
    let fake = clean_fake_azure(&guest);
    fake.control(serde_json::json!({"health": {"vm": VM1, "state": "Degraded"}}));
    let old_front = fake.ssh_front();

    // Without --allow-redeploy the finding stays for a person.
    let (out, report) = fake.on_vm1(&guest, &["rescue", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(
        ids(&report["manual"]).contains(&"SSH705".to_string()),
        "{report:#}"
    );
    assert_eq!(fake.ssh_front(), old_front);

    let (out, report) = fake.on_vm1(&guest, &["rescue", "--yes", "--allow-redeploy"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let fix = &report["cloud_fixes"][0];
    assert_eq!(
        (&fix["id"], &fix["applied"]),
        (&"SSH705".into(), &true.into()),
        "{report:#}"
    );
    assert!(
        fix["warnings"].to_string().contains("temporary disk"),
        "{fix}"
    );
    let (before, after) = (
        &fix["address_change"]["before"],
        &fix["address_change"]["after"],
    );
    assert!(
        before.is_string() && after.is_string() && before != after,
        "{fix}"
    );
    let new_front = fake.ssh_front();
    assert_ne!(new_front, old_front);
    assert_logged_in_at(&report, &new_front);
    assert!(banner(&old_front).is_err(), "the old address is gone");
    assert!(banner(&new_front).unwrap().starts_with("SSH-2.0-"));

    // The text report says where the VM went.
    let (out, _) = fake.on_vm1(&guest, &["diagnose"]);
    assert!(out.status.success(), "{:?}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_login_azure_side_is_still_diagnosed() {
    let guest = shared_guest().await;
    let fake = clean_fake_azure(&guest);
    // A real serial log holds bytes that are not UTF-8; the log is read all the same. (Written
    // past lifeline's framing, so exec rightly reports damaged output: only the log matters.)
    fake.exec(&guest, &[], r"printf '\377\376 not utf-8\n' >/dev/tty");
    // No way in at all: a wrong password; the VM agent is stopped too (SSH706).
    let stop = fake.exec(&guest, &["--root"], "systemctl stop qemu-guest-agent");
    assert!(stop.status.success(), "{:?}", text(&stop));
    fake.agent_gone_not_ready().await;
    fake.control(serde_json::json!({"health": {"vm": VM1, "state": "Unavailable"}}));
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(fake.args())
        .args(["diagnose", "-g", "rg1", "-n", "vm1", "--user", &guest.user])
        .args([
            "--password-env",
            "WRONG_PW",
            "--client-ip",
            "127.0.0.1",
            "-o",
            "json",
        ])
        .env("WRONG_PW", "not-the-password")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    fake.control(serde_json::json!({"health": {"vm": VM1, "state": "Available"}}));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", text(&out)));
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(
        report["guest_error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("login"),
        "{report:#}"
    );
    let mut found = ids(&report["findings"]);
    found.sort();
    assert_eq!(found, ["SSH705", "SSH706"], "{report:#}");
    for finding in report["findings"].as_array().unwrap() {
        assert_eq!(finding["source"], "cloud", "{finding:#}");
    }
    // The boot log is the guest's real serial output, read from Azure's side.
    let log = &report["cloud"]["boot_log"];
    assert!(log["bytes"].as_u64().unwrap() > 1000, "{log}");
    assert_eq!(
        log["failures"],
        serde_json::json!([]),
        "a clean boot: {log}"
    );
}

/// The rescue's deciding login check was made from here, at `front`'s port, and logged in.
fn assert_logged_in_at(report: &serde_json::Value, front: &str) {
    let login = report["login"]
        .as_array()
        .and_then(|checks| checks.last())
        .unwrap_or_else(|| panic!("no login check: {report:#}"));
    assert_eq!(login["from"], "here", "{login:#}");
    let port = front.rsplit(':').next().unwrap();
    assert!(
        login["address"]
            .as_str()
            .unwrap_or_default()
            .ends_with(port),
        "verified at {front}: {login:#}"
    );
    assert!(
        login["proven"]
            .as_array()
            .is_some_and(|p| p.contains(&"password_login".into())),
        "{login:#}"
    );
}

// ------------------------------------------------------------------------------------------
// The second channel: Azure's VM agent (qemu-guest-agent in the guest, behind the fake's Run
// Command and VMAccessForLinux), when the console cannot log in.

/// vm1's ARM client and target, for Run Command straight from the library.
fn vm1_arm(fake: &FakeAzure) -> (ArmClient, VmTarget) {
    let mut cloud = Cloud::resolve("AzureCloud", Some(&fake.url)).unwrap();
    cloud.scope = "https://management.azure.com/.default".into();
    let arm = ArmClient::new(
        cloud.clone(),
        credential::credential(AuthMethod::ClientSecret, &cloud, Some(SUB)),
    );
    let target = VmTarget {
        subscription: SUB.into(),
        resource_group: "rg1".into(),
        machine: Machine::Vm { name: "vm1".into() },
    };
    (arm, target)
}

/// Runs `script` in vm1 through Run Command; its stdout.
async fn through_agent(fake: &FakeAzure, script: &str) -> String {
    let (arm, vm) = vm1_arm(fake);
    let out = agent::run_shell_script(&arm, &vm, script)
        .await
        .unwrap_or_else(|e| panic!("Run Command {script:?}: {e}"));
    assert_eq!(out.exit_status, Some(0), "{script:?}: {out:?}");
    out.stdout
}

/// `lifeline rescue` on vm1 as an operator who has only the guest user's key (no password,
/// so no console login), verified with that key at the SSH front; the ladder's agent rung is
/// allowed.
fn rescue_vm1(fake: &FakeAzure, guest: &Guest, via: &str) -> (Output, serde_json::Value) {
    let key = guest.key.display().to_string();
    let out = fake.lifeline(
        guest,
        &[
            "rescue",
            "-g",
            "rg1",
            "-n",
            "vm1",
            "--user",
            &guest.user,
            "--yes",
            "--via",
            via,
            "--allow-agent-login",
            "--verify-key",
            &key,
            "--client-ip",
            "127.0.0.1",
            "-o",
            "json",
        ],
    );
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, json)
}

fn access_rung(report: &serde_json::Value) -> &serde_json::Value {
    &report["access"]["rung"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_rescues_when_the_console_cannot_log_in_and_says_when_it_is_gone() {
    let guest = shared_guest().await;
    let fake = clean_fake_azure(&guest);
    // No console login works: the operator has only a key, the user and root are locked, and
    // lifeline knows no root password. sshd is stopped. Only the agent can help.
    through_agent(
        fake,
        "passwd -l azureuser && passwd -l root && systemctl stop ssh",
    )
    .await;
    let front = fake.ssh_front();
    assert!(banner(&front).is_err(), "sshd is stopped");

    // The ladder: login refused, root not allowed, then the agent rung's one-time login.
    let (out, report) = rescue_vm1(fake, &guest, "console");
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(access_rung(&report), "agent", "{report:#}");
    assert!(banner(&front).unwrap().starts_with("SSH-2.0-"));
    assert_eq!(
        through_agent(fake, "grep -c '^lifeline-' /etc/passwd /etc/shadow || true").await,
        "/etc/passwd:0\n/etc/shadow:0\n",
        "the one-time login is gone"
    );

    // --via agent: no console at all; the probe and the plan travel by Run Command.
    through_agent(fake, "systemctl stop ssh").await;
    let (out, report) = rescue_vm1(fake, &guest, "agent");
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(access_rung(&report), "agent", "{report:#}");
    assert!(
        report["target"].as_str().unwrap().contains("VM agent"),
        "{report:#}"
    );
    assert!(banner(&front).unwrap().starts_with("SSH-2.0-"));

    // VMAccessForLinux, as `az vm user update` sends it: a new password unlocks the user.
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(fake.args())
        .args([
            "-g",
            "rg1",
            "-n",
            "vm1",
            "user",
            "reset-password",
            &guest.user,
        ])
        .args(["--via", "agent", "--new-password-env", "NEW_PW", "--yes"])
        .env("NEW_PW", "agent-Pass-2")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let status = through_agent(fake, "passwd -S azureuser").await;
    assert!(status.starts_with("azureuser P "), "unlocked: {status}");

    // The agent stopped in the guest: Azure reports it Not Ready, the rung says so and the
    // ladder moves on (to the break-in, which needs --allow-reboot).
    through_agent(
        fake,
        "systemd-run --quiet --on-active=2 systemctl stop qemu-guest-agent",
    )
    .await;
    fake.agent_gone_not_ready().await;
    let (out, _) = rescue_vm1(fake, &guest, "console");
    let (_, stderr) = text(&out);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("agent: the VM agent is Not Ready"),
        "the rung says why: {stderr}"
    );
    assert!(
        stderr.contains("break-in:"),
        "the ladder moved on: {stderr}"
    );
}

/// The user logs in at the console but may not sudo, and root is locked: before, the agent
/// rung gave up at the user's shell ("no login prompt"); now it `su`s to its one-time login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a rescue through the agent rung (minutes under TCG): runs with scripts/test --all"]
async fn the_agent_rung_gets_root_from_a_user_shell_that_will_not_sudo() {
    let guest = shared_guest().await;
    let fake = clean_fake_azure(&guest);
    through_agent(
        fake,
        &format!(
            "rm -f /etc/sudoers.d/90-{0} && gpasswd -d {0} sudo && passwd -l root && systemctl stop ssh",
            guest.user
        ),
    )
    .await;
    let front = fake.ssh_front();
    assert!(banner(&front).is_err(), "sshd is stopped");
    let mut args = vec!["rescue"];
    args.extend(vm1_login(&guest));
    args.extend([
        "--yes",
        "--allow-agent-login",
        "--client-ip",
        "127.0.0.1",
        "-o",
        "json",
    ]);
    let out = fake.lifeline(&guest, &args);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(access_rung(&report), "agent", "{report:#}");
    // The login itself worked and left a user's shell: only sudo failed.
    let login = &report["access"]["tried"][0];
    assert!(
        login["why"].as_str().unwrap().contains("sudo refused"),
        "{report:#}"
    );
    assert_eq!(
        (&login["rung"], &login["outcome"]),
        (&"login".into(), &"failed".into()),
        "{report:#}"
    );
    assert!(banner(&front).unwrap().starts_with("SSH-2.0-"));
    assert_eq!(
        through_agent(fake, "grep -c '^lifeline-' /etc/passwd /etc/shadow || true").await,
        "/etc/passwd:0\n/etc/shadow:0\n",
        "the one-time login is gone"
    );
}

/// `lifeline -g rg1 -n vm1 ARGS --via agent --yes`: VMAccessForLinux through the VM agent,
/// no console; insists that it succeeds.
fn vm_access(fake: &FakeAzure, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(fake.args())
        .args(["-g", "rg1", "-n", "vm1"])
        .args(args)
        .args(["--via", "agent", "--yes"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {:?}", text(&out));
}

/// Logs in over SSH as `user` with `key`; the name `id -un` gives, or why the login failed.
fn key_login(guest: &Guest, user: &str, key: &std::path::Path) -> Result<String, String> {
    ssh_as(guest, user, Login::Key(key), "id -un")
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vmaccess_through_the_agent_adds_rekeys_and_removes_a_user_and_resets_sshd() {
    let guest = shared_guest().await;
    let fake = fake_azure(&guest);
    fake.control(serde_json::json!({"clear_faults": true}));
    let (first, second) = (new_key("vmaccess-first"), new_key("vmaccess-second"));
    let public = |key: &std::path::Path| key.with_extension("pub").display().to_string();

    // `az vm user update -u rescuer --ssh-key-value`: a new sudo account that logs in by key.
    vm_access(
        fake,
        &[
            "user",
            "add",
            "rescuer",
            "--sudo",
            "--ssh-key-file",
            &public(&first),
        ],
    );
    assert_eq!(
        key_login(&guest, "rescuer", &first).as_deref(),
        Ok("rescuer")
    );

    // reset-key adds the second key (VMAccessForLinux keeps the ones there).
    vm_access(
        fake,
        &[
            "user",
            "reset-key",
            "rescuer",
            "--ssh-key-file",
            &public(&second),
        ],
    );
    assert_eq!(
        key_login(&guest, "rescuer", &second).as_deref(),
        Ok("rescuer")
    );

    // sshd moved off the port SSH is forwarded to: reset-ssh's template puts it back on 22.
    through_agent(
        fake,
        "sed -i 's/^Port 22$/Port 2200/' /etc/ssh/sshd_config && systemctl restart ssh",
    )
    .await;
    assert!(key_login(&guest, "rescuer", &second).is_err(), "sshd moved");
    vm_access(fake, &["reset-ssh"]);
    assert_eq!(
        key_login(&guest, "rescuer", &second).as_deref(),
        Ok("rescuer")
    );

    // remove: the account and its home are gone, and its key no longer logs in.
    vm_access(fake, &["user", "remove", "rescuer"]);
    assert_eq!(
        through_agent(
            fake,
            "id rescuer >/dev/null 2>&1 || test -d /home/rescuer || echo gone"
        )
        .await,
        "gone\n"
    );
    assert!(key_login(&guest, "rescuer", &second).is_err(), "removed");
}

/// The last 2,000 characters of a console log, for a failure message.
fn tail(log: &str) -> &str {
    let start = log.char_indices().rev().nth(2000).map_or(0, |(i, _)| i);
    &log[start..]
}

/// How many times the guest's kernel has started, by its console log (qemu's chardev log).
fn kernel_starts(guest: &Guest) -> usize {
    guest.serial_log().matches("Linux version ").count()
}

const VM2: &str = "00000000-0000-0000-0000-00000000a2e5/rg1/vm2";

/// A fake Azure of a test's own whose vm2 is this guest with all Azure sees of it: its console,
/// its qemu monitor (so restarts are real), its SSH behind the NSG front, its boot log and its
/// VM agent.
fn vm2_fake(guest: &Guest, name: &str) -> FakeAzure {
    own_fake_azure(
        name,
        &[format!("{VM2}=unix:{}", guest.serial.display())],
        &[
            beside_serial(guest, "--monitor", VM2, "monitor.sock"),
            ("--ssh", format!("{VM2}={}", guest.ssh_port)),
            beside_serial(guest, "--boot-log", VM2, "serial.log"),
            beside_serial(guest, "--agent", VM2, "agent.sock"),
        ],
    )
}

/// Azure reports the VM degraded: `rescue --allow-reboot` says so (SSH705), restarts it through
/// ARM, and verifies SSH at its address once it is back. The restart is real: the fake resets
/// the guest through its qemu monitor, as an Azure host would, before the operation says
/// Succeeded, and a new kernel starts on the console. (A fake of its own, vm2 on this guest's
/// console and monitor, so that the shared fake's vm1 keeps its admin reset a banner.) The
/// next test's reset returns the guest to its snapshot, booted or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_degraded_vm_is_restarted_through_arm_and_ssh_verified_after() {
    let guest = shared_guest().await;
    let before = kernel_starts(&guest);
    let fake = vm2_fake(&guest, "restart");
    fake.control(serde_json::json!({"health": {"vm": VM2, "state": "Degraded"}}));
    let front = fake.machine(VM2)["public_ip"]["ssh_front"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(fake.args())
        .args([
            "-o",
            "json",
            "rescue",
            "-g",
            "rg1",
            "-n",
            "vm2",
            "--user",
            &guest.user,
        ])
        .args(["--password-env", "GUEST_PW", "--client-ip", "127.0.0.1"])
        .args(["--yes", "--allow-reboot"])
        .envs(fake.env())
        .env("GUEST_PW", &guest.password)
        .stdin(Stdio::null())
        .output()
        .expect("run lifeline");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", text(&out)));
    assert!(
        ids(&report["before"]).contains(&"SSH705".to_string()),
        "{report:#}"
    );
    let fix = &report["cloud_fixes"][0];
    assert_eq!(
        (&fix["id"], &fix["power"], &fix["applied"]),
        (&"SSH705".into(), &"restart".into(), &true.into()),
        "{report:#}"
    );
    assert!(!fix["warnings"].as_array().unwrap().is_empty(), "{fix}");
    let operation = &fix["operation"];
    assert_eq!(operation["status"], "Succeeded", "{fix}");
    assert!(
        operation["request"]
            .as_str()
            .unwrap()
            .ends_with("/virtualMachines/vm2/restart"),
        "{fix}"
    );
    assert_eq!(fake.state()["counters"]["restarts"], 1);
    // Firmware, GRUB, then the kernel's first line on the console: the restart was real.
    assert!(
        kernel_starts(&guest) > before,
        "no kernel started on the console after the restart"
    );
    assert!(
        !ids(&report["after"]).contains(&"SSH705".to_string()),
        "Available after the restart: {report:#}"
    );
    assert_eq!(report["verified"], true, "{report:#}");
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_logged_in_at(&report, &front);
}

/// An /etc/fstab entry whose device never appears stops the boot in emergency mode, where the
/// operator's login gets nowhere (the maintenance prompt wants root's password). `diagnose`
/// still names the cause from Azure's side alone: the boot diagnostics log (this guest's real
/// serial output, read through retrieveBootDiagnosticsData) shows the failed mount (SSH707).
/// The VM agent went down with the boot, so the agent gets no one in either.
///
/// The test leaves the guest as it found it, pass or fail: its snapshot back (the clean
/// /etc/fstab) and a restart through ARM into a normal boot, so the boot log's last boot, the
/// one the shared fake's later readers judge, is a good one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_fstab_failure_is_named_from_the_boot_log_when_no_login_gets_in() {
    let guest = shared_guest().await;
    let fake = vm2_fake(&guest, "fstab");
    let mut good_boot = GoodBootAfter {
        guest: &guest,
        fake: &fake,
        done: false,
    };
    // `lifeline SUBCOMMAND` on vm2 as the guest user, then `args`.
    let vm2 = |subcommand: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lifeline"))
            .args(fake.args())
            .args([subcommand, "-g", "rg1", "-n", "vm2", "--user", &guest.user])
            .args(["--password-env", "GUEST_PW"])
            .args(args)
            .envs(fake.env())
            .env("GUEST_PW", &guest.password)
            .stdin(Stdio::null())
            .output()
            .expect("run lifeline")
    };
    let broke = vm2(
        "exec",
        &[
            "--root",
            "--",
            // Synced: the restart is a reset, and the page cache would not survive it.
            "echo '/dev/disk/by-label/lifeline-gone /mnt/gone ext4 defaults,x-systemd.device-timeout=5s 0 2' >>/etc/fstab && sync",
        ],
    );
    assert!(broke.status.success(), "{:?}", text(&broke));
    let before = kernel_starts(&guest);
    let restarted = vm2("power", &["restart", "--yes"]);
    assert!(restarted.status.success(), "{:?}", text(&restarted));
    // The boot this restart started, up to where it stops.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    loop {
        let log = guest.serial_log();
        let this_boot = log.rsplit("Linux version ").next().unwrap_or_default();
        if kernel_starts(&guest) > before && this_boot.contains("emergency mode") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the boot never reached emergency mode; the console's tail:\n{}",
            tail(&log)
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    let out = vm2("diagnose", &["--client-ip", "127.0.0.1", "-o", "json"]);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", text(&out)));
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(
        report["guest_error"].is_string(),
        "no login got in: {report:#}"
    );
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "SSH707")
        .unwrap_or_else(|| panic!("no SSH707: {report:#}"));
    assert_eq!(finding["source"], "cloud", "{finding:#}");
    assert!(
        finding["title"].as_str().unwrap().contains("/etc/fstab"),
        "{finding:#}"
    );
    assert!(
        finding["evidence"].to_string().contains("mnt-gone")
            || finding["evidence"].to_string().contains("/mnt/gone"),
        "the log's lines name the mount: {finding:#}"
    );
    // Emergency mode stops the VM agent with everything else (Azure says Not Ready): neither
    // `--via agent` nor the ladder's agent rung gets in, and each says so beside Azure's side.
    for way in [&["--via", "agent"][..], &["--allow-agent-login"][..]] {
        let out = vm2(
            "diagnose",
            &[way, &["--client-ip", "127.0.0.1", "-o", "json"][..]].concat(),
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{way:?}: {e}: {:?}", text(&out)));
        assert_eq!(out.status.code(), Some(1), "{way:?}: {:?}", text(&out));
        let found = ids(&report["findings"]);
        assert!(
            found.contains(&"SSH707".into()) && found.contains(&"SSH706".into()),
            "{way:?}: {report:#}"
        );
        let why = report["guest_error"].as_str().unwrap_or_default();
        assert!(why.contains("agent"), "{way:?}: {why:?}");
    }
    good_boot.done = true;
    if let Err(e) = good_boot.boot() {
        panic!("the guest did not come back from emergency mode: {e}");
    }
}

/// The guest's snapshot back and a normal boot after a test that left vm2 in a failed one
/// (done by [`GoodBootAfter::boot`], or on drop when the test panicked first).
struct GoodBootAfter<'a> {
    guest: &'a Guest,
    fake: &'a FakeAzure,
    done: bool,
}

impl GoodBootAfter<'_> {
    /// loadvm (the clean disk), then vm2's restart through ARM, up to the new boot's login
    /// prompt on the console.
    fn boot(&self) -> Result<(), String> {
        self.guest.reset();
        let before = kernel_starts(self.guest);
        let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
            .args(self.fake.args())
            .args(["power", "restart", "-g", "rg1", "-n", "vm2", "--yes"])
            .envs(self.fake.env())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run lifeline: {e}"))?;
        if !out.status.success() {
            return Err(format!("power restart: {:?}", text(&out)));
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        loop {
            let log = self.guest.serial_log();
            let this_boot = log.rsplit("Linux version ").next().unwrap_or_default();
            if kernel_starts(self.guest) > before && this_boot.contains(" login: ") {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "no login prompt after the restart; the console's tail:\n{}",
                    tail(&log)
                ));
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }
}

impl Drop for GoodBootAfter<'_> {
    fn drop(&mut self) {
        if !self.done
            && let Err(e) = self.boot()
        {
            eprintln!("the guest did not come back from emergency mode: {e}");
        }
    }
}
