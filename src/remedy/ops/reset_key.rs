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

    /// Alice (uid 4242) with her home under `$T`, and an sshd that names her keys file.
    const ALICE: &str = "stub getent 'case $1:$2 in passwd:alice) echo \"alice:x:4242:4242::$T/home/alice:/bin/sh\" ;; *) exit 2 ;; esac'\n\
        stub ssh-keygen 'exit 0'\n\
        stub sshd 'printf \"authorizedkeysfile .ssh/authorized_keys %h/.ssh/second\\npubkeyauthentication yes\\n\"'\n\
        LL_SSHD=$T/bin/sshd\n\
        mkdir -m 755 \"$T/home\" \"$T/home/alice\"; chown 4242:4242 \"$T/home/alice\"; chmod 775 \"$T/home/alice\"\n";

    #[test]
    fn a_key_is_installed_as_the_user_with_safe_modes_and_only_once() {
        let (dir, out) = run_locally(
            &[SCRIPT],
            &format!(
                "{ALICE}printf '%s\\n' '{NEW}' >\"$T/key\"\n\
                 ll_user alice && echo \"user $LL_UID $LL_GID $LL_HOME\" | sed \"s#$T#T#\"\n\
                 ll_keys_file alice | sed \"s#$T#T#\"; echo\n\
                 ll_install_keys alice \"$T/key\" ''; echo \"status $? $LL_STEP_ERR\"\n\
                 ll_install_keys alice \"$T/key\" '' | cut -f2\n\
                 cd \"$T/home/alice\" && stat -c '%a %u %n' . .ssh .ssh/authorized_keys\n\
                 ll_user bob || echo \"$LL_STEP_ERR\""
            ),
        );
        let keys = std::fs::read_to_string(dir.join("home/alice/.ssh/authorized_keys"));
        std::fs::remove_dir_all(&dir).ok();
        let out = crate::remedy::scrubbed(&dir, &out);
        assert_eq!(
            out,
            "user 4242 4242 T/home/alice\nT/home/alice/.ssh/authorized_keys\n\
             ll\tchanged\tT/home/alice\tmode 755\n\
             ll\tchanged\tT/home/alice/.ssh\tcreated\n\
             ll\tchanged\tT/home/alice/.ssh/authorized_keys\tcreated\nstatus 0 \n\
             unchanged\n\
             755 4242 .\n700 4242 .ssh\n600 4242 .ssh/authorized_keys\n\
             there is no user bob on the guest\n"
        );
        assert_eq!(keys.unwrap(), format!("{NEW}\n"));
    }

    #[test]
    fn keys_go_nowhere_through_links_or_into_a_strangers_files() {
        let (dir, out) = run_locally(
            &[SCRIPT],
            &format!(
                "{ALICE}mkdir \"$T/other\"; chown 4343 \"$T/other\"; : >\"$T/f\"; chmod 0664 \"$T/f\"\n\
                 ln -s \"$T/f\" \"$T/link\"; : >\"$T/theirs\"; chown 4343 \"$T/theirs\"\n\
                 ll_without_group_other_write \"$T/f\"; echo\n\
                 ll_safe_file \"$T/link\" 4242 || echo \"$LL_STEP_ERR\"\n\
                 ll_safe_file \"$T/theirs\" 4242 || echo \"$LL_STEP_ERR\"\n\
                 ll_safe_file \"$T/f\" 4242 && echo 'root owned: fine'\n\
                 ll_safe_dir \"$T/other\" 4242:4242 || echo \"$LL_STEP_ERR\"\n\
                 ln -s \"$T/other\" \"$T/dirlink\"; ll_safe_dir \"$T/dirlink\" 4242:4242 || echo \"$LL_STEP_ERR\""
            ),
        );
        std::fs::remove_dir_all(&dir).ok();
        let out = out.replace(&dir.display().to_string(), "T");
        assert_eq!(
            out,
            "644\n\
             T/link is a symbolic link or not a regular file: refusing to write keys to it\n\
             T/theirs belongs to uid 4343, neither the user nor root: refusing to touch it\n\
             root owned: fine\n\
             T/other belongs to uid 4343, neither the user nor root: refusing to touch it\n\
             T/dirlink is a symbolic link: refusing to write keys through it\n"
        );
    }
}
