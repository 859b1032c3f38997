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

    /// Stands in for `sshd -t -f FILE` where sshd is not installed: rejects keywords it does
    /// not know and a second Subsystem of one name, in sshd's words and exit status.
    const VALIDATOR: &str = r#"[ "$1" = -t ] && [ "$2" = -f ] || exit 2
awk 'BEGIN { split("include port usepam passwordauthentication subsystem match forcecommand", w); for (i in w) known[w[i]] = 1 }
    { t = $0; sub(/^[ \t]+/, "", t) }
    t == "" || t ~ /^#/ { next }
    !(tolower($1) in known) { printf "%s line %d: Bad configuration option: %s\n", FILENAME, NR, $1; bad++; next }
    tolower($1) == "subsystem" { if ($2 in seen) { printf "%s line %d: Subsystem %s already defined.\n", FILENAME, NR, $2; bad++ } seen[$2] = 1 }
    END { if (bad) { printf "%s: terminating, %d bad configuration options\n", FILENAME, bad; exit 255 } }' "$3"
"#;

    #[test]
    fn a_reset_carries_over_the_settings_sshd_still_accepts() {
        let default = "Include /etc/ssh/sshd_config.d/*.conf\n#Port 22\nUsePAM yes\nSubsystem sftp /usr/lib/openssh/sftp-server\n";
        let old = "# set by hand\nPort 2222\nUsePAM yes\nx#%%\\000garbage\nBogus yes\nPasswordAuthentication no\nSubsystem sftp internal-sftp\nMatch User git\n  ForceCommand git-shell\n";
        let body = format!(
            "cat >\"$T/sshd\" <<'EOF'\n{VALIDATOR}EOF\nchmod +x \"$T/sshd\"; LL_SSHD=$T/sshd\n\
             mkdir -p \"$LL_RUN\"; printf '{default}' >\"$T/candidate\"; printf '{old}' >\"$T/old\"\n\
             ll_carry_settings \"$T/old\" \"$T/candidate\"; echo \"status $?\""
        );
        let (dir, out) = run_locally(&[SCRIPT], &body);
        let after = std::fs::read_to_string(dir.join("candidate")).unwrap();
        std::fs::remove_dir_all(dir).ok();
        assert!(out.contains("status 0"), "{out}");
        assert_eq!(
            after,
            "Include /etc/ssh/sshd_config.d/*.conf\nPort 2222\nPasswordAuthentication no\n#Port 22\nUsePAM yes\n\
             Subsystem sftp /usr/lib/openssh/sftp-server\nMatch User git\n  ForceCommand git-shell\n"
        );
        let notes: Vec<&str> = out
            .lines()
            .filter(|l| l.contains("old sshd_config"))
            .collect();
        assert_eq!(notes.len(), 6, "{out}");
        for (said, line) in [
            ("kept", "Port 2222"),
            (
                "dropped",
                "Bogus yes (sshd: sshd_config line: Bad configuration option: Bogus)",
            ),
            (
                "dropped",
                "Subsystem sftp internal-sftp (sshd: sshd_config line: Subsystem sftp already defined.)",
            ),
            ("kept", "its Match section (2 lines)"),
        ] {
            assert!(
                notes
                    .iter()
                    .any(|n| n.ends_with(&format!("{said} from the old sshd_config: {line}"))),
                "{said} {line}: {notes:#?}"
            );
        }
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

    #[test]
    fn kept_settings_are_carried_into_the_default_at_its_include_and_judged_by_sshd() {
        let (dir, out) = run_locally(
            &[SCRIPT],
            "printf 'Port 2222\\nPort 22\\nMatch User x\\nPort 9\\n' >\"$T/cur\"\n\
             printf 'Include /etc/ssh/sshd_config.d/*.conf\\nUsePAM yes\\n' >\"$T/default\"\n\
             printf 'Port 2222\\n' >\"$T/global\"; printf 'Match User x\\n\\tBanner none\\n' >\"$T/match\"\n\
             ll_global_ports \"$T/cur\"; echo; ll_global_ports \"$T/none\"; echo '(none)'\n\
             ll_carried \"$T/default\" \"$T/global\" \"$T/match\"\n\
             printf 'UsePAM yes\\n' >\"$T/flat\"; ll_carried \"$T/flat\" \"$T/global\" \"$T/match\" | head -n 2\n\
             stub sshd 'echo \"$3 line 7: Bad option\" >&2; echo \"Deprecated option X\" >&2; exit 255'; LL_SSHD=$T/bin/sshd\n\
             ll_sshd_says \"$T/default\" \"$T/global\" \"$T/match\"",
        );
        std::fs::remove_dir_all(dir).ok();
        assert_eq!(
            out,
            "2222 22 \n(none)\n\
             Include /etc/ssh/sshd_config.d/*.conf\nPort 2222\nUsePAM yes\nMatch User x\n\tBanner none\n\
             Port 2222\nUsePAM yes\n\
             sshd_config line: Bad option\n"
        );
    }
}
