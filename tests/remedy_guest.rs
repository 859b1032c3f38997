//! The remedy layer on the real guest: each VMAccess-parity operation repairs what it is for,
//! proved by logging in over SSH from the host afterwards; a second run changes nothing; a
//! reset whose result sshd rejects is rolled back and leaves a configuration sshd accepts; undo
//! restores files byte for byte; a new password never appears on the console, in the guest's
//! histories, logs or process list.

mod support;

use lifeline::remedy::ops::{AddUser, RemoveUser, ResetKey, ResetPassword, ResetSsh, Undo};
use lifeline::remedy::{BackupId, Outcome, Plan, PublicKeys, StepStatus, UserName, list_backups};
use lifeline::secret::Secret;
use lifeline::shell::Session;
use sha2::{Digest, Sha256};
use std::time::Instant;
use support::ssh_password::{Login, new_key, ssh_as};
use support::{SshAuth, sh, shared_guest};

async fn apply(session: &mut Session, plan: &Plan) -> Outcome {
    let (started, before) = (Instant::now(), session.traffic());
    let outcome = plan.apply(session).await.expect("apply the plan");
    let after = session.traffic();
    eprintln!(
        "{} in {:.1?}, {} bytes sent, {} received:\n{outcome}",
        plan.operation(),
        started.elapsed(),
        after.sent - before.sent,
        after.received - before.received
    );
    assert!(
        outcome.other_output.is_empty(),
        "stray output: {outcome:#?}"
    );
    outcome
}

fn changed(outcome: &Outcome, what: &str) -> bool {
    outcome.changes.iter().any(|c| c.what.contains(what))
}

/// A second run of the same operation finds everything as it wants it.
fn assert_idempotent(second: &Outcome) {
    assert!(second.succeeded(), "second run failed:\n{second}");
    assert!(!second.changed(), "second run changed something:\n{second}");
    assert!(
        second.backup.is_none(),
        "second run left a backup:\n{second}"
    );
}

async fn sha256(session: &mut Session, path: &str) -> String {
    let bytes = session.fetch_file(path).await.expect("fetch");
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn user(name: &str) -> UserName {
    UserName::new(name).unwrap()
}

fn public_keys(key: &std::path::Path) -> PublicKeys {
    PublicKeys::parse(&std::fs::read_to_string(key.with_extension("pub")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_ssh_repairs_port_drop_in_and_firewalls_and_twice_changes_nothing() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    sh(
        &mut session,
        "sed -i 's/^Port 22$/Port 2222/' /etc/ssh/sshd_config && \
         printf 'PermitRootLogin no\\nBogusOption yes\\n' > /etc/ssh/sshd_config.d/50-broken.conf && \
         iptables -A INPUT -p tcp --dport 22 -j DROP && \
         nft add table inet guard && \
         nft add chain inet guard input '{ type filter hook input priority 0; policy drop; }' && \
         nft add rule inet guard input iif lo tcp dport != 22 accept && \
         { systemctl restart ssh || true; }",
    )
    .await;
    assert!(guest.ssh(SshAuth::Key, "true").is_err(), "SSH is broken");

    let outcome = apply(&mut session, &ResetSsh::default().plan()).await;
    assert!(outcome.succeeded(), "{outcome}");
    assert!(changed(&outcome, "/etc/ssh/sshd_config"));
    assert!(changed(&outcome, "/etc/ssh/sshd_config.d/50-broken.conf"));
    assert!(changed(&outcome, "iptables"), "{outcome}");
    assert!(changed(&outcome, "nftables inet guard input"), "{outcome}");
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n.contains("Port 2222 is reset"))
    );
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("PermitRootLogin no")),
        "the drop-in that still applies is reported: {outcome}"
    );
    assert_eq!(outcome.verification.len(), 1);
    assert_eq!(outcome.verification[0].port, "22");
    guest
        .ssh_works()
        .expect("SSH works again, key and password");
    let pristine = sha256(&mut session, "/usr/share/openssh/sshd_config").await;
    assert_eq!(sha256(&mut session, "/etc/ssh/sshd_config").await, pristine);
    let dropin = sh(&mut session, "cat /etc/ssh/sshd_config.d/50-broken.conf").await;
    assert!(
        dropin.starts_with("PermitRootLogin no\n") && dropin.contains("\n#BogusOption yes\n"),
        "{dropin}"
    );

    assert_idempotent(&apply(&mut session, &ResetSsh::default().plan()).await);
    session.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_that_sshd_rejects_or_cannot_start_with_is_rolled_back() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    // A damaged package default: the reset can only produce a configuration sshd rejects.
    sh(
        &mut session,
        "sed -i 's/^Port 22$/Port 2222/' /etc/ssh/sshd_config && systemctl restart ssh && \
         echo 'NoSuchOption yes' >> /usr/share/openssh/sshd_config",
    )
    .await;
    let before = sha256(&mut session, "/etc/ssh/sshd_config").await;

    let outcome = apply(&mut session, &ResetSsh::default().plan()).await;
    assert!(!outcome.succeeded());
    assert_eq!(outcome.steps[0].status, StepStatus::Failed, "{outcome}");
    assert!(outcome.steps[0].message.contains("NoSuchOption"));
    assert_eq!(outcome.steps[1].status, StepStatus::Skipped);
    assert!(
        outcome
            .rolled_back
            .iter()
            .any(|c| c.what == "/etc/ssh/sshd_config")
    );
    assert_eq!(
        outcome.validation.as_ref().map(|v| v.ok),
        Some(true),
        "{outcome}"
    );
    assert!(
        outcome.ssh_verified(),
        "sshd still answers on 2222: {outcome}"
    );
    assert_eq!(sha256(&mut session, "/etc/ssh/sshd_config").await, before);
    sh(&mut session, "sshd -t").await;

    // A default sshd accepts but cannot start with (an address the guest does not have): the
    // restart fails, SSH answered before, so the whole run is put back and sshd restarted.
    sh(
        &mut session,
        "sed -i 's/^NoSuchOption yes$/ListenAddress 192.0.2.1/' /usr/share/openssh/sshd_config",
    )
    .await;
    let outcome = apply(&mut session, &ResetSsh::default().plan()).await;
    assert!(!outcome.succeeded() && !outcome.changed(), "{outcome}");
    assert!(outcome.steps.iter().all(|s| s.status == StepStatus::Ok));
    assert_eq!(outcome.service[0].status, "failed", "{outcome}");
    assert!(
        outcome
            .rolled_back
            .iter()
            .any(|c| c.what == "/etc/ssh/sshd_config")
    );
    assert!(
        outcome.ssh_verified(),
        "sshd answers again on 2222: {outcome}"
    );
    assert_eq!(outcome.verification[0].port, "2222");
    assert_eq!(sha256(&mut session, "/etc/ssh/sshd_config").await, before);
    session.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_password_makes_password_logins_work_and_the_password_appears_nowhere() {
    let guest = shared_guest().await;
    let new_password = format!("Ll-{:016x}", rand::random::<u64>());
    let serial_before = guest.serial_log().len();
    let mut session = guest.root_session().await;
    // Password logins off, for everyone and once more for this user in a Match block; the
    // account locked and expired.
    sh(
        &mut session,
        "printf 'PasswordAuthentication no\\nMatch User azureuser\\n  PasswordAuthentication no\\n' \
           > /etc/ssh/sshd_config.d/50-cloud-init.conf && \
         sed -i 's/^PasswordAuthentication yes$//' /etc/ssh/sshd_config && \
         systemctl restart ssh && usermod -L azureuser && chage -E 1 azureuser",
    )
    .await;
    assert!(
        ssh_as(
            &guest,
            &guest.user,
            Login::Password(&guest.password),
            "true"
        )
        .is_err()
    );

    let op = ResetPassword {
        user: user(&guest.user),
        password: Secret::new(new_password.clone()),
    };
    let plan = op.plan(&mut session).await.unwrap();
    assert!(
        !plan.script().contains("$6$"),
        "the shown script withholds the hash"
    );
    let outcome = apply(&mut session, &plan).await;
    assert!(outcome.succeeded(), "{outcome}");
    assert!(changed(&outcome, "password of azureuser"));
    assert!(changed(&outcome, "/etc/ssh/sshd_config.d/00-lifeline.conf"));
    assert!(
        changed(&outcome, "account azureuser"),
        "expiry lifted: {outcome}"
    );
    let dropin = sh(&mut session, "cat /etc/ssh/sshd_config.d/00-lifeline.conf").await;
    assert!(
        dropin.contains("\nPasswordAuthentication yes\nMatch User azureuser\n"),
        "{dropin}"
    );

    let who = ssh_as(
        &guest,
        &guest.user,
        Login::Password(&new_password),
        "id -un",
    )
    .expect("SSH with the new password");
    assert_eq!(String::from_utf8_lossy(&who.stdout).trim(), guest.user);
    assert!(
        ssh_as(
            &guest,
            &guest.user,
            Login::Password(&guest.password),
            "true"
        )
        .is_err()
    );
    guest
        .ssh(SshAuth::Key, "true")
        .expect("the key still works");

    let again = op.plan(&mut session).await.unwrap();
    assert_idempotent(&apply(&mut session, &again).await);

    let serial = &guest.serial_log()[serial_before..];
    assert!(
        !serial.contains(&new_password),
        "new password on the serial console"
    );
    let evidence = sh(
        &mut session,
        "cat /root/.bash_history /home/*/.bash_history 2>/dev/null; \
         journalctl --no-pager -q 2>/dev/null; ps -eo args",
    )
    .await;
    assert!(
        !evidence.contains(&new_password),
        "new password on the guest"
    );
    assert!(
        !evidence.contains("$6$"),
        "a password hash in the guest's logs or processes"
    );
    assert!(
        !evidence.contains("lifeline-"),
        "a plan script was left behind"
    );
    session.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_key_brings_back_a_deleted_authorized_keys() {
    let guest = shared_guest().await;
    let key = new_key("reset-key");
    let mut session = guest.root_session().await;
    sh(
        &mut session,
        "rm -rf /home/azureuser/.ssh && chmod 0777 /home/azureuser",
    )
    .await;
    assert!(guest.ssh(SshAuth::Key, "true").is_err());

    let op = ResetKey {
        user: user(&guest.user),
        keys: public_keys(&key),
        replace: false,
    };
    let outcome = apply(&mut session, &op.plan()).await;
    assert!(outcome.succeeded(), "{outcome}");
    assert!(changed(&outcome, "/home/azureuser/.ssh/authorized_keys"));
    let who = ssh_as(
        &guest,
        &guest.user,
        Login::Key(&key),
        "id -un; stat -c '%a %U' ~ ~/.ssh ~/.ssh/authorized_keys",
    )
    .expect("SSH with the new key");
    assert_eq!(
        String::from_utf8_lossy(&who.stdout),
        "azureuser\n755 azureuser\n700 azureuser\n600 azureuser\n"
    );
    assert_idempotent(&apply(&mut session, &op.plan()).await);
    session.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_added_with_sudo_logs_in_and_is_removed_again() {
    let guest = shared_guest().await;
    let key = new_key("rescuer");
    let mut session = guest.root_session().await;
    let add = AddUser {
        user: user("rescuer"),
        sudo: true,
        keys: Some(public_keys(&key)),
        password: None,
    };
    let plan = add.plan(&mut session).await.unwrap();
    let outcome = apply(&mut session, &plan).await;
    assert!(outcome.succeeded(), "{outcome}");
    assert!(changed(&outcome, "/etc/sudoers.d/90-lifeline-rescuer"));
    let out = ssh_as(
        &guest,
        "rescuer",
        Login::Key(&key),
        "id -un && sudo -n true && echo sudo-ok",
    )
    .expect("SSH as the new user");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "rescuer\nsudo-ok\n");
    let plan = add.plan(&mut session).await.unwrap();
    assert_idempotent(&apply(&mut session, &plan).await);

    for refused in ["root", "sshd"] {
        let outcome = apply(
            &mut session,
            &RemoveUser {
                user: user(refused),
            }
            .plan(),
        )
        .await;
        assert_eq!(outcome.steps[0].status, StepStatus::Failed, "{outcome}");
        assert!(!outcome.changed(), "{outcome}");
    }
    let remove = RemoveUser {
        user: user("rescuer"),
    };
    let outcome = apply(&mut session, &remove.plan()).await;
    assert!(outcome.succeeded(), "{outcome}");
    assert!(changed(&outcome, "account rescuer"));
    assert!(changed(&outcome, "/etc/sudoers.d/90-lifeline-rescuer"));
    assert!(ssh_as(&guest, "rescuer", Login::Key(&key), "true").is_err());
    sh(
        &mut session,
        "! getent passwd rescuer && ! test -e /home/rescuer",
    )
    .await;
    assert_idempotent(&apply(&mut session, &remove.plan()).await);

    // The removal's backup holds the account and its home: undo brings both back.
    let outcome = apply(&mut session, &Undo::default().plan()).await;
    assert!(outcome.succeeded(), "{outcome}");
    let out = ssh_as(
        &guest,
        "rescuer",
        Login::Key(&key),
        "id -un && sudo -n true && echo back",
    )
    .expect("SSH as the user brought back");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "rescuer\nback\n");
    session.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_restores_the_files_byte_for_byte() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    sh(
        &mut session,
        "sed -i 's/^Port 22$/Port 2222/' /etc/ssh/sshd_config && chmod 0640 /etc/ssh/sshd_config && \
         systemctl restart ssh",
    )
    .await;
    let before = sha256(&mut session, "/etc/ssh/sshd_config").await;
    let meta = "stat -c '%a %U %G' /etc/ssh/sshd_config";
    let meta_before = sh(&mut session, meta).await;

    let reset = apply(&mut session, &ResetSsh::default().plan()).await;
    assert!(reset.succeeded(), "{reset}");
    let id = reset.backup.clone().expect("the reset made a backup").id;
    guest
        .ssh(SshAuth::Key, "true")
        .expect("SSH on 22 after the reset");

    let undo = Undo {
        backup: Some(id.clone()),
    };
    let outcome = apply(&mut session, &undo.plan()).await;
    assert!(outcome.succeeded(), "{outcome}");
    assert!(
        outcome
            .restored
            .iter()
            .any(|c| c.what == "/etc/ssh/sshd_config")
    );
    assert_eq!(sha256(&mut session, "/etc/ssh/sshd_config").await, before);
    assert_eq!(sh(&mut session, meta).await, meta_before);
    assert_eq!(
        outcome.verification[0].port, "2222",
        "sshd restarted: {outcome}"
    );

    assert_idempotent(&apply(&mut session, &undo.plan()).await);
    let backups = list_backups(&mut session).await.unwrap();
    assert_eq!(backups.len(), 2, "the reset's and the undo's: {backups:?}");
    assert_eq!(backups[0].id, id);
    assert_eq!(backups[1].operation, format!("undo {id}"));
    assert!(BackupId::parse(backups[1].id.as_str()).is_ok());
    session.leave().await.unwrap();
}
