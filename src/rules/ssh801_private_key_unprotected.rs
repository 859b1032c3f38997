//! SSH801: the private key file given to lifeline is one OpenSSH refuses to use.

use super::client::{CLIENT_RULE, ClientCheck, ClientEvidence};
use super::*;

pub static RULE: Rule = Rule {
    id: "SSH801",
    name: "private-key-unprotected",
    title: "ssh refuses the private key file: others can read it, or it is not yours",
    severity: Severity::Warning,
    kind: Kind::Cause,
    docs: Docs {
        what: "Reads the mode and owner of the private key file given with `--verify-key` on \
               this machine, as OpenSSH checks them before it uses a key: no permission bit \
               for group or others, and owned by the user (or root).",
        why: "ssh prints `WARNING: UNPROTECTED PRIVATE KEY FILE!` (or `Bad owner or \
              permissions`), ignores the key and goes on to other methods, so the login fails \
              with `Permission denied (publickey)` though the guest accepts the key. A key \
              copied from another machine or unpacked from an archive often ends up 0644.",
        fix: "None by lifeline: the file is yours, on this machine. `chmod 600 KEYFILE` (and \
              `chown $USER KEYFILE` if it belongs to someone else); this finding is left to \
              the operator.",
        safety: "Nothing is changed: lifeline only reads the file's mode and owner, never the \
                 key.",
    },
    ..CLIENT_RULE
};

pub static CLIENT: ClientCheck = ClientCheck {
    rule: &RULE,
    check,
};

fn check(e: &ClientEvidence) -> Option<Finding> {
    let key = e.client.key.as_ref()?;
    if !key.refused_by_ssh() {
        return None;
    }
    let mut evidence = vec![format!("{}: mode {:04o}", key.path, key.mode)];
    if key.owner != key.uid && key.owner != 0 {
        evidence.push(format!(
            "owned by uid {}, not by uid {} who runs ssh",
            key.owner, key.uid
        ));
    }
    Some(
        RULE.finding(
            format!("ssh refuses {}: its permissions are too open", key.path),
            evidence,
            format!("chmod 600 {}", key.path),
        )
        .with_source(Source::Client),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::client_facts::{ClientFacts, KeyFileState};

    fn with_key(mode: u32, owner: u32) -> ClientFacts {
        ClientFacts {
            key: Some(KeyFileState {
                path: "/home/op/.ssh/id_ed25519".into(),
                mode,
                owner,
                uid: 1000,
            }),
            ..ClientFacts::default()
        }
    }

    fn finding(client: &ClientFacts) -> Option<Finding> {
        check(&ClientEvidence {
            client,
            guest: None,
        })
    }

    #[test]
    fn a_key_others_can_read_or_someone_else_owns_is_found() {
        assert!(finding(&ClientFacts::default()).is_none());
        assert!(finding(&with_key(0o600, 1000)).is_none());
        assert!(finding(&with_key(0o400, 0)).is_none(), "root's is accepted");
        let open = finding(&with_key(0o644, 1000)).expect("0644");
        assert_eq!(open.evidence, ["/home/op/.ssh/id_ed25519: mode 0644"]);
        assert_eq!(open.fix, "chmod 600 /home/op/.ssh/id_ed25519");
        assert_eq!((open.severity, open.source), (Severity::Warning, Source::Client));
        let theirs = finding(&with_key(0o600, 1001)).expect("another owner");
        assert!(theirs.evidence[1].contains("uid 1001"), "{theirs:?}");
    }
}
