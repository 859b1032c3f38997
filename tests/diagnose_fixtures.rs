//! Probe outputs through the parser, the rules and the report, without a guest.
//!
//! fixtures/facts/ holds what the probe prints: real captures of the Debian test guest, and,
//! for the distributions the test guest is not (Ubuntu with socket activation, the RHEL
//! family, SUSE, Azure Linux), outputs written from the reference's distro matrix (service
//! names, privilege-separation directories, host key groups, firewall front-ends, SELinux).
//! Each fixture names the rules it must fire, and no other rule may fire.

use lifeline::diagnose::{Diagnosis, ProbeCost};
use lifeline::{probe, report};
use std::path::PathBuf;

/// Fixture → the rule ids it must produce, exactly.
const CASES: &[(&str, &[&str])] = &[
    ("debian-12-healthy.txt", &[]),
    ("debian-13-healthy.txt", &[]),
    ("debian-13-socket-activated-healthy.txt", &[]),
    ("debian-12-sysvinit-healthy.txt", &[]),
    ("debian-12-sshd-stopped.txt", &["SSH001"]),
    ("debian-12-config-error.txt", &["SSH101", "SSH001"]),
    ("debian-12-authorized-keys-0666.txt", &["SSH206"]),
    ("ubuntu-24.04-socket-activated-healthy.txt", &[]),
    (
        "ubuntu-24.04-socket-port-mismatch.txt",
        &["SSH008", "SSH102"],
    ),
    ("ubuntu-22.04-ufw-default-deny.txt", &["SSH403"]),
    ("rhel-9-healthy.txt", &[]),
    (
        "rhel-9-custom-port-selinux-firewalld.txt",
        &["SSH602", "SSH404", "SSH102", "SSH001"],
    ),
    ("rhel-9-ssh-labels-faillock.txt", &["SSH601", "SSH307"]),
    ("rhel-9-usepam-lost-locked.txt", &["SSH302"]),
    ("sles-15-healthy.txt", &[]),
    ("sles-15-privsep-and-expired.txt", &["SSH203", "SSH305"]),
    (
        "azurelinux-3-ip4save-custom-port.txt",
        &["SSH401", "SSH102"],
    ),
    ("azurelinux-3-root-no-key.txt", &["SSH106"]),
    ("minimal-busybox-no-systemd.txt", &["SSH210", "SSH001"]),
];

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/facts")
}

fn diagnose_fixture(name: &str) -> Diagnosis {
    let path = fixture_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let facts = probe::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    Diagnosis::from_facts(facts, ProbeCost::default())
}

#[test]
fn each_fixture_yields_exactly_its_findings() {
    let mut wrong = Vec::new();
    for (name, want) in CASES {
        let diagnosis = diagnose_fixture(name);
        let mut got = diagnosis.ids();
        got.sort_unstable();
        let mut want = want.to_vec();
        want.sort_unstable();
        if got != want {
            wrong.push(format!(
                "{name}: want {want:?}, got {got:?}\n{}",
                report::render_text(&diagnosis, name, None)
            ));
        }
        assert_eq!(
            diagnosis.healthy(),
            want.is_empty(),
            "{name}: healthy() disagrees with the findings"
        );
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn every_fixture_is_in_the_table() {
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            CASES.iter().any(|(n, _)| *n == name),
            "fixtures/facts/{name} is not in CASES"
        );
    }
}

#[test]
fn the_verdict_comes_first_and_the_json_follows_the_schema() {
    for (name, want) in CASES {
        let diagnosis = diagnose_fixture(name);
        let text = report::render_text(&diagnosis, "fixture", None);
        let first = text.lines().next().unwrap_or_default();
        if want.is_empty() {
            assert!(first.starts_with("SSH should work"), "{name}: {first}");
        } else {
            assert!(
                first.starts_with("SSH is down because")
                    || first.starts_with("SSH may fail because"),
                "{name}: {first}"
            );
        }
        let json: serde_json::Value =
            serde_json::from_str(&report::render_json(&diagnosis, "fixture", None)).unwrap();
        assert_eq!(json["schema"], report::SCHEMA, "{name}");
        assert_eq!(json["target"], "fixture");
        assert!(json["facts"]["sshd"]["running"].is_boolean(), "{name}");
        assert!(json["facts"]["sshd"]["listen_ports"].is_array(), "{name}");
        for (i, id) in diagnosis.ids().iter().enumerate() {
            let finding = &json["findings"][i];
            assert_eq!(finding["id"], *id, "{name}");
            for field in ["severity", "title", "fix"] {
                assert!(finding[field].is_string(), "{name} {id} {field}");
            }
            assert!(
                finding["evidence"]
                    .as_array()
                    .is_some_and(|e| !e.is_empty()),
                "{name} {id}"
            );
        }
    }
}

/// Findings no fixture's rescue may fix on its own: they need a person's decision.
const MANUAL: &[&str] = &["SSH106", "SSH210"];

/// Every fixture's rescue plan: each finding has a step unless it needs a person, the guest
/// script is valid sh, and a configuration edit names the very line the probe saw.
#[test]
fn each_fixture_gets_a_rescue_plan_that_parses() {
    use lifeline::remedy::ops::Repair;
    for (name, _) in CASES {
        let diagnosis = diagnose_fixture(name);
        let repair = Repair::plan(&diagnosis);
        for (finding, step) in &repair.fixes {
            assert!(!step.is_empty(), "{name}: {} has an empty step", finding.id);
        }
        let manual: Vec<&str> = repair.manual.iter().map(|f| f.id).collect();
        for id in &manual {
            assert!(MANUAL.contains(id), "{name}: {id} is left to a person");
        }
        assert_eq!(
            repair.fixes.len() + manual.len(),
            diagnosis.findings.len(),
            "{name}: a finding is neither fixed nor left to a person"
        );
        let script = repair.plan.script();
        eprintln!("{name}: the rescue script is {} bytes", script.len());
        let missing = undefined_functions(&script);
        assert!(
            missing.is_empty(),
            "{name}: the script calls undefined {missing:?}"
        );
        let status = std::process::Command::new("sh")
            .args(["-n", "-c", &script])
            .status()
            .unwrap();
        assert!(status.success(), "{name}: sh -n rejects the rescue script");
    }
    let config_error = Repair::plan(&diagnose_fixture("debian-12-config-error.txt"));
    let script = config_error.plan.script();
    assert!(
        script.contains("ll_edit_lines '/etc/ssh/sshd_config' <<'LL_EDITS'"),
        "{script}"
    );
}

/// The `ll_` functions a script names but does not define (the plan sends only the library
/// definitions its steps reach: this proves the reach complete).
fn undefined_functions(script: &str) -> Vec<String> {
    let word = regex::Regex::new(r"\bll_[a-z0-9_]+\b").unwrap();
    let defined = regex::Regex::new(r"(?m)^(ll_[a-z0-9_]+)\(\) \{$").unwrap();
    let defined: std::collections::BTreeSet<&str> = defined
        .captures_iter(script)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    let mut missing: Vec<String> = word
        .find_iter(script)
        .map(|m| m.as_str())
        .filter(|w| !defined.contains(w) && !w.starts_with("ll_step_"))
        .map(str::to_string)
        .collect();
    missing.sort();
    missing.dedup();
    missing
}
