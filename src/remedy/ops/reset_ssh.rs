//! `lifeline reset-ssh`: VMAccess's reset_ssh, done right (the guest side is `reset_ssh.sh`).
//!
//! The main sshd_config goes back to the distribution package's pristine copy (Debian and
//! Ubuntu ship it in /usr/share/openssh; RPM distributions leave a `.rpmnew`, newer SUSE keeps
//! the vendor file in /usr/etc), else to an embedded template per family that keeps the
//! `Include` of drop-ins and `UsePAM yes` (VMAccess's 2014 templates drop both). Lines of
//! drop-ins that `sshd -t` rejects are commented out; drop-in lines that still override what
//! the reset decides are reported, not silently ignored. The SSH ports are opened in the
//! guest's active firewall.

use crate::posix_sh::quote;
use crate::remedy::firewall;
use crate::remedy::plan::Plan;

pub(super) const SCRIPT: &str = include_str!("reset_ssh.sh");

const TEMPLATES: [(&str, &str); 3] = [
    ("debian", include_str!("../templates/debian.sshd_config")),
    ("rhel", include_str!("../templates/rhel.sshd_config")),
    ("suse", include_str!("../templates/suse.sshd_config")),
];

#[derive(Debug, Clone, Default)]
pub struct ResetSsh {
    /// Keep the main file's `Port` lines instead of going back to 22 (VMAccess resets to 22).
    pub keep_ports: bool,
}

impl ResetSsh {
    pub fn plan(&self) -> Plan {
        let keep = if self.keep_ports { "1" } else { "" };
        with_reset(Plan::new("reset-ssh"))
            .library(firewall::SCRIPT)
            .step(
                "reset /etc/ssh/sshd_config to the distribution's default",
                format!("ll_reset_sshd_config {}", quote(keep)),
            )
            .step(
                "open the SSH ports in the guest firewall",
                "ll_open_ssh_ports",
            )
    }
}

/// `plan` able to reset the main sshd_config (`ll_reset_sshd_config`): the library and the
/// templates it falls back on.
pub(super) fn with_reset(plan: Plan) -> Plan {
    TEMPLATES
        .iter()
        .fold(plan, |plan, (family, text)| {
            plan.data(&format!("template.{family}"), text)
        })
        .library(SCRIPT)
}

#[cfg(test)]
mod tests {
    use super::SCRIPT;
    use crate::remedy::plan::run_locally;

    fn with_ports(ports: &str, config: &str) -> String {
        let (dir, out) = run_locally(
            &[SCRIPT],
            &format!("ll_with_ports '{ports}' <<'EOF'\n{config}EOF"),
        );
        std::fs::remove_dir_all(dir).ok();
        out
    }

    #[test]
    fn kept_ports_take_the_place_of_the_commented_default() {
        let pristine = "Include /etc/ssh/sshd_config.d/*.conf\n\n#Port 22\n#AddressFamily any\nMatch User x\n  X11Forwarding no\n";
        assert_eq!(
            with_ports("2222 22", pristine),
            "Include /etc/ssh/sshd_config.d/*.conf\n\nPort 2222\nPort 22\n#AddressFamily any\nMatch User x\n  X11Forwarding no\n"
        );
        assert_eq!(
            with_ports("2222", "UsePAM yes\nPort 22\nMatch all\n"),
            "UsePAM yes\nPort 2222\nMatch all\n"
        );
        assert_eq!(
            with_ports("2222", "UsePAM yes\nMatch all\n"),
            "UsePAM yes\nPort 2222\nMatch all\n"
        );
    }
}
