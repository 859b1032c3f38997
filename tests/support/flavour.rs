//! What an administrator types differs between the test guest's flavours
//! (`scripts/guest-build --flavour`): the scenario table names a service action by a placeholder
//! (`{stop}`, `{disable_now}`, `{mask_now}`, `{restart}`), and each flavour fills it in with
//! the command its service manager takes; a reboot and the boot it waits for differ too.

/// `(placeholder, command)` for each service action on `flavour`; bookworm's (and trixie's) are
/// the systemd commands on ssh.service the table always ran.
pub fn service_actions(flavour: &str) -> &'static [(&'static str, &'static str)] {
    match flavour {
        // sshd runs from ssh.socket (Ubuntu's layout): stopping, disabling or masking sshd is
        // done to the socket and the service it started, and a configuration takes effect
        // after the generator's daemon-reload and a restart of the socket, with the running
        // service stopped so that the next connection starts one that reads it (Ubuntu's
        // advice for a changed Port; `systemctl restart ssh` alone keeps the socket's ports).
        "socket" => &[
            ("{stop}", "systemctl stop ssh.socket ssh.service"),
            (
                "{disable_now}",
                "systemctl disable --now ssh.socket ssh.service",
            ),
            ("{mask_now}", "systemctl mask --now ssh.socket ssh.service"),
            (
                "{restart}",
                "{ systemctl daemon-reload && systemctl stop ssh.service && systemctl restart ssh.socket; }",
            ),
        ],
        // No systemd: the init script and the rc links. Nothing masks a service here (see
        // NOT_ON in tests/scenarios_guest.rs). Debian's init script checks the configuration
        // before a restart and keeps the running sshd when the check fails, so a restart never
        // applies a broken configuration; stop and start apply it, as the next boot would.
        "sysvinit" => &[
            ("{stop}", "/etc/init.d/ssh stop"),
            (
                "{disable_now}",
                "update-rc.d ssh disable && /etc/init.d/ssh stop",
            ),
            (
                "{restart}",
                "{ /etc/init.d/ssh stop && /etc/init.d/ssh start; }",
            ),
        ],
        _ => &[
            ("{stop}", "systemctl stop ssh"),
            ("{disable_now}", "systemctl disable --now ssh"),
            ("{mask_now}", "systemctl mask --now ssh"),
            ("{restart}", "systemctl restart ssh"),
        ],
    }
}

/// `command` with each service action's placeholder replaced by `flavour`'s command. A
/// placeholder the flavour has no command for is an error: the scenario cannot exist there.
pub fn expand(command: &str, flavour: &str) -> Result<String, String> {
    let mut expanded = command.to_string();
    for (placeholder, action) in service_actions(flavour) {
        expanded = expanded.replace(placeholder, action);
    }
    match ["{stop}", "{disable_now}", "{mask_now}", "{restart}"]
        .iter()
        .find(|p| expanded.contains(**p))
    {
        Some(missing) => Err(format!("the {flavour} guest has no {missing}")),
        None => Ok(expanded),
    }
}

/// How root reboots `flavour`'s guest from a shell, and a line its console shows early in the
/// next boot (systemd's welcome; sysvinit's own banner).
pub fn reboot(flavour: &str) -> (&'static str, &'static str) {
    match flavour {
        "sysvinit" => ("(sleep 1; reboot) >/dev/null 2>&1 &", r"INIT: version"),
        _ => (
            "(sleep 1; systemctl reboot) >/dev/null 2>&1 &",
            r"Welcome to .*Debian",
        ),
    }
}
