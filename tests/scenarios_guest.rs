//! Every way to break SSH in one table, on the real Debian guest of any flavour (`LIFELINE_FLAVOUR`,
//! bookworm by default; each break's service actions filled in for its service manager by
//! `support::flavour`, and the same rules expected on each): each break is applied through
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
use support::{Guest, flavour, flavour_under_test, shared_guest};

/// One test per scenario, all in this one table (`TABLE`, for the checks below).
macro_rules! scenarios {
    ($($name:ident: $scenario:expr,)*) => {
        const TABLE: &[(&str, Scenario<'static>)] = &[$((stringify!($name), $scenario),)*];
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                run(stringify!($name), $scenario).await;
            }
        )*
    };
}

scenarios! {
    sshd_stopped: Scenario {
        break_with: "{stop}",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH001"],
        remains: (&[], ""),
    },
    disabled_and_stopped_then_rebooted: Scenario {
        break_with: "{disable_now}",
        reboot: true,
        breaks: Breaks::Ssh,
        expect: &["SSH004", "SSH001"],
        remains: (&[], ""),
    },
    masked: Scenario {
        break_with: "{mask_now}",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH005", "SSH001"],
        remains: (&[], ""),
    },
    config_syntax_error: Scenario {
        break_with: "echo 'Bogus yes' >> /etc/ssh/sshd_config; {restart}; true",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH101", "SSH001"],
        remains: (&[], ""),
    },
    port_changed: Scenario {
        break_with: "sed -i 's/^Port 22$/Port 2222/' /etc/ssh/sshd_config && {restart}",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH102"],
        remains: (&[], ""),
    },
    listen_address_absent: Scenario {
        break_with: "echo 'ListenAddress 10.9.9.9' >> /etc/ssh/sshd_config; {restart}; true",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH103", "SSH001"],
        remains: (&[], ""),
    },
    // Then sshd restarted, as after any change: from OpenSSH 9.8 on (Debian 13) the listener
    // keeps the host keys it started with and hands them to each sshd-session, so the files
    // matter only at its next start; before, each connection read them again.
    host_keys_removed: Scenario {
        break_with: "rm -f /etc/ssh/ssh_host_*; {restart}; true",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH201", "SSH001"],
        remains: (&[], ""),
    },
    host_keys_mode_0644: Scenario {
        break_with: "chmod 0644 /etc/ssh/ssh_host_*_key; {restart}; true",
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
        break_with: "usermod -L azureuser && sed -i 's/^UsePAM yes/UsePAM no/' /etc/ssh/sshd_config && {restart}",
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
        break_with: "echo 'AllowUsers nobody' >> /etc/ssh/sshd_config && {restart}",
        reboot: false,
        breaks: Breaks::Ssh,
        expect: &["SSH104"],
        remains: (&[], ""),
    },
}

/// The scenarios that cannot exist on a flavour, with the reason (`scripts/test --all-flavours`
/// skips them by name).
const NOT_ON: &str = include_str!("scenarios_not_on.txt");

/// `(flavour, scenario, reason)` for each line of `NOT_ON`.
fn not_on() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    NOT_ON
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut fields = line.splitn(3, ' ');
            let mut field = || fields.next().unwrap_or_default();
            (field(), field(), field())
        })
}

async fn run(name: &str, scenario: Scenario<'static>) {
    let flavour = flavour_under_test();
    if let Some((_, _, reason)) = not_on().find(|&(f, s, _)| f == flavour && s == name) {
        panic!(
            "{name} cannot exist on the {flavour} guest ({reason}); scripts/test --all-flavours skips it"
        );
    }
    let break_with = flavour::expand(scenario.break_with, &flavour)
        .unwrap_or_else(|e| panic!("{name}: {e}, and tests/scenarios_not_on.txt does not say so"));
    let guest = shared_guest().await;
    let scenario = Scenario {
        break_with: &break_with,
        ..scenario
    };
    scenario::run(&guest, name, scenario).await;
}

/// Bookworm, which CI runs, breaks with the systemd commands the table always had.
#[test]
fn bookworm_breaks_with_the_systemd_commands_on_ssh_service() {
    let expanded = |name: &str| {
        let (_, scenario) = TABLE.iter().find(|(n, _)| *n == name).expect(name);
        flavour::expand(scenario.break_with, "bookworm").expect(name)
    };
    assert_eq!(expanded("sshd_stopped"), "systemctl stop ssh");
    assert_eq!(
        expanded("disabled_and_stopped_then_rebooted"),
        "systemctl disable --now ssh"
    );
    assert_eq!(expanded("masked"), "systemctl mask --now ssh");
    assert_eq!(
        expanded("config_syntax_error"),
        "echo 'Bogus yes' >> /etc/ssh/sshd_config; systemctl restart ssh; true"
    );
    assert_eq!(
        expanded("allow_users_excludes_the_user"),
        "echo 'AllowUsers nobody' >> /etc/ssh/sshd_config && systemctl restart ssh"
    );
    for (name, scenario) in TABLE {
        let command = expanded(name);
        assert!(!command.contains('{'), "{name}: {command}");
        assert_eq!(
            command,
            flavour::expand(scenario.break_with, "trixie").expect(name),
            "{name}: bookworm and trixie are both systemd on ssh.service"
        );
    }
}

/// Each scenario a flavour cannot run is listed with its reason, and the list names only
/// scenarios of the table on flavours other than bookworm (which runs them all).
#[test]
fn every_scenario_runs_on_every_flavour_or_is_listed_with_its_reason() {
    for &(flavour, name, reason) in not_on().collect::<Vec<_>>().iter() {
        assert_ne!(flavour, "bookworm");
        assert!(
            TABLE.iter().any(|(n, _)| *n == name),
            "{name} is not in the table"
        );
        assert!(!reason.is_empty(), "{flavour} {name}: no reason");
    }
    for flavour in ["bookworm", "trixie", "socket", "sysvinit"] {
        for (name, scenario) in TABLE {
            let listed = not_on().any(|(f, s, _)| f == flavour && s == *name);
            if let Err(e) = flavour::expand(scenario.break_with, flavour) {
                assert!(listed, "{name}: {e}");
            }
        }
    }
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
