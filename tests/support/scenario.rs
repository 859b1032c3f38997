//! The scenario runner the guest suites share: break SSH as root on the serial console, prove
//! the break from the host, rescue, and prove SSH back (key and password), with the findings
//! named exactly.

use super::{Guest, SshAuth, flavour};
use lifeline::expect::{Expecter, Needles};
use lifeline::link::Link;
use lifeline::rescue::{RescueOptions, RescueReport, rescue};
use lifeline::shell::Session;
use lifeline::term::Console;
use std::time::{Duration, Instant};

/// What the break must do to SSH from the host, proven before diagnosing.
#[derive(Debug, Clone, Copy)]
pub enum Breaks {
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

#[derive(Clone, Copy)]
pub struct Scenario<'a> {
    /// Shell commands run as root on the serial console.
    pub break_with: &'a str,
    /// Reboot through the console after breaking, and diagnose the freshly booted guest.
    pub reboot: bool,
    pub breaks: Breaks,
    /// The rule ids that must fire, and no other.
    pub expect: &'static [&'static str],
    /// The rule ids still found after the rescue (a problem lifeline only reports), and what
    /// the report must name for a person to deal with.
    pub remains: (&'static [&'static str], &'static str),
}

/// Runs one scenario on `guest` (in its clean state) and returns the root session it rescued
/// through, for checks of the guest's state afterwards.
pub async fn run(guest: &Guest, name: &str, scenario: Scenario<'_>) -> Session {
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
        session = reboot(guest, session).await;
    }
    confirm(guest, name, scenario.breaks);
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
    session
}

/// A rescue without questions, as `--yes` runs it.
pub async fn rescued(session: &mut Session, user: &str) -> RescueReport {
    let options = RescueOptions {
        user: user.to_string(),
        ..RescueOptions::default()
    };
    rescue(session, &options, &mut |_, _| true)
        .await
        .expect("rescue")
}

/// Reboots through the console and returns a new root session on the booted guest.
async fn reboot(guest: &Guest, mut session: Session) -> Session {
    let (command, booting) = flavour::reboot(&guest.flavour);
    session.run(command).await.expect("schedule the reboot");
    drop(session);
    let link = Link::open(&guest.serial_spec()).await.expect("open serial");
    let mut expecter = Expecter::new(link.reader, Console::new(24, 80, None));
    for (what, pattern) in [("the boot", booting), ("the login prompt", r"login: $")] {
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
pub fn confirm(guest: &Guest, name: &str, breaks: Breaks) {
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
