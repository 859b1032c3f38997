//! The client-side SSH handshake against the real guest's OpenSSH: it completes, names the
//! server, reports the host key fingerprint the guest itself prints, and lists the methods the
//! server offers; sshd logs the polite disconnect. Against things that are not a working sshd it fails the way an operator
//! needs to hear: refused, not SSH (with what came instead), or silent until the time limit.

mod support;

use lifeline::secret::Secret;
use lifeline::ssh_handshake::{HandshakeError, Stage, handshake};
use std::time::{Duration, Instant};
use support::{SshAuth, shared_guest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guest_sshd_completes_the_handshake_with_its_own_host_key() {
    let guest = shared_guest().await;
    let address = format!("127.0.0.1:{}", guest.ssh_port);

    let report = handshake(&address, &guest.user, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("handshake with the guest: {e}"));
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&report).expect("report as JSON")
    );

    assert_eq!(report.address, address);
    assert_eq!(report.user, guest.user);
    assert!(
        report.server_version.starts_with("SSH-2.0-OpenSSH"),
        "{}",
        report.server_version
    );
    assert!(report.kex_algorithm.starts_with("curve25519-sha256"));
    assert_eq!(report.host_key_algorithm, "ssh-ed25519");
    assert_eq!(report.cipher, "aes128-gcm@openssh.com");
    for method in ["publickey", "password"] {
        assert!(
            report.auth_methods.iter().any(|m| m == method),
            "{method} missing from {:?}",
            report.auth_methods
        );
    }

    let out = tokio::task::block_in_place(|| {
        guest.ssh(
            SshAuth::Key,
            "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub",
        )
    })
    .expect("ssh-keygen on the guest");
    let printed = String::from_utf8_lossy(&out.stdout);
    let fingerprint = printed
        .split_whitespace()
        .find(|field| field.starts_with("SHA256:"))
        .unwrap_or_else(|| panic!("no fingerprint in {printed:?}"));
    assert_eq!(report.host_key_fingerprint, fingerprint);

    // A user that does not exist gets the same answer: the probe reveals nothing about users.
    let nobody = handshake(&address, "no-such-user", Duration::from_secs(30))
        .await
        .expect("handshake as an unknown user");
    assert_eq!(nobody.auth_methods, report.auth_methods);
    assert_eq!(nobody.host_key_fingerprint, report.host_key_fingerprint);

    // sshd decrypted the goodbye: both connections ended with our DISCONNECT, not a dropped
    // socket. Its log is root's to read, so ask over the console.
    let mut session = guest.session().await;
    session
        .become_root(&guest.user, Some(&Secret::new(guest.password.clone())))
        .await
        .expect("sudo on the guest");
    let out = session
        .run("journalctl -u ssh.service --no-pager -o cat | grep -F 'lifeline handshake check'")
        .await
        .expect("read sshd's log");
    let log = out.text();
    eprintln!("{log}");
    let goodbyes = log
        .lines()
        .filter(|l| l.contains("Received disconnect") && l.contains(":11: lifeline"))
        .count();
    assert_eq!(goodbyes, 2, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_refused_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);

    let started = Instant::now();
    let err = handshake(&address, "root", Duration::from_secs(10))
        .await
        .unwrap_err();
    eprintln!("{err} ({:?})", started.elapsed());
    assert!(
        matches!(err, HandshakeError::ConnectionRefused { address: ref a } if *a == address),
        "{err:?}"
    );
    assert!(err.to_string().contains(&address), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A listener on a local port that answers each connection with `serve`.
async fn serve_once<F, Fut>(serve: F) -> String
where
    F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        if let Ok((stream, _)) = listener.accept().await {
            serve(stream).await;
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_server_is_no_ssh_banner_and_shows_what_it_said() {
    let address = serve_once(|mut stream| async move {
        let mut line = [0u8; 64];
        let _ = stream.read(&mut line).await;
        let _ = stream
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
    })
    .await;

    let err = handshake(&address, "root", Duration::from_secs(10))
        .await
        .unwrap_err();
    eprintln!("{err}");
    match &err {
        HandshakeError::NoBanner { received, .. } => {
            assert!(
                received.starts_with(r#""HTTP/1.1 400 Bad Request\r\n"#),
                "{received}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains(&address), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_1_server_is_refused_by_version() {
    let address = serve_once(|mut stream| async move {
        let _ = stream.write_all(b"SSH-1.5-OldServer\r\n").await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;

    let err = handshake(&address, "root", Duration::from_secs(10))
        .await
        .unwrap_err();
    eprintln!("{err}");
    assert!(
        matches!(err, HandshakeError::UnsupportedVersion { ref banner, .. } if banner == "SSH-1.5-OldServer"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_listener_times_out_within_the_limit() {
    let address = serve_once(|stream| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(stream);
    })
    .await;

    let limit = Duration::from_millis(800);
    let started = Instant::now();
    let err = handshake(&address, "root", limit).await.unwrap_err();
    let took = started.elapsed();
    eprintln!("{err} ({took:?})");
    assert!(
        matches!(
            err,
            HandshakeError::TimedOut {
                stage: Stage::Banner,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(&address), "{err}");
    assert!(
        took >= limit && took < limit + Duration::from_millis(500),
        "{took:?}"
    );
}
