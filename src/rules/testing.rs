//! What every rule file's tests share: the facts fixtures, and one assertion that a rule fires
//! on its cause, stays quiet on healthy guests, and has a fix that renders into a plan `sh -n`
//! accepts (or, without a fix, leaves the finding to a person).

use super::cloud::{CloudCheck, Evidence};
use super::{Finding, Rule};
use crate::azure::facts::{
    Agent, Association, ClientAddress, CloudFacts, Nic, PublicIp, SecurityGroup, SecurityRule,
};
use crate::diagnose::{Diagnosis, ProbeCost};
use crate::probe::facts::{Facts, FileStat, Unit};
use crate::probe::sshd_config::SshdConfig;
use crate::remedy::ops::Repair;

/// The healthy captures, one per family of guest, and the live test guests' flavours.
const HEALTHY: [&str; 7] = [
    "debian-12-healthy",
    "debian-13-healthy",
    "debian-13-socket-activated-healthy",
    "debian-12-sysvinit-healthy",
    "rhel-9-healthy",
    "sles-15-healthy",
    "ubuntu-24.04-socket-activated-healthy",
];

/// fixtures/facts/NAME.txt, parsed.
pub(super) fn fixture(name: &str) -> Facts {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/facts")
        .join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    crate::probe::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The healthy Debian 12 capture, changed by `change`: a cause built in code.
pub(crate) fn debian_with(change: impl FnOnce(&mut Facts)) -> Facts {
    let mut facts = fixture("debian-12-healthy");
    change(&mut facts);
    facts
}

/// The healthy Debian 12 capture with every `old` replaced by `new` (each must occur): a cause
/// written the way the probe prints it.
pub(crate) fn debian_text(edits: &[(&str, &str)]) -> Facts {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/facts/debian-12-healthy.txt");
    let mut text = std::fs::read_to_string(path).unwrap();
    for (old, new) in edits {
        assert!(text.contains(old), "the healthy capture has no {old:?}");
        text = text.replace(old, new);
    }
    crate::probe::parse(&text).unwrap()
}

/// Where [`debian_text`] adds configuration lines (with [`config_lines`]).
pub(super) const CONFIG: &str = "@config\n";

/// `lines` as the probe lists them, lines 200 on of /etc/ssh/sshd_config, after [`CONFIG`].
pub(super) fn config_lines(lines: &[&str]) -> String {
    let mut text = CONFIG.to_string();
    for (n, line) in lines.iter().enumerate() {
        text.push_str(&format!("/etc/ssh/sshd_config\t{}\t{line}\n", 200 + n));
    }
    text
}

/// The healthy Debian 12 capture where `sshd -T` prints `new` instead of `old`, as `line` of
/// /etc/ssh/sshd_config says.
pub(super) fn debian_config(old: &str, new: &str, line: &str) -> Facts {
    debian_text(&[(old, new), (CONFIG, &config_lines(&[line]))])
}

/// The unit `id` of `facts`.
pub(super) fn unit<'a>(facts: &'a mut Facts, id: &str) -> &'a mut Unit {
    facts.units.iter_mut().find(|u| u.id == id).unwrap()
}

/// What the probe saw of `path` (which must exist in `facts`).
pub(super) fn stat<'a>(facts: &'a mut Facts, path: &str) -> &'a mut FileStat {
    facts.files.get_mut(path).and_then(Option::as_mut).unwrap()
}

/// `rule` fires on `cause` and on no healthy guest; its fix, when it has one, renders a plan
/// that `sh -n` accepts, and without one the finding is left to a person. Returns the finding.
pub(super) fn assert_rule(rule: &'static Rule, cause: &Facts) -> Finding {
    for name in HEALTHY {
        assert_eq!(
            (rule.check)(&fixture(name)),
            None,
            "{} fires on {name}",
            rule.id
        );
    }
    let finding = (rule.check)(cause).unwrap_or_else(|| panic!("{} misses its cause", rule.id));
    assert_eq!(finding.id, rule.id);
    assert!(!finding.fix.is_empty(), "{}: no advice", rule.id);
    let repair = Repair::plan(&Diagnosis {
        facts: cause.clone(),
        findings: vec![finding.clone()],
        cost: ProbeCost::default(),
        cloud: None,
        guest_error: None,
    });
    let fixed = repair.fixes.iter().any(|(f, _)| f.id == rule.id);
    let has_fix = finding.fix_on(cause).is_some();
    assert_eq!(fixed, has_fix && finding.severity != super::Severity::Info);
    assert_eq!(
        repair.manual.is_empty(),
        fixed || finding.severity == super::Severity::Info
    );
    if fixed {
        let script = repair.plan.script();
        let status = std::process::Command::new("sh")
            .args(["-n", "-c", &script])
            .status()
            .unwrap();
        assert!(status.success(), "{}: sh -n rejects\n{script}", rule.id);
    }
    finding
}

/// An inbound rule of the NIC's group on one TCP port from anywhere.
pub(super) fn nsg_rule(name: &str, priority: u32, allow: bool, port: u16) -> SecurityRule {
    SecurityRule {
        name: format!("securityRules/{name}"),
        priority,
        allow,
        protocol: "Tcp".into(),
        sources: vec!["*".into()],
        ports: vec![(port, port)],
    }
}

/// What Azure says of a VM with a public IP and a ready agent, a client at 198.51.100.7, and
/// `rules` over the NIC group's default deny: the SSH7xx rules' fixture.
pub(super) fn cloud_with(mut rules: Vec<SecurityRule>) -> CloudFacts {
    rules.push(SecurityRule {
        name: "defaultSecurityRules/DenyAllInBound".into(),
        priority: 65500,
        allow: false,
        protocol: "All".into(),
        sources: vec!["0.0.0.0/0".into()],
        ports: vec![(0, 65535)],
    });
    CloudFacts {
        nics: vec![Nic {
            name: "vm1VMNic".into(),
            id: "/n/vm1VMNic".into(),
            primary: true,
            private_ips: vec!["10.0.0.4".into()],
            public_ips: vec![PublicIp {
                id: "/p".into(),
                address: Some("20.1.2.3".into()),
                ssh_endpoint: None,
            }],
            security_group: None,
            subnet: None,
        }],
        security_groups: vec![SecurityGroup {
            id: "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/vm1NSG".into(),
            association: Association::Nic,
            inbound: rules,
        }],
        client: Some(ClientAddress {
            address: "198.51.100.7".into(),
            source: "--client-ip".into(),
        }),
        agent: Some(Agent {
            status: "Ready".into(),
            message: None,
            version: None,
        }),
        ..Default::default()
    }
}

/// Guest facts whose sshd listens on `ports`.
pub(super) fn guest_on_ports(ports: &[u16]) -> Facts {
    let lines: Vec<String> = ports.iter().map(|p| format!("port {p}")).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    Facts {
        config: SshdConfig::from_sshd_t(&lines, Vec::new()),
        ..Default::default()
    }
}

/// The ids of `findings`, in order.
pub(super) fn cloud_ids(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.id).collect()
}

/// A healthy VM as Azure sees it: the default rule allows SSH.
pub(crate) fn healthy_cloud() -> CloudFacts {
    cloud_with(vec![nsg_rule("default-allow-ssh", 1000, true, 22)])
}

/// What a cloud rule's own check finds in `cloud` alone (the console gave no facts).
pub(super) fn cloud_finding(rule: &CloudCheck, cloud: &CloudFacts) -> Option<Finding> {
    (rule.check)(&Evidence { cloud, guest: None })
}
