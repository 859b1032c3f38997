//! `lifeline diagnose` on many targets at once, against real consoles without a guest:
//! scripts/lib/fake-console on a pty each (a login prompt, a password read without echo, then
//! a real bash as root of a user namespace), so every target goes through the whole path
//! (login, root check, our shell, probe, rules, leave). One console that dies at once shows
//! that a failure stays with its target. A bulk rescue of consoles no credential opens
//! (fixtures/console/fake-getty.sh in emergency mode, root locked) says per target which rung
//! it needs and the flag, and uses each target's own reset_cmd.

use serde_json::Value;
use std::process::Command;

const LIFELINE: &str = env!("CARGO_BIN_EXE_lifeline");
const FAKE_CONSOLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/lib/fake-console");

/// Runs a bulk diagnosis of `playbook`; `tag` keeps the tests' playbooks apart.
fn diagnose(tag: &str, playbook: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let dir = std::env::temp_dir().join(format!(
        "lifeline-bulk-diagnose-{}-{tag}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("fleet.toml");
    std::fs::write(&path, playbook).expect("write the playbook");
    let out = Command::new(LIFELINE)
        .args([
            "--login-timeout",
            "60",
            "-o",
            "json",
            "diagnose",
            "--targets",
        ])
        .arg(&path)
        .args(args)
        .env("FAKE_CONSOLE_PW", "any")
        .output()
        .expect("run lifeline");
    std::fs::remove_dir_all(&dir).ok();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_console_is_diagnosed_at_once_and_a_dead_one_fails_alone() {
    assert!(
        Command::new("unshare")
            .args(["-r", "true"])
            .status()
            .is_ok_and(|s| s.success()),
        "the fake consoles need unshare and unprivileged user namespaces (unshare -r)"
    );
    let mut playbook =
        String::from("[defaults]\nuser = \"root\"\npassword_env = \"FAKE_CONSOLE_PW\"\n");
    for n in 1..=3 {
        playbook += &format!(
            "\n[[target]]\nname = \"fake-{n}\"\nserial = \"cmd:{FAKE_CONSOLE} fake-{n}\"\n"
        );
    }
    playbook += "\n[[target]]\nname = \"dead\"\nserial = \"cmd:exit 3\"\n";
    let (code, stdout, stderr) = diagnose("fleet", &playbook, &["--parallel", "4"]);
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: not JSON:\n{stdout}\nstderr:\n{stderr}"));
    let targets = doc["targets"].as_array().expect("targets");
    let names: Vec<_> = targets.iter().map(|t| t["name"].as_str()).collect();
    assert_eq!(
        names,
        [Some("fake-1"), Some("fake-2"), Some("fake-3"), Some("dead")]
    );
    assert_eq!(doc["parallel"], 4);
    for target in &targets[..3] {
        let op = &target["operations"][0];
        assert_eq!(op["operation"], "diagnose", "{target:#}\nstderr:\n{stderr}");
        let diagnosis = &op["diagnosis"];
        assert!(
            diagnosis["verdict"]
                .as_str()
                .is_some_and(|v| v.starts_with("SSH ")),
            "{target:#}\nstderr:\n{stderr}"
        );
        // Ok means healthy, as `lifeline diagnose` alone exits 0 only then.
        assert_eq!(target["ok"], diagnosis["healthy"], "{target:#}");
        assert!(target["error"].is_null(), "{target:#}");
    }
    let dead = &targets[3];
    assert_eq!(dead["ok"], false);
    assert!(dead["operations"].as_array().is_some_and(|o| o.is_empty()));
    assert!(
        dead["error"].as_str().is_some_and(|e| e.contains("closed")),
        "{dead:#}"
    );
    assert_eq!(
        code,
        Some(1),
        "one target failed: exit 1\nstderr:\n{stderr}"
    );
}

/// `--login-key` with several targets: this machine's side (SSH801, a key file ssh refuses
/// for its mode) joins each target's diagnosis, as it does for one.
#[test]
fn the_login_key_is_judged_in_each_targets_diagnosis() {
    let dir = std::env::temp_dir().join(format!("lifeline-bulk-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let key = dir.join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("run ssh-keygen");
    assert!(made.success());
    // Readable by others: ssh would refuse it.
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod the key");
    let mut playbook =
        String::from("[defaults]\nuser = \"root\"\npassword_env = \"FAKE_CONSOLE_PW\"\n");
    for n in 1..=2 {
        playbook +=
            &format!("\n[[target]]\nname = \"key-{n}\"\nserial = \"cmd:{FAKE_CONSOLE} key-{n}\"\n");
    }
    let (_, stdout, stderr) = diagnose("key", &playbook, &["--login-key", key.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: not JSON:\n{stdout}\nstderr:\n{stderr}"));
    let targets = doc["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 2, "{doc:#}");
    for target in targets {
        let findings = target["operations"][0]["diagnosis"]["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("no diagnosis: {target:#}\nstderr:\n{stderr}"));
        let ssh801 = findings
            .iter()
            .find(|f| f["id"] == "SSH801")
            .unwrap_or_else(|| panic!("no SSH801: {target:#}"));
        assert_eq!(ssh801["source"], "client", "{ssh801:#}");
        assert!(ssh801.to_string().contains("644"), "{ssh801:#}");
    }
}

/// A bulk rescue of `playbook` with `args`, its JSON targets and stderr.
fn rescue_all(tag: &str, playbook: &str, args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let dir =
        std::env::temp_dir().join(format!("lifeline-bulk-rescue-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("fleet.toml");
    std::fs::write(&path, playbook).expect("write the playbook");
    let out = Command::new(LIFELINE)
        .args(["-o", "json", "rescue", "--yes", "--targets"])
        .arg(&path)
        .args(args)
        .env("FAKE_PW", "alice-pw")
        .output()
        .expect("run lifeline");
    std::fs::remove_dir_all(&dir).ok();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: not JSON:\n{stdout}\nstderr:\n{stderr}"));
    let targets = doc["targets"].as_array().expect("targets").clone();
    (out.status.code(), targets, stderr)
}

#[test]
fn a_bulk_rescue_says_per_target_which_rung_it_needs_and_the_flag() {
    let console = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/console/fake-getty.sh"
    );
    let locked =
        format!("cmd:env -i PATH=/usr/bin:/bin TERM=vt220 FAKE_MODE=locked bash {console}");
    let playbook = format!(
        "[defaults]\nuser = \"alice\"\npassword_env = \"FAKE_PW\"\n\
         \n[[target]]\nname = \"no-reset\"\nserial = \"{locked} 1\"\n\
         \n[[target]]\nname = \"reset-fails\"\nserial = \"{locked} 2\"\nreset_cmd = \"exit 7\"\n"
    );
    let (code, targets, stderr) = rescue_all("rungs", &playbook, &[]);
    assert_eq!(code, Some(1), "every target failed\nstderr:\n{stderr}");
    for target in &targets {
        assert_eq!(target["exit_code"], 77, "no way in: {target:#}");
        let error = target["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("break-in") && error.contains("pass --allow-reboot"),
            "{target:#}"
        );
    }
    let (_, targets, stderr) = rescue_all("reboot", &playbook, &["--allow-reboot"]);
    let error = |n: usize| targets[n]["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error(0).contains("the target's reset_cmd"),
        "{:#}\nstderr:\n{stderr}",
        targets[0]
    );
    assert!(error(1).contains("--reset-cmd failed"), "{:#}", targets[1]);
}

#[test]
fn more_consoles_at_once_than_allowed_is_a_usage_error() {
    let (code, _, stderr) = diagnose("limit", "", &["--parallel", "257"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("257"), "{stderr}");
}
