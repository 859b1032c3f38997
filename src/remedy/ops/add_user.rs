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
