//! The SSH service: restarted when its configuration changed, started when it is not running,
//! unmasked and enabled on the way, with the unit name and socket activation each distribution
//! uses; without systemd, sysvinit's init script (linked into the runlevels, restarted or
//! started); nothing is started with neither (a chroot or an emergency shell). The guest side is
//! `service.sh`.

use serde::Serialize;

pub(super) const SCRIPT: &str = include_str!("service.sh");

/// What was done to the SSH unit at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceAction {
    /// `ssh.service`, `sshd.socket`, …; `-` when there is none.
    pub unit: String,
    /// `restarted`, `unchanged` (it was active and nothing required a restart), `failed` or
    /// `skipped` (systemd is not PID 1).
    pub status: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use crate::remedy::plan::run_locally;

    /// A `systemctl` that logs its calls to `$T/calls` and shows the units `$T/show` holds.
    const SYSTEMCTL: &str = "stub systemctl 'echo \"$*\" >>\"$T/calls\"; \
        case $1 in show) cat \"$T/show\" ;; is-active) echo active ;; esac'\n\
        ll_systemd() { true; }\n";

    /// Runs `body` with that `systemctl`; returns what it printed, then the calls.
    fn run(show: &str, body: &str) -> (String, String) {
        let (dir, out) = run_locally(
            &[],
            &format!("{SYSTEMCTL}printf '{show}' >\"$T/show\"\n{body}"),
        );
        let calls = std::fs::read_to_string(dir.join("calls")).unwrap_or_default();
        std::fs::remove_dir_all(dir).ok();
        (out, calls)
    }

    const DISABLED_SERVICE: &str = "LoadState=loaded\\nUnitFileState=disabled\\nActiveState=inactive\\n\\n\
                                    LoadState=loaded\\nUnitFileState=disabled\\nActiveState=inactive\\n";

    #[test]
    fn a_disabled_service_is_enabled_and_restarted() {
        let (out, calls) = run(
            DISABLED_SERVICE,
            "ll_unit_state ssh; echo \"$LL_SVC_LOAD $LL_SVC_FILE $LL_SVC_ACTIVE $LL_SOCK_FILE $LL_SOCK_ACTIVE\"\n\
             ll_ssh_unit && echo \"unit $LL_UNIT socket [$LL_SOCKET]\"\n\
             ll_sshd_service ''; echo \"status $?\"",
        );
        assert_eq!(
            out,
            "loaded disabled inactive disabled inactive\nunit ssh socket []\n\
             ll\tchanged\tssh.service\tenabled at boot\nll\tservice\tssh.service\trestarted\nstatus 0\n"
        );
        assert!(
            calls.contains("enable ssh.service\nreset-failed ssh.service ssh.service\nrestart ssh.service\nis-active ssh.service\n"),
            "{calls}"
        );
    }

    #[test]
    fn an_enabled_socket_is_what_restarts_and_an_active_unchanged_service_is_left() {
        let socket = "LoadState=loaded\\nUnitFileState=disabled\\nActiveState=inactive\\n\\n\
                      LoadState=loaded\\nUnitFileState=enabled\\nActiveState=active\\n";
        let (out, calls) = run(socket, "ll_sshd_service 1; echo \"status $?\"");
        assert_eq!(out, "ll\tservice\tssh.socket\trestarted\nstatus 0\n");
        assert!(
            calls.ends_with("daemon-reload\nstop ssh.service\nrestart ssh.socket\nis-active ssh.socket\nstart ssh.service\n"),
            "{calls}"
        );
        let active = "LoadState=loaded\\nUnitFileState=enabled\\nActiveState=active\\n\\n\
                      LoadState=loaded\\nUnitFileState=disabled\\nActiveState=inactive\\n";
        let (out, calls) = run(active, "ll_sshd_service ''");
        assert_eq!(out, "ll\tservice\tssh.service\tunchanged\tactive\n");
        assert!(!calls.contains("restart"), "{calls}");
        let (out, _) = run(
            "LoadState=not-found\\n\\nLoadState=not-found\\n",
            "ll_sshd_service 1; echo \"status $?\"",
        );
        assert_eq!(
            out,
            "ll\tservice\t-\tfailed\tneither ssh.service nor sshd.service exists: is openssh-server installed?\nstatus 1\n"
        );
    }

    /// Seed 4033: with a library systemctl loads damaged, no unit is "not found": the failure
    /// is systemctl's, in its own words.
    #[test]
    fn a_systemctl_that_cannot_run_is_named_as_the_failure() {
        let (dir, out) = run_locally(
            &[],
            "stub systemctl 'echo \"systemctl: error while loading shared libraries: libgcrypt.so.20\" >&2; exit 127'\n\
             ll_systemd() { true; }\n\
             ll_sshd_service 1; echo \"status $?\"",
        );
        std::fs::remove_dir_all(dir).ok();
        assert_eq!(
            out,
            "ll\tservice\t-\tfailed\tsystemctl cannot run: systemctl: error while loading shared libraries: libgcrypt.so.20 \nstatus 1\n"
        );
    }

    #[test]
    fn without_systemd_or_an_init_script_nothing_is_started() {
        let comm = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
        let init = comm.trim();
        assert!(
            init != "systemd" && init != "init",
            "this test needs a machine whose PID 1 is neither systemd nor init (it is {init})"
        );
        let (dir, out) = run_locally(
            &[],
            "ll_systemd || echo 'no systemd'\nll_sysv_service 1; echo \"sysv $?\"\n\
             ll_sshd_service 1; echo \"status $?\"",
        );
        std::fs::remove_dir_all(dir).ok();
        assert_eq!(
            out,
            "no systemd\nsysv 2\nll\tservice\t-\tskipped\tno systemd and no init script here (an emergency shell?): nothing was started; start sshd once the system is up\nstatus 0\n"
        );
    }
}
