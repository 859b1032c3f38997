//! The other test guests (`scripts/guest build --flavour NAME`), booted and rescued for real:
//! `trixie` (Debian 13, OpenSSH 10: sshd, sshd-session, sshd-auth), `socket` (Debian 13 with sshd
//! started by ssh.socket the way Ubuntu 22.10 and later do it) and `sysvinit` (Debian 12 without
//! systemd: no systemctl, no journal, /etc/init.d/ssh). Each flavour boots to a login prompt,
//! answers SSH, diagnoses healthy with its own service manager's facts, and is rescued from
//! breaks that go through its service manager and sshd layout; the socket flavour has the
//! socket-activation scenarios. With LIFELINE_RECORD_FIXTURES=1 each healthy test writes its
//! capture to fixtures/facts/, which the offline tests then cover.
//!
//! CI runs one scenario on each service manager and sshd layout bookworm does not have, one
//! boot each: the socket flavour's classic (Port changed while ssh.socket listens on 22:
//! the generator, daemon-reload and the socket's restart), which runs on OpenSSH 10's
//! sshd/sshd-session/sshd-auth (the socket flavour is Debian 13), and a config error rescued
//! through sysvinit's init script. trixie adds no layout the socket flavour lacks but a boot,
//! so its tests, and the rest, are `#[ignore]`d and run with `scripts/test --all-flavours`.

mod support;

use lifeline::diagnose::{Diagnosis, ProbeCost};
use lifeline::probe;
use lifeline::shell::Session;
use std::sync::OnceLock;
use std::time::Instant;
use support::scenario::{self, Breaks, Scenario};
use support::{Guest, sh};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

/// The guest of the flavour a test asks for, reset to its clean state. One runs at a time: a
/// test of another flavour stops it and boots its own (`scripts/test --all-flavours` runs one
/// flavour's tests after another).
async fn guest(flavour: &'static str) -> MappedMutexGuard<'static, Guest> {
    static SLOT: OnceLock<Mutex<Option<(&'static str, Guest)>>> = OnceLock::new();
    let mut slot = SLOT.get_or_init(|| Mutex::new(None)).lock().await;
    if slot.as_ref().is_none_or(|(running, _)| *running != flavour) {
        *slot = None;
        let name = format!("f{}-{flavour}", std::process::id());
        // Under TCG on a loaded host a boot can take minutes (120 s, the default, was seen
        // running out with the kernel still starting; the socket flavour took 249 s at load 20).
        let options = ["--flavour", flavour, "--timeout", "600"];
        let guest = tokio::task::block_in_place(|| Guest::boot_with(&name, &options));
        *slot = Some((flavour, guest));
    } else if let Some((_, guest)) = slot.as_ref() {
        guest.reset();
    }
    MutexGuard::map(slot, |slot| &mut slot.as_mut().expect("booted above").1)
}

/// Boots to a login prompt (`scripts/guest run` waits for it), answers SSH by key and password,
/// and its probe, run as a diagnosis, finds nothing; the capture is returned for the flavour's
/// own checks and recorded as `fixture` with LIFELINE_RECORD_FIXTURES=1.
async fn healthy(guest: &Guest, fixture: &str, about: &str) -> (Diagnosis, Session) {
    tokio::task::block_in_place(|| guest.ssh_works()).expect("the clean guest answers SSH");
    let mut session = guest.root_login().await;
    let started = Instant::now();
    let script = probe::script_for(&guest.user).expect("probe script");
    let out = session
        .run_with_timeout(&script, probe::TIME_LIMIT)
        .await
        .expect("run the probe");
    let text = out.text();
    let facts = probe::parse(&text).unwrap_or_else(|e| panic!("parse the probe: {e}\n{text}"));
    let diagnosis = Diagnosis::from_facts(
        facts,
        ProbeCost {
            script_bytes: script.len(),
            output_bytes: out.output.len(),
            elapsed: started.elapsed(),
        },
    );
    assert!(
        diagnosis.healthy(),
        "{fixture}: the clean guest has findings: {:?}\n{text}",
        diagnosis.ids()
    );
    if std::env::var_os("LIFELINE_RECORD_FIXTURES").is_some() {
        let path = support::repo_root().join(format!("fixtures/facts/{fixture}.txt"));
        let header: String = about.lines().map(|l| format!("# {l}\n")).collect();
        std::fs::write(&path, format!("{header}{text}")).expect("write the fixture");
        eprintln!("recorded {}", path.display());
    }
    (diagnosis, session)
}

/// Runs `command` as root after a rescue and insists on its output.
async fn holds(session: &mut Session, command: &str, want: &str) {
    let got = sh(session, command).await;
    assert_eq!(got.trim(), want, "after the rescue: {command}");
}

/// Debian 13: the OpenSSH 10 layout under systemd. The whole scenario table of
/// tests/scenarios_guest.rs also runs here with `scripts/test --all-flavours`.
mod trixie {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "not in CI, which runs one scenario per service manager: scripts/test --all-flavours"]
    async fn boots_answers_ssh_and_is_healthy_with_openssh_10() {
        let guest = guest("trixie").await;
        // A connection held open while the probe runs: its sshd-session processes must not
        // count as the listener.
        let held = tokio::task::block_in_place(|| {
            std::process::Command::new("ssh")
                .args(["-i".as_ref(), guest.key.as_os_str()])
                .args(["-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no"])
                .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"])
                .args(["-p", &guest.ssh_port.to_string()])
                .arg(format!("{}@127.0.0.1", guest.user))
                .arg("sleep 60")
                .stdin(std::process::Stdio::null())
                .spawn()
                .expect("hold an SSH connection")
        });
        std::thread::sleep(std::time::Duration::from_secs(5));
        let (diagnosis, _session) = healthy(
            &guest,
            "debian-13-healthy",
            "Debian 13 test guest (scripts/guest-build --flavour trixie), captured live with one SSH\n\
             connection open: OpenSSH 10's listener is sshd, each connection an sshd-session.",
        )
        .await;
        let facts = &diagnosis.facts;
        assert!(facts.init.is_systemd());
        let version = facts.sshd.version.as_deref().unwrap_or_default();
        assert!(version.contains("OpenSSH_10"), "{version}");
        assert!(
            facts
                .processes
                .iter()
                .any(|p| p.args.starts_with("sshd-session")),
            "{:?}",
            facts.processes
        );
        assert_eq!(
            facts.processes.iter().filter(|p| p.is_listener()).count(),
            1,
            "{:?}",
            facts.processes
        );
        let mut held = held;
        held.kill().ok();
        held.wait().ok();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "not in CI, which runs one scenario per service manager: scripts/test --all-flavours"]
    async fn config_error_is_rescued() {
        let guest = guest("trixie").await;
        scenario::run(
            &guest,
            "trixie config_error",
            Scenario {
                break_with: "echo 'Bogus yes' >> /etc/ssh/sshd_config; systemctl restart ssh; true",
                reboot: false,
                breaks: Breaks::Ssh,
                expect: &["SSH101", "SSH001"],
                remains: (&[], ""),
            },
        )
        .await;
    }
}

/// Debian 13 with ssh.service disabled and ssh.socket enabled, and a generator that derives the
/// socket's ports from sshd_config at daemon-reload: Ubuntu 22.10 and later.
mod socket {
    use super::*;

    /// The socket-activated layout: the socket active, the service disabled (started by it).
    const SOCKET_ACTIVE: &str =
        "systemctl is-active ssh.socket; systemctl is-enabled ssh.service; true";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "not in CI, which runs one scenario per service manager: scripts/test --all-flavours"]
    async fn boots_answers_ssh_and_is_healthy_socket_activated() {
        let guest = guest("socket").await;
        let (diagnosis, _session) = healthy(
            &guest,
            "debian-13-socket-activated-healthy",
            "Debian 13 test guest with sshd socket-activated as on Ubuntu 24.04\n\
             (scripts/guest-build --flavour socket), captured live after the first connection.",
        )
        .await;
        let facts = &diagnosis.facts;
        assert!(facts.socket_activated(), "{:?}", facts.units);
        assert_eq!(
            facts.socket_unit().map(|u| u.listen_ports()),
            Some(vec![22])
        );
    }

    /// The classic: Port changed and `systemctl restart ssh`, and nothing changed, because the
    /// socket still listens on 22 (sshd takes systemd's socket). Clients of the new port are
    /// refused; 22 still answers, so the break is proven by the mismatch, not by a refusal.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn port_changed_while_the_socket_listens_on_22() {
        let guest = guest("socket").await;
        let mut session = scenario::run(
            &guest,
            "socket port_changed",
            Scenario {
                break_with: "sed -i 's/^Port 22$/Port 2222/' /etc/ssh/sshd_config && systemctl restart ssh \
                             && systemctl show -p Listen --value ssh.socket | grep -q ':22 '",
                reboot: false,
                breaks: Breaks::Nothing,
                expect: &["SSH008", "SSH102"],
                remains: (&[], ""),
            },
        )
        .await;
        // SSH102 adds Port 22 beside the new port; the empty diagnosis after the rescue proves
        // that the socket listens where sshd_config says (SSH008 quiet).
        holds(&mut session, "sshd -T | grep -c '^port 22$'", "1").await;
        holds(&mut session, SOCKET_ACTIVE, "active\ndisabled").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "not in CI, which runs one scenario per service manager: scripts/test --all-flavours"]
    async fn socket_stopped() {
        let guest = guest("socket").await;
        let mut session = scenario::run(
            &guest,
            "socket stopped",
            Scenario {
                break_with: "systemctl stop ssh.socket ssh.service",
                reboot: false,
                breaks: Breaks::Ssh,
                expect: &["SSH001"],
                remains: (&[], ""),
            },
        )
        .await;
        holds(&mut session, SOCKET_ACTIVE, "active\ndisabled").await;
    }

    /// Masked: the socket comes back, not ssh.service in its place.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "not in CI, which runs one scenario per service manager: scripts/test --all-flavours"]
    async fn socket_masked() {
        let guest = guest("socket").await;
        let mut session = scenario::run(
            &guest,
            "socket masked",
            Scenario {
                break_with: "systemctl mask ssh.socket && systemctl stop ssh.socket ssh.service",
                reboot: false,
                breaks: Breaks::Ssh,
                // Nothing starts sshd at boot either: the service is disabled, the socket masked.
                expect: &["SSH004", "SSH005", "SSH001"],
                remains: (&[], ""),
            },
        )
        .await;
        holds(&mut session, SOCKET_ACTIVE, "active\ndisabled").await;
    }

    /// A local drop-in pins the socket to 2222 while sshd_config says 22: SSH on 22 is refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "not in CI, which runs one scenario per service manager: scripts/test --all-flavours"]
    async fn drop_in_listen_stream_on_another_port() {
        let guest = guest("socket").await;
        let mut session = scenario::run(
            &guest,
            "socket drop-in ListenStream",
            Scenario {
                break_with: "mkdir -p /etc/systemd/system/ssh.socket.d && \
                             printf '[Socket]\\nListenStream=\\nListenStream=2222\\n' \
                               >/etc/systemd/system/ssh.socket.d/port.conf && \
                             systemctl daemon-reload && systemctl stop ssh.service && \
                             systemctl restart ssh.socket",
                reboot: false,
                breaks: Breaks::Ssh,
                expect: &["SSH008"],
                remains: (&[], ""),
            },
        )
        .await;
        holds(
            &mut session,
            "systemctl show -p Listen --value ssh.socket",
            "[::]:22 (Stream)",
        )
        .await;
        holds(
            &mut session,
            "test -e /etc/systemd/system/ssh.socket.d/port.conf && echo kept || echo removed",
            "removed",
        )
        .await;
    }
}

/// Debian 12 on sysvinit: `service`/`/etc/init.d/ssh`, start links in /etc/rc?.d, no journal.
/// Masking, unit drop-ins and socket activation do not exist here; the rules about them stay
/// quiet (SSH005, SSH006, SSH008, SSH011's unit part).
mod sysvinit {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "not in CI, which runs one scenario per service manager: scripts/test --all-flavours"]
    async fn boots_answers_ssh_and_is_healthy_without_systemd() {
        let guest = guest("sysvinit").await;
        let (diagnosis, _session) = healthy(
            &guest,
            "debian-12-sysvinit-healthy",
            "Debian 12 test guest on sysvinit-core (scripts/guest-build --flavour sysvinit),\n\
             captured live: no systemctl, no journal, sshd from /etc/init.d/ssh.",
        )
        .await;
        let init = &diagnosis.facts.init;
        assert!(init.is_sysv(), "{init:?}");
        assert_eq!(init.init_script.as_deref(), Some("/etc/init.d/ssh"));
        assert!(!init.boot_links.is_empty(), "{init:?}");
        assert!(diagnosis.facts.units.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "not in CI, which runs one scenario per service manager: scripts/test --all-flavours"]
    async fn sshd_stopped() {
        let guest = guest("sysvinit").await;
        scenario::run(
            &guest,
            "sysvinit sshd_stopped",
            Scenario {
                break_with: "/etc/init.d/ssh stop",
                reboot: false,
                breaks: Breaks::Ssh,
                expect: &["SSH001"],
                remains: (&[], ""),
            },
        )
        .await;
    }

    /// Debian's init script checks the configuration before a restart and keeps the running
    /// sshd when it fails, so the break stops sshd first, as a reboot would.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn config_error() {
        let guest = guest("sysvinit").await;
        scenario::run(
            &guest,
            "sysvinit config_error",
            Scenario {
                break_with: "/etc/init.d/ssh stop && echo 'Bogus yes' >> /etc/ssh/sshd_config",
                reboot: false,
                breaks: Breaks::Ssh,
                expect: &["SSH101", "SSH001"],
                remains: (&[], ""),
            },
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "not in CI, which runs one scenario per service manager: scripts/test --all-flavours"]
    async fn not_started_at_boot() {
        let guest = guest("sysvinit").await;
        let mut session = scenario::run(
            &guest,
            "sysvinit not_started_at_boot",
            Scenario {
                break_with: "update-rc.d ssh disable && /etc/init.d/ssh stop",
                reboot: false,
                breaks: Breaks::Ssh,
                expect: &["SSH004", "SSH001"],
                remains: (&[], ""),
            },
        )
        .await;
        holds(&mut session, "ls /etc/rc2.d | grep -c '^S..ssh$'", "1").await;
    }
}
