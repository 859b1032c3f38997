//! The guest as an attacker, on the real guest: an unprivileged user races every write, owner
//! and mode change lifeline makes as root inside the user's own directories, thousands of
//! times, swapping temporary files, the target and the directory itself for symbolic links to
//! root's files. The user must lose every time: root's files keep their owner, mode and content.

mod support;

use lifeline::remedy::ops::ResetKey;
use lifeline::remedy::{PublicKeys, UserName};
use std::time::{Duration, Instant};
use support::{sh, shared_guest};

/// Tries per raced operation; `LIFELINE_RACE_TRIES` raises it for a longer soak.
fn tries() -> u32 {
    std::env::var("LIFELINE_RACE_TRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// Root's files the racers aim at, and three racers running as the guest user (uid of
/// `azureuser`) until /run/race-stop exists: one turns each of lifeline's temporary files in
/// ~/.ssh into a link to /root/victim as fast as it can; one swaps authorized_keys for such a
/// link and back, and one ~/.ssh itself for a link to /root/.ssh, five times a second (often
/// enough to land inside the operations, rarely enough to let some of them through).
const RACERS: &str = r#"
printf 'victim\n' >/root/victim && chmod 0600 /root/victim &&
mkdir -p -m 0700 /root/.ssh && rm -f /root/.ssh/authorized_keys /run/race-stop &&
install -d -o azureuser -g azureuser -m 0700 /home/azureuser/.ssh
as_user() { setpriv --reuid=azureuser --regid=azureuser --init-groups -- sh -c "$1" </dev/null >/dev/null 2>&1 & }
as_user 'cd /home/azureuser/.ssh || exit; while [ ! -e /run/race-stop ]; do
    for f in .lifeline.*; do [ -f "$f" ] && [ ! -L "$f" ] && rm -f "$f" && ln -s /root/victim "$f"; done
    cd /home/azureuser/.ssh 2>/dev/null || cd /home/azureuser; done'
as_user 'cd /home/azureuser; while [ ! -e /run/race-stop ]; do
    ln -sfn /root/victim .ssh/ak.link && mv -f .ssh/ak.link .ssh/authorized_keys
    rm -f .ssh/authorized_keys; sleep 0.2; done'
as_user 'cd /home/azureuser; while [ ! -e /run/race-stop ]; do
    mv -T .ssh .ssh.real && ln -sfn /root/.ssh .ssh && rm -f .ssh && mv -T .ssh.real .ssh; sleep 0.2; done'
[ -f /root/victim ] && [ -d /home/azureuser/.ssh ] && echo racing
"#;

/// The raced operations, each `$N` times, in one root shell on the guest: `ll_put` into
/// ~/.ssh (the primitive under every key operation), `ll_key_path` (owners and modes along
/// the path) and `ll_install_keys` (what `user reset-key` runs). Prints how often each
/// succeeded, so a test that never reached the racy code shows it.
const RACE: &str = r#"
U=$(id -u azureuser) G=$(id -g azureuser) K=/home/azureuser/.ssh/authorized_keys
printf 'ssh-ed25519 AAAAone one\n' >"$LL_RUN/k0"
printf 'ssh-ed25519 AAAAtwo two\n' >"$LL_RUN/k1"
race_put() { ll_put "$K" 0600 "$U:$G" <"$LL_RUN/k$((i % 2))"; }
race_path() { ll_key_path azureuser "$K"; }
race_keys() { ll_install_keys azureuser "$LL_RUN/k$((i % 2))" 1; }
for what in put path keys; do
    i=0 ok=0
    n=$N
    [ "$what" != path ] || n=$((N / 10))
    [ "$what" != keys ] || n=$((N / 20))
    while [ $i -lt "$n" ]; do
        LL_FAILED=
        ll_step "$what $i" "race_$what" >"$LL_RUN/out"
        ! grep -q "	ok\$" "$LL_RUN/out" || ok=$((ok + 1))
        i=$((i + 1))
    done
    echo "$what $n $ok"
done
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_racing_roots_writes_in_their_own_directories_never_wins() {
    let guest = shared_guest().await;
    let mut session = guest.root_session().await;
    assert_eq!(sh(&mut session, RACERS).await.trim(), "racing");

    // The plan's own script (runtime and key library exactly as shipped), up to its steps.
    let plan = ResetKey {
        user: UserName::new("azureuser").unwrap(),
        keys: PublicKeys::parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBv2 race").unwrap(),
        replace: true,
    }
    .plan();
    let script = plan.script();
    let steps = script.find("ll_step_0() {").expect("the plan has a step");
    let n = tries();
    let driver = format!("N={n}\n{}{RACE}", &script[..steps]);
    session
        .send_file("/root/race.sh", driver.as_bytes(), 0o700)
        .await
        .expect("send the race driver");
    let started = Instant::now();
    let out = session
        .run_with_timeout("sh /root/race.sh", Duration::from_secs(3000))
        .await
        .expect("run the race");
    sh(&mut session, "touch /run/race-stop; sleep 1").await;
    let counts = out.text();
    eprintln!("{counts}raced in {:.1?}", started.elapsed());

    let victim = sh(
        &mut session,
        "stat -c '%U %G %a' /root/victim /root/.ssh; cat /root/victim; ls -A /root/.ssh",
    )
    .await;
    assert_eq!(
        victim, "root root 600\nroot root 700\nvictim\n",
        "the racer changed root's files:\n{counts}"
    );
    for (what, expected) in [("put", n), ("path", n / 10), ("keys", n / 20)] {
        let line = counts
            .lines()
            .find(|l| l.starts_with(&format!("{what} ")))
            .unwrap_or_else(|| panic!("no count for {what}: {counts}"));
        let fields: Vec<u32> = line[what.len() + 1..]
            .split(' ')
            .map(|f| f.parse().unwrap())
            .collect();
        assert_eq!(fields[0], expected, "{line}");
        assert!(
            fields[1] > 0,
            "{what} never succeeded under the race, so it proves nothing: {counts}"
        );
    }
    session.leave().await.unwrap();
}
