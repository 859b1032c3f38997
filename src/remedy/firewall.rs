//! The guest firewall: the SSH ports accepted by whichever firewall is active (firewalld, ufw,
//! iptables and ip6tables, native nftables), now and in the persistent rules file where one
//! exists, checked by the tool itself before it replaces the file. Nothing is ever flushed, and
//! nothing is added where no rule or policy drops traffic. The guest side is `firewall.sh`.

pub(super) const SCRIPT: &str = include_str!("firewall.sh");

#[cfg(test)]
mod tests {
    use super::SCRIPT;
    use crate::remedy::plan::run_locally;

    fn run(call: &str, input: &str) -> String {
        let (dir, out) = run_locally(
            &[SCRIPT],
            &format!("{call} <<'EOF' || echo refused\n{input}EOF"),
        );
        std::fs::remove_dir_all(dir).ok();
        out
    }

    #[test]
    fn the_accept_goes_above_the_first_input_rule_of_the_filter_table() {
        let saved = "*nat\n-A INPUT -j X\nCOMMIT\n*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n";
        assert_eq!(
            run("ll_rules_with_accept 22", saved),
            "*nat\n-A INPUT -j X\nCOMMIT\n*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
        );
        assert_eq!(
            run(
                "ll_rules_with_accept 22",
                "*filter\n:INPUT DROP [0:0]\nCOMMIT\n"
            ),
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
        );
    }

    #[test]
    fn the_nft_accept_goes_right_after_the_hook_of_that_chain_only() {
        let conf = "table inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority 0; policy drop;\n\t}\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tct state established accept\n\t}\n}\n";
        assert_eq!(
            run("ll_nft_with_accept inet filter input 22", conf),
            "table inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority 0; policy drop;\n\t}\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\ttcp dport 22 accept comment \"lifeline\"\n\t\tct state established accept\n\t}\n}\n"
        );
        assert!(run("ll_nft_with_accept inet other input 22", conf).ends_with("refused\n"));
    }

    /// Runs `body` with the firewall tools stubbed and `ll_put`/`ll_backup` only logged (the
    /// persistent files they name are this machine's); returns what it printed and the log.
    fn with_tools(body: &str) -> (String, String) {
        let (dir, out) = run_locally(
            &[SCRIPT],
            &format!(
                "ll_put() {{ echo \"put $1\" >>\"$T/calls\"; }}\n\
                 ll_backup() {{ echo \"backup $*\" >>\"$T/calls\"; }}\n{body}"
            ),
        );
        let calls = std::fs::read_to_string(dir.join("calls")).unwrap_or_default();
        std::fs::remove_dir_all(dir).ok();
        (out, calls)
    }

    #[test]
    fn firewalld_opens_a_port_in_every_active_zone_now_and_permanently() {
        let (out, calls) = with_tools(
            "stub firewall-cmd 'case \"$*\" in\n\
                 --state) echo running ;;\n\
                 --get-default-zone) echo public ;;\n\
                 --get-active-zones) printf \"public\\n  interfaces: eth0\\ninternal\\n  sources: 10.0.0.0/8\\n\" ;;\n\
                 *--query-port=2222/tcp) exit 0 ;;\n\
                 *--query*) exit 1 ;;\n\
                 *) echo \"firewall-cmd $*\" >>\"$T/calls\" ;;\n\
             esac'\n\
             ll_open_ports 22 2222; echo \"status $?\"\n\
             ll_fw_firewalld 2222 | cut -f3",
        );
        assert_eq!(
            out,
            "ll\tchanged\tfirewalld zone internal\taccepts TCP 22, now and permanently\n\
             ll\tunchanged\tfirewalld zone internal accepts TCP 2222\n\
             ll\tchanged\tfirewalld zone public\taccepts TCP 22, now and permanently\n\
             ll\tunchanged\tfirewalld zone public accepts TCP 2222\nstatus 0\n\
             firewalld zone internal accepts TCP 2222\nfirewalld zone public accepts TCP 2222\n"
        );
        assert_eq!(
            calls,
            "backup /etc/firewalld/zones/internal.xml\n\
             firewall-cmd --zone=internal --add-port=22/tcp\n\
             firewall-cmd --permanent --zone=internal --add-port=22/tcp\n\
             backup /etc/firewalld/zones/public.xml\n\
             firewall-cmd --zone=public --add-port=22/tcp\n\
             firewall-cmd --permanent --zone=public --add-port=22/tcp\n"
        );
    }

    #[test]
    fn an_active_ufw_allows_the_ports_sshd_listens_on() {
        let (out, calls) = with_tools(
            "stub firewall-cmd 'exit 1'\n\
             stub ufw 'case $1 in\n\
                 status) printf \"Status: active\\n\\nTo Action From\\n2222/tcp ALLOW Anywhere\\n\" ;;\n\
                 *) echo \"ufw $*\" >>\"$T/calls\"; echo \"Rule added\" ;;\n\
             esac'\n\
             LL_TARGETS=\"127.0.0.1 22$LL_NL::1 2222\"; ll_open_ssh_ports; echo \"status $?\"\n\
             stub ufw 'case $1 in status) echo \"Status: active\" ;; *) echo \"ERROR: bad port\"; exit 1 ;; esac'\n\
             ll_fw_ufw 22 || echo \"$LL_STEP_ERR\"",
        );
        assert_eq!(
            out,
            "ll\tchanged\tufw\taccepts TCP 22, persistently\nll\tunchanged\tufw accepts TCP 2222\n\
             status 0\nufw allow 22/tcp failed: ERROR: bad port\n"
        );
        assert!(
            calls
                .starts_with("backup /etc/ufw/user.rules /etc/ufw/user6.rules\nufw allow 22/tcp\n"),
            "{calls}"
        );
    }

    #[test]
    fn iptables_gets_an_accept_first_only_where_input_drops_and_not_twice() {
        let (out, calls) = with_tools(
            "stub iptables 'case $1 in\n\
                 -S) printf \"%s\\n\" \"-P INPUT DROP\" \"-A INPUT -p tcp -m tcp --dport 2222 -j ACCEPT\" \"-A INPUT -j DROP\" ;;\n\
                 *) echo \"iptables $*\" >>\"$T/calls\" ;;\n\
             esac'\n\
             stub ip6tables 'printf \"%s\\n\" \"-P INPUT ACCEPT\"'\n\
             ll_fw_iptables iptables 22 2222; echo \"status $?\"\n\
             ll_fw_iptables ip6tables 22; echo \"status $?\"",
        );
        assert_eq!(
            out,
            "ll\tchanged\tiptables\taccepts TCP 22: a rule inserted first in INPUT\n\
             ll\tunchanged\tiptables accepts TCP 2222\nstatus 0\n\
             ll\tunchanged\tip6tables: nothing in INPUT drops traffic\nstatus 0\n"
        );
        assert!(
            calls.starts_with(
                "iptables -I INPUT 1 -p tcp --dport 22 -m comment --comment lifeline -j ACCEPT\n"
            ),
            "{calls}"
        );
        assert!(!calls.contains("ip6tables"), "{calls}");
    }

    #[test]
    fn nftables_gets_an_accept_in_each_input_chain_that_drops() {
        let (out, calls) = with_tools(
            "stub iptables 'echo \"iptables v1.8.9 (legacy)\"'\n\
             stub nft 'case \"$1 $2\" in\n\
                 \"list ruleset\") printf \"table inet filter {\\n\\tchain input {\\n\\t\\ttype filter hook input priority 0; policy drop;\\n\\t}\\n\\tchain output {\\n\\t\\ttype filter hook output priority 0; policy accept;\\n\\t}\\n}\\ntable ip nat {\\n\\tchain input {\\n\\t\\ttype nat hook input priority 0; policy accept;\\n\\t}\\n}\\n\" ;;\n\
                 \"list chain\") printf \"\\t\\ttcp dport 2222 accept\\n\" ;;\n\
                 *) echo \"nft $*\" >>\"$T/calls\" ;;\n\
             esac'\n\
             ll_fw_nft 22 2222; echo \"status $?\"\n\
             stub iptables 'printf \"%s\\n\" \"-P INPUT ACCEPT\"'; stub ip6tables 'printf \"%s\\n\" \"-P INPUT ACCEPT\"'\n\
             stub nft 'echo \"table inet filter {\"; echo \"}\"'\n\
             ll_open_ports 22 | cut -f3",
        );
        assert_eq!(
            out,
            "ll\tchanged\tnftables inet filter input\taccepts TCP 22: a rule inserted first\n\
             ll\tunchanged\tnftables inet filter input accepts TCP 2222\nstatus 0\n\
             iptables: nothing in INPUT drops traffic\nip6tables: nothing in INPUT drops traffic\n\
             nftables: no input chain drops traffic\n"
        );
        assert!(
            calls.starts_with(
                "nft insert rule inet filter input tcp dport 22 accept comment \"lifeline\"\n"
            ),
            "{calls}"
        );
    }

    #[test]
    fn the_nft_rules_file_keeps_the_accept_after_it_is_checked() {
        let conf = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n";
        let (dir, out) = run_locally(
            &[SCRIPT],
            &format!(
                "stub nft 'echo \"nft $*\" >>\"$T/calls\"'\n\
                 printf '%s' '{conf}' >\"$T/nftables.conf\"\n\
                 ll_nft_persist \"$T/nftables.conf\" inet filter input 22 | sed '/^ll.backup/d' | cut -f1,2,4\n\
                 ll_nft_persist \"$T/nftables.conf\" inet filter input 22\n\
                 ll_nft_persist \"$T/nftables.conf\" inet other input 2222 | cut -f1,2"
            ),
        );
        let after = std::fs::read_to_string(dir.join("nftables.conf")).unwrap();
        let calls = std::fs::read_to_string(dir.join("calls")).unwrap_or_default();
        std::fs::remove_dir_all(dir).ok();
        assert_eq!(out, "ll\tchanged\trewritten\nll\twarning\n", "{out}");
        assert!(
            after.contains("\t\ttcp dport 22 accept comment \"lifeline\"\n"),
            "{after}"
        );
        assert!(calls.starts_with("nft -c -f "), "{calls}");
    }
}
