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
