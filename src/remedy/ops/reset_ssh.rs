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
    use crate::remedy::{over_empty_etc, run_locally};

    /// `body` over an empty /etc/ssh (with sshd_config.d), /usr/share/openssh and /usr/etc/ssh.
    fn over_etc(body: &str) -> String {
        over_empty_etc(
            &[SCRIPT],
            &format!("mkdir -p /etc/ssh/sshd_config.d /usr/share/openssh /usr/etc/ssh\n{body}"),
        )
    }

    #[test]
    fn the_family_comes_from_the_ids_in_os_release_not_its_name() {
        let out = over_etc(
            "family() { printf \"$1\" >/etc/os-release; ll_family; }\n\
             ll_family\n\
             family 'NAME=\"Ubuntu\"\\nID=ubuntu\\nID_LIKE=debian\\n'\n\
             family 'ID=\"rocky\"\\nID_LIKE=\"rhel centos fedora\"\\n'\n\
             family 'ID=\"opensuse-leap\"\\nID_LIKE=\"suse opensuse\"\\n'\n\
             family 'NAME=\"Debian GNU/Linux\"\\nID=mariner\\n'\n\
             family 'ID=arch\\n'",
        );
        assert_eq!(out, "other\ndebian\nrhel\nsuse\nrhel\nother\n");
    }

    #[test]
    fn the_pristine_copy_is_looked_for_where_each_family_keeps_it() {
        let out = over_etc(
            "p() { ll_pristine \"$1\"; echo \" $?\"; }\n\
             p debian; p rhel\n\
             : >/usr/share/openssh/sshd_config; p debian; p suse\n\
             : >/usr/etc/ssh/sshd_config; p suse\n\
             : >/etc/ssh/sshd_config.rpmnew; p rhel; p debian",
        );
        assert_eq!(
            out,
            " 1\n 1\n/usr/share/openssh/sshd_config 0\n/usr/share/openssh/sshd_config 0\n\
             /usr/etc/ssh/sshd_config 0\n/etc/ssh/sshd_config.rpmnew 0\n/usr/share/openssh/sshd_config 0\n"
        );
    }

    #[test]
    fn a_reset_takes_the_pristine_copy_keeps_the_ports_and_mends_and_reports_the_drop_ins() {
        let out = over_etc(
            "printf 'ID=debian\\n' >/etc/os-release\n\
             printf 'Include /etc/ssh/sshd_config.d/*.conf\\n#Port 22\\nUsePAM yes\\n' >/usr/share/openssh/sshd_config\n\
             printf 'Port 2222\\nBogus main\\nPasswordAuthentication no\\n' >/etc/ssh/sshd_config\n\
             printf 'PasswordAuthentication no\\nBogus yes\\n' >/etc/ssh/sshd_config.d/50-cloud.conf\n\
             ll_reset_sshd_config 1; echo \"status $?\"\n\
             cat /etc/ssh/sshd_config /etc/ssh/sshd_config.d/50-cloud.conf\n\
             echo 'Bogus' >>/etc/ssh/sshd_config; ll_repair_includes; echo \"main left $?\"; tail -n 1 /etc/ssh/sshd_config",
        );
        assert_eq!(
            out,
            "ll\tnote\tsource: /usr/share/openssh/sshd_config, the package's pristine default\n\
             ll\tchanged\t/etc/ssh/sshd_config\trewritten\n\
             ll\tchanged\t/etc/ssh/sshd_config.d/50-cloud.conf\trewritten\n\
             ll\tnote\tcommented out /etc/ssh/sshd_config.d/50-cloud.conf line 2: \
             /etc/ssh/sshd_config.d/50-cloud.conf line 2: Bad configuration option: Bogus\n\
             ll\twarning\t/etc/ssh/sshd_config.d/50-cloud.conf line 1 still applies after the reset: \
             PasswordAuthentication no\n\
             status 0\n\
             Include /etc/ssh/sshd_config.d/*.conf\nPort 2222\nUsePAM yes\n\
             PasswordAuthentication no\n# lifeline reset-ssh: sshd -t rejected the next line\n#Bogus yes\n\
             main left 0\nBogus\n"
        );
    }

    #[test]
    fn every_included_line_that_overrides_a_reset_is_reported_relative_patterns_under_etc_ssh() {
        let out = over_etc(
            "printf 'Include sshd_config.d/*.conf /etc/ssh/extra.conf\\nInclude /nowhere/*.conf\\n' >/etc/ssh/sshd_config\n\
             printf 'X11Forwarding no\\n  passwordauthentication no\\nMatch User a\\n' >/etc/ssh/sshd_config.d/a.conf\n\
             printf 'Port 2200\\n' >/etc/ssh/extra.conf\n\
             cd /etc/ssh/sshd_config.d && ll_report_overrides; echo \"status $?\"",
        );
        assert_eq!(
            out,
            "ll\twarning\t/etc/ssh/sshd_config.d/a.conf line 2 still applies after the reset:   passwordauthentication no\n\
             ll\twarning\t/etc/ssh/sshd_config.d/a.conf line 3 still applies after the reset: Match User a\n\
             ll\twarning\t/etc/ssh/extra.conf line 1 still applies after the reset: Port 2200\n\
             status 0\n"
        );
    }

    #[test]
    fn without_a_pristine_copy_the_familys_template_is_used_and_the_port_goes_back_to_22() {
        let out = over_etc(
            "printf 'ID=almalinux\\nID_LIKE=\"rhel centos fedora\"\\n' >/etc/os-release\n\
             printf 'Include sshd_config.d/*.conf\\n#Port 22\\nSubsystem sftp @SFTP@\\n' >\"$LL_RUN/template.rhel\"\n\
             rm -f /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server /usr/libexec/sftp-server\n\
             mkdir -p /usr/libexec/openssh && stub sftp-server : && cp \"$T/bin/sftp-server\" /usr/libexec/openssh/\n\
             printf 'Port 2200\\n' >/etc/ssh/sshd_config; printf 'Port 2200\\n' >/etc/ssh/sshd_config.d/9-port.conf\n\
             ll_reset_sshd_config ''; echo \"status $?\"; cat /etc/ssh/sshd_config",
        );
        assert_eq!(
            out,
            "ll\tnote\tsource: lifeline's rhel template (this guest has no pristine copy of the package's file)\n\
             ll\tnote\tPort 2200 is reset to the default 22, as VMAccess does (keep it with --keep-ports)\n\
             ll\tchanged\t/etc/ssh/sshd_config\trewritten\n\
             ll\twarning\t/etc/ssh/sshd_config.d/9-port.conf line 1 still applies after the reset: Port 2200\n\
             status 0\n\
             Include sshd_config.d/*.conf\n#Port 22\nSubsystem sftp /usr/libexec/openssh/sftp-server\n"
        );
    }

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
