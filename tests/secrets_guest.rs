//! Secrets never cross the console in clear: the guest password typed at login and at sudo's
//! prompt appears nowhere: not on the serial stream (which Azure stores), not in lifeline's
//! transcript or logs (at the most verbose level), not in any process's command line on the
//! host while lifeline runs, and not in the guest's shell histories or logs.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use support::shared_guest;

/// Every command line on the host, sampled until `stop` is set.
fn watch_process_lists(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            if let Ok(out) = Command::new("ps").args(["-eo", "args"]).output() {
                seen.push(String::from_utf8_lossy(&out.stdout).into_owned());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        seen
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_appears_nowhere() {
    let guest = shared_guest().await;
    let password = guest.password.clone();
    let dir = std::env::temp_dir().join(format!("lifeline-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cast = dir.join("session.cast");
    let serial_before = guest.serial_log().len();

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_process_lists(stop.clone());
    let out = Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["-vvv", "--record"])
        .arg(&cast)
        .arg("--serial")
        .arg(format!("unix:{}", guest.serial.display()))
        .args([
            "--user",
            &guest.user,
            "--password-env",
            "GUEST_PW",
            "exec",
            "--root",
            "--",
        ])
        .arg("id -un; cat /etc/shadow >/dev/null && echo shadow-readable")
        .env("GUEST_PW", &password)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    let process_lists = watcher.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let logs = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout, "root\nshadow-readable\n", "logs: {logs}");
    assert!(logs.contains("becoming root"), "the trace logs ran: {logs}");

    // What the transcript plays back: the output events joined (a prompt may span two events).
    let cast_file = std::fs::read_to_string(&cast).unwrap();
    let played: String = cast_file
        .lines()
        .skip(1)
        .map(|line| {
            let event: (f64, String, String) = serde_json::from_str(line).unwrap();
            event.2
        })
        .collect();
    assert!(
        played.contains("[sudo] password for"),
        "the transcript saw the sudo prompt"
    );
    for text in [&played, &cast_file] {
        assert!(!text.contains(&password), "password in the transcript");
    }
    assert!(!logs.contains(&password), "password in the logs");
    assert!(process_lists.len() > 5, "the process list was sampled");
    assert!(
        process_lists.iter().all(|ps| !ps.contains(&password)),
        "password in a host process list"
    );
    let serial = &guest.serial_log()[serial_before..];
    assert!(
        serial.contains("Password:"),
        "the serial stream saw the login"
    );
    assert!(!serial.contains(&password), "password on the serial stream");

    // On the guest: histories and logs, fetched and searched here so the password is never typed.
    let mut session = guest.session().await;
    session
        .become_root(
            &guest.user,
            Some(&lifeline::secret::Secret::new(password.clone())),
        )
        .await
        .unwrap();
    let evidence = session
        .run("cat /root/.bash_history /home/*/.bash_history 2>/dev/null; journalctl --no-pager -q 2>/dev/null; cat /var/log/auth.log 2>/dev/null; ps -eo args")
        .await
        .unwrap();
    assert!(
        !evidence.text().contains(&password),
        "password in the guest's history, logs or processes"
    );
    session.leave().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
