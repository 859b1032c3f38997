//! The keys a rescue puts back when the user has no usable key left and the operator gave none
//! (`--ssh-key-file`): on Azure, those the VM was created with. The VM model keeps them
//! (`osProfile.linuxConfiguration.ssh.publicKeys`) whatever happened to the guest's copy, each
//! with the file provisioning placed it in, so only the keys placed in this user's home count.

use crate::azure::facts::CloudFacts;
use crate::probe::Facts;
use crate::remedy::PublicKeys;

/// Where the keys of the VM model come from, as the report says it.
pub const SOURCE: &str = "the Azure VM model (osProfile.linuxConfiguration.ssh.publicKeys)";

/// The VM model's keys for the user, when none of the user's authorized keys files holds a key
/// sshd can read. `None` when the user still has a key, or the model has none for this home.
pub fn for_user(facts: &Facts, cloud: &CloudFacts) -> Option<PublicKeys> {
    if facts.key_files.iter().any(|f| f.valid() > 0) {
        return None;
    }
    let home = facts.account.home.as_deref()?.trim_end_matches('/');
    let text: Vec<&str> = cloud
        .model_keys
        .iter()
        .filter(|k| {
            k.path
                .strip_prefix(home)
                .is_some_and(|rest| rest.starts_with('/'))
        })
        .map(|k| k.key.as_str())
        .collect();
    match PublicKeys::parse(&text.join("\n")) {
        Ok(keys) => Some(keys),
        Err(e) if !text.is_empty() => {
            tracing::warn!("the VM model's keys for this user are not usable: {e}");
            None
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::facts::ModelKey;
    use crate::probe::facts::KeyFile;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHd6b8nNqvCSA6pvFOB9wYTnN5KhEaXMqt+vhiVSd7Mr ops@laptop";

    fn cloud(path: &str) -> CloudFacts {
        CloudFacts {
            model_keys: vec![ModelKey {
                path: path.into(),
                key: KEY.into(),
            }],
            ..CloudFacts::default()
        }
    }

    fn user_without_keys() -> Facts {
        let mut facts = Facts::default();
        facts.account.home = Some("/home/ops".into());
        facts.key_file_paths = vec!["/home/ops/.ssh/authorized_keys".into()];
        facts
    }

    #[test]
    fn the_models_keys_are_offered_when_the_user_has_none() {
        let keys = for_user(
            &user_without_keys(),
            &cloud("/home/ops/.ssh/authorized_keys"),
        );
        assert_eq!(keys.expect("the model's key").lines(), [KEY]);
    }

    #[test]
    fn a_user_who_still_has_a_key_keeps_it_alone() {
        let mut facts = user_without_keys();
        facts.key_files.push(KeyFile {
            path: "/home/ops/.ssh/authorized_keys".into(),
            lines: 1,
            types: vec!["ssh-rsa".into()],
            ..KeyFile::default()
        });
        assert!(for_user(&facts, &cloud("/home/ops/.ssh/authorized_keys")).is_none());
    }

    #[test]
    fn keys_placed_in_another_home_are_not_this_users() {
        let facts = user_without_keys();
        assert!(for_user(&facts, &cloud("/home/opsbackup/.ssh/authorized_keys")).is_none());
        assert!(for_user(&facts, &cloud("/home/admin/.ssh/authorized_keys")).is_none());
    }

    #[test]
    fn an_empty_or_broken_key_file_counts_as_none() {
        let mut facts = user_without_keys();
        facts.key_files.push(KeyFile {
            path: "/home/ops/.ssh/authorized_keys".into(),
            lines: 2,
            bad: 2,
            ..KeyFile::default()
        });
        assert!(for_user(&facts, &cloud("/home/ops/.ssh/authorized_keys")).is_some());
    }
}
