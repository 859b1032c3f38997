//! `lifeline user add`: a new account with a home and a login shell, sudo rights, a key and a
//! password as asked (the guest side is `users.sh`). An existing account is not an error: it is
//! given what was asked for, so a second run changes nothing.
//!
//! Sudo rights go into `/etc/sudoers.d/90-lifeline-<user>` (dots become `_`: sudo skips names
//! with a dot), checked by `visudo -cf` before it is put in place, mode 0440; NOPASSWD only when
//! no password is given, since the user could not answer sudo's prompt otherwise.

use super::{password, reset_key};
use crate::posix_sh::quote;
use crate::remedy::plan::Plan;
use crate::remedy::{PublicKeys, RemedyError, UserName};
use crate::secret::Secret;
use crate::shell::Session;

pub(super) const SCRIPT: &str = include_str!("users.sh");

#[derive(Debug, Clone)]
pub struct AddUser {
    pub user: UserName,
    pub sudo: bool,
    pub keys: Option<PublicKeys>,
    pub password: Option<Secret>,
}

impl AddUser {
    /// Reads the account's current salt when a password is given (one round trip), then plans.
    pub async fn plan(&self, session: &mut Session) -> Result<Plan, RemedyError> {
        let name = quote(self.user.as_str());
        let mut plan = Plan::new("user add")
            .library(reset_key::SCRIPT)
            .library(SCRIPT)
            .step(
                format!("create the account {}", self.user),
                format!("ll_add_user {name}"),
            );
        if self.sudo {
            let nopasswd = if self.password.is_none() { "1" } else { "" };
            plan = plan.step(
                format!("grant {} sudo rights", self.user),
                format!("ll_grant_sudo {name} {}", quote(nopasswd)),
            );
        }
        if let Some(keys) = &self.keys {
            plan = reset_key::add_step(plan, &self.user, keys, false);
        }
        if let Some(secret) = &self.password {
            let salt = password::current_salt(session, &self.user).await?;
            plan = password::add_steps(plan, &self.user, secret, salt.as_ref()).await;
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use crate::remedy::run_over_private_etc;

    #[test]
    fn sudo_rights_go_into_a_drop_in_visudo_accepts_and_sudoers_is_made_to_include_it() {
        let (dir, out) = run_over_private_etc(
            &[super::SCRIPT],
            "rm -rf /etc/sudoers /etc/sudoers.d\n\
             ( PATH=$T/bin; ll_grant_sudo bob 1; echo \"no visudo $? $LL_STEP_ERR\" )\n\
             stub visudo '[ \"$1\" = -cf ] && ! grep -q BAD \"$2\" || { echo \"$2: syntax error near line 2\"; exit 1; }'\n\
             printf 'root ALL=(ALL:ALL) ALL\\n' >/etc/sudoers; chmod 0440 /etc/sudoers\n\
             ll_grant_sudo bob.smith 1; echo \"status $?\"; ll_grant_sudo bob.smith 1; echo \"again $?\"\n\
             ll_grant_sudo carol ''; echo \"carol $?\"\n\
             stat -c '%n %a %u' /etc/sudoers /etc/sudoers.d /etc/sudoers.d/*\n\
             cat /etc/sudoers /etc/sudoers.d/*\n\
             ll_grant_sudo BAD 1; echo \"rejected $? $LL_STEP_ERR\"; ls /etc/sudoers.d",
        );
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(
            crate::remedy::scrubbed(&dir, &out),
            "no visudo 1 sudo is not installed (there is no visudo)\n\
             ll\tchanged\t/etc/sudoers.d\tcreated\nll\tchanged\t/etc/sudoers\trewritten\n\
             ll\tchanged\t/etc/sudoers.d/90-lifeline-bob_smith\tcreated\nstatus 0\n\
             ll\tunchanged\t/etc/sudoers.d/90-lifeline-bob_smith\nagain 0\n\
             ll\tchanged\t/etc/sudoers.d/90-lifeline-carol\tcreated\ncarol 0\n\
             /etc/sudoers 440 0\n/etc/sudoers.d 750 0\n\
             /etc/sudoers.d/90-lifeline-bob_smith 440 0\n/etc/sudoers.d/90-lifeline-carol 440 0\n\
             root ALL=(ALL:ALL) ALL\n#includedir /etc/sudoers.d\n\
             # Written by lifeline user add.\nbob.smith ALL=(ALL) NOPASSWD: ALL\n\
             # Written by lifeline user add.\ncarol ALL=(ALL) ALL\n\
             rejected 1 /etc/sudoers.d/90-lifeline-BAD: visudo rejects the new content: \
             T/run/put.new: syntax error near line 2\n\
             90-lifeline-bob_smith\n90-lifeline-carol\n"
        );
    }
}
