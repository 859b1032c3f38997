//! `lifeline user reset-key`: a public key in the authorized_keys file sshd really reads for
//! the user (the guest side is `keys.sh`).
//!
//! Unlike VMAccess (hard-coded `/home/<user>/.ssh/authorized_keys`, only ssh-rsa and
//! ssh-ed25519), the file is the user's `AuthorizedKeysFile` from `sshd -T -C user=…` with `%h`
//! and `%u` expanded from the passwd entry, any OpenSSH key type is accepted (and checked by
//! `ssh-keygen -l` on the guest), missing directories are created 0700 for the user, and the
//! home, every directory below it and the file lose group and world write, as StrictModes
//! requires. Symbolic links and paths owned by somebody else are refused.

use crate::posix_sh::quote;
use crate::remedy::plan::Plan;
use crate::remedy::{PublicKeys, UserName};

pub(super) const SCRIPT: &str = include_str!("keys.sh");

#[derive(Debug, Clone)]
pub struct ResetKey {
    pub user: UserName,
    pub keys: PublicKeys,
    /// Drop the keys the file had (VMAccess's remove_prior_keys); by default they stay.
    pub replace: bool,
}

impl ResetKey {
    pub fn plan(&self) -> Plan {
        add_step(
            Plan::new("user reset-key"),
            &self.user,
            &self.keys,
            self.replace,
        )
    }
}

/// The step that installs `keys` for `user`.
pub(super) fn add_step(plan: Plan, user: &UserName, keys: &PublicKeys, replace: bool) -> Plan {
    let verb = if replace { "replace" } else { "add" };
    plan.library(SCRIPT)
        .data("new_keys", &keys.lines().join("\n"))
        .step(
            format!("{verb} the SSH key of {user} in its authorized_keys"),
            format!(
                "ll_install_keys {} \"$LL_RUN/new_keys\" {}",
                quote(user.as_str()),
                quote(if replace { "1" } else { "" })
            ),
        )
}

#[cfg(test)]
mod tests {
    use super::SCRIPT;
    use crate::remedy::plan::run_locally;

    const OLD: &str = "ssh-ed25519 AAAAold old@host";
    const NEW: &str = "ssh-ed25519 AAAAnew new@host";

    fn merge(current: &str, replace: &str) -> String {
        let (dir, out) = run_locally(
            &[SCRIPT],
            &format!(
                "printf '%s\\n' '{NEW}' 'sk-ssh-ed25519@openssh.com AAAAold dup' >\"$T/new\"\n\
                 printf '{current}' | ll_merge_keys \"$T/new\" '{replace}'"
            ),
        );
        std::fs::remove_dir_all(dir).ok();
        out
    }

    #[test]
    fn keys_are_added_once_and_replaced_on_request() {
        let current = format!("# keys\\ncommand=\"x\" {OLD}\\n");
        assert_eq!(
            merge(&current, ""),
            format!("# keys\ncommand=\"x\" {OLD}\n{NEW}\n")
        );
        let merged = format!("{OLD}\\n{NEW}\\n");
        assert_eq!(
            merge(&merged, ""),
            format!("{OLD}\n{NEW}\n"),
            "nothing twice"
        );
        assert_eq!(
            merge(&current, "1"),
            format!("{NEW}\nsk-ssh-ed25519@openssh.com AAAAold dup\n")
        );
    }
}
