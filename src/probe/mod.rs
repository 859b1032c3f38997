//! The probe: one POSIX sh script shipped inside the binary that collects, in one pass over the
//! console, every fact the rules need, and the parser that turns its output into [`Facts`].
//!
//! One pass because every command over a serial console costs a round trip through the
//! console server: the script goes up with the session's long-script transfer and comes back
//! as one command's output. The script is read-only and bounds every command it runs in time
//! (see probe.sh); its output format is versioned ([`parse::FORMAT_VERSION`]).

pub mod facts;
pub mod firewall;
pub mod fstab;
pub mod parse;
pub mod sshd_config;

pub use facts::Facts;
pub use parse::{ParseError, parse};

use crate::exit::ExitClass;
use crate::shell::{Runner, ShellError};
use std::time::{Duration, Instant};

/// The probe as written, comments and all (see [`script_for`] for what is sent).
pub const SCRIPT: &str = include_str!("probe.sh");

/// What a sound login file looks like (`ll_login_files_flaws`; `ll_login_file_flaw` for one
/// file): sent before the probe, which judges the guest's files with it, and a library of the
/// rescue, which judges its repairs.
pub const LOGIN_FILES: &str = include_str!("login_files.sh");

/// The fingerprints of the user's authorized keys (`ll_authorized_fingerprints`), sent with the
/// probe, which calls it once it knows which files sshd consults.
const AUTHORIZED_FINGERPRINTS: &str = include_str!("authorized_fingerprints.sh");

/// The files sshd and a login run or load, with their owners and modes (`ll_sshd_files`, one
/// section of the probe): sent with the probe.
pub const SSHD_FILES: &str = include_str!("sshd_files.sh");

/// The PAM modules the login path's stacks load, missing or changed (`ll_pam_damage`, one
/// section of the probe): sent with the probe.
const PAM_MODULES: &str = include_str!("pam_modules.sh");

/// The libraries on the login path that are not what their package installed, with what it
/// takes to fetch the package (`ll_package_files`, one md5sum and two awk).
pub const PACKAGE_FILES: &str = include_str!("package_files.sh");

/// How long the probe may take on the guest. Each command in it is bounded (5–15 s), so this
/// only trips when the guest is far slower than any we have measured (TCG: about 5 s).
pub const TIME_LIMIT: Duration = Duration::from_secs(180);

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(
        "{0:?} is not a valid user name (letters, digits, '.', '_', '-'; at most 32 characters)"
    )]
    InvalidUser(String),
    #[error(transparent)]
    Shell(#[from] ShellError),
    #[error("{error}; the output ended with:\n{tail}")]
    Parse { error: ParseError, tail: String },
}

impl ProbeError {
    /// The exit class of this failure (see [`crate::exit`]).
    pub fn exit_class(&self) -> ExitClass {
        match self {
            ProbeError::Shell(e) => e.exit_class(),
            ProbeError::InvalidUser(_) => ExitClass::Usage,
            ProbeError::Parse { .. } => ExitClass::Software,
        }
    }
}

/// What one probe run produced, and what it cost.
#[derive(Debug, Clone)]
pub struct Collected {
    pub facts: Facts,
    /// The script as sent (before the session's encoding).
    pub script_bytes: usize,
    /// The probe's output (after the session's decoding).
    pub output_bytes: usize,
    /// From sending the script to having parsed its output.
    pub elapsed: Duration,
}

/// The script to send for `user`: the user's name, then the probe without comments and
/// indentation (a third of its size, and every byte crosses a slow console twice, typed and
/// echoed).
pub fn script_for(user: &str) -> Result<String, ProbeError> {
    let valid = !user.is_empty()
        && user.len() <= 32
        && !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        return Err(ProbeError::InvalidUser(user.to_string()));
    }
    Ok(format!(
        "LL_USER='{user}'\n{}{}{}{}{}{}",
        crate::posix_sh::minify(LOGIN_FILES),
        crate::posix_sh::minify(PACKAGE_FILES),
        crate::posix_sh::minify(AUTHORIZED_FINGERPRINTS),
        crate::posix_sh::minify(SSHD_FILES),
        crate::posix_sh::minify(PAM_MODULES),
        crate::posix_sh::minify(SCRIPT)
    ))
}

/// Runs the probe as `user`'s diagnosis on a root session and parses what it printed.
pub async fn collect(session: &mut impl Runner, user: &str) -> Result<Collected, ProbeError> {
    let script = script_for(user)?;
    let started = Instant::now();
    let out = session.run_with_timeout(&script, TIME_LIMIT).await?;
    let text = out.text();
    let facts = parse(&text).map_err(|error| ProbeError::Parse {
        error,
        tail: tail(&text, 10),
    })?;
    Ok(Collected {
        facts,
        script_bytes: script.len(),
        output_bytes: out.output.len(),
        elapsed: started.elapsed(),
    })
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn user_names_are_checked_before_they_reach_a_shell() {
        assert!(
            script_for("azureuser")
                .unwrap()
                .starts_with("LL_USER='azureuser'\n")
        );
        for bad in ["", "a'b", "a b", "-rf", "$(reboot)", &"x".repeat(33)] {
            assert!(script_for(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_minified_probe_is_much_smaller_and_still_parses_as_sh() {
        let small = crate::posix_sh::minify(SCRIPT);
        assert!(
            small.len() * 10 < SCRIPT.len() * 8,
            "{} of {}",
            small.len(),
            SCRIPT.len()
        );
        for shell in ["dash", "bash", "busybox"] {
            let mut cmd = Command::new(shell);
            if shell == "busybox" {
                cmd.arg("sh");
            }
            let out = cmd
                .args(["-n", "-c", &small])
                .output()
                .unwrap_or_else(|e| panic!("{shell} is needed to test the probe: {e}"));
            assert!(
                out.status.success(),
                "{shell}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// `ll_package_files` names a file whose checksum is not dpkg's record, through a link to
    /// it, with its package's architecture, version and source from dpkg's status, and a
    /// recorded file that is gone, through the link left dangling; a file as recorded and files
    /// dpkg does not know (there or gone) are not named.
    #[test]
    fn files_that_are_not_what_their_package_installed_are_named() {
        let dir = std::env::temp_dir().join(format!("ll-pkgfiles-{}", std::process::id()));
        let (usr_lib, info) = (dir.join("usr/lib"), dir.join("db/info"));
        std::fs::create_dir_all(&usr_lib).unwrap();
        std::fs::create_dir_all(&info).unwrap();
        std::fs::write(usr_lib.join("libgood.so.1.0"), "good").unwrap();
        std::fs::write(usr_lib.join("libbad.so.2.0"), "truncat").unwrap();
        std::fs::write(usr_lib.join("libstray.so"), "stray").unwrap();
        std::os::unix::fs::symlink("libbad.so.2.0", usr_lib.join("libbad.so.2")).unwrap();
        std::os::unix::fs::symlink("libgood.so.3.0", usr_lib.join("libgood.so.3")).unwrap();
        let md5 = |text: &str| format!("{:x}", md5::compute(text));
        // Recorded as the package installed them: `lib/…` below the merged root's usr/.
        let root = dir.strip_prefix("/").unwrap().display().to_string();
        std::fs::write(
            info.join("libgood1:amd64.md5sums"),
            format!(
                "{}  {root}/usr/lib/libgood.so.1.0\n{}  {root}/usr/lib/libgood.so.3.0\n",
                md5("good"),
                md5("deleted")
            ),
        )
        .unwrap();
        std::fs::write(
            info.join("libbad2.md5sums"),
            format!("{}  {root}/usr/lib/libbad.so.2.0\n", md5("truncated")),
        )
        .unwrap();
        std::fs::write(
            dir.join("db/status"),
            "Package: libgood1\nArchitecture: amd64\nVersion: 1.0-1\n\n\
             Package: libbad2\nSource: bad (2.0-3)\nVersion: 1:2.0-3+b1\nArchitecture: amd64\n",
        )
        .unwrap();
        let lib = usr_lib.display();
        let script = format!(
            "set -f\nsec() {{ printf '@%s\\n' \"$1\"; }}\nt() {{ shift; \"$@\"; }}\n\
             {PACKAGE_FILES}\nLL_DPKG={}/db ll_package_files {lib}/libgood.so.1.0 \
             {lib}/libbad.so.2 {lib}/libbad.so.2.0 {lib}/libstray.so {lib}/libgone.so {lib}/libgood.so.3",
            dir.display()
        );
        // In the order of dpkg's lists (libbad2's before libgood1's).
        let want = format!(
            "@package_files\n{lib}/libbad.so.2.0\t{root}/usr/lib/libbad.so.2.0\tlibbad2\tamd64\t\
             1:2.0-3+b1\tbad\t{}\n{lib}/libgood.so.3.0\t{root}/usr/lib/libgood.so.3.0\tlibgood1\t\
             amd64\t1.0-1\tlibgood1\t{}\n",
            md5("truncated"),
            md5("deleted")
        );
        for shell in ["dash", "bash"] {
            let out = Command::new(shell).args(["-c", &script]).output().unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{shell}");
        }
        // An md5sum that runs out of time judges nothing: the files it had not summed yet
        // would all read as damaged.
        let timed_out = script.replace(
            "t() { shift; \"$@\"; }",
            "t() { shift; \"$@\" | head -n 1; return 124; }",
        );
        assert_ne!(timed_out, script);
        let out = Command::new("dash")
            .args(["-c", &timed_out])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "@package_files\n@errors\nmd5sum timed out after 20 s: no file was judged\n"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// `ll_authorized_fingerprints` prints one line per key ssh-keygen reads in the files it
    /// is given (options before a key and lines that are no key included), and skips files
    /// that do not exist; the fingerprints are ssh-keygen's own.
    #[test]
    fn authorized_fingerprints_are_listed_per_file_and_key() {
        let dir = std::env::temp_dir().join(format!("ll-akfp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        use crate::login::client_facts::ssh_keygen as keygen;
        let mut public = Vec::new();
        let mut fingerprints = Vec::new();
        for (name, kind) in [("ed", "ed25519"), ("ec", "ecdsa")] {
            let key = dir.join(name);
            let key = key.to_str().unwrap();
            keygen(&["-q", "-t", kind, "-N", "", "-C", "op@host", "-f", key]);
            public.push(std::fs::read_to_string(format!("{key}.pub")).unwrap());
            let printed = keygen(&["-lf", &format!("{key}.pub")]);
            fingerprints.push(printed.split_whitespace().nth(1).unwrap().to_string());
        }
        let (one, two) = (dir.join("one"), dir.join("two"));
        std::fs::write(
            &one,
            format!("# mine\nno-pty,from=\"10.0.0.0/8\" {}", public[0]),
        )
        .unwrap();
        std::fs::write(&two, format!("not a key\n{}{}", public[1], public[0])).unwrap();
        let script = format!(
            "TAB=$(printf '\\t'); LL_IFS=$IFS; set -f\n\
             sec() {{ printf '@%s\\n' \"$1\"; }}\n\
             has() {{ command -v \"$1\" >/dev/null 2>&1; }}\n\
             t() {{ shift; \"$@\"; }}\n\
             {AUTHORIZED_FINGERPRINTS}\n\
             ll_authorized_fingerprints \"$TAB{}$TAB{}/gone$TAB{}\"",
            one.display(),
            dir.display(),
            two.display()
        );
        let want = format!(
            "@authorized_fp\n{one}\t{0}\t(ED25519)\n{two}\t{1}\t(ECDSA)\n{two}\t{0}\t(ED25519)\n",
            fingerprints[0],
            fingerprints[1],
            one = one.display(),
            two = two.display()
        );
        for shell in ["dash", "busybox"] {
            let mut cmd = Command::new(shell);
            if shell == "busybox" {
                cmd.arg("sh");
            }
            let out = cmd.args(["-c", &script]).output().unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{shell}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// `ll_pam_modules` lists each module of a service's stack and the files it includes
    /// (`ll_pam_find_dirs` finds them), marks those PAM skips when missing (`-type`,
    /// `module_unknown=ignore`) and names each stack file that cannot be read.
    #[test]
    fn a_services_pam_modules_are_listed_found_or_missing() {
        let body = format!(
            "TAB=$(printf '\\t')\nsec() {{ printf '@%s\\n' \"$1\"; }}\nset -f\n\
             {PAM_MODULES}\n\
             printf '# c\\nauth [success=1 default=ignore module_unknown=ignore] pam_nosuch1.so\\n\
             -session optional pam_nosuch2.so\\naccount required pam_unix.so\\n\
             @include lltest-inc\\n@include lltest-gone\\n' >/etc/pam.d/lltest\n\
             printf 'password substack lltest-inc\\nsession required pam_nosuch3.so\\n' \
             >/etc/pam.d/lltest-inc\n\
             ll_pam_modules lltest"
        );
        let (dir, out) = crate::remedy::plan::run_over_private_etc(&[], &body);
        std::fs::remove_dir_all(dir).ok();
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("@pam"), "{out}");
        let mut listed: Vec<&str> = lines.collect();
        listed.sort_unstable();
        assert_eq!(
            listed,
            [
                "-pam_nosuch1.so missing",
                "-pam_nosuch2.so missing",
                "nofile /etc/pam.d/lltest-gone",
                "pam_nosuch3.so missing",
                "pam_unix.so ok",
            ],
            "{out}"
        );
    }

    /// `ll_pam_damage` over this machine's own stacks, in a private copy of /usr where one
    /// module is corrupted and one deleted: each line that loads them is listed with dpkg's
    /// package and record, and no other (`ll_pam_stack_lines` reads the stacks). Needs root and
    /// a Debian build machine (dpkg's checksums, /etc/pam.d/login).
    #[test]
    fn damaged_and_missing_pam_modules_of_the_login_stacks_are_listed() {
        let body = format!(
            "NL='\n'\nsec() {{ printf '@%s\\n' \"$1\"; }}\nt() {{ shift; \"$@\"; }}\nset -f\n\
             {PAM_MODULES}\n\
             set +f; d=$(dirname \"$(ls /usr/lib/*/security/pam_env.so | head -n 1)\"); set -f\n\
             printf 'corrupt' | dd of=\"$d/pam_env.so\" bs=1 seek=2000 conv=notrunc 2>/dev/null\n\
             rm \"$d/pam_limits.so\"\n\
             printf 'session\\toptional\\tpam_env.so\\n' >>/etc/pam.d/login\n\
             printf -- '-session optional pam_env.so\\n-session optional pam_limits.so\\n' >>/etc/pam.d/login\n\
             ll_pam_stack_lines /etc/pam.d/login 0 | grep -c pam_limits.so\n\
             ll_pam_damage; cat /etc/pam.d/login"
        );
        let (dir, out) = crate::remedy::plan::run_over_private_etc(&[], &body);
        std::fs::remove_dir_all(dir).ok();
        let mut lines = out.lines();
        assert_eq!(
            lines.next(),
            Some("2"),
            "login loads pam_limits once, and once more where it may be missing: {out}"
        );
        assert_eq!(lines.next(), Some("@pam_damage"), "{out}");
        let (damage, login): (Vec<&str>, Vec<&str>) =
            lines.partition(|l| l.split('\t').count() >= 10);
        let listed: Vec<Vec<&str>> = damage
            .iter()
            .map(|l| l.splitn(10, '\t').collect())
            .collect();
        // Each line as the file has it, tabs and all: a fix that sets it aside finds it so.
        for line in listed.iter().filter(|l| l[0] == "/etc/pam.d/login") {
            let n: usize = line[1].parse().unwrap();
            assert_eq!(line[9], login[n - 1], "{out}");
        }
        assert!(
            listed
                .iter()
                .any(|l| l[9] == "session\toptional\tpam_env.so"),
            "{out}"
        );
        // PAM skips a "-" line whose module is missing, not one whose module is damaged.
        let texts: Vec<&str> = listed.iter().map(|l| l[9]).collect();
        assert!(texts.contains(&"-session optional pam_env.so"), "{out}");
        assert!(!texts.contains(&"-session optional pam_limits.so"), "{out}");
        assert!(!listed.is_empty(), "{out}");
        for line in &listed {
            let (module, state, package) = (line[2], line[3], line[5]);
            let want = match module {
                "pam_env.so" => "changed",
                "pam_limits.so" => "missing",
                _ => panic!("{module} listed: {out}"),
            };
            assert_eq!(state, want, "{out}");
            assert_eq!(package, "libpam-modules", "{out}");
            assert!(line[7].ends_with(&format!("/security/{module}")), "{out}");
        }
        for module in ["pam_env.so", "pam_limits.so"] {
            assert!(
                listed
                    .iter()
                    .any(|l| l[0] == "/etc/pam.d/login" && l[2] == module),
                "{module}: {out}"
            );
        }
    }

    /// The probe runs here too (no sshd on a build machine, but every section must come out
    /// and parse), and says the same under each shell the issue names.
    #[test]
    fn the_probe_runs_under_dash_bash_and_busybox_and_parses() {
        let script = script_for("root").unwrap();
        let mut outputs = Vec::new();
        for shell in ["dash", "bash", "busybox"] {
            let mut cmd = Command::new(shell);
            if shell == "busybox" {
                cmd.arg("sh");
            }
            let out = cmd
                .args(["-c", &script])
                .output()
                .unwrap_or_else(|e| panic!("{shell} is needed to test the probe: {e}"));
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let facts = parse(&text).unwrap_or_else(|e| panic!("{shell}: {e}\n{text}"));
            assert_eq!(facts.user, "root", "{shell}");
            assert!(facts.account.exists, "{shell}: root's account");
            assert_eq!(facts.account.home.as_deref(), Some("/root"), "{shell}");
            assert!(!facts.disks.is_empty(), "{shell}: df");
            // ll_sshd_files names root's login shell and the PAM modules of Debian's common
            // files (no sshd here), each with its owner and mode.
            let files = &facts.sshd_files.files;
            let login_shell = facts.account.shell.as_deref().unwrap_or("?");
            assert!(
                files
                    .iter()
                    .any(|f| f.path == login_shell && f.stat.is_some()),
                "{shell}: {files:?}"
            );
            assert!(
                files.iter().any(|f| f.path.ends_with("/pam_unix.so")
                    && f.stat.as_ref().is_some_and(|s| s.uid == 0)),
                "{shell}: {files:?}"
            );
            outputs.push((shell, facts.account.groups.clone(), facts.config.ports()));
        }
        assert!(
            outputs
                .windows(2)
                .all(|w| w[0].1 == w[1].1 && w[0].2 == w[1].2),
            "{outputs:?}"
        );
    }
}
