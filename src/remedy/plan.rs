//! A plan: ordered steps rendered into ONE POSIX sh script for the guest, sent and run in one
//! go (two waits on the console: the upload's checksum, then the result).
//!
//! The script is the shell runtime (`plan.sh`, `backup.sh`, `write.sh`, `validate.sh`,
//! `service.sh`, `verify.sh`, plus the libraries a plan names), then the data the plan carries,
//! then one function per step, run in order by `ll_step`, then `ll_finish` (restart, verify).
//! The runtime travels without its comments and indentation: over a 115200-baud console every
//! byte costs.
//!
//! The script runs from a root-only file that removes itself as it starts, ignoring the
//! interrupts and hang-ups of a console (a transaction cut off halfway is what must not
//! happen). Password hashes live in the plan as placeholders and are put into the script only
//! as it is sent; [`Plan::script`] shows them withheld, and nothing here logs the script.

use super::outcome::Outcome;
use super::{RemedyError, backup, confine, service, validate, verify, write};
use crate::posix_sh::{minify, quote};
use crate::secret::Secret;
use crate::shell::{CommandOutput, Runner, ShellError};
use std::time::Duration;
use tracing::info;

/// Long enough for firewall-cmd, userdel and a socket-activated sshd under emulation.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

const CORE: &str = include_str!("plan.sh");

/// The runtime every plan carries, in dependency order.
const RUNTIME: [&str; 7] = [
    CORE,
    confine::SCRIPT,
    backup::SCRIPT,
    write::SCRIPT,
    validate::SCRIPT,
    service::SCRIPT,
    verify::SCRIPT,
];

/// Shown instead of a secret in [`Plan::script`].
const WITHHELD: &str = "<withheld>";

#[derive(Debug, Clone)]
struct Step {
    title: String,
    body: String,
}

/// Ordered steps and what they need, ready to be shown (`--dry-run`) or applied.
#[derive(Debug, Clone)]
pub struct Plan {
    operation: String,
    libraries: Vec<&'static str>,
    data: Vec<(String, String)>,
    steps: Vec<Step>,
    secrets: Vec<Secret>,
}

impl Plan {
    pub(super) fn new(operation: &str) -> Self {
        Plan {
            operation: operation.to_string(),
            libraries: Vec::new(),
            data: Vec::new(),
            steps: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// Adds a shell library the steps call (once, however often it is named).
    pub(super) fn library(mut self, script: &'static str) -> Self {
        if !self.libraries.contains(&script) {
            self.libraries.push(script);
        }
        self
    }

    /// Text the steps find in `$LL_RUN/NAME` on the guest.
    pub(super) fn data(mut self, name: &str, content: &str) -> Self {
        self.data.push((name.to_string(), content.to_string()));
        self
    }

    /// A secret the steps find in `$LL_RUN/NAME` on the guest: a file, never a command line;
    /// withheld where the plan is shown.
    pub(super) fn secret_data(mut self, name: &str, value: Secret) -> Self {
        let placeholder = self.secret(value);
        self.data.push((name.to_string(), placeholder));
        self
    }

    /// A step: `body` is shell calling the runtime and libraries; it fails by returning non-zero
    /// (after `ll_fail MESSAGE`).
    pub(super) fn step(mut self, title: impl Into<String>, body: impl Into<String>) -> Self {
        self.steps.push(Step {
            title: title.into(),
            body: body.into(),
        });
        self
    }

    /// Registers a secret and returns the placeholder to write where it belongs (inside single
    /// quotes: the values are crypt strings, which hold no quote).
    pub(super) fn secret(&mut self, value: Secret) -> String {
        self.secrets.push(value);
        placeholder(self.secrets.len() - 1)
    }

    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// The titles of the steps, in order.
    pub fn step_titles(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|s| s.title.as_str())
    }

    /// The guest script, with secrets and the calls' inputs (package copies) withheld: what
    /// `--dry-run` shows.
    pub fn script(&self) -> String {
        crate::rules::fix::withhold_inputs(&self.render(|_| WITHHELD))
    }

    /// Runs the plan on the guest; `session` must be a root shell.
    pub async fn apply(&self, session: &mut impl Runner) -> Result<Outcome, RemedyError> {
        let _step = crate::progress::step("applying the fixes on the guest");
        if !session.is_root() {
            return Err(RemedyError::NotRoot);
        }
        info!(operation = %self.operation, steps = self.steps.len(), "applying a plan");
        let script = self.render(|i| self.secrets[i].expose());
        let out = run_script(session, &script).await?;
        let outcome = Outcome::parse(&self.operation, &out.output, out.exit_status)?;
        info!(
            operation = %self.operation,
            changed = outcome.changed(),
            verified = outcome.ssh_verified(),
            "plan applied"
        );
        Ok(outcome)
    }

    fn render<'a>(&'a self, secret: impl Fn(usize) -> &'a str) -> String {
        let bodies: Vec<&str> = self.steps.iter().map(|s| s.body.as_str()).collect();
        let mut script = prelude(&self.operation, &self.libraries, &bodies.join("\n"));
        let with_secrets = |text: &str| {
            let mut text = text.to_string();
            for i in 0..self.secrets.len() {
                text = text.replace(&placeholder(i), secret(i));
            }
            text
        };
        for (name, content) in &self.data {
            script.push_str(&write::data_block(name, &with_secrets(content)));
        }
        for (n, step) in self.steps.iter().enumerate() {
            let body = with_secrets(&step.body);
            script.push_str(&format!(
                "ll_step_{n}() {{\n{body}\n}}\nll_step {} ll_step_{n}\n",
                quote(&step.title)
            ));
        }
        script.push_str("ll_finish\n");
        script
    }
}

/// The operation's name, the runtime and what `calls` (and the runtime) reach of
/// `libraries`, minified, ending in `ll_begin`: what comes before a plan's steps.
fn prelude(operation: &str, libraries: &[&'static str], calls: &str) -> String {
    let mut script = format!("LL_OPERATION={}\n", quote(operation));
    script.push_str(&minify(&RUNTIME.join("\n")));
    let roots = format!("{}\n{calls}", RUNTIME.join("\n"));
    script.push_str(&minify(&reachable(libraries, &roots)));
    script.push_str("ll_begin\n");
    script
}

/// A guest script that runs `body` as a plan's steps would run: after the runtime and
/// whatever `body` reaches of every operation's library, exactly as plans send them, and
/// `ll_begin`. For driving the guest side's functions directly, as the hostile-guest tests do
/// when they race them on the real guest. Run it with a root [`Session`].
pub fn program(body: &str) -> String {
    format!(
        "{}{body}\n",
        prelude("program", &super::ops::LIBRARIES, body)
    )
}

fn placeholder(index: usize) -> String {
    format!("@LL_SECRET_{index}@")
}

/// A script of just `libraries` (after the core) and `call`: for read-only requests.
pub(super) fn library_script(libraries: &[&'static str], call: &str) -> String {
    format!("{}{}{call}\n", minify(CORE), minify(&libraries.join("\n")))
}

/// One top-level piece of a library: a function (`name() {` to a `}` in column 0), a variable
/// (`NAME=…`), or anything else (`name` is `None`: always kept).
struct Definition<'a> {
    name: Option<&'a str>,
    text: String,
}

fn definitions(library: &str) -> Vec<Definition<'_>> {
    let mut out: Vec<Definition> = Vec::new();
    let mut in_function = false;
    // Comments name functions in prose: they must not make anything reachable (and are not
    // sent anyway).
    for line in library.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if in_function {
            let last = out.last_mut().expect("a function is open");
            last.text.push_str(line);
            last.text.push('\n');
            in_function = line != "}";
            continue;
        }
        let function = line.strip_suffix("() {");
        let variable = line.split_once('=').map(|(n, _)| n);
        let name = function
            .or(variable)
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        in_function = function.is_some() && name.is_some();
        out.push(Definition {
            name,
            text: format!("{line}\n"),
        });
    }
    out
}

/// The parts of `libraries` that `roots` reach, directly or through each other: a rescue plan
/// names every fix's library, and only the fixes it makes travel over the console.
fn reachable(libraries: &[&'static str], roots: &str) -> String {
    let all: Vec<Definition> = libraries.iter().flat_map(|l| definitions(l)).collect();
    let mut kept = vec![false; all.len()];
    let mut frontier = vec![roots.to_string()];
    while let Some(text) = frontier.pop() {
        for (i, definition) in all.iter().enumerate() {
            if !kept[i] && definition.name.is_none_or(|name| mentions(&text, name)) {
                kept[i] = true;
                frontier.push(definition.text.clone());
            }
        }
    }
    all.iter()
        .zip(kept)
        .filter(|(_, kept)| *kept)
        .map(|(d, _)| d.text.as_str())
        .collect()
}

/// `text` uses `name` as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.match_indices(name).any(|(at, _)| {
        !word(text[..at].chars().next_back()) && !word(text[at + name.len()..].chars().next())
    })
}

/// Sends `script` to a root-only file in /run (root's own tmpfs; /dev/shm or /tmp where /run is
/// not writable) and runs it, in one exchange; the script removes the file as it starts and
/// ignores the console's interrupts and hang-ups.
pub(super) async fn run_script(
    session: &mut impl Runner,
    script: &str,
) -> Result<CommandOutput, RemedyError> {
    let script = format!("rm -f -- \"$0\"\ntrap '' INT HUP PIPE\n{script}");
    let limit = script_limit(script.len());
    let name = format!("lifeline-{:016x}.sh", rand::random::<u64>());
    let mut refused = None;
    for dir in ["/run", "/dev/shm", "/tmp"] {
        let path = format!("{dir}/{name}");
        match session.run_file(&path, &script, 0o600, limit).await {
            Ok(out) => return Ok(out),
            Err(ShellError::Transfer(why)) => refused = Some(ShellError::Transfer(why)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(refused.expect("three attempts").into())
}

/// How long a plan of `bytes` may take once typed: [`SCRIPT_TIMEOUT`] for its run, plus the
/// time its last bytes may still spend on the line. A plan carrying a package's copy of a
/// library is hundreds of kB, and a 115200-baud console delivers about 11.5 kB/s of it, base64
/// included, after lifeline's side has finished writing.
fn script_limit(bytes: usize) -> Duration {
    SCRIPT_TIMEOUT + Duration::from_secs((bytes / 4096) as u64)
}

/// Runs library functions on this machine, in a scratch directory that stands in for the
/// guest's (`$T`), with backups under `$T/backups`: for unit tests of the shell side that
/// touch nothing outside the directory. Returns the directory and what the body printed.
///
/// `$T/bin` comes first on `PATH`, and `stub NAME BODY` writes a command there: a test puts a
/// tool the function calls (systemctl, useradd, nft, …) in place of this machine's own, so the
/// function's own logic runs for real and nothing outside `$T` changes.
#[cfg(test)]
pub(crate) fn run_locally(libraries: &[&'static str], body: &str) -> (std::path::PathBuf, String) {
    run_in_scratch(libraries, body, false)
}

/// [`run_locally`] for functions that work on the guest's fixed paths (`/etc/ssh/sshd_config`,
/// `/etc/sudoers.d`, `/etc/os-release`, `/usr/share/openssh`): the body runs in a private
/// mount namespace where `/etc` and `/usr` are copy-on-write (overlays whose upper layers are a
/// tmpfs that goes with the namespace). The function reads and writes those very paths, as on
/// a guest, and this machine's own stay as they are; what a test checks there, the body prints.
/// Needs root (`unshare --mount`, `mount`): without it the test fails, saying so.
#[cfg(test)]
pub(crate) fn run_over_private_etc(
    libraries: &[&'static str],
    body: &str,
) -> (std::path::PathBuf, String) {
    run_in_scratch(libraries, body, true)
}

/// What a local run printed, ready to compare: the scratch root `dir` shown as `T`, the backup
/// records (named by time and a random id) left out.
#[cfg(test)]
pub(crate) fn scrubbed(dir: &std::path::Path, out: &str) -> String {
    out.replace(&dir.display().to_string(), "T")
        .lines()
        .filter(|l| !l.starts_with("ll\tbackup\t"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[cfg(test)]
fn run_in_scratch(
    libraries: &[&'static str],
    body: &str,
    private_etc: bool,
) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("ll-remedy-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let setup = format!(
        "T={}; LL_RUN=$T/run; LL_SDIR=$LL_RUN/step; LL_BACKUP_ROOT=$T/backups; LL_OPERATION=test\n\
         mkdir -p \"$LL_SDIR\" \"$T/bin\" && : >\"$LL_SDIR/manifest\"\n\
         PATH=$T/bin:$PATH\n\
         export T; stub() {{ printf '#!/bin/sh\\n%s\\n' \"$2\" >\"$T/bin/$1\" && chmod 0755 \"$T/bin/$1\"; }}\n",
        quote(&dir.to_string_lossy())
    );
    let all: Vec<&'static str> = RUNTIME[1..].iter().chain(libraries).copied().collect();
    let script = library_script(&all, &format!("{setup}{body}"));
    let mut command = if private_etc {
        let layers = quote(&dir.join("layers").to_string_lossy());
        let overlays = format!(
            "L={layers}; mkdir \"$L\" && mount -t tmpfs lifeline-test \"$L\" || exit 1\n\
             for d in etc usr; do\n\
             mkdir \"$L/$d\" \"$L/$d.work\" &&\n\
             mount -t overlay lifeline-test -o \"lowerdir=/$d,upperdir=$L/$d,workdir=$L/$d.work\" \"/$d\" || exit 1\n\
             done\n"
        );
        let mut c = std::process::Command::new("unshare");
        c.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!("{overlays}{script}"));
        c
    } else {
        let mut c = std::process::Command::new("sh");
        c.arg("-c").arg(script);
        c
    };
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.stderr.is_empty(),
        "the shell complained{}: {}\n{stdout}",
        if private_etc {
            " (a private /etc needs root: unshare --mount, mount)"
        } else {
            ""
        },
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan carrying a 2 MB package copy gets the time a 115200-baud console (11.5 kB/s)
    /// takes to deliver it in base64, on top of the run's own.
    #[test]
    fn a_large_plan_is_given_the_time_the_line_needs() {
        let bytes = 2_000_000;
        let on_the_line = Duration::from_secs((bytes * 4 / 3 / 11_500) as u64);
        assert!(script_limit(bytes) > SCRIPT_TIMEOUT + on_the_line);
        assert!(script_limit(20_000) < SCRIPT_TIMEOUT + Duration::from_secs(10));
    }

    #[test]
    fn secrets_are_withheld_from_the_shown_script() {
        let mut plan = Plan::new("user reset-password");
        let hash = plan.secret(Secret::new("$6$salt$hash"));
        let plan = plan.step("set it", format!("ll_set_password u '{hash}'"));
        let shown = plan.script();
        assert!(shown.contains("ll_set_password u '<withheld>'"));
        assert!(!shown.contains("$6$salt$hash"));
        let real = plan.render(|i| plan.secrets[i].expose());
        assert!(real.contains("ll_set_password u '$6$salt$hash'"));
    }

    #[test]
    fn secret_data_reaches_its_file_and_is_withheld_from_the_shown_script() {
        let plan = Plan::new("rescue")
            .secret_data("given_hash", Secret::new("$6$salt$hash"))
            .step("read it", "cat \"$LL_RUN/given_hash\"");
        let shown = plan.script();
        assert!(
            shown.contains("<withheld>") && !shown.contains("$6$salt$hash"),
            "{shown}"
        );
        let real = plan.render(|i| plan.secrets[i].expose());
        assert!(
            real.contains("<<'LL_DATA'\n$6$salt$hash\nLL_DATA\n"),
            "{real}"
        );
    }

    #[test]
    fn only_the_library_definitions_the_steps_reach_are_sent() {
        const LIBRARY: &str = "# a library\nLL_ZZ_USED=1\nLL_ZZ_UNUSED=2\n\
                               ll_zz_a() {\n    ll_zz_b \"$LL_ZZ_USED\"\n}\n\
                               ll_zz_b() {\n    if true; then\n        echo b\n    fi\n}\n\
                               ll_zz_c() {\n    echo c\n}\n";
        let plan = Plan::new("x").library(LIBRARY).step("a", "ll_zz_a");
        let script = plan.script();
        assert!(
            script.contains("ll_zz_a() {") && script.contains("ll_zz_b() {"),
            "{script}"
        );
        assert!(script.contains("LL_ZZ_USED=1"), "{script}");
        assert!(
            !script.contains("ll_zz_c") && !script.contains("LL_ZZ_UNUSED"),
            "{script}"
        );
        let status = std::process::Command::new("sh")
            .args(["-n", "-c", &script])
            .status()
            .unwrap();
        assert!(status.success(), "sh -n rejects the script");
    }

    #[test]
    fn the_runtime_is_sent_without_comments_and_parses() {
        let plan = Plan::new("x").step("noop", "true");
        let script = plan.script();
        assert!(
            !script
                .lines()
                .any(|l| l.starts_with('#') || l.starts_with(' '))
        );
        let status = std::process::Command::new("sh")
            .args(["-n", "-c", &script])
            .status()
            .unwrap();
        assert!(status.success(), "sh -n rejects the script");
    }

    /// `body` run locally after the runtime; the scratch root is removed.
    fn local(body: &str) -> String {
        let (dir, out) = run_locally(&[], body);
        std::fs::remove_dir_all(dir).ok();
        out
    }

    #[test]
    fn begin_makes_a_private_scratch_directory_that_goes_with_the_run() {
        let out = local(
            "( ll_begin; [ -d \"$LL_RUN\" ] && printf '%s\\n' \"$LL_RUN\" >\"$T/where\"; \
             echo \"mode $(stat -c %a \"$LL_RUN\") steps $LL_STEPS\" )\n\
             [ -e \"$(cat \"$T/where\")\" ] || echo removed",
        );
        assert_eq!(out, "mode 700 steps 0\nremoved\n");
    }

    #[test]
    fn a_step_that_fails_or_leaves_sshd_rejecting_is_rolled_back_and_the_rest_skipped() {
        let out = local(
            "LL_FAILED= LL_STEPS=0 LL_BDIR= LL_SSHD_CHANGED=\n\
             stub sshd 'echo \"line 3: Bad option\" >&2; exit 255'; LL_SSHD=$T/bin/sshd\n\
             printf 'before\\n' >\"$T/f\"\n\
             printf 'one\\n' >\"$T/one\"; printf 'two\\n' >\"$T/two\"\n\
             one() { ll_put \"$T/f\" 0644 0:0 <\"$T/one\"; }\n\
             two() { ll_put \"$T/f\" 0644 0:0 <\"$T/two\" && LL_STEP_SSHD=1; }\n\
             three() { echo never >\"$T/three\"; }\n\
             ll_step first one; ll_step second two; ll_step third three\n\
             echo \"now $(cat \"$T/f\") failed=$LL_FAILED\"; [ -e \"$T/three\" ] || echo 'three never ran'\n\
             LL_FAILED= ; silent() { false; }; ll_step quiet silent\n\
             LL_FAILED= ; ok() { ll_fail 'not this'; true; }; ll_step_validate && ll_step fine ok",
        );
        let t = out.lines().next().unwrap_or_default();
        assert!(t.starts_with("ll\tbackup\t"), "{out}");
        let rest: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(
            rest[0],
            "ll\tchanged\t".to_string() + &path_of(&out, "f") + "\trewritten"
        );
        assert_eq!(rest[1], "ll\tstep\tfirst\tok");
        assert_eq!(
            rest[2],
            "ll\tchanged\t".to_string() + &path_of(&out, "f") + "\trewritten"
        );
        assert_eq!(
            rest[3],
            "ll\tstep\tsecond\tfailed\tsshd -t rejects the new configuration: line 3: Bad option"
        );
        assert!(
            rest[4].starts_with("ll\trollback\t") && rest[4].ends_with("as recorded"),
            "{out}"
        );
        assert_eq!(rest[5], "ll\tvalidate\tfailed\tline 3: Bad option");
        assert_eq!(rest[6], "ll\tstep\tthird\tskipped\tan earlier step failed");
        assert_eq!(rest[7], "now one failed=second");
        assert_eq!(rest[8], "three never ran");
        assert_eq!(
            rest[9],
            "ll\tstep\tquiet\tfailed\ta command failed without saying why; see other_output"
        );
        assert_eq!(rest[10], "ll\tstep\tfine\tok", "{out}");
    }

    /// The scratch root's path, read back from a `changed` record naming `name` in it.
    fn path_of(out: &str, name: &str) -> String {
        let suffix = format!("/{name}");
        out.split('\t')
            .find(|f| f.ends_with(&suffix))
            .unwrap_or_else(|| panic!("no path ending in {suffix}: {out}"))
            .to_string()
    }

    #[test]
    fn finish_restarts_and_verifies_and_puts_everything_back_when_ssh_stops_answering() {
        let verify = "ll_sshd_service() { echo \"service forced=$1\"; [ ! -e \"$T/broken\" ]; }\n\
                      ll_verify() { echo \"verify tries=$1\"; [ -e \"$T/up\" ]; }\n\
                      LL_FAILED= LL_BDIR= LL_WAS_OK=\n";
        let up = local(&format!(
            "{verify}: >\"$T/up\"; LL_SSHD_CHANGED=1; ll_finish; echo \"status $?\""
        ));
        assert_eq!(up, "service forced=1\nverify tries=10\nstatus 0\n");
        let failed = local(&format!(
            "{verify}: >\"$T/broken\"; ll_restart_and_verify; echo \"status $?\""
        ));
        assert_eq!(failed, "service forced=\nverify tries=1\nstatus 1\n");
        let down = local(&format!(
            "{verify}printf 'was\\n' >\"$T/f\"; printf 'new\\n' >\"$T/new\"; ll_put \"$T/f\" 0600 0:0 <\"$T/new\" >/dev/null\n\
             LL_WAS_OK=1; ll_finish; echo \"status $? $(cat \"$T/f\")\""
        ));
        let lines: Vec<&str> = down.lines().collect();
        assert_eq!(lines[0], "service forced=");
        assert_eq!(lines[1], "verify tries=10");
        assert_eq!(
            lines[2],
            "ll\tnote\tSSH answered before this run and does not now: putting everything back"
        );
        assert!(lines[3].starts_with("ll\trollback\t"), "{down}");
        assert_eq!(
            lines[4..],
            ["service forced=1", "verify tries=10", "status 1 was"]
        );
    }
}
