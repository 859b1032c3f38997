//! Drawing a breakage from classes: a damaged file (any file sshd or a login needs, read from
//! the guest), an option injected where sshd reads options, a unit stopped or masked, or two of
//! these together. A draw is a pure function of its seed, so every failure replays.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::fmt;

/// One way of breaking SSH: what it does in words and the root shell that does it.
pub struct Breakage {
    pub what: String,
    pub shell: String,
}

impl fmt::Display for Breakage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

/// The shell that lists the files sshd and a login need on the guest: its configuration and
/// keys, its binary and the libraries it loads, PAM and the modules it names, the account
/// databases, the user's home and keys and shell, the unit and its environment file. With
/// `boot`, also what the boot and the console's login need (/etc/fstab, the login's and the
/// fallback PAM service, the shadow group file, login.defs): breakages a rescue can reach
/// only by breaking in, so drawn only when reboots are allowed (the CI sample's draws stay
/// as they are).
pub fn pool_command(user: &str, boot: bool) -> String {
    let boot_files = if boot {
        "/etc/fstab /etc/pam.d/login /etc/pam.d/other /etc/gshadow /etc/login.defs"
    } else {
        ""
    };
    format!(
        "{{ ls -d {boot_files} /etc/ssh/sshd_config /etc/ssh/sshd_config.d /etc/ssh/sshd_config.d/* /etc/ssh/ssh_host_* \
/etc/ssh/moduli /etc/ssh /usr/sbin/sshd /usr/lib/openssh/sftp-server /etc/pam.d/sshd /etc/pam.d/common-* \
/etc/passwd /etc/shadow /etc/group /etc/nsswitch.conf /etc/default/ssh /lib/systemd/system/ssh.service \
/etc/shells /run/sshd /etc/environment /etc/security/limits.conf /etc/security/access.conf; \
h=$(getent passwd {user} | cut -d: -f6); ls -d \"$h\" \"$h/.ssh\" \"$h/.ssh/authorized_keys\"; \
getent passwd {user} | cut -d: -f7; \
ldd /usr/sbin/sshd | awk '/=>/ {{print $3}}'; \
for m in $(grep -ho 'pam_[a-z0-9_]*\\.so' /etc/pam.d/sshd /etc/pam.d/common-* | sort -u); do ls /lib/*/security/$m /usr/lib/*/security/$m; done; \
}} 2>/dev/null | grep -v -e '/libc\\.so' -e '/ld-linux' | sort -u"
    )
}

/// Draws the breakage of `seed` for `user`, with files from `pool`.
pub fn draw(seed: u64, user: &str, pool: &[String]) -> Breakage {
    let mut rng = StdRng::seed_from_u64(seed);
    if rng.random_range(0..5) == 0 {
        let first = one(&mut rng, user, pool);
        let second = one(&mut rng, user, pool);
        Breakage {
            what: format!("{first} + {second}"),
            shell: format!("{}\n{}", first.shell, second.shell),
        }
    } else {
        one(&mut rng, user, pool)
    }
}

fn one(rng: &mut StdRng, user: &str, pool: &[String]) -> Breakage {
    match rng.random_range(0..10) {
        0..=4 => file(rng, pool),
        5..=8 => option(rng, user),
        _ => unit(rng),
    }
}

fn file(rng: &mut StdRng, pool: &[String]) -> Breakage {
    let path = pool.choose(rng).expect("a pool of files");
    let (what, shell) = match rng.random_range(0..5) {
        0 => ("delete".to_string(), format!("rm -rf '{path}'")),
        1 => (
            "truncate".into(),
            format!("[ -d '{path}' ] || : > '{path}'"),
        ),
        2 => {
            let mode = ["000", "777", "666", "600", "700", "644", "400", "755"]
                .choose(rng)
                .unwrap();
            (format!("chmod {mode}"), format!("chmod {mode} '{path}'"))
        }
        3 => (
            "chown nobody".into(),
            format!("chown nobody:nogroup '{path}'"),
        ),
        _ => {
            let at = rng.random_range(0..4096u32);
            (
                format!("corrupt at {at}"),
                format!(
                    "[ -f '{path}' ] && s=$(stat -c %s '{path}') && [ \"$s\" -gt 0 ] && \
                     printf 'x#%%\\000garbage\\n' | dd of='{path}' bs=1 seek=$(({at} % s)) conv=notrunc 2>/dev/null"
                ),
            )
        }
    };
    Breakage {
        what: format!("{what} {path}"),
        shell: format!("{shell}; {RESTART}"),
    }
}

/// After a file or an option changed, sshd is restarted so the change takes effect (as the
/// next boot or the next restart would).
const RESTART: &str = "systemctl daemon-reload; systemctl restart ssh.service; true";

/// An option sshd will read, with a value that keeps the user out.
fn bad_option(rng: &mut StdRng, user: &str) -> (String, String) {
    let port = rng.random_range(1025..60000u16).to_string();
    let pick: [(&str, String); 12] = [
        ("Port", port),
        (
            "ListenAddress",
            format!(
                "10.{}.{}.9",
                rng.random_range(0..255u8),
                rng.random_range(0..255u8)
            ),
        ),
        ("AllowUsers", "nobody".into()),
        ("DenyUsers", user.into()),
        ("AllowGroups", "nogroup".into()),
        ("AuthorizedKeysFile", "/etc/ssh/keys/%u".into()),
        ("ForceCommand", "/bin/false".into()),
        ("HostKey", "/etc/ssh/ssh_host_missing_key".into()),
        ("Bogus", "yes".into()),
        ("PidFile", "/nonexistent/sshd.pid".into()),
        ("ChrootDirectory", "/nonexistent".into()),
        ("MaxStartups", "0".into()),
    ];
    let (key, value) = pick.choose(rng).unwrap().clone();
    (key.to_string(), value)
}

fn option(rng: &mut StdRng, user: &str) -> Breakage {
    let (key, value) = bad_option(rng, user);
    let line = format!("{key} {value}");
    let unit_dir = "/etc/systemd/system/ssh.service.d";
    let (place, shell) = match rng.random_range(0..7) {
        0 => (
            "sshd_config (top)",
            format!("sed -i '1i {line}' /etc/ssh/sshd_config"),
        ),
        1 => (
            "sshd_config (end)",
            format!("echo '{line}' >> /etc/ssh/sshd_config"),
        ),
        2 => (
            "a drop-in",
            format!(
                "echo '{line}' > /etc/ssh/sshd_config.d/{:02}-site.conf",
                rng.random_range(0..100)
            ),
        ),
        3 => (
            "an Include",
            format!(
                "echo '{line}' > /etc/ssh/site.conf && sed -i '1i Include /etc/ssh/site.conf' /etc/ssh/sshd_config"
            ),
        ),
        4 => (
            "the unit's ExecStart",
            format!(
                "mkdir -p {unit_dir} && printf '[Service]\\nExecStart=\\nExecStart=/usr/sbin/sshd -D -o \"{key}={value}\"\\n' > {unit_dir}/site.conf"
            ),
        ),
        5 => (
            "/etc/default/ssh",
            format!("echo 'SSHD_OPTS=\"-o {key}={value}\"' >> /etc/default/ssh"),
        ),
        _ => {
            let flag = match rng.random_range(0..3) {
                0 => "-p 2222".to_string(),
                1 => "-f /etc/ssh/nonexistent_config".to_string(),
                _ => "-h /etc/ssh/ssh_host_missing_key".to_string(),
            };
            return Breakage {
                what: format!("sshd command line {flag} (unit Environment)"),
                shell: format!(
                    "mkdir -p {unit_dir} && printf '[Service]\\nEnvironment=\"SSHD_OPTS={flag}\"\\n' > {unit_dir}/site.conf; {RESTART}"
                ),
            };
        }
    };
    Breakage {
        what: format!("{line} in {place}"),
        shell: format!("{shell}; {RESTART}"),
    }
}

fn unit(rng: &mut StdRng) -> Breakage {
    let (what, shell) = *[
        ("stop ssh.service", "systemctl stop ssh.service"),
        (
            "mask and stop ssh.service",
            "systemctl mask ssh.service && systemctl stop ssh.service",
        ),
        (
            "disable and stop ssh.service",
            "systemctl disable ssh.service && systemctl stop ssh.service",
        ),
        ("freeze sshd (SIGSTOP)", "pkill -STOP -x sshd"),
        (
            "sshd_not_to_be_run",
            "touch /etc/ssh/sshd_not_to_be_run && systemctl stop ssh.service",
        ),
    ]
    .choose(rng)
    .unwrap();
    Breakage {
        what: what.into(),
        shell: format!("{shell}; true"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_draws_the_same_breakage() {
        let pool = vec![
            "/etc/ssh/sshd_config".to_string(),
            "/usr/sbin/sshd".to_string(),
        ];
        for seed in 0..50 {
            assert_eq!(draw(seed, "u", &pool).shell, draw(seed, "u", &pool).shell);
        }
    }
}
