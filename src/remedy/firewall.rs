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
}
