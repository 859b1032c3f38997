//! `lifeline user remove`: `userdel -r` for an ordinary account (the guest side is `users.sh`).
//!
//! Root and accounts below UID_MIN are refused. The user's processes are ended first (userdel
//! refuses a user who runs something), the account databases are backed up and the home is
//! archived into the backup (up to 64 MiB), so undo can bring the account back; lifeline's
//! sudoers drop-in for the user goes too.

use super::{add_user, reset_key};
use crate::posix_sh::quote;
use crate::remedy::UserName;
use crate::remedy::plan::Plan;

#[derive(Debug, Clone)]
pub struct RemoveUser {
    pub user: UserName,
}

impl RemoveUser {
    pub fn plan(&self) -> Plan {
        Plan::new("user remove")
            .library(reset_key::SCRIPT)
            .library(add_user::SCRIPT)
            .step(
                format!("remove the account {}", self.user),
                format!("ll_remove_user {}", quote(self.user.as_str())),
            )
    }
}

#[cfg(test)]
mod tests {
    use crate::remedy::ops::{add_user, reset_key};
    use crate::remedy::plan::run_locally;

    /// Runs `body` with the account tools stubbed: `getent` knows bob (uid 4343, home under
    /// `$T`) once `$T/bob` exists, and useradd/userdel log their calls and make or remove him.
    fn with_accounts(body: &str) -> (String, String) {
        let (dir, out) = run_locally(
            &[reset_key::SCRIPT, add_user::SCRIPT],
            &format!(
                "stub getent '[ \"$1:$2\" = passwd:bob ] && [ -e \"$T/bob\" ] && echo \"bob:x:4343:4343::$T/home/bob:/bin/sh\"'\n\
                 stub useradd 'if [ \"$1\" = -D ]; then echo \"HOME=$T/home\"; else echo \"useradd $*\" >>\"$T/calls\"; : >\"$T/bob\"; fi'\n\
                 stub userdel 'echo \"userdel $*\" >>\"$T/calls\"; rm -rf \"$T/bob\" \"$T/home/bob\"'\n\
                 mkdir -m 755 \"$T/home\"\n{body}"
            ),
        );
        let calls = std::fs::read_to_string(dir.join("calls")).unwrap_or_default();
        std::fs::remove_dir_all(&dir).ok();
        let out = crate::remedy::scrubbed(&dir, &out);
        (out, calls)
    }

    #[test]
    fn an_account_is_added_once_and_removed_with_its_home_archived_for_undo() {
        let (out, calls) = with_accounts(
            "ll_sudoers_file bob.smith; echo\n\
             ll_add_user bob; ll_add_user bob\n\
             mkdir -p \"$T/home/bob/.ssh\"; echo k >\"$T/home/bob/.ssh/authorized_keys\"\n\
             ll_remove_user bob; echo \"status $? $LL_STEP_ERR\"\n\
             tail -n 1 \"$LL_BDIR/manifest\" | cut -f1,2,8\n\
             tar -tf \"$LL_BDIR/files/$(tail -n 1 \"$LL_BDIR/manifest\" | cut -f2)\" | grep -c authorized_keys\n\
             ll_remove_user bob | cut -f2,3",
        );
        assert_eq!(
            out,
            "/etc/sudoers.d/90-lifeline-bob_smith\n\
             ll\tchanged\taccount bob\tcreated with home T/home/bob and shell /bin/bash\n\
             ll\tunchanged\taccount bob (it exists)\n\
             ll\tchanged\taccount bob\tremoved with its home T/home/bob\n\
             ll\tunchanged\t/etc/sudoers.d/90-lifeline-bob\nstatus 0 \n\
             tree\t8\tT/home/bob\n1\n\
             unchanged\taccount bob (there is none)\nunchanged\t/etc/sudoers.d/90-lifeline-bob\n"
        );
        assert_eq!(calls, "useradd -m -s /bin/bash bob\nuserdel -r bob\n");
    }

    #[test]
    fn a_system_account_is_not_removed() {
        let (out, calls) = with_accounts(
            "stub getent 'echo \"daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\"'\n\
             ll_remove_user daemon || echo \"$LL_STEP_ERR\"\n\
             ll_backup_tree \"$T/missing\" && echo 'nothing to archive'",
        );
        assert!(out.starts_with("daemon has uid 1, below UID_MIN "), "{out}");
        assert!(
            out.ends_with("a system account or root, not removed\nnothing to archive\n"),
            "{out}"
        );
        assert_eq!(calls, "");
    }
}
