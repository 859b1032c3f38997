//! The harness proves itself on the real guest: SSH works after boot; stopping sshd through the
//! serial console breaks it; starting sshd again through the console brings it back.

mod support;

use support::shared_guest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_follows_sshd_stopped_and_started_through_the_serial_console() {
    let guest = shared_guest().await;
    guest
        .ssh_works()
        .expect("SSH works on a freshly booted guest");

    let mut console = guest.session().await;
    console
        .become_root(
            &guest.user,
            Some(&lifeline::secret::Secret::new(guest.password.clone())),
        )
        .await
        .expect("sudo on the console");
    let stop = console
        .run("systemctl stop ssh.service && systemctl is-active ssh.service")
        .await
        .unwrap();
    assert_eq!(stop.text().trim(), "inactive", "exit {}", stop.exit_status);
    let err = guest
        .ssh_works()
        .expect_err("SSH must fail while sshd is stopped");
    assert!(err.contains("Connection"), "unexpected ssh failure: {err}");

    let start = console
        .run("systemctl start ssh.service && systemctl is-active ssh.service")
        .await
        .unwrap();
    assert_eq!(start.text().trim(), "active");
    assert_eq!(start.exit_status, 0);
    console.leave().await.expect("log out of the console");
    guest
        .ssh_works()
        .expect("SSH works again after sshd was started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_reported_as_login_incorrect() {
    use lifeline::link::Link;
    use lifeline::secret::{Secret, SecretRegistry};
    use lifeline::shell::{Credentials, Session, ShellError, Timeouts};
    use lifeline::term::Console;

    let guest = shared_guest().await;
    let link = Link::open(&guest.serial_spec()).await.unwrap();
    let mut session = Session::new(
        link,
        Console::new(24, 80, None),
        SecretRegistry::default(),
        Timeouts::default(),
    );
    let wrong = Credentials {
        user: guest.user.clone(),
        password: Some(Secret::new("not-the-password")),
        root_password: None,
    };
    let err = session
        .attach(&wrong)
        .await
        .expect_err("a wrong password must fail");
    assert!(
        matches!(err, ShellError::LoginIncorrect { .. }),
        "expected Login incorrect, got {err}"
    );
}
