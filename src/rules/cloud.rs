//! Rules on what Azure says (`SSH7xx`), alone or joined with what the guest says.
//!
//! A cloud rule is a [`Rule`] like every other (one file, docs, in the catalogue) whose guest
//! check finds nothing; its real check reads [`Evidence`]: the cloud facts, and the guest's
//! facts when the console let lifeline in. A joint finding can stand for guest findings it
//! explains better (sshd moved off 22 *and* the NSG allows only 22 is one problem, not two):
//! those are dropped from the report.

use super::*;
use crate::azure::facts::CloudFacts;
use std::net::Ipv4Addr;

/// Where a finding's facts came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The probe, over the serial console.
    #[default]
    Guest,
    /// Azure Resource Manager.
    Cloud,
    /// Both: a cloud fact judged against a guest fact.
    Joint,
    /// This machine: the operator's key file and known_hosts (`SSH8xx`).
    Client,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Guest => "guest",
            Source::Cloud => "cloud",
            Source::Joint => "cloud+guest",
            Source::Client => "client",
        }
    }
}

/// What a cloud rule judges.
pub struct Evidence<'a> {
    pub cloud: &'a CloudFacts,
    /// `None` when the console could not be used.
    pub guest: Option<&'a Facts>,
}

/// An address standing for "any client on the Internet" when the client's own is unknown
/// (TEST-NET-3, which no real client has).
const ANY_INTERNET_CLIENT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 250);

impl Evidence<'_> {
    /// The ports sshd is configured for (`sshd -T`), or 22 without the guest's word.
    pub fn sshd_ports(&self) -> Vec<u16> {
        self.guest.map_or_else(|| vec![22], |f| f.config.ports())
    }

    /// The client address the NSG is asked about, and how it is described in evidence.
    pub fn client(&self) -> (Ipv4Addr, String) {
        match (self.cloud.client_ip(), &self.cloud.client) {
            (Some(ip), Some(c)) => (ip, format!("{ip} ({})", c.source)),
            _ => (
                ANY_INTERNET_CLIENT,
                "an address on the Internet (this client's own is unknown: pass --client-ip)"
                    .to_string(),
            ),
        }
    }

    /// Where a finding's facts came from: the guest's too, when it had them.
    pub fn source(&self) -> Source {
        if self.guest.is_some() {
            Source::Joint
        } else {
            Source::Cloud
        }
    }
}

/// A cloud rule's check, beside its catalogue entry.
pub struct CloudCheck {
    pub rule: &'static Rule,
    pub check: fn(&Evidence) -> Option<Finding>,
    /// Guest rules whose findings this one's finding replaces.
    pub replaces: &'static [&'static str],
}

impl CloudCheck {
    /// The cloud check of `rule`, standing for no guest finding.
    pub const fn of(rule: &'static Rule, check: fn(&Evidence) -> Option<Finding>) -> CloudCheck {
        CloudCheck {
            rule,
            check,
            replaces: &[],
        }
    }
}

/// What the catalogue entries of cloud rules share: the Azure category, a guest-side check that
/// finds nothing, no fix of their own. A rule file names the rest and takes these with
/// `..AZURE_RULE`.
pub(crate) const AZURE_RULE: Rule = outside_the_guest(Category::Azure);

/// The shared part of a rule judged outside the guest (Azure's side, the client's): no guest
/// check, no fix in a guest plan.
pub(crate) const fn outside_the_guest(category: Category) -> Rule {
    Rule {
        id: "",
        name: "",
        title: "",
        category,
        severity: Severity::Warning,
        kind: Kind::Cause,
        docs: Docs {
            what: "",
            why: "",
            fix: "",
            safety: "",
        },
        check: no_guest_check,
        fix: None,
    }
}

/// The guest-side check of a cloud rule: the guest alone cannot tell.
pub(crate) fn no_guest_check(_: &Facts) -> Option<Finding> {
    None
}

/// Runs the cloud rules and merges their findings into the guest's (`guest_findings`, for
/// `guest`), in report order.
pub fn evaluate(
    cloud: &CloudFacts,
    guest: Option<&Facts>,
    mut guest_findings: Vec<Finding>,
) -> Vec<Finding> {
    let evidence = Evidence { cloud, guest };
    let mut found: Vec<Finding> = Vec::new();
    let mut replaced: Vec<&str> = Vec::new();
    for c in super::cloud_checks() {
        if let Some(f) = (c.check)(&evidence) {
            replaced.extend(c.replaces);
            found.push(f);
        }
    }
    guest_findings.retain(|f| !replaced.contains(&f.id));
    guest_findings.extend(found);
    guest_findings.sort_by_key(|f| (f.severity, f.kind));
    guest_findings
}

/// Helpers the cloud rules share.
pub(crate) fn nsg_az_hint(cloud: &CloudFacts) -> String {
    cloud
        .nic_security_group()
        .map(|g| {
            let rg =
                g.id.split('/')
                    .skip_while(|s| !s.eq_ignore_ascii_case("resourceGroups"))
                    .nth(1)
                    .unwrap_or("RG");
            format!("--resource-group {rg} --nsg-name {}", g.name())
        })
        .unwrap_or_else(|| "--resource-group RG --nsg-name NSG".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::facts::{Agent, BootLog, Health, RouteEntry};
    use crate::rules::testing::{cloud_ids as ids, healthy_cloud};

    #[test]
    fn every_cloud_rule_that_fires_is_reported_together() {
        let mut c = healthy_cloud();
        c.health = Some(Health {
            state: "Degraded".into(),
            summary: Some("host".into()),
            reason: None,
        });
        c.agent = Some(Agent {
            status: "Not Ready".into(),
            message: None,
            version: None,
        });
        c.routes = vec![RouteEntry {
            source: "User".into(),
            state: "Active".into(),
            prefixes: vec!["0.0.0.0/0".into()],
            next_hop_type: "None".into(),
            next_hop_ips: vec![],
        }];
        c.boot_log = Some(BootLog {
            bytes: 10,
            failures: vec!["[FAILED] Failed to mount /data.".into()],
            tail: vec![],
        });
        c.nics[0].public_ips[0].address = None;
        let found = evaluate(&c, None, Vec::new());
        let mut got = ids(&found);
        got.sort();
        assert_eq!(got, ["SSH703", "SSH704", "SSH705", "SSH706", "SSH707"]);
        assert!(found.iter().all(|f| f.source == Source::Cloud));
        let boot = found.iter().find(|f| f.id == "SSH707").unwrap();
        assert!(boot.title.contains("fstab"), "{}", boot.title);
        // A client inside a private network may have another way in: no SSH703 then.
        c.client.as_mut().unwrap().address = "10.8.0.2".into();
        assert!(!ids(&evaluate(&c, None, Vec::new())).contains(&"SSH703"));
    }
}
