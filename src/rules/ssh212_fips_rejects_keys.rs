//! SSH212: FIPS mode refuses the user's only key type.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH212",
    name: "fips-rejects-keys",
    title: "FIPS mode refuses the user's Ed25519 keys",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether the kernel runs in FIPS mode (/proc/sys/crypto/fips_enabled) on a RHEL \
               family system while every key of the user is Ed25519.",
        why: "The FIPS crypto policy leaves Ed25519 out of the accepted algorithms, so such an \
              account gets `Permission denied (publickey)` once FIPS is enabled.",
        fix: "`lifeline rescue` leaves this to you: an RSA (≥ 3072 bits) or ECDSA key \
              installed with `lifeline user reset-key`; lifeline does not turn FIPS mode \
              off.",
        safety: "Adding a key is safe; FIPS mode is a compliance decision left to its owner.",
    },
    check,
    fix: None,
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.crypto.fips != Some(true) || facts.os.family != Family::Rhel {
        return None;
    }
    let types: Vec<&str> = facts
        .key_files
        .iter()
        .filter(|k| facts.key_file_paths.contains(&k.path))
        .flat_map(|k| k.types.iter().map(String::as_str))
        .collect();
    if types.is_empty() || !types.iter().all(|t| t.contains("ed25519")) {
        return None;
    }
    let mut evidence = vec!["/proc/sys/crypto/fips_enabled: 1".to_string()];
    if let Some(policy) = &facts.crypto.policy {
        evidence.push(format!("crypto policy: {policy}"));
    }
    evidence.push(format!("key types: {}", types.join(", ")));
    Some(RULE.finding(
        format!(
            "FIPS mode is on and {}'s keys are all Ed25519, which it refuses",
            facts.user
        ),
        evidence,
        format!(
            "install an RSA-3072 or ECDSA key for {} (lifeline user --key FILE)",
            facts.user
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_ed25519_keys_under_fips() {
        let mut facts = fixture("rhel-9-healthy");
        facts.crypto.fips = Some(true);
        for file in &mut facts.key_files {
            file.types = vec!["ssh-ed25519".into()];
        }
        assert_rule(&RULE, &facts);
    }
}
