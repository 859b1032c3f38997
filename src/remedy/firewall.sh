# The guest firewall: TCP to the SSH ports is accepted by whichever firewall is active, now and
# in its persistent rules where it keeps them. Nothing is flushed, and nothing is added where
# no rule or policy drops traffic (an ACCEPT in front of nothing only adds noise).

# ll_open_ssh_ports: the firewall step, for the ports sshd is now configured for.
ll_open_ssh_ports() {
    # shellcheck disable=SC2046 # one port per word
    ll_open_ports $(ll_targets | awk '{ print $2 }')
}

# ll_open_ports PORT...
ll_open_ports() {
    if command -v firewall-cmd >/dev/null 2>&1 && firewall-cmd --state >/dev/null 2>&1; then
        ll_fw_firewalld "$@"
    elif command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q '^Status: active'; then
        ll_fw_ufw "$@"
    else
        ll_fw_iptables iptables "$@" && ll_fw_iptables ip6tables "$@" && ll_fw_nft "$@"
    fi
}

ll_fw_firewalld() {
    local zone port zones
    zones=$( (firewall-cmd --get-default-zone; firewall-cmd --get-active-zones | grep -v '^[[:space:]]') 2>/dev/null | sort -u)
    for zone in $zones; do
        for port; do
            if firewall-cmd --zone="$zone" --query-port="$port/tcp" >/dev/null 2>&1 ||
                { [ "$port" = 22 ] && firewall-cmd --zone="$zone" --query-service=ssh >/dev/null 2>&1; }; then
                ll_emit unchanged "firewalld zone $zone accepts TCP $port"
                continue
            fi
            ll_backup "/etc/firewalld/zones/$zone.xml" || return 1
            if ! firewall-cmd --zone="$zone" --add-port="$port/tcp" >/dev/null 2>&1 ||
                ! firewall-cmd --permanent --zone="$zone" --add-port="$port/tcp" >/dev/null 2>&1; then
                ll_fail "firewall-cmd could not open TCP $port in zone $zone"
                return 1
            fi
            ll_emit changed "firewalld zone $zone" "accepts TCP $port, now and permanently"
        done
    done
}

ll_fw_ufw() {
    local port out
    for port; do
        if ufw status 2>/dev/null | grep -Eq "^$port(/tcp)?[[:space:]]+ALLOW"; then
            ll_emit unchanged "ufw accepts TCP $port"
            continue
        fi
        ll_backup /etc/ufw/user.rules /etc/ufw/user6.rules || return 1
        out=$(ufw allow "$port/tcp" 2>&1) || {
            ll_fail "ufw allow $port/tcp failed: $out"
            return 1
        }
        ll_emit changed ufw "accepts TCP $port, persistently"
    done
}

# ll_fw_iptables TOOL PORT...: TOOL is iptables or ip6tables.
ll_fw_iptables() {
    local tool="$1" rules port file files
    shift
    case $tool in
    iptables) files="/etc/iptables/rules.v4 /etc/sysconfig/iptables /etc/systemd/scripts/ip4save" ;;
    *) files="/etc/iptables/rules.v6 /etc/sysconfig/ip6tables /etc/systemd/scripts/ip6save" ;;
    esac
    command -v "$tool" >/dev/null 2>&1 && rules=$("$tool" -S INPUT 2>/dev/null) || return 0
    case $rules in
    *"-P INPUT DROP"* | *"-j DROP"* | *"-j REJECT"*) ;;
    *)
        ll_emit unchanged "$tool: nothing in INPUT drops traffic"
        return 0
        ;;
    esac
    for port; do
        # Accepted already if an ACCEPT for the port comes before the first DROP or REJECT.
        if printf '%s\n' "$rules" | awk -v p="$port" '
            $0 ~ "^-A INPUT -p tcp( -m tcp)? --dport " p "( -m comment --comment [^ ]+)? -j ACCEPT$" { ok = 1; exit }
            / -j (DROP|REJECT)/ { exit }
            END { exit !ok }'; then
            ll_emit unchanged "$tool accepts TCP $port"
        else
            "$tool" -I INPUT 1 -p tcp --dport "$port" -m comment --comment lifeline -j ACCEPT 2>/dev/null ||
                "$tool" -I INPUT 1 -p tcp --dport "$port" -j ACCEPT || {
                ll_fail "$tool could not insert an ACCEPT for TCP $port"
                return 1
            }
            ll_emit changed "$tool" "accepts TCP $port: a rule inserted first in INPUT"
        fi
        for file in $files; do
            [ -f "$file" ] || continue
            grep -Eq -- "^-A INPUT -p tcp( -m tcp)? --dport $port( .*)? -j ACCEPT" "$file" && continue
            ll_rules_with_accept "$port" <"$file" >"$LL_RUN/rules"
            ll_put "$file" 0600 0:0 "$tool-restore" --test <"$LL_RUN/rules" || return 1
        done
    done
}

# ll_rules_with_accept PORT <RULES: an iptables-save file with an ACCEPT for TCP PORT above
# the first rule of INPUT in the filter table (else just before that table's COMMIT).
ll_rules_with_accept() {
    awk -v p="$1" '
        /^\*/ { table = $0 }
        table == "*filter" && !done && (/^-A INPUT / || /^COMMIT/) {
            print "-A INPUT -p tcp -m tcp --dport " p " -j ACCEPT"; done = 1 }
        { print }'
}

# ll_fw_nft PORT...: native nftables chains hooked on input that drop (by policy or rule). The
# tables iptables-nft manages (ip/ip6 filter) are left to ll_fw_iptables.
ll_fw_nft() {
    local ruleset chains skip='' fam table chain port file
    command -v nft >/dev/null 2>&1 && ruleset=$(nft list ruleset 2>/dev/null) || return 0
    iptables -V 2>/dev/null | grep -q nf_tables && skip=1
    chains=$(printf '%s\n' "$ruleset" | awk -v skip="$skip" '
        $1 == "table" { fam = $2; table = $3; next }
        $1 == "chain" { chain = $2; input = 0; drops = 0; next }
        /hook input/ { input = 1; if (/policy drop/) drops = 1 }
        input && /(^|[[:space:]])(drop|reject)([[:space:]]|$)/ && !/policy/ { drops = 1 }
        $1 == "}" && chain != "" {
            if (input && drops && (fam == "inet" || fam == "ip" || fam == "ip6") &&
                !(skip && table == "filter" && fam != "inet")) print fam, table, chain
            chain = ""
        }')
    [ -n "$chains" ] || {
        ll_emit unchanged "nftables: no input chain drops traffic"
        return 0
    }
    while read -r fam table chain; do
        for port; do
            if nft list chain "$fam" "$table" "$chain" 2>/dev/null | awk -v p="$port" '
                $0 ~ "tcp dport " p " (.* )?accept" { ok = 1; exit }
                /(^|[[:space:]])(drop|reject)([[:space:]]|$)/ && !/policy/ { exit }
                END { exit !ok }'; then
                ll_emit unchanged "nftables $fam $table $chain accepts TCP $port"
                continue
            fi
            nft insert rule "$fam" "$table" "$chain" tcp dport "$port" accept comment '"lifeline"' 2>/dev/null ||
                nft insert rule "$fam" "$table" "$chain" tcp dport "$port" accept || {
                ll_fail "nft could not insert an accept for TCP $port in $fam $table $chain"
                return 1
            }
            ll_emit changed "nftables $fam $table $chain" "accepts TCP $port: a rule inserted first"
            for file in /etc/nftables.conf /etc/sysconfig/nftables.conf; do
                [ -f "$file" ] || continue
                ll_nft_persist "$file" "$fam" "$table" "$chain" "$port" || return 1
            done
        done
    done <<LL_CHAINS
$chains
LL_CHAINS
}

# ll_nft_with_accept FAMILY TABLE CHAIN PORT <RULES: an nft rules file with an accept for
# TCP PORT right after CHAIN's hook line; fails when the file does not define that chain.
ll_nft_with_accept() {
    awk -v fam="$1" -v table="$2" -v chain="$3" -v p="$4" '
        $1 == "table" { t = ($2 == fam && $3 == table) || ($2 == table && fam == "ip") }
        $1 == "chain" { c = t && $2 == chain }
        { print }
        c && /hook input/ && !done { print "\t\ttcp dport " p " accept comment \"lifeline\""; done = 1 }
        END { exit !done }'
}

# ll_nft_persist FILE FAMILY TABLE CHAIN PORT: the same accept in the rules file, right after
# the chain's hook line, when the file defines that chain; checked with nft -c first.
ll_nft_persist() {
    grep -Eq "tcp dport $5 .*accept" "$1" && return 0
    ll_nft_with_accept "$2" "$3" "$4" "$5" <"$1" >"$LL_RUN/nft" || {
        ll_emit warning "$1 does not define $2 $3 $4 in a way lifeline can edit: TCP $5 is open until the next reboot"
        return 0
    }
    ll_put "$1" 0755 0:0 nft -c -f <"$LL_RUN/nft"
}
