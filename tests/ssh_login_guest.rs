//! Proving a login against the real guest's OpenSSH: from here over russh with the user's key
//! and password, the host key compared with the guest's own; from inside the guest through the
//! user's authorized_keys. And the cases where sshd answers and the handshake completes but the
//! user still cannot work: a forced command, a key lookup moved elsewhere, a host key that is
//! not the guest's. Each of those must end not logged in.

mod support;

use lifeline::diagnose::diagnose;
use lifeline::login::client_facts::gather;
use lifeline::login::remote::{Budget, Credentials, check, load_key};
use lifeline::login::{Proven, Vantage, guest};
use lifeline::probe::facts::Facts;
use lifeline::rules::Finding;
use lifeline::rules::client::evaluate;
use lifeline::secret::Secret;
use lifeline::shell::Session;
use std::path::Path;
use support::{Guest, sh, shared_guest};

/// What the probe reads on the guest, the host keys' fingerprints among it.
async fn probed(session: &mut Session, guest: &Guest) -> Facts {
    let facts = diagnose(session, &guest.user)
        .await
        .expect("diagnose")
        .facts;
    assert!(
        !facts.host_key_fingerprints.is_empty(),
        "the probe read no host key fingerprint"
    );
    facts
}

/// SSH803 on the guest's facts for a login with the private key at `key`: the fingerprint
/// lifeline reads here against those the probe printed on the guest.
fn key_not_authorized(facts: &Facts, key: &Path) -> Option<Finding> {
    let client = gather(Some(key), None, Path::new("/nonexistent/known_hosts"));
    assert!(client.login_key.is_some(), "{client:?}");
    evaluate(&client, Some(facts), Vec::new())
        .into_iter()
        .find(|f| f.id == "SSH803")
}

/// Adds a drop-in to sshd's configuration and restarts it (the guest is reset after each test).
async fn drop_in(session: &mut Session, line: &str) {
    sh(
        session,
        &format!(
            "printf '%s\\n' '{line}' > /etc/ssh/sshd_config.d/00-test.conf && sshd -t && systemctl restart ssh"
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_and_password_log_in_and_the_host_key_is_the_guests() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    let facts = probed(&mut session, &guest).await;
    let known = facts.host_key_fingerprints.clone();
    let address = format!("127.0.0.1:{}", guest.ssh_port);
    let key = load_key(&guest.key).expect("the guest's key");
    let password = Secret::new(guest.password.clone());
    let credentials = Credentials {
        key: Some(&key),
        password: Some(&password),
    };

    let here = check(&address, &guest.user, &credentials, &known, Budget::RESCUE).await;
    eprintln!("{}", serde_json::to_string_pretty(&here).unwrap());
    assert!(here.logged_in(), "{here:?}");
    assert_eq!(here.from, Vantage::Here);
    for proof in [
        Proven::Handshake,
        Proven::HostKey,
        Proven::KeyLogin,
        Proven::PasswordLogin,
    ] {
        assert!(here.proven.contains(&proof), "{proof:?} missing: {here:?}");
    }
    let host_key = here.host_key.as_ref().unwrap();
    assert_eq!(host_key.matches_probe, Some(true));
    assert!(known.contains(&host_key.fingerprint));
    // The key that logged in is one the probe fingerprinted in authorized_keys.
    assert_eq!(key_not_authorized(&facts, &guest.key), None, "{facts:?}");

    // A wrong password is a failed login, and says what the server still offers.
    let wrong = Secret::new("not-the-password");
    let refused = check(
        &address,
        &guest.user,
        &Credentials {
            key: None,
            password: Some(&wrong),
        },
        &known,
        Budget::RESCUE,
    )
    .await;
    assert!(!refused.logged_in());
    assert!(
        refused.attempts[0].detail.contains("password refused"),
        "{refused:?}"
    );

    let inside = guest::check(&mut session, &facts, Some(key.public_key())).await;
    eprintln!("{}", serde_json::to_string_pretty(&inside).unwrap());
    assert!(inside.logged_in(), "{inside:?}");
    assert_eq!(inside.proven, [Proven::Handshake, Proven::KeyFileLogin]);
    // The check key is gone again: the file holds exactly the keys it held.
    let keys = sh(
        &mut session,
        &format!(
            "grep -c lifeline-login-check ~{}/.ssh/authorized_keys || true",
            guest.user
        ),
    )
    .await;
    assert_eq!(keys.trim(), "0", "the check key was left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_key_that_is_not_the_guests_gets_no_credential() {
    let guest = shared_guest().await;
    let address = format!("127.0.0.1:{}", guest.ssh_port);
    let password = Secret::new(guest.password.clone());
    let credentials = Credentials {
        key: None,
        password: Some(&password),
    };
    let other = ["SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string()];
    let result = check(&address, &guest.user, &credentials, &other, Budget::RESCUE).await;
    eprintln!("{result:?}");
    assert!(!result.logged_in());
    assert!(result.attempts.is_empty(), "a credential was offered");
    assert_eq!(result.host_key.as_ref().unwrap().matches_probe, Some(false));
    assert!(
        result
            .error
            .unwrap()
            .contains("not one of the guest's host keys")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_command_lets_the_handshake_through_but_not_the_login() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    drop_in(&mut session, "ForceCommand /bin/false").await;
    let facts = probed(&mut session, &guest).await;
    let key = load_key(&guest.key).expect("the guest's key");
    let credentials = Credentials {
        key: Some(&key),
        password: None,
    };
    let address = format!("127.0.0.1:{}", guest.ssh_port);
    let here = check(
        &address,
        &guest.user,
        &credentials,
        &facts.host_key_fingerprints,
        Budget::RESCUE,
    )
    .await;
    eprintln!("{here:?}");
    assert!(!here.logged_in());
    assert!(here.proven.contains(&Proven::Handshake));
    assert!(
        here.attempts[0].detail.contains("`true` exited 1"),
        "{here:?}"
    );

    let inside = guest::check(&mut session, &facts, None).await;
    eprintln!("{inside:?}");
    assert!(!inside.logged_in());
    assert!(
        inside.attempts[0].detail.contains("`true` exited 1"),
        "{inside:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_looked_up_elsewhere_fail_the_login() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    drop_in(
        &mut session,
        "AuthorizedKeysFile /etc/ssh/authorized_keys/%u",
    )
    .await;
    let facts = probed(&mut session, &guest).await;
    let key = load_key(&guest.key).expect("the guest's key");
    let address = format!("127.0.0.1:{}", guest.ssh_port);
    let here = check(
        &address,
        &guest.user,
        &Credentials {
            key: Some(&key),
            password: None,
        },
        &facts.host_key_fingerprints,
        Budget::RESCUE,
    )
    .await;
    eprintln!("{here:?}");
    assert!(!here.logged_in());
    assert!(
        here.attempts[0].detail.contains("publickey refused"),
        "{here:?}"
    );
    // And SSH803 says why, before any login is tried: the file sshd reads holds no key.
    let refused = key_not_authorized(&facts, &guest.key).expect("SSH803");
    assert!(
        refused.evidence[1].contains("/etc/ssh/authorized_keys/")
            && refused.evidence[1].contains("hold no key"),
        "{refused:?}"
    );

    let inside = guest::check(&mut session, &facts, Some(key.public_key())).await;
    eprintln!("{inside:?}");
    assert!(!inside.logged_in());
    assert!(
        inside.attempts[0]
            .detail
            .contains("did not let the user in"),
        "{inside:?}"
    );
}
