//! The environment of the commands lifeline starts for the operator (`cmd:` consoles,
//! `--reset-cmd`): lifeline's own environment holds the passwords (`--password-env`), so a
//! child gets only what finds programs, the user, the terminal and the locale, and what
//! `ssh host virsh …` or a libvirt URI needs.

use std::ffi::{OsStr, OsString};

const PASSED_ON: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
    "SSH_AUTH_SOCK",
    "KRB5CCNAME",
    "LIBVIRT_DEFAULT_URI",
    "VIRSH_DEFAULT_CONNECT_URI",
];

/// The part of lifeline's environment a child gets; start it with `env_clear()` first.
pub fn child_environment() -> impl Iterator<Item = (OsString, OsString)> {
    passed_on(std::env::vars_os())
}

/// The part of `vars` a child gets (`PASSED_ON` and the `LC_*` locale variables).
fn passed_on(
    vars: impl Iterator<Item = (OsString, OsString)>,
) -> impl Iterator<Item = (OsString, OsString)> {
    vars.filter(|(name, _)| {
        let name: &OsStr = name;
        name.to_str()
            .is_some_and(|n| PASSED_ON.contains(&n) || n.starts_with("LC_"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_passed_on_variables_reach_a_child() {
        let vars = [
            ("PATH", "/bin"),
            ("LC_ALL", "C"),
            ("PW", "hunter2"),
            ("HOME", "/h"),
        ]
        .map(|(n, v)| (OsString::from(n), OsString::from(v)));
        let kept: Vec<_> = passed_on(vars.into_iter()).map(|(n, _)| n).collect();
        assert_eq!(kept, ["PATH", "LC_ALL", "HOME"]);
    }
}
