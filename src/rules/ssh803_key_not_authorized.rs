//! SSH803: the key the operator logs in with is not among the SSH user's authorized keys.

use super::client::{CLIENT_RULE, ClientCheck, ClientEvidence};
use super::*;

pub static RULE: Rule = Rule {
    id: "SSH803",
    name: "key-not-authorized",
    title: "the key you log in with is not among the user's authorized keys",
    severity: Severity::Warning,
    kind: Kind::Cause,
    docs: Docs {
        what: "Compares the SHA256 fingerprint of the key given with `--verify-key` (rescue) \
               or `--login-key` (diagnose), read on this machine from `KEY.pub` or from the key \
               file, with the fingerprints of the keys in the authorized keys files sshd \
               consults for the SSH user, which the probe computed on the guest with \
               `ssh-keygen -l` (the keys themselves never cross the console). Not judged when \
               an AuthorizedKeysCommand supplies keys.",
        why: "sshd offers the key to no account that does not list it: the login fails with \
              `Permission denied (publickey)` though sshd, the account and the key file are \
              fine. The usual story is a new key on this machine, or authorized_keys rewritten \
              by provisioning, an image or someone else's reset.",
        fix: "None by lifeline on its own: which keys may log in is the operator's choice. The \
              finding names the command that installs the key: `lifeline user reset-key USER \
              --ssh-key-file KEY.pub` (or `rescue --ssh-key-file KEY.pub`), which adds it \
              beside the keys already there.",
        safety: "Nothing is changed: lifeline reads the public half of the key on this \
                 machine and only fingerprints on the guest.",
    },
    ..CLIENT_RULE
};

pub static CLIENT: ClientCheck = ClientCheck {
    rule: &RULE,
    check,
};

fn check(e: &ClientEvidence) -> Option<Finding> {
    let key = e.client.login_key.as_ref()?;
    let guest = e.guest?;
    let authorized = guest.authorized_fingerprints.as_ref()?;
    if guest.config.get("authorizedkeyscommand").unwrap_or("none") != "none"
        || authorized.iter().any(|k| k.fingerprint == key.fingerprint)
    {
        return None;
    }
    let user = &guest.user;
    let mut evidence = vec![format!("your key {}: {}", key.file, key.fingerprint)];
    if authorized.is_empty() {
        evidence.push(format!(
            "{user}'s authorized keys files ({}) hold no key",
            guest.key_file_paths.join(", ")
        ));
    }
    evidence.extend(
        authorized
            .iter()
            .map(|k| format!("{}: {} {}", k.file, k.fingerprint, k.kind)),
    );
    let fix = match &key.public_file {
        Some(public) => format!("lifeline user reset-key {user} --ssh-key-file {public}"),
        None => format!(
            "ssh-keygen -y -f {0} > {0}.pub, then lifeline user reset-key {user} --ssh-key-file {0}.pub",
            key.file
        ),
    };
    Some(
        RULE.finding(
            format!("the key you log in with is not among {user}'s authorized keys"),
            evidence,
            format!("{fix} (with this target's options; rescue takes --ssh-key-file too)"),
        )
        .with_source(Source::Client),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::client_facts::{ClientFacts, LoginKey};
    use crate::rules::testing::debian_text;

    /// The healthy Debian 12 capture's one authorized key.
    const AUTHORIZED: &str = "SHA256:Sr9tHug6+FXzBdDjjGqPhso382GPaS/PMPkG/86HjBk";

    fn with_key(fingerprint: &str, public_file: Option<&str>) -> ClientFacts {
        ClientFacts {
            login_key: Some(LoginKey {
                file: "/home/op/.ssh/id_ed25519".into(),
                fingerprint: fingerprint.into(),
                public_file: public_file.map(str::to_string),
            }),
            ..ClientFacts::default()
        }
    }

    fn finding(client: &ClientFacts, guest: Option<&Facts>) -> Option<Finding> {
        check(&ClientEvidence { client, guest })
    }

    #[test]
    fn a_key_the_user_does_not_list_is_found_with_the_fingerprints() {
        let guest = debian_text(&[]);
        // The authorized key, no key given, or no guest facts: nothing to say.
        assert!(finding(&with_key(AUTHORIZED, None), Some(&guest)).is_none());
        assert!(finding(&ClientFacts::default(), Some(&guest)).is_none());
        assert!(finding(&with_key("SHA256:other", None), None).is_none());

        let public = Some("/home/op/.ssh/id_ed25519.pub");
        let other = finding(&with_key("SHA256:other", public), Some(&guest)).expect("found");
        assert_eq!(
            other.title,
            "the key you log in with is not among azureuser's authorized keys"
        );
        assert_eq!(
            other.evidence,
            [
                "your key /home/op/.ssh/id_ed25519: SHA256:other".to_string(),
                format!("/home/azureuser/.ssh/authorized_keys: {AUTHORIZED} ED25519"),
            ]
        );
        assert!(
            other.fix.starts_with(
                "lifeline user reset-key azureuser --ssh-key-file /home/op/.ssh/id_ed25519.pub"
            ),
            "{}",
            other.fix
        );
        assert_eq!((other.severity, other.source), (Severity::Warning, Source::Client));
        // Without KEY.pub the fix writes it first.
        let bare = finding(&with_key("SHA256:other", None), Some(&guest)).unwrap();
        assert!(bare.fix.starts_with("ssh-keygen -y -f /home/op/.ssh/id_ed25519 >"), "{}", bare.fix);
    }

    #[test]
    fn an_empty_key_file_is_named_and_unknown_keys_are_not_judged() {
        let fp_line = format!("/home/azureuser/.ssh/authorized_keys\t{AUTHORIZED}\t(ED25519)\n");
        let empty = debian_text(&[(fp_line.as_str(), "")]);
        let found = finding(&with_key(AUTHORIZED, None), Some(&empty)).expect("no keys at all");
        assert!(found.evidence[1].contains("hold no key"), "{found:?}");
        // No ssh-keygen on the guest, or an older probe: the probe could not tell.
        let unavailable = debian_text(&[(fp_line.as_str(), "unavailable\n")]);
        assert!(unavailable.authorized_fingerprints.is_none());
        assert!(finding(&with_key("SHA256:other", None), Some(&unavailable)).is_none());
        let older = debian_text(&[(format!("@authorized_fp\n{fp_line}").as_str(), "")]);
        assert!(finding(&with_key("SHA256:other", None), Some(&older)).is_none());
        // Keys from an AuthorizedKeysCommand are not in the files.
        let command = crate::rules::testing::debian_config(
            "authorizedkeyscommand none",
            "authorizedkeyscommand /usr/bin/aad-keys %u",
            "AuthorizedKeysCommand /usr/bin/aad-keys %u",
        );
        assert!(finding(&with_key("SHA256:other", None), Some(&command)).is_none());
    }
}
