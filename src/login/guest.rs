//! The login from inside the guest to its own sshd, for when lifeline cannot reach the guest's
//! address (no `--verify-host`).
//!
//! The operator's private key stays here and no password crosses the console, so the login
//! uses a throw-away key that the guest makes, placed for one login in the file that holds the
//! user's keys (the one with the operator's key when `--verify-key` is given) and taken out
//! again (guest.sh). It proves what a key login needs beyond the key itself: sshd consults
//! that file for the user, accepts the user, and starts a session that runs `true`. A
//! password login is not tried from inside: it would need the password on the guest.

use super::{LoginCheck, Proven, Vantage};
use crate::posix_sh::quote;
use crate::probe::facts::{BannerOutcome, Facts};
use crate::shell::Runner;
use russh::keys::PublicKey;
use std::time::Duration;

const LIBRARY: &str = include_str!("guest.sh");

/// How long the in-guest login may take, console round trip included (guest.sh gives the
/// login itself 90 s).
const TIME_LIMIT: Duration = Duration::from_secs(150);

/// Logs in as `facts.user` from inside the guest at the first address where sshd answered.
pub async fn check(
    session: &mut impl Runner,
    facts: &Facts,
    operator_key: Option<&PublicKey>,
) -> LoginCheck {
    let answered = facts
        .banners
        .iter()
        .find(|b| matches!(b.outcome, BannerOutcome::Answered(_)));
    let Some(banner) = answered else {
        let mut check = LoginCheck::new(Vantage::Guest, "-", &facts.user);
        check.error = Some("sshd answers on none of its configured ports inside the guest".into());
        return check;
    };
    let address = format!("{}:{}", banner.host, banner.port);
    let mut check = LoginCheck::new(Vantage::Guest, &address, &facts.user);
    let blob = operator_key
        .and_then(|k| k.to_openssh().ok())
        .and_then(|line| line.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "-".into());
    let mut command = format!(
        "{LIBRARY}\nll_login_check {} {} {} {}",
        quote(&facts.user),
        quote(&banner.host),
        banner.port,
        quote(&blob)
    );
    for file in &facts.key_file_paths {
        command.push(' ');
        command.push_str(&quote(file));
    }
    match session.run_with_timeout(&command, TIME_LIMIT).await {
        Ok(out) => {
            let (handshake, result) = judge(&out.text(), operator_key.is_some());
            if handshake {
                check.proven.push(Proven::Handshake);
            }
            match result {
                Ok(()) => check.record("authorized_keys", Ok(Proven::KeyFileLogin)),
                Err(Verdict::Failed(why)) => check.record("authorized_keys", Err(why)),
                Err(Verdict::NotTried(why)) => check.error = Some(why),
            }
        }
        Err(e) => check.error = Some(format!("the in-guest login check did not finish: {e}")),
    }
    check
}

/// The exit status of `timeout`, which gives the login in guest.sh 90 s: not `true`'s status.
const TIMED_OUT: i32 = 124;

enum Verdict {
    /// The login was tried and failed.
    Failed(String),
    /// Nothing could be tried: the reason.
    NotTried(String),
}

/// Reads guest.sh's answer: whether a handshake happened, and the login's verdict.
fn judge(output: &str, with_operator_key: bool) -> (bool, Result<(), Verdict>) {
    let value = |key: &str| {
        output
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    let said: Vec<&str> = output
        .lines()
        .filter_map(|l| l.strip_prefix("said="))
        .collect();
    let file = value("file").unwrap_or("?");
    let not_tried = |why: String| (false, Err(Verdict::NotTried(why)));
    match value("result") {
        Some("ran") => {}
        Some("no-client") => {
            return not_tried(
                "the guest has no ssh client to log in from inside; give --verify-host".into(),
            );
        }
        Some("no-key-file") if with_operator_key => {
            return not_tried(
                "the key of --verify-key is in none of the user's authorized_keys files; \
                 install it (lifeline user reset-key) or give --verify-host"
                    .into(),
            );
        }
        Some("no-key-file") => {
            return not_tried(
                "the user has no authorized_keys file with keys, so no key login can be proven \
                 from inside; give --verify-host with --verify-key or the password"
                    .into(),
            );
        }
        Some("no-key-added") => return not_tried(format!("could not add a check key to {file}")),
        _ => return not_tried(format!("the in-guest login check said: {}", output.trim())),
    }
    let status = value("status").and_then(|s| s.parse::<i32>().ok());
    // ssh exits 255 for its own errors; anything else is the remote command's status, so the
    // authentication went through. A refusal of the key also comes after the handshake.
    let handshake = status.is_some_and(|s| s != 255 && s != TIMED_OUT)
        || said.iter().any(|l| l.contains("Permission denied"));
    let said = if said.is_empty() {
        String::new()
    } else {
        format!(": {}", said.join(" / "))
    };
    let verdict = match status {
        Some(0) => Ok(()),
        Some(255) => Err(Verdict::Failed(format!(
            "a key in {file} did not let the user in{said}"
        ))),
        Some(TIMED_OUT) => Err(Verdict::Failed(format!(
            "the login through {file} did not finish within 90 s (sshd, or the whole guest, \
             too slow or hanging){said}"
        ))),
        Some(code) => Err(Verdict::Failed(format!(
            "logged in through {file}, but `true` exited {code}{said}"
        ))),
        None => Err(Verdict::Failed(format!(
            "no exit status from the login{said}"
        ))),
    };
    (handshake, verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_that_ran_true_is_proof() {
        let (handshake, verdict) = judge(
            "file=/home/a/.ssh/authorized_keys\nresult=ran\nstatus=0\n",
            false,
        );
        assert!(handshake);
        assert!(verdict.is_ok());
    }

    #[test]
    fn a_forced_command_is_a_failed_login() {
        let (handshake, verdict) = judge(
            "file=/h/.ssh/authorized_keys\nresult=ran\nstatus=1\n",
            false,
        );
        assert!(handshake);
        let Err(Verdict::Failed(why)) = verdict else {
            panic!("not a failure")
        };
        assert!(why.contains("`true` exited 1"), "{why}");
    }

    #[test]
    fn a_login_out_of_time_is_no_handshake_and_says_so() {
        let (handshake, verdict) = judge(
            "file=/h/.ssh/authorized_keys\nresult=ran\nstatus=124\n",
            false,
        );
        assert!(!handshake);
        let Err(Verdict::Failed(why)) = verdict else {
            panic!("not a failure")
        };
        assert!(why.contains("did not finish within 90 s"), "{why}");
    }

    #[test]
    fn a_refused_key_quotes_ssh() {
        let out = "file=/h/.ssh/authorized_keys\nresult=ran\nstatus=255\nsaid=a@127.0.0.1: Permission denied (publickey).\n";
        let (handshake, verdict) = judge(out, false);
        assert!(handshake);
        let Err(Verdict::Failed(why)) = verdict else {
            panic!("not a failure")
        };
        assert!(why.contains("Permission denied (publickey)"), "{why}");
    }

    #[test]
    fn refused_connections_are_no_handshake() {
        let out = "file=/h/k\nresult=ran\nstatus=255\nsaid=ssh: connect to host 127.0.0.1 port 22: Connection refused\n";
        assert!(!judge(out, false).0);
    }

    #[test]
    fn without_a_key_file_nothing_is_tried() {
        let (_, verdict) = judge("result=no-key-file\n", true);
        let Err(Verdict::NotTried(why)) = verdict else {
            panic!("tried")
        };
        assert!(why.contains("--verify-key"), "{why}");
    }

    #[test]
    fn the_check_adds_a_one_time_key_for_the_login_and_puts_the_file_back() {
        let (dir, out) = crate::remedy::run_locally(
            &[super::LIBRARY],
            "stub getent 'echo \"u:x:4242:4242::$T/home:/bin/sh\"'\n\
             stub ssh-keygen 'for a; do f=$a; done; echo \"ssh-ed25519 AAAAtemp lifeline-login-check\" >\"$f.pub\"; : >\"$f\"'\n\
             stub ssh 'printf \"%s\\n\" \"$@\" | grep -x -e -p -e -l -A1 | tr \"\\n\" \" \"; grep -c AAAAtemp \"$T/home/.ssh/authorized_keys\"; exit 255'\n\
             stub timeout 'shift; exec \"$@\"'\n\
             mkdir -p \"$T/home/.ssh\"; printf 'ssh-ed25519 AAAAmine me\\n' >\"$T/home/.ssh/authorized_keys\"\n\
             ll_login_check u 127.0.0.1 2222 AAAAmine | sed \"s#$T#T#\"\n\
             cat \"$T/home/.ssh/authorized_keys\"\n\
             ll_login_check u 127.0.0.1 22 AAAAother",
        );
        std::fs::remove_dir_all(dir).ok();
        assert_eq!(
            out,
            "file=T/home/.ssh/authorized_keys\nresult=ran\nstatus=255\n\
             said=-p 2222 -l u 1\n\
             ssh-ed25519 AAAAmine me\nresult=no-key-file\n"
        );
    }
}
