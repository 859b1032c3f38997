//! The diagnosis as a person reads it and as a script reads it: the same data twice.
//!
//! Text puts the verdict first ("SSH is down because …"), then what was looked at, then each
//! finding with its evidence and fix. JSON follows the schema in docs/diagnose-json.md
//! ([`SCHEMA`]); fields are only ever added to it.

use crate::access::AccessRecord;
use crate::azure::facts::CloudFacts;
use crate::diagnose::{Diagnosis, ProbeCost};
use crate::probe::Facts;
use crate::probe::facts::{Banner, BannerOutcome, PasswordState};
use crate::probe::sshd_config::ConfigSource;
use crate::rules::{Finding, Kind, Severity};
use serde::Serialize;
use std::fmt::Write;

/// The JSON document's schema name and version.
pub const SCHEMA: &str = "lifeline.diagnosis/1";

/// One sentence: why SSH is down, may fail, or should work.
pub fn verdict(diagnosis: &Diagnosis) -> String {
    let findings = &diagnosis.findings;
    let worst = findings.iter().map(|f| f.severity).min();
    let lead = |f: &Finding| findings.iter().position(|g| g == f).unwrap_or(0);
    match worst {
        Some(Severity::Error) | Some(Severity::Warning) => {
            let severity = worst.unwrap_or(Severity::Error);
            let of = |kind: Kind| {
                findings
                    .iter()
                    .find(|f| f.severity == severity && f.kind == kind)
            };
            let cause = of(Kind::Cause)
                .or_else(|| of(Kind::Symptom))
                .or_else(|| of(Kind::Fallback))
                .unwrap_or(&findings[0]);
            let opening = if severity == Severity::Error {
                "SSH is down because"
            } else {
                "SSH may fail because"
            };
            let mut sentence = format!("{opening} {}", cause.title);
            if let Some(symptom) = findings
                .iter()
                .find(|f| f.kind == Kind::Symptom && lead(f) != lead(cause))
            {
                let _ = write!(sentence, "; as a result, {}", symptom.title);
            }
            let problems = findings
                .iter()
                .filter(|f| f.severity != Severity::Info)
                .count();
            let shown = 1 + usize::from(sentence.contains("; as a result"));
            if problems > shown {
                let _ = write!(
                    sentence,
                    " (and {} more problem(s) below)",
                    problems - shown
                );
            }
            sentence.push('.');
            sentence
        }
        _ if diagnosis.guest_error.is_some() => {
            "SSH's state is unknown: the guest could not be examined, and Azure's side shows no problem."
                .to_string()
        }
        _ => {
            let ports = diagnosis.facts.sshd_listen_ports();
            let mut sentence = if ports.is_empty() {
                "SSH should work: no problem found".to_string()
            } else {
                format!(
                    "SSH should work: sshd is up on port {} and no problem was found",
                    list(&ports)
                )
            };
            if !findings.is_empty() {
                let _ = write!(sentence, " ({} note(s) below)", findings.len());
            }
            sentence.push('.');
            sentence
        }
    }
}

/// The human report: verdict, context, findings.
pub fn render_text(diagnosis: &Diagnosis, target: &str, access: Option<&AccessRecord>) -> String {
    let mut out = format!("{}\n\n", verdict(diagnosis));
    if let Some(why) = &diagnosis.guest_error {
        let _ = writeln!(out, "target  {target}\nguest   not examined: {why}");
    } else {
        render_guest_context(&mut out, diagnosis, target, access);
    }
    if let Some(cloud) = &diagnosis.cloud {
        out.push_str(&describe_cloud(cloud));
    }
    render_findings(&mut out, diagnosis);
    out
}

/// The guest's lines of the text report: target, access, sshd, checks, probe.
fn render_guest_context(
    out: &mut String,
    diagnosis: &Diagnosis,
    target: &str,
    access: Option<&AccessRecord>,
) {
    let facts = &diagnosis.facts;
    let summary = Summary::of(facts);
    let os = facts
        .os
        .pretty_name
        .clone()
        .unwrap_or_else(|| "unknown distribution".into());
    let _ = writeln!(out, "target  {target}, user {}, {os}", facts.user);
    if let Some(access) = access {
        let _ = writeln!(out, "access  {access}");
    }
    let state = if summary.sshd.running {
        "running"
    } else if summary.sshd.socket_activated {
        "socket-activated"
    } else {
        "not running"
    };
    let _ = writeln!(
        out,
        "sshd    {state}; configured port {}; listening on {}; {}",
        list(&summary.sshd.configured_ports),
        if summary.sshd.listen_ports.is_empty() {
            "nothing".to_string()
        } else {
            list(&summary.sshd.listen_ports)
        },
        summary.sshd.version.as_deref().unwrap_or("version unknown"),
    );
    for banner in &facts.banners {
        let _ = writeln!(out, "check   {}", describe_banner(banner));
    }
    let _ = writeln!(
        out,
        "probe   {} on the guest, {} bytes up, {} bytes of facts back",
        facts
            .probe
            .guest_seconds()
            .map_or("? s".into(), |s| format!("{s} s")),
        diagnosis.cost.script_bytes,
        diagnosis.cost.output_bytes
    );
}

/// Each finding with its evidence and fix, then where to go next.
fn render_findings(out: &mut String, diagnosis: &Diagnosis) {
    for finding in &diagnosis.findings {
        let _ = write!(
            out,
            "\n[{}] {} ({}, {}, from {}): {}\n",
            finding.id,
            finding.severity.as_str(),
            finding.category.as_str(),
            finding.name,
            finding.source.as_str(),
            finding.title
        );
        for (i, line) in finding.evidence.iter().enumerate() {
            let label = if i == 0 { "evidence" } else { "" };
            let _ = writeln!(out, "    {label:<9} {line}");
        }
        let _ = writeln!(out, "    {:<9} {}", "fix", finding.fix);
    }
    if diagnosis
        .findings
        .iter()
        .any(|f| f.severity != Severity::Info)
    {
        out.push_str(
            "\n`lifeline rules ID` explains a rule; `lifeline rescue` applies the fixes.\n",
        );
    }
}

/// Azure's side in a few lines: the machine, its way in, what could not be read.
pub fn describe_cloud(cloud: &CloudFacts) -> String {
    let mut out = String::new();
    let agent = cloud
        .agent
        .as_ref()
        .map_or("no status".into(), |a| a.status.clone());
    let health = cloud
        .health
        .as_ref()
        .map_or("unread".into(), |h| h.state.clone());
    let _ = writeln!(
        out,
        "azure   power {}, provisioning {}, agent {agent}, health {health}",
        cloud.power_state.as_deref().unwrap_or("?"),
        cloud.provisioning_state.as_deref().unwrap_or("?"),
    );
    if let Some(nic) = cloud.primary_nic() {
        let public = cloud
            .public_ip()
            .and_then(|ip| ip.address.clone())
            .unwrap_or_else(|| "none".into());
        let _ = writeln!(
            out,
            "network NIC {}: private {}, public {public}; {} security group(s), {} route(s)",
            nic.name,
            nic.private_ips.join(", "),
            cloud.security_groups.len(),
            cloud.routes.len()
        );
    }
    if let Some(client) = &cloud.client {
        let _ = writeln!(out, "client  {} ({})", client.address, client.source);
    }
    if let Some(log) = &cloud.boot_log {
        let _ = writeln!(
            out,
            "bootlog {} bytes, {} sign(s) of a failed boot",
            log.bytes,
            log.failures.len()
        );
    }
    for unread in &cloud.unread {
        let _ = writeln!(out, "unread  {unread}");
    }
    out
}

/// The JSON document (see docs/diagnose-json.md).
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub schema: &'static str,
    pub target: &'a str,
    /// How root was reached (the access ladder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<&'a AccessRecord>,
    pub user: &'a str,
    pub healthy: bool,
    pub verdict: String,
    pub facts: Summary,
    pub findings: &'a [Finding],
    pub probe: ProbeSummary,
    /// What Azure said (absent for a local serial target).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<&'a CloudFacts>,
    /// Why the guest could not be examined (only Azure's side was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest_error: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct ProbeSummary {
    #[serde(flatten)]
    pub cost: ProbeCost,
    /// Seconds the probe took by the guest's clock.
    pub guest_seconds: Option<i64>,
}

impl<'a> Report<'a> {
    pub fn new(
        diagnosis: &'a Diagnosis,
        target: &'a str,
        access: Option<&'a AccessRecord>,
    ) -> Report<'a> {
        Report {
            schema: SCHEMA,
            target,
            access,
            user: &diagnosis.facts.user,
            healthy: diagnosis.healthy(),
            verdict: verdict(diagnosis),
            facts: Summary::of(&diagnosis.facts),
            findings: &diagnosis.findings,
            probe: ProbeSummary {
                cost: diagnosis.cost,
                guest_seconds: diagnosis.facts.probe.guest_seconds(),
            },
            cloud: diagnosis.cloud.as_ref(),
            guest_error: diagnosis.guest_error.as_deref(),
        }
    }
}

/// The JSON report, pretty-printed.
pub fn render_json(diagnosis: &Diagnosis, target: &str, access: Option<&AccessRecord>) -> String {
    serde_json::to_string_pretty(&Report::new(diagnosis, target, access))
        .expect("a report serialises")
}

/// The facts a reader of the report needs, not the probe's every detail.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub os: OsSummary,
    pub sshd: SshdSummary,
    pub account: AccountSummary,
    pub firewall: Vec<&'static str>,
    pub selinux: &'static str,
}

#[derive(Debug, Serialize)]
pub struct OsSummary {
    pub id: Option<String>,
    pub version_id: Option<String>,
    pub family: crate::probe::facts::Family,
    pub pretty_name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SshdSummary {
    /// An sshd listener process is running.
    pub running: bool,
    /// A socket unit listens and starts sshd on demand.
    pub socket_activated: bool,
    /// Ports sshd (or its socket) listens on now.
    pub listen_ports: Vec<u16>,
    /// Ports the effective configuration names.
    pub configured_ports: Vec<u16>,
    pub version: Option<String>,
    pub service: Option<String>,
    pub service_active: Option<String>,
    pub service_enabled: Option<String>,
    /// `sshd_t` (sshd printed it) or `files` (read from the files: sshd -T could not run).
    pub config_source: ConfigSource,
    /// `sshd -t` exit status.
    pub config_test_status: Option<i32>,
    /// The local connection checks.
    pub banners: Vec<Banner>,
}

#[derive(Debug, Serialize)]
pub struct AccountSummary {
    pub exists: bool,
    pub shell: Option<String>,
    pub password: Option<PasswordState>,
    /// Keys in the authorized keys files sshd consults.
    pub authorized_keys: u32,
}

impl Summary {
    pub fn of(facts: &Facts) -> Summary {
        let unit = facts.service_unit();
        let fw = &facts.firewall;
        let mut firewall = Vec::new();
        if fw.iptables.as_ref().is_some_and(|t| !t.is_empty()) {
            firewall.push("iptables");
        }
        if fw.nft.as_ref().is_some_and(|n| !n.chains.is_empty()) {
            firewall.push("nftables");
        }
        if fw.ufw.as_ref().is_some_and(|u| u.active) {
            firewall.push("ufw");
        }
        if fw.firewalld.is_some() {
            firewall.push("firewalld");
        }
        Summary {
            os: OsSummary {
                id: facts.os.id.clone(),
                version_id: facts.os.version_id.clone(),
                family: facts.os.family,
                pretty_name: facts.os.pretty_name.clone(),
            },
            sshd: SshdSummary {
                running: facts.sshd_process_running(),
                socket_activated: facts.socket_activated(),
                listen_ports: facts.sshd_listen_ports(),
                configured_ports: facts.config.ports(),
                version: facts.sshd.version.clone(),
                service: unit.map(|u| u.id.clone()),
                service_active: unit.map(|u| u.active_state.clone()),
                service_enabled: unit.map(|u| u.unit_file_state.clone()),
                config_source: facts.config.source,
                config_test_status: facts.sshd.test.exit_status,
                banners: facts.banners.clone(),
            },
            account: AccountSummary {
                exists: facts.account.exists,
                shell: facts.account.shell.clone(),
                password: facts.account.password,
                authorized_keys: facts.authorized_key_count(),
            },
            firewall,
            selinux: match facts.selinux.enforcing {
                Some(true) => "enforcing",
                Some(false) => "permissive",
                None => "disabled",
            },
        }
    }
}

fn describe_banner(banner: &Banner) -> String {
    let outcome = match &banner.outcome {
        BannerOutcome::Answered(text) => format!("answers: {text}"),
        BannerOutcome::Refused => "connection refused".into(),
        BannerOutcome::TimedOut => "no answer within 3 s".into(),
        BannerOutcome::NoBanner(text) => text.clone(),
        BannerOutcome::Unavailable => "not checked (neither bash nor nc on the guest)".into(),
    };
    format!("{}:{} {outcome}", banner.host, banner.port)
}

fn list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::find;

    fn diagnosis(findings: Vec<Finding>) -> Diagnosis {
        Diagnosis {
            facts: Facts::default(),
            findings,
            cost: ProbeCost::default(),
            cloud: None,
            guest_error: None,
        }
    }

    fn finding(id: &str, title: &str) -> Finding {
        find(id)
            .unwrap()
            .finding(title, vec!["seen".into()], "do this")
    }

    #[test]
    fn the_verdict_names_the_cause_then_the_symptom() {
        let d = diagnosis(vec![
            finding("SSH101", "sshd rejects its configuration: line 5"),
            finding("SSH001", "sshd is not running"),
        ]);
        assert_eq!(
            verdict(&d),
            "SSH is down because sshd rejects its configuration: line 5; as a result, sshd is not running."
        );
        let warn = diagnosis(vec![finding(
            "SSH102",
            "sshd is configured for port 2222, not 22",
        )]);
        assert_eq!(
            verdict(&warn),
            "SSH may fail because sshd is configured for port 2222, not 22."
        );
        assert!(verdict(&diagnosis(vec![])).starts_with("SSH should work"));
    }

    #[test]
    fn text_and_json_carry_the_same_findings() {
        let d = diagnosis(vec![finding("SSH304", "/etc/nologin exists")]);
        let text = render_text(&d, "unix:/tmp/s", None);
        assert!(text.starts_with("SSH is down because /etc/nologin exists."));
        assert!(
            text.contains(
                "[SSH304] error (accounts, nologin-file, from guest): /etc/nologin exists"
            )
        );
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&d, "unix:/tmp/s", None)).unwrap();
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(json["healthy"], false);
        assert_eq!(json["target"], "unix:/tmp/s");
        assert_eq!(json["findings"][0]["id"], "SSH304");
        assert_eq!(json["findings"][0]["severity"], "error");
        assert_eq!(json["findings"][0]["evidence"][0], "seen");
        assert_eq!(json["findings"][0]["fix"], "do this");
        assert_eq!(json["facts"]["sshd"]["running"], false);
        assert!(json["facts"]["sshd"]["listen_ports"].is_array());
    }
}
