//! Every way to break SSH in one table, on the real Debian guest: each break is applied through
//! the serial console as root and proven real from the host (SSH fails as it should); then
//! `diagnose` must name exactly the listed rules, and `rescue` must repair it: SSH works again
//! from the host (key and password), the rescue reports itself verified, and a second rescue
//! changes nothing. A healthy guest yields no finding and a rescue that changes nothing; the
//! healthy case also measures what a diagnosis costs on the console.

mod support;

use lifeline::diagnose::{Diagnosis, diagnose};
use lifeline::link::Link;
use lifeline::report;
use lifeline::secret::Secret;
use lifeline::shell::Session;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use support::scenario::{self, Breaks, Scenario, rescued};
use support::watched::Watched;
use support::{Guest, shared_guest};

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
    // Then sshd restarted, as after any change: from OpenSSH 9.8 on (Debian 13) the listener
    // keeps the host keys it started with and hands them to each sshd-session, so the files
    // matter only at its next start; before, each connection read them again.
    host_keys_removed: Scenario {
        break_with: "rm -f /etc/ssh/ssh_host_*; systemctl restart ssh; true",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH201", "SSH001"],
        remains: (&[], ""),
    },
    host_keys_mode_0644: Scenario {
        break_with: "chmod 0644 /etc/ssh/ssh_host_*_key; systemctl restart ssh; true",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH202", "SSH001"],
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
    scenario::run(&guest, name, scenario).await;
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
