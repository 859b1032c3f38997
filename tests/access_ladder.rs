//! The access ladder against a console on a pty (fixtures/console/fake-getty.sh: agetty-,
//! login-, passwd-, sudo-, su- and sulogin-like prompts in bash): which rung gets in, what each
//! other rung says, and that no password is typed twice at one prompt.

use lifeline::access::{self, Access, AccessError, Need, OpenOptions, Outcome, Rung, Target};
use lifeline::link::LinkSpec;
use lifeline::secret::Secret;
use lifeline::shell::{BootStop, Credentials};
use std::path::{Path, PathBuf};

struct Console {
    spec: LinkSpec,
    log: PathBuf,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

fn console(mode: &str) -> Console {
    console_with(mode, "")
}

/// [`console`] with more of the fake's settings (`NAME=VALUE `...).
fn console_with(mode: &str, settings: &str) -> Console {
    let log = std::env::temp_dir().join(format!(
        "lifeline-access-{}-{:x}.log",
        std::process::id(),
        rand::random::<u64>()
    ));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/console/fake-getty.sh");
    let spec = LinkSpec::Command(format!(
        "exec env -i PATH=/usr/bin:/bin TERM=vt220 FAKE_MODE={mode} FAKE_USER_PW=alice-pw \
         FAKE_ROOT_PW=root-pw {settings}FAKE_LOG={} bash {}",
        log.display(),
        script.display()
    ));
    Console { spec, log }
}

fn prompts(console: &Console) -> Vec<String> {
    std::fs::read_to_string(&console.log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn allowing(password: &str, root: Option<&str>, new: Option<&str>) -> Access {
    Access {
        credentials: Credentials {
            user: "alice".into(),
            password: Some(Secret::new(password)),
            root_password: root.map(Secret::new),
        },
        new_password: new.map(Secret::new),
        ..Access::default()
    }
}

async fn open_root(console: &Console, access: &Access) -> Result<access::Opened, AccessError> {
    access::open(
        &Target::Serial(console.spec.clone()),
        access,
        &OpenOptions::new(Need::Root),
    )
    .await
}

async fn uid(opened: &mut access::Opened) -> String {
    let out = opened
        .channel
        .run("id -u", std::time::Duration::from_secs(10))
        .await
        .unwrap();
    out.text().trim().to_string()
}

fn outcome(record: &access::AccessRecord, rung: Rung) -> (Outcome, String) {
    let attempt = record
        .tried
        .iter()
        .find(|a| a.rung == rung)
        .unwrap_or_else(|| panic!("{rung} not in {record:?}"));
    (attempt.outcome, attempt.why.clone())
}

#[tokio::test]
async fn the_login_and_sudo_get_in_first() {
    let c = console("login");
    let mut opened = open_root(&c, &allowing("alice-pw", None, None))
        .await
        .unwrap();
    assert_eq!(opened.access.rung, Some(Rung::Login));
    assert_eq!(opened.access.tried.len(), 1);
    assert_eq!(uid(&mut opened).await, "0");
    opened.channel.close().await.unwrap();
}

/// The login rung gets root at a console with the fake's `settings` (root's password given
/// too, and not needed), the fake noting the answered prompts `want`.
async fn the_login_rung_gets_in(settings: &str, want: &[&str]) {
    let c = console_with("login", settings);
    let mut opened = open_root(&c, &allowing("alice-pw", Some("root-pw"), None))
        .await
        .unwrap();
    assert_eq!(opened.access.rung, Some(Rung::Login));
    assert_eq!(uid(&mut opened).await, "0");
    assert_eq!(prompts(&c), want);
    opened.channel.close().await.unwrap();
}

/// A machine so loaded that login and sudo say nothing for seconds after the password: the
/// prompt still on the screen is no answer, and no password is typed twice.
#[tokio::test]
async fn a_password_answered_slowly_still_gets_in() {
    the_login_rung_gets_in("FAKE_ANSWER_DELAY=2 ", &["login:alice", "sudo"]).await;
}

/// A console so loaded that the user name's echo comes seconds late: the login prompt still
/// on the screen is not a fresh one (no refusal), and the login goes on to the password.
#[tokio::test]
async fn a_user_name_echoed_late_still_gets_in() {
    the_login_rung_gets_in("FAKE_ECHO_DELAY=2 ", &["login:alice", "sudo"]).await;
}

/// login's own time (LOGIN_TIMEOUT) ran out before it judged the password, as on a guest too
/// loaded to finish within it: no refusal, so the login starts again (the password typed once
/// per login), and no other rung is climbed.
#[tokio::test]
async fn a_login_that_ran_out_of_time_is_started_again() {
    the_login_rung_gets_in(
        "FAKE_TIMEOUTS=2 ",
        &["timed-out:alice", "timed-out:alice", "login:alice", "sudo"],
    )
    .await;
}

#[tokio::test]
async fn a_refused_login_climbs_to_roots_password_at_the_login_prompt() {
    let c = console("login");
    let mut opened = open_root(&c, &allowing("wrong", Some("root-pw"), None))
        .await
        .unwrap();
    assert_eq!(opened.access.rung, Some(Rung::Root));
    let (login, why) = outcome(&opened.access, Rung::Login);
    assert_eq!(login, Outcome::Failed);
    assert!(why.contains("refused"), "{why}");
    assert_eq!(uid(&mut opened).await, "0");
    opened.channel.close().await.unwrap();
    assert_eq!(prompts(&c), ["login:alice", "login:root"]);
}

#[tokio::test]
async fn sudo_refusing_climbs_to_su_with_roots_password() {
    let c = console("sudo-refuses");
    let mut opened = open_root(&c, &allowing("alice-pw", Some("root-pw"), None))
        .await
        .unwrap();
    assert_eq!(opened.access.rung, Some(Rung::Root));
    let (login, why) = outcome(&opened.access, Rung::Login);
    assert_eq!(login, Outcome::Failed);
    assert!(why.contains("sudo refused"), "{why}");
    assert_eq!(uid(&mut opened).await, "0");
    opened.channel.close().await.unwrap();
    assert_eq!(prompts(&c), ["login:alice", "sudo", "su"]);
}

#[tokio::test]
async fn an_expired_password_is_changed_to_the_new_one_and_used_for_sudo() {
    let c = console("expired");
    let mut opened = open_root(&c, &allowing("alice-pw", None, Some("alice-new-pw")))
        .await
        .unwrap();
    assert_eq!(opened.access.rung, Some(Rung::Expired));
    let (login, why) = outcome(&opened.access, Rung::Login);
    assert_eq!(login, Outcome::Failed);
    assert!(why.contains("expired"), "{why}");
    assert_eq!(outcome(&opened.access, Rung::Root).0, Outcome::Skipped);
    assert_eq!(uid(&mut opened).await, "0");
    opened.channel.close().await.unwrap();
    assert_eq!(
        prompts(&c),
        [
            "login:alice",
            "login:alice",
            "current",
            "retype",
            "changed-to:alice-new-pw",
            "sudo"
        ]
    );
}

#[tokio::test]
async fn an_expired_password_without_a_new_one_names_the_flag() {
    let c = console("expired");
    let Err(e) = open_root(&c, &allowing("alice-pw", None, None)).await else {
        panic!("got in without a new password");
    };
    let text = e.to_string();
    assert!(text.contains("--new-password-env"), "{text}");
    assert!(text.contains("--allow-reboot"), "{text}");
}

#[tokio::test]
async fn roots_password_at_the_maintenance_prompt() {
    let c = console("maintenance");
    let mut opened = open_root(&c, &allowing("alice-pw", Some("root-pw"), None))
        .await
        .unwrap();
    assert_eq!(opened.access.rung, Some(Rung::Root));
    assert_eq!(outcome(&opened.access, Rung::Login).0, Outcome::Skipped);
    assert_eq!(uid(&mut opened).await, "0");
    opened.channel.close().await.unwrap();
    assert_eq!(prompts(&c), ["maintenance"]);
}

#[tokio::test]
async fn a_wrong_root_password_is_typed_once_at_the_maintenance_prompt() {
    let c = console("maintenance");
    let started = std::time::Instant::now();
    let Err(AccessError::NoWayIn { record, .. }) =
        open_root(&c, &allowing("alice-pw", Some("not-root-pw"), None)).await
    else {
        panic!("expected no way in");
    };
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(outcome(&record, Rung::Root).0, Outcome::Failed);
    let (break_in, why) = outcome(&record, Rung::BreakIn);
    assert_eq!(break_in, Outcome::Skipped);
    assert!(why.contains("--allow-reboot"), "{why}");
    assert_eq!(
        prompts(&c),
        ["maintenance"],
        "the password went more than once"
    );
}

#[tokio::test]
async fn a_locked_root_in_maintenance_mode_needs_the_break_in() {
    let c = console("locked");
    let Err(AccessError::NoWayIn { record, .. }) =
        open_root(&c, &allowing("alice-pw", Some("root-pw"), None)).await
    else {
        panic!("expected no way in");
    };
    let (root, why) = outcome(&record, Rung::Root);
    assert_eq!(root, Outcome::Failed);
    assert!(why.contains("locked"), "{why}");
    assert_eq!(outcome(&record, Rung::Agent).0, Outcome::Skipped);
    assert!(outcome(&record, Rung::BreakIn).1.contains("--allow-reboot"));
    // Not even a key: at sulogin's "Press Enter" one ends the emergency shell and the boot
    // tries again.
    assert_eq!(
        prompts(&c),
        Vec::<String>::new(),
        "nothing typed at a console that takes nothing"
    );
    assert_eq!(record.console, Some(BootStop::EmergencyRootLocked));
}

/// A console that answers nothing (a panic printed before anyone attached, a hung machine):
/// with a restart allowed, the break-in's restart is tried and no other rung types anything.
#[tokio::test]
async fn a_console_that_answers_nothing_goes_to_the_restart() {
    let restarted = std::env::temp_dir().join(format!(
        "lifeline-restarted-{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let access = Access {
        allow_reboot: true,
        // The restart is asked for; failing, it ends the climb without waiting for GRUB.
        reset_command: Some(format!("touch '{}'; false", restarted.display())),
        ..allowing("alice-pw", Some("root-pw"), None)
    };
    let mut options = OpenOptions::new(Need::Root);
    options.timeouts.attach = std::time::Duration::from_secs(3);
    let silent = LinkSpec::Command("stty -echo -isig; exec cat >/dev/null".into());
    let record = match access::open(&Target::Serial(silent), &access, &options).await {
        Err(AccessError::NoWayIn { record, .. }) => record,
        Err(e) => panic!("expected no way in, got: {e}"),
        Ok(_) => panic!("got in through a silent console"),
    };
    assert!(
        restarted.exists(),
        "the restart was not asked for: {record:?}"
    );
    let _ = std::fs::remove_file(&restarted);
    for rung in [Rung::Login, Rung::Root, Rung::Expired, Rung::Agent] {
        let (outcome, why) = outcome(&record, rung);
        assert_eq!(outcome, Outcome::Skipped, "{rung}: {why}");
        assert!(
            why.contains("nothing answers until the VM restarts"),
            "{why}"
        );
    }
    let (breakin, why) = outcome(&record, Rung::BreakIn);
    assert_eq!(breakin, Outcome::Failed);
    assert!(why.contains("--reset-cmd failed"), "{why}");
    assert_eq!(record.console, Some(BootStop::NoPrompt));
}

#[tokio::test]
async fn a_console_at_grubs_prompt_is_reported_with_its_state_and_next_step() {
    let c = console("grub");
    let Err(e) = open_root(&c, &allowing("alice-pw", Some("root-pw"), None)).await else {
        panic!("expected no shell at GRUB's prompt");
    };
    assert_eq!(e.boot_stop(), Some(BootStop::GrubPrompt), "{e}");
    let typed = prompts(&c).join("\n");
    assert!(
        !typed.contains("alice") && !typed.contains("-pw"),
        "a login or password typed at GRUB: {typed}"
    );

    let LinkSpec::Command(command) = &c.spec else {
        unreachable!("the fake console is a command")
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lifeline"))
        .args(["--serial", &format!("cmd:{command}")])
        .args(["--user", "alice", "--password-env", "PW", "-o", "json"])
        .args(["exec", "--root", "--", "true"])
        .env("PW", "alice-pw")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run lifeline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON on stdout ({e}); stderr: {stderr}"));
    assert_eq!(json["console"]["state"], "grub_prompt", "{json}");
    assert!(
        json["console"]["next_step"]
            .as_str()
            .is_some_and(|s| s.contains("configfile")),
        "{json}"
    );
    assert_eq!(out.status.code(), Some(75), "{json}");
    assert_eq!(json["exit_code"], 75, "{json}");
}
