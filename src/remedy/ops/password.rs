//! `lifeline user reset-password`: a new password for an account, hashed on the client (the
//! guest side is `password.sh`).
//!
//! Only the sha512-crypt hash crosses the console, inside the plan's script file, and reaches
//! `chpasswd -e` on its standard input (never a command line). One round trip first reads the
//! salt of the account's current `$6$` hash (the salt alone, never the hash): the password
//! hashed with that salt equals the current hash exactly when the password is already the
//! requested one, which is how a second run knows to change nothing.
//!
//! An account that cannot log in with a good password is made able to: the lock (`!`) goes with
//! the new hash, an expired password or account is lifted (`chage`), faillock is reset, and
//! `PasswordAuthentication yes` is made effective for the user (`sshd -T -C user=…`): in a
//! drop-in of lifeline's own when the main file includes drop-ins first, else in the main file
//! above its first Match; a Match block that still says no is answered by a Match block for
//! the user in lifeline's drop-in, which sshd reads first.

use crate::posix_sh::quote;
use crate::remedy::crypt::{CryptSalt, sha512_crypt};
use crate::remedy::plan::Plan;
use crate::remedy::{RemedyError, UserName};
use crate::secret::Secret;
use crate::shell::Session;

pub(super) const SCRIPT: &str = include_str!("password.sh");

#[derive(Debug, Clone)]
pub struct ResetPassword {
    pub user: UserName,
    pub password: Secret,
}

impl ResetPassword {
    /// Reads the account's current salt (one round trip), then plans.
    pub async fn plan(&self, session: &mut Session) -> Result<Plan, RemedyError> {
        let salt = current_salt(session, &self.user).await?;
        Ok(add_steps(
            Plan::new("user reset-password"),
            &self.user,
            &self.password,
            salt.as_ref(),
        )
        .await)
    }
}

/// The salt of `user`'s current sha512-crypt hash, if that is what it has.
pub(super) async fn current_salt(
    session: &mut Session,
    user: &UserName,
) -> Result<Option<CryptSalt>, RemedyError> {
    let out = session
        .run(&format!(
            "getent shadow {} | cut -d: -f2 | sed -n 's/^!*\\(\\$6\\$\\(rounds=[0-9]*\\$\\)\\{{0,1\\}}[^$]*\\$\\).*/\\1/p'",
            quote(user.as_str())
        ))
        .await?;
    Ok(CryptSalt::parse(&out.text()))
}

/// The password hashed with the account's current salt (so the script can tell it is set
/// already), and freshly salted. Computed on a blocking thread: each costs up to a million
/// rounds of SHA-512, which must not stall the console's async tasks.
async fn hashes(password: &Secret, salt: Option<&CryptSalt>) -> (Secret, Secret) {
    let (password, salt) = (password.clone(), salt.cloned());
    tokio::task::spawn_blocking(move || {
        let fresh = sha512_crypt(&password, &CryptSalt::random());
        let same = salt.map_or_else(|| fresh.clone(), |salt| sha512_crypt(&password, &salt));
        (same, fresh)
    })
    .await
    .expect("hashing does not panic")
}

/// The hash of the password the operator gave lifeline for the SSH user, held for
/// `ll_shadow_entry` (repair.sh): the password of a shadow entry the plan makes anew.
pub(super) async fn given_hash(plan: Plan, password: &Secret) -> Plan {
    let (_, fresh) = hashes(password, None).await;
    plan.secret_data("given_hash", fresh)
}

/// The steps that set the password and make password logins work for `user`.
pub(super) async fn add_steps(
    mut plan: Plan,
    user: &UserName,
    password: &Secret,
    salt: Option<&CryptSalt>,
) -> Plan {
    let (same, fresh) = hashes(password, salt).await;
    let same = plan.secret(same);
    let fresh = plan.secret(fresh);
    let name = quote(user.as_str());
    plan.library(SCRIPT)
        .step(
            format!("set the password of {user}, and make the account usable"),
            format!("ll_set_password {name} '{same}' '{fresh}' && ll_account_usable {name}"),
        )
        .step(
            format!("make sshd accept passwords from {user}"),
            format!("ll_password_auth {name}"),
        )
}

#[cfg(test)]
mod tests {
    use super::SCRIPT;
    use crate::remedy::{over_empty_etc, run_locally};

    fn over_etc(body: &str) -> String {
        over_empty_etc(&[SCRIPT], body)
    }

    #[test]
    fn drop_ins_decide_only_when_included_before_the_main_file_sets_passwords_or_matches() {
        let out = over_etc(
            "first() { printf \"$1\" >/etc/ssh/sshd_config; ll_includes_first && echo yes || echo no; }\n\
             first 'Include /etc/ssh/sshd_config.d/*.conf\\nPasswordAuthentication no\\n'\n\
             first '# relative\\nInclude sshd_config.d/*.conf\\n'\n\
             first 'PasswordAuthentication no\\nInclude /etc/ssh/sshd_config.d/*.conf\\n'\n\
             first 'Match User a\\nInclude /etc/ssh/sshd_config.d/*.conf\\n'\n\
             first 'Include /etc/ssh/other/*.conf\\n'",
        );
        assert_eq!(out, "yes\nyes\nno\nno\nno\n");
    }

    #[test]
    fn passwords_are_allowed_by_our_drop_in_when_drop_ins_decide_else_in_the_main_file() {
        let out = over_etc(
            "main() { printf \"$1\" >/etc/ssh/sshd_config; }\n\
             auth() { ll_password_auth alice; echo \"status $? $LL_STEP_ERR\"; }\n\
             main 'PasswordAuthentication yes\\n'; auth\n\
             main 'Include /etc/ssh/sshd_config.d/*.conf\\nPasswordAuthentication no\\n'; auth\n\
             printf 'Match User alice\\n  PasswordAuthentication no\\n' >>/etc/ssh/sshd_config; auth\n\
             cat /etc/ssh/sshd_config.d/00-lifeline.conf\n\
             main 'PasswordAuthentication no\\nMatch User bob\\n  X11Forwarding no\\n'; auth; cat /etc/ssh/sshd_config\n\
             main 'Match User alice\\n  PasswordAuthentication no\\n'; auth",
        );
        assert_eq!(
            out,
            "ll\tunchanged\tPasswordAuthentication for alice (yes)\nstatus 0 \n\
             ll\tchanged\t/etc/ssh/sshd_config.d\tcreated\n\
             ll\tchanged\t/etc/ssh/sshd_config.d/00-lifeline.conf\tcreated\nstatus 0 \n\
             ll\tunchanged\t/etc/ssh/sshd_config.d/00-lifeline.conf\n\
             ll\tchanged\t/etc/ssh/sshd_config.d/00-lifeline.conf\trewritten\nstatus 0 \n\
             # Written by lifeline: settings a rescue needed. lifeline undo takes them back.\n\
             PasswordAuthentication yes\nMatch User alice\n\tPasswordAuthentication yes\n\
             ll\tchanged\t/etc/ssh/sshd_config\trewritten\nstatus 0 \n\
             PasswordAuthentication yes\nMatch User bob\n  X11Forwarding no\n\
             ll\tchanged\t/etc/ssh/sshd_config\trewritten\n\
             status 1 PasswordAuthentication stays no for alice: a Match block in /etc/ssh/sshd_config decides\n"
        );
    }

    fn set_option(config: &str) -> String {
        let (dir, out) = run_locally(
            &[SCRIPT],
            &format!("ll_set_option f PasswordAuthentication yes <<'EOF'\n{config}EOF"),
        );
        std::fs::remove_dir_all(dir).ok();
        out
    }

    #[test]
    fn the_option_is_set_in_the_global_section_only() {
        assert_eq!(
            set_option(
                "Port 22\npasswordauthentication no\nMatch User a\n  PasswordAuthentication no\n"
            ),
            "Port 22\nPasswordAuthentication yes\nMatch User a\n  PasswordAuthentication no\n"
        );
        assert_eq!(
            set_option("Port 22\nMatch User a\n  X11Forwarding no\n"),
            "Port 22\nPasswordAuthentication yes\nMatch User a\n  X11Forwarding no\n"
        );
        assert_eq!(
            set_option("# mine\n"),
            "# mine\nPasswordAuthentication yes\n"
        );
    }

    /// What `ll_account_usable` does for a shadow entry: its records, then the chage calls.
    fn usable(shadow: &str) -> String {
        let (dir, out) = run_locally(
            &[SCRIPT],
            &format!(
                "stub getent 'echo \"{shadow}\"'\n\
                 stub chage 'echo \"chage $*\" >>\"$T/calls\"'\n\
                 stub faillock 'echo \"When   Type  Source  Valid\"'\n\
                 LL_BACKUP_ROOT=$T/backups; ll_account_usable alice | sed '/^ll.backup/d'; cat \"$T/calls\" 2>/dev/null"
            ),
        );
        std::fs::remove_dir_all(dir).ok();
        out.replace(&format!("{}", today()), "TODAY")
    }

    fn today() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 86400
    }

    #[test]
    fn an_expired_password_or_account_is_made_usable_and_a_good_one_is_left() {
        assert_eq!(usable("alice:!:19000:0:99999:7:::"), "");
        assert_eq!(
            usable("alice:!:0:0:99999:7:::"),
            "ll\tchanged\taccount alice\tthe password no longer counts as expired\nchage -d TODAY alice\n"
        );
        assert_eq!(
            usable("alice:!:100:0:30:7::200:"),
            "ll\tchanged\taccount alice\tthe password no longer counts as expired\n\
             ll\tchanged\taccount alice\texpired on day 200; the expiry date is removed\n\
             chage -d TODAY alice\nchage -E -1 alice\n"
        );
    }
}
