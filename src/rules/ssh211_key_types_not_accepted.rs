//! SSH211: sshd accepts none of the user's key types.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH211",
    name: "key-types-not-accepted",
    title: "sshd accepts none of the user's key types",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Compares the types of the user's keys with PubkeyAcceptedAlgorithms (as \
               `sshd -T` expands it; when sshd cannot run, OpenSSH's default, which has \
               refused DSA keys since 7.0).",
        why: "sshd refuses a key whose type it does not accept (`key type ssh-dss not in \
              PubkeyAcceptedAlgorithms`): an account with only such keys gets `Permission \
              denied (publickey)`.",
        fix: "`lifeline rescue` leaves this to you: a new Ed25519 (or RSA ≥ 3072) key \
              installed with `lifeline user reset-key`; re-enabling an old algorithm \
              (`PubkeyAcceptedAlgorithms +ssh-dss`) only as a temporary measure.",
        safety: "Adding a key is safe. Re-enabling a weak algorithm weakens the server; \
                 lifeline never does it without being asked.",
    },
    check,
    fix: None,
};

/// Whether sshd accepts keys of `key_type` with these algorithms.
fn accepted(key_type: &str, algorithms: &[&str]) -> bool {
    match key_type {
        "ssh-rsa" => algorithms
            .iter()
            .any(|a| matches!(*a, "rsa-sha2-256" | "rsa-sha2-512" | "ssh-rsa")),
        "ssh-rsa-cert-v01@openssh.com" => algorithms.iter().any(|a| {
            a.starts_with("rsa-sha2-") && a.ends_with("-cert-v01@openssh.com")
                || *a == "ssh-rsa-cert-v01@openssh.com"
        }),
        other => algorithms.contains(&other),
    }
}

fn check(facts: &Facts) -> Option<Finding> {
    let types: Vec<&str> = facts
        .key_files
        .iter()
        .filter(|k| facts.key_file_paths.contains(&k.path))
        .flat_map(|k| k.types.iter().map(String::as_str))
        .collect();
    if types.is_empty() {
        return None;
    }
    let refused: Vec<&str> = match facts.config.get("pubkeyacceptedalgorithms") {
        Some(list) if facts.config.source == crate::probe::sshd_config::ConfigSource::SshdT => {
            let algorithms: Vec<&str> = list.split(',').collect();
            types
                .iter()
                .copied()
                .filter(|t| !accepted(t, &algorithms))
                .collect()
        }
        Some(_) => return None,
        None => types
            .iter()
            .copied()
            .filter(|t| t.starts_with("ssh-dss"))
            .collect(),
    };
    if refused.len() < types.len() {
        return None;
    }
    let mut names = refused.clone();
    names.dedup();
    Some(RULE.finding(
        format!(
            "sshd accepts none of {}'s keys (type {})",
            facts.user,
            names.join(", ")
        ),
        vec![format!("key types: {}", types.join(", "))],
        format!(
            "install an Ed25519 key for {} (ssh-keygen -t ed25519; lifeline user --key FILE)",
            facts.user
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_no_key_type_is_accepted() {
        assert_rule(
            &RULE,
            &debian_with(|f| f.key_files[0].types = vec!["ssh-dss".into()]),
        );
    }
}
