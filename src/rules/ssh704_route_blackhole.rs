//! SSH704: the NIC's effective routes send the way back to the client nowhere, or through an
//! appliance.

use super::cloud::{AZURE_RULE, CloudCheck, Evidence};
use super::*;
use crate::azure::facts::NextHop;

pub static RULE: Rule = Rule {
    id: "SSH704",
    name: "route-blackhole",
    title: "a route sends SSH's return traffic to None or through an appliance",
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Finds the active effective route with the longest prefix that covers the \
               client's address (0.0.0.0/0 when it is unknown) and looks at its next hop: \
               `None` drops the traffic; `VirtualAppliance` sends it through a network \
               virtual appliance (a firewall VM), which must be up and must forward it. \
               Where the region has a Network Watcher, its next hop from the NIC to the \
               client joins the evidence, and reports a `None` or appliance hop on its own \
               when the effective routes showed none.",
        why: "The VM answers the client's SYN, but the answer goes where the route says: a \
              `None` hop drops it and a dead or asymmetric appliance loses it, so clients \
              time out although the NSG allows SSH. Error for `None`; a warning for an \
              appliance, whose health lifeline cannot see (Network Watcher's next hop can).",
        fix: "None by lifeline: routes belong to the network's owner. Remove or correct the \
              user route in the subnet's route table (`az network route-table route delete`), \
              or start the appliance.",
        safety: "Nothing is changed: lifeline only reports what Azure says.",
    },
    ..AZURE_RULE
};

pub static CLOUD: CloudCheck = CloudCheck::of(&RULE, check);

fn check(e: &Evidence) -> Option<Finding> {
    let (client, who) = e.client();
    let hop = e.cloud.watcher.as_ref().and_then(|w| w.next_hop.as_ref());
    let route = e
        .cloud
        .routes
        .iter()
        .filter(|r| r.state.eq_ignore_ascii_case("active"))
        .flat_map(|r| r.prefixes.iter().filter_map(move |p| Some((covers(p, client)?, r))))
        .max_by_key(|(bits, _)| *bits)
        .map(|(_, r)| r);
    let Some(route) = route else {
        return hop.and_then(|hop| from_watcher(hop, &who));
    };
    let mut finding = match route.next_hop_type.as_str() {
        "None" => RULE.finding(
            format!("the route for {} drops SSH's answers (next hop None)", route.prefixes.join(",")),
            vec![format!("client {who}"), format!("{} route {} → None", route.source, route.prefixes.join(","))],
            "remove or correct the user route in the subnet's route table (az network route-table route delete …)",
        ),
        "VirtualAppliance" => RULE
            .finding(
                format!(
                    "SSH's answers go through the appliance at {}, which must be up and forward them",
                    route.next_hop_ips.join(",")
                ),
                vec![
                    format!("client {who}"),
                    format!("{} route {} → VirtualAppliance {}", route.source, route.prefixes.join(","), route.next_hop_ips.join(",")),
                ],
                "check that the appliance runs and forwards (Network Watcher next hop), or remove the user route",
            )
            .downgraded(Severity::Warning),
        // The effective routes look sane; Network Watcher may still see it otherwise.
        _ => return hop.and_then(|hop| from_watcher(hop, &who)),
    };
    finding
        .evidence
        .extend(hop.map(|hop| format!("Network Watcher's next hop {}", hop.describe())));
    Some(finding.with_source(Source::Cloud))
}

/// Network Watcher's next hop to the client, when it drops the answers or sends them through
/// an appliance while the effective routes lifeline read showed neither.
fn from_watcher(hop: &NextHop, who: &str) -> Option<Finding> {
    let evidence = vec![
        format!("client {who}"),
        format!("Network Watcher's next hop {}", hop.describe()),
    ];
    let finding = match hop.kind.as_str() {
        "None" => RULE.finding(
            "Network Watcher's next hop drops SSH's answers (next hop None)".to_string(),
            evidence,
            "find the route in the route table Network Watcher names and remove or correct it",
        ),
        "VirtualAppliance" => RULE
            .finding(
                format!(
                    "SSH's answers go through the appliance at {}, which must be up and forward them",
                    hop.address.as_deref().unwrap_or("an unnamed address")
                ),
                evidence,
                "check that the appliance runs and forwards, or remove the user route",
            )
            .downgraded(Severity::Warning),
        _ => return None,
    };
    Some(finding.with_source(Source::Cloud))
}

/// The prefix length when `prefix` covers `ip`.
fn covers(prefix: &str, ip: std::net::Ipv4Addr) -> Option<u32> {
    let (net, bits) = prefix.split_once('/')?;
    let net: std::net::Ipv4Addr = net.parse().ok()?;
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    (u32::from(net) & mask == u32::from(ip) & mask).then_some(bits)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{cloud_finding, healthy_cloud};
    use super::*;
    use crate::azure::facts::{RouteEntry, WatcherView};

    fn route(next_hop: &str, ips: &[&str]) -> RouteEntry {
        RouteEntry {
            source: "User".into(),
            state: "Active".into(),
            prefixes: vec!["0.0.0.0/0".into()],
            next_hop_type: next_hop.into(),
            next_hop_ips: ips.iter().map(|ip| ip.to_string()).collect(),
        }
    }

    #[test]
    fn a_route_to_nowhere_is_an_error_and_an_appliance_a_warning() {
        let mut cloud = healthy_cloud();
        assert!(cloud_finding(&CLOUD, &cloud).is_none());
        cloud.routes = vec![route("Internet", &[])];
        assert!(cloud_finding(&CLOUD, &cloud).is_none());
        cloud.routes = vec![route("None", &[])];
        let found = cloud_finding(&CLOUD, &cloud).expect("next hop None");
        assert!(found.title.contains("next hop None"), "{}", found.title);
        assert_eq!(found.severity, Severity::Error);
        cloud.routes = vec![route("VirtualAppliance", &["10.0.9.4"])];
        let found = cloud_finding(&CLOUD, &cloud).expect("an appliance");
        assert!(found.title.contains("10.0.9.4"), "{}", found.title);
        assert_eq!(found.severity, Severity::Warning);
    }

    fn watcher_hop(kind: &str, address: Option<&str>) -> Option<WatcherView> {
        Some(WatcherView {
            watcher: "/nw".into(),
            flow: None,
            next_hop: Some(NextHop {
                destination: "198.51.100.7".into(),
                kind: kind.into(),
                address: address.map(str::to_string),
                route_table: Some("/rt1".into()),
            }),
        })
    }

    /// Network Watcher's next hop joins a route's evidence, and speaks alone when the
    /// effective routes lifeline read looked sane.
    #[test]
    fn network_watchers_next_hop_is_evidence_and_a_finding_of_its_own() {
        let mut cloud = healthy_cloud();
        cloud.watcher = watcher_hop("Internet", None);
        assert!(cloud_finding(&CLOUD, &cloud).is_none());
        cloud.routes = vec![route("Internet", &[])];
        cloud.watcher = watcher_hop("None", None);
        let found = cloud_finding(&CLOUD, &cloud).expect("the watcher's None hop");
        assert_eq!(
            found.evidence,
            [
                "client 198.51.100.7 (--client-ip)",
                "Network Watcher's next hop to 198.51.100.7: None (/rt1)"
            ]
        );
        assert_eq!(found.severity, Severity::Error);
        cloud.watcher = watcher_hop("VirtualAppliance", Some("10.0.9.4"));
        let found = cloud_finding(&CLOUD, &cloud).expect("the watcher's appliance");
        assert_eq!(found.severity, Severity::Warning);
        assert!(found.title.contains("10.0.9.4"), "{}", found.title);
        cloud.routes = vec![route("None", &[])];
        let found = cloud_finding(&CLOUD, &cloud).expect("the route's None hop");
        assert!(found.title.contains("next hop None"), "{}", found.title);
        assert_eq!(
            found.evidence.last().map(String::as_str),
            Some("Network Watcher's next hop to 198.51.100.7: VirtualAppliance 10.0.9.4 (/rt1)")
        );
    }
}
