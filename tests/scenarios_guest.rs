//! Every way to break SSH in one table, on the real Debian guest: each break is applied through
//! the serial console as root and proven real from the host (SSH fails as it should); then
//! `diagnose` must name exactly the listed rules, and `rescue` must repair it: SSH works again
//! from the host (key and password), the rescue reports itself verified, and a second rescue
//! changes nothing. A healthy guest yields no finding and a rescue that changes nothing; the
//! healthy case also measures what a diagnosis costs on the console.

mod support;

use lifeline::diagnose::{Diagnosis, diagnose};
use lifeline::expect::{Expecter, Needles};
use lifeline::link::Link;
use lifeline::report;
use lifeline::rescue::{RescueOptions, RescueReport, rescue};
use lifeline::secret::Secret;
use lifeline::shell::Session;
use lifeline::term::Console;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::watched::Watched;
use support::{Guest, SshAuth, shared_guest};

/// What the break must do to SSH from the host, proven before diagnosing.
#[derive(Debug, Clone, Copy)]
enum Breaks {
    /// SSH login fails (`Guest::ssh_works` is an error: by key, and by password where the
    /// key got further).
    Ssh,
    /// Key login fails; password login still works.
    KeyLogin,
    /// SSH keeps working: the finding is a warning about what else fails. (A full root file
    /// system does not stop sshd or logins on Debian 12, measured with / and /run at 100 %,
    /// also across a reboot.)
    Nothing,
}

struct Scenario {
    /// Shell commands run as root on the serial console.
    break_with: &'static str,
    /// Reboot through the console after breaking, and diagnose the freshly booted guest.
    reboot: bool,
    breaks: Breaks,
    /// The rule ids that must fire, and no other.
    expect: &'static [&'static str],
    /// The rule ids still found after the rescue (a problem lifeline only reports), and what
    /// the report must name for a person to deal with.
    remains: (&'static [&'static str], &'static str),
}

/// One test per scenario, all in this one table.
macro_rules! scenarios {
    ($($name:ident: $scenario:expr,)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            run(stringify!($name), $scenario).await;
        }
    )*};
}

scenarios! {
    sshd_stopped: Scenario {
        break_with: "systemctl stop ssh",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH001"],
        remains: (&[], ""),
    },
    disabled_and_stopped_then_rebooted: Scenario {
        break_with: "systemctl disable --now ssh",
        reboot: true,
        breaks: Breaks::Ssh,
        expect: &["SSH004", "SSH001"],
        remains: (&[], ""),
    },
    masked: Scenario {
        break_with: "systemctl mask --now ssh",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH005", "SSH001"],
        remains: (&[], ""),
    },
    config_syntax_error: Scenario {
        break_with: "echo 'Bogus yes' >> /etc/ssh/sshd_config; systemctl restart ssh; true",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH101", "SSH001"],
        remains: (&[], ""),
    },
    port_changed: Scenario {
        break_with: "sed -i 's/^Port 22$/Port 2222/' /etc/ssh/sshd_config && systemctl restart ssh",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH102"],
        remains: (&[], ""),
    },
    listen_address_absent: Scenario {
        break_with: "echo 'ListenAddress 10.9.9.9' >> /etc/ssh/sshd_config; systemctl restart ssh; true",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH103", "SSH001"],
        remains: (&[], ""),
    },
    host_keys_removed: Scenario {
        break_with: "rm -f /etc/ssh/ssh_host_*",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH201"],
        remains: (&[], ""),
    },
    host_keys_mode_0644: Scenario {
        break_with: "chmod 0644 /etc/ssh/ssh_host_*_key",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH202"],
        remains: (&[], ""),
    },
    run_sshd_missing: Scenario {
        break_with: "rm -rf /run/sshd",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH203"],
        remains: (&[], ""),
    },
    authorized_keys_mode_0666: Scenario {
        break_with: "chmod 0666 /home/azureuser/.ssh/authorized_keys",
        reboot: false,
        breaks: Breaks::KeyLogin,
        expect: &["SSH206"],
        remains: (&[], ""),
    },
    home_world_writable: Scenario {
        break_with: "chmod 0777 /home/azureuser",
        reboot: false,
        breaks: Breaks::KeyLogin,
        expect: &["SSH207"],
        remains: (&[], ""),
    },
    account_locked_with_usepam_no: Scenario {
        break_with: "usermod -L azureuser && sed -i 's/^UsePAM yes/UsePAM no/' /etc/ssh/sshd_config && systemctl restart ssh",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH302"],
        remains: (&[], ""),
    },
    login_shell_nologin: Scenario {
        break_with: "usermod -s /usr/sbin/nologin azureuser",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH303"],
        remains: (&[], ""),
    },
    etc_nologin_present: Scenario {
        break_with: "echo 'down for maintenance' > /etc/nologin",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH304"],
        remains: (&[], ""),
    },
    iptables_drop_on_22: Scenario {
        break_with: "iptables -I INPUT -p tcp --dport 22 -j DROP",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH401"],
        remains: (&[], ""),
    },
    // Filled as an ordinary user, the way logs and uploads fill disks: df shows 100 % and no
    // space available, root keeps the reserved blocks.
    root_filesystem_full: Scenario {
        break_with: "runuser -u nobody -- dd if=/dev/zero of=/var/tmp/fill bs=1M 2>/dev/null; sync; df -P / | grep -q ' 100% '",
        reboot: false,
        breaks: Breaks::Nothing,
        expect: &["SSH501"],
        remains: (&["SSH501"], "/var/tmp/fill"),
    },
    allow_users_excludes_the_user: Scenario {
        break_with: "echo 'AllowUsers nobody' >> /etc/ssh/sshd_config && systemctl restart ssh",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH104"],
        remains: (&[], ""),
    },
}

async fn run(name: &str, scenario: Scenario) {
    let guest = shared_guest().await;
    let started = Instant::now();
    let mut session = guest.root_login().await;
    let out = session
        .run(scenario.break_with)
        .await
        .unwrap_or_else(|e| panic!("{name}: breaking: {e}"));
    assert_eq!(
        out.exit_status,
        0,
        "{name}: the break failed: {}",
        out.text()
    );
    if scenario.reboot {
        session = reboot(&guest, session).await;
    }
    confirm(&guest, name, scenario.breaks);
    // The rescue's own first diagnosis is the diagnosis under test: exactly the expected rules,
    // the verdict led by the first.
    let report = rescued(&mut session, &guest.user).await;
    let mut before: Vec<&str> = report.before.iter().map(|f| f.id).collect();
    before.sort_unstable();
    let mut expected = scenario.expect.to_vec();
    expected.sort_unstable();
    assert_eq!(before, expected, "{name}: wrong findings\n{report}");
    assert_eq!(
        report.before.first().map(|f| f.id),
        scenario.expect.first().copied(),
        "{name}: the verdict leads with another finding\n{report}"
    );
    let (remains, named) = scenario.remains;
    let after: Vec<&str> = report.after.iter().map(|f| f.id).collect();
    assert_eq!(after, remains, "{name}: after the rescue\n{report}");
    assert!(
        report.verified,
        "{name}: the rescue is not verified\n{report}"
    );
    assert!(
        report.changed || !remains.is_empty(),
        "{name}: the rescue changed nothing\n{report}"
    );
    assert!(
        report.to_string().contains(named),
        "{name}: the report does not name {named}\n{report}"
    );
    tokio::task::block_in_place(|| guest.ssh_works())
        .unwrap_or_else(|e| panic!("{name}: SSH fails after the rescue: {e}\n{report}"));
    // Idempotence costs a whole rescue per scenario: CI proves it on the healthy guest, the
    // full run (`scripts/test --all`) on every scenario.
    if remains.is_empty() && std::env::var_os("LIFELINE_TEST_ALL").is_some() {
        let again = rescued(&mut session, &guest.user).await;
        assert!(
            again.before.is_empty() && !again.changed && again.verified,
            "{name}: a second rescue found or changed something\n{again}"
        );
    }
    eprintln!(
        "{name}: {before:?}; rescued in {:.1} s ({:.1} s with the break and the checks)",
        report.elapsed_ms as f64 / 1000.0,
        started.elapsed().as_secs_f64()
    );
}

/// A rescue without questions, as `--yes` runs it.
async fn rescued(session: &mut Session, user: &str) -> RescueReport {
    let options = RescueOptions {
        user: user.to_string(),
        ..RescueOptions::default()
    };
    rescue(session, &options, &mut |_, _| true)
        .await
        .expect("rescue")
}

/// A healthy guest yields no finding; and what one diagnosis costs over the console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_guest_has_no_findings_and_the_cost_is_measured() {
    let guest = shared_guest().await;
    let traffic = Traffic::default();
    let mut session = counted_session(&guest, &traffic).await;
    session
        .become_root(&guest.user, Some(&Secret::new(guest.password.clone())))
        .await
        .expect("sudo -i");
    guest.ssh_works().expect("the clean guest answers SSH");
    let (sent, received) = traffic.snapshot();
    let started = Instant::now();
    let diagnosis = diagnose(&mut session, &guest.user).await.expect("diagnose");
    let elapsed = started.elapsed();
    let (sent_after, received_after) = traffic.snapshot();
    check("healthy", &diagnosis, &[]);
    assert!(diagnosis.healthy());
    assert_eq!(diagnosis.facts.sshd_listen_ports(), vec![22]);
    let report = rescued(&mut session, &guest.user).await;
    assert!(
        report.before.is_empty() && report.rounds.is_empty() && !report.changed && report.verified,
        "a rescue of a healthy guest did something:\n{report}"
    );
    eprintln!(
        "diagnosis cost: {:.2} s wall, {} s on the guest by its clock, {} bytes sent, {} bytes received \
         (script {} bytes, facts {} bytes)",
        elapsed.as_secs_f64(),
        diagnosis
            .facts
            .probe
            .guest_seconds()
            .map_or("?".into(), |s| s.to_string()),
        sent_after - sent,
        received_after - received,
        diagnosis.cost.script_bytes,
        diagnosis.cost.output_bytes,
    );
    session.leave().await.expect("leave the console");
}

/// Reboots through the console and returns a new root session on the booted guest.
async fn reboot(guest: &Guest, mut session: Session) -> Session {
    session
        .run("(sleep 1; systemctl reboot) >/dev/null 2>&1 &")
        .await
        .expect("schedule the reboot");
    drop(session);
    let link = Link::open(&guest.serial_spec()).await.expect("open serial");
    let mut expecter = Expecter::new(link.reader, Console::new(24, 80, None));
    for (what, pattern) in [
        ("the boot", r"Welcome to .*Debian"),
        ("the login prompt", r"login: $"),
    ] {
        let needle = Needles::new(&[(what, pattern)]).expect("pattern");
        expecter
            .expect(&needle, Duration::from_secs(180))
            .await
            .unwrap_or_else(|e| panic!("waiting for {what} after the reboot: {e}"));
    }
    drop(expecter);
    drop(link.writer);
    guest.root_login().await
}

/// Proves from the host that the break broke what it should.
fn confirm(guest: &Guest, name: &str, breaks: Breaks) {
    tokio::task::block_in_place(|| match breaks {
        Breaks::Ssh => assert!(
            guest.ssh_works().is_err(),
            "{name}: SSH still works after the break"
        ),
        Breaks::KeyLogin => {
            assert!(
                guest.ssh(SshAuth::Key, "id -un").is_err(),
                "{name}: key login still works after the break"
            );
            guest
                .ssh(SshAuth::Password, "id -un")
                .unwrap_or_else(|e| panic!("{name}: password login should still work: {e}"));
        }
        Breaks::Nothing => guest
            .ssh_works()
            .unwrap_or_else(|e| panic!("{name}: SSH was expected to keep working: {e}")),
    });
}

fn check(name: &str, diagnosis: &Diagnosis, expect: &[&str]) {
    let mut got = diagnosis.ids();
    got.sort_unstable();
    let mut want = expect.to_vec();
    want.sort_unstable();
    assert_eq!(
        got,
        want,
        "{name}: wrong findings\n{}",
        report::render_text(diagnosis, "guest", None)
    );
    if let Some(first) = expect.first() {
        let verdict = report::verdict(diagnosis);
        let lead = diagnosis.findings.first().map(|f| f.id);
        assert_eq!(
            lead,
            Some(*first),
            "{name}: the verdict leads with {verdict}"
        );
    }
}

/// Bytes through the console link, both ways.
#[derive(Clone, Default)]
struct Traffic {
    sent: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
}

impl Traffic {
    fn snapshot(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

/// A watch that adds the size of each chunk to `count`.
fn counter(count: Arc<AtomicU64>) -> impl FnMut(&[u8]) + Unpin {
    move |chunk| {
        count.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
}

/// Like `Guest::session`, over a link that counts its bytes.
async fn counted_session(guest: &Guest, traffic: &Traffic) -> Session {
    let stream = tokio::net::UnixStream::connect(&guest.serial)
        .await
        .expect("open the serial socket");
    let (reader, writer) = stream.into_split();
    let link = Link::new(
        Box::new(Watched {
            inner: reader,
            watch: counter(traffic.received.clone()),
        }),
        Box::new(Watched {
            inner: writer,
            watch: counter(traffic.sent.clone()),
        }),
        "counted serial",
    );
    guest.session_over(link).await
}
