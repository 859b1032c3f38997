//! SSH802: known_hosts on this machine holds another host key for the VM's address than the
//! ones its sshd serves.

use super::client::{CLIENT_RULE, ClientCheck, ClientEvidence};
use super::*;

pub static RULE: Rule = Rule {
    id: "SSH802",
    name: "known-host-changed",
    title: "known_hosts holds another host key for the VM's address",
    severity: Severity::Warning,
    kind: Kind::Cause,
    docs: Docs {
        what: "Looks up the VM's address (`--verify-host`, or on Azure its public address) in \
               this machine's `~/.ssh/known_hosts`, hashed entries included, and compares each \
               entry's key with the SHA256 fingerprints of the host keys sshd is configured \
               for, which the probe read on the guest. Reported when entries exist and none \
               matches.",
        why: "ssh stops with `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!` and will not \
              log in. After a rebuild or a restore the VM has new host keys, and after a \
              redeploy a dynamic address may now belong to another VM whose key an old entry \
              remembers.",
        fix: "None by lifeline: known_hosts is yours, and accepting a new host key is a \
              security decision. When the fingerprints shown are the guest's own (read over \
              the console), `ssh-keygen -R ADDRESS` forgets the old entry; this finding is \
              left to the operator.",
        safety: "Nothing is changed: lifeline only reads known_hosts.",
    },
    ..CLIENT_RULE
};

pub static CLIENT: ClientCheck = ClientCheck {
    rule: &RULE,
    check,
};

fn check(e: &ClientEvidence) -> Option<Finding> {
    let served = &e.guest?.host_key_fingerprints;
    let address = e.client.address.as_deref()?;
    let entries = &e.client.known_hosts;
    if served.is_empty() || entries.is_empty() || entries.iter().any(|k| served.contains(&k.fingerprint)) {
        return None;
    }
    let mut evidence: Vec<String> = entries
        .iter()
        .map(|k| format!("{} remembers {address} as {}", k.file, k.fingerprint))
        .collect();
    evidence.push(format!("sshd serves {}", served.join(", ")));
    let host = address.strip_suffix(":22").unwrap_or(address);
    let host = match host.rsplit_once(':') {
        Some((h, port)) => format!("'[{h}]:{port}'"),
        None => host.to_string(),
    };
    Some(
        RULE.finding(
            format!("ssh will refuse {address}: known_hosts remembers another host key"),
            evidence,
            format!("check the fingerprints above, then ssh-keygen -R {host}"),
        )
        .with_source(Source::Client),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::client_facts::{ClientFacts, KnownHost};

    fn known(address: &str, fingerprints: &[&str]) -> ClientFacts {
        ClientFacts {
            address: Some(address.into()),
            known_hosts: fingerprints
                .iter()
                .map(|f| KnownHost {
                    file: "/home/op/.ssh/known_hosts".into(),
                    fingerprint: f.to_string(),
                })
                .collect(),
            ..ClientFacts::default()
        }
    }

    #[test]
    fn an_entry_matching_no_served_host_key_is_found() {
        let mut guest = crate::rules::testing::debian_text(&[]);
        guest.host_key_fingerprints = vec!["SHA256:new".into(), "SHA256:new-rsa".into()];
        let found = |client: &ClientFacts, guest: Option<&Facts>| {
            check(&ClientEvidence { client, guest })
        };
        // Nothing remembered, the right key remembered, or no guest facts: nothing to say.
        assert!(found(&known("20.1.2.3:22", &[]), Some(&guest)).is_none());
        assert!(found(&known("20.1.2.3:22", &["SHA256:old", "SHA256:new"]), Some(&guest)).is_none());
        assert!(found(&known("20.1.2.3:22", &["SHA256:old"]), None).is_none());
        let stale = found(&known("20.1.2.3:22", &["SHA256:old"]), Some(&guest)).expect("stale");
        assert_eq!(
            stale.evidence,
            [
                "/home/op/.ssh/known_hosts remembers 20.1.2.3:22 as SHA256:old",
                "sshd serves SHA256:new, SHA256:new-rsa"
            ]
        );
        assert_eq!(stale.fix, "check the fingerprints above, then ssh-keygen -R 20.1.2.3");
        assert_eq!(stale.source, Source::Client);
        let forwarded = found(&known("127.0.0.1:2222", &["SHA256:old"]), Some(&guest)).unwrap();
        assert!(forwarded.fix.ends_with("ssh-keygen -R '[127.0.0.1]:2222'"), "{}", forwarded.fix);
    }
}
