# reset-ssh: sshd_config back to the distribution's default, like VMAccess's reset_ssh, but
# from the package's own pristine copy, keeping the Include of drop-ins, backed up, validated.

LL_MAIN=/etc/ssh/sshd_config

# ll_family: debian, rhel, suse or other, from /etc/os-release's ID and ID_LIKE (NAME lies).
ll_family() {
    local ids
    # shellcheck disable=SC1091 # the guest's file, read on the guest
    ids=$(if [ -r /etc/os-release ]; then . /etc/os-release; fi; echo " ${ID:-} ${ID_LIKE:-} ")
    case $ids in
    *" debian "* | *" ubuntu "*) echo debian ;;
    *" suse "* | *" sles "* | *" opensuse"*) echo suse ;;
    *" rhel "* | *" fedora "* | *" centos "* | *" almalinux "* | *" rocky "* | *" ol "* | \
        *" azurelinux "* | *" mariner "* | *" amzn "*) echo rhel ;;
    *) echo other ;;
    esac
}

# ll_pristine FAMILY: the package's own default sshd_config, when the guest has one.
ll_pristine() {
    local f
    case $1 in
    debian) set -- /usr/share/openssh/sshd_config ;;
    *) set -- /etc/ssh/sshd_config.rpmnew /usr/etc/ssh/sshd_config /usr/share/openssh/sshd_config ;;
    esac
    for f; do
        if [ -f "$f" ]; then
            printf '%s' "$f"
            return 0
        fi
    done
    return 1
}

# ll_global_ports FILE: the ports FILE's global section sets.
ll_global_ports() {
    [ -f "$1" ] || return 0
    awk 'tolower($1) == "match" { exit } tolower($1) == "port" { print $2 }' "$1" | tr '\n' ' '
}

# ll_with_ports PORTS <CONFIG: CONFIG with Port lines for PORTS where its first (commented)
# Port line was, else above the first Match, else at the end; its other Port lines dropped.
ll_with_ports() {
    awk -v ports="$1" '
        function put(  n, i, p) { n = split(ports, p, " "); for (i = 1; i <= n; i++) print "Port " p[i]; done = 1 }
        !done && /^#?Port[[:space:]]+[0-9]+[[:space:]]*$/ { put(); next }
        tolower($1) == "port" { next }
        tolower($1) == "match" && !done { put() }
        { print }
        END { if (!done) put() }'
}

# ll_reset_sshd_config KEEP_PORTS: the step that resets the main file.
ll_reset_sshd_config() {
    local family source old ports sftp f
    family=$(ll_family)
    old=$(ll_global_ports "$LL_MAIN")
    if source=$(ll_pristine "$family"); then
        ll_emit note "source: $source, the package's pristine default"
        cp -- "$source" "$LL_RUN/candidate" || return 1
    else
        source=$LL_RUN/template.$family
        [ -f "$source" ] || source=$LL_RUN/template.debian
        sftp=internal-sftp
        for f in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server /usr/libexec/sftp-server; do
            if [ -x "$f" ]; then
                sftp=$f
                break
            fi
        done
        sed "s|@SFTP@|$sftp|" "$source" >"$LL_RUN/candidate" || return 1
        ll_emit note "source: lifeline's $family template (this guest has no pristine copy of the package's file)"
    fi
    ports=
    [ -z "$1" ] || ports=$old
    if [ -n "$ports" ]; then
        ll_with_ports "$ports" <"$LL_RUN/candidate" >"$LL_RUN/ported" && mv -f "$LL_RUN/ported" "$LL_RUN/candidate"
    elif [ -n "$old" ] && [ "$old" != "22 " ]; then
        ll_emit note "Port ${old% } is reset to the default 22, as VMAccess does (keep it with --keep-ports)"
    fi
    ll_put "$LL_MAIN" 0644 0:0 <"$LL_RUN/candidate" || return 1
    ll_repair_includes || return 1
    ll_report_overrides
}

# ll_repair_includes: comments out, one at a time, the lines of included files that sshd -t
# names as wrong (never the main file: that one is the pristine default).
ll_repair_includes() {
    local i=0 loc file line
    while [ $i -lt 20 ] && ! ll_sshd_valid; do
        i=$((i + 1))
        loc=$(printf '%s\n' "$LL_SSHD_ERR" |
            sed -n 's/^\(\/[^:]*\):\{0,1\} line \([0-9][0-9]*\):.*/\1 \2/p' | head -n 1)
        file=${loc% *} line=${loc##* }
        case $file in "$LL_MAIN" | /usr/etc/ssh/*) return 0 ;; /etc/ssh/*) ;; *) return 0 ;; esac
        [ -f "$file" ] || return 0
        awk -v n="$line" 'NR == n { print "# lifeline reset-ssh: sshd -t rejected the next line"; $0 = "#" $0 } { print }' \
            "$file" >"$LL_RUN/repaired" || return 1
        ll_put "$file" 0644 0:0 <"$LL_RUN/repaired" || return 1
        ll_emit note "commented out $file line $line: $(printf '%s\n' "$LL_SSHD_ERR" | head -n 1)"
    done
    return 0
}

# ll_report_overrides: the lines of included files that set what a reset decides. They still
# apply (sshd takes the first value it reads) and are the user's to keep or remove.
ll_report_overrides() {
    local pattern f hit
    # One pattern a line, read as is: globbed only once made absolute, never against the cwd.
    awk 'tolower($1) == "include" { for (i = 2; i <= NF; i++) print $i }' "$LL_MAIN" >"$LL_RUN/includes"
    while IFS= read -r pattern; do
        case $pattern in /*) ;; *) pattern=/etc/ssh/$pattern ;; esac
        for f in $pattern; do
            [ -f "$f" ] || continue
            grep -n -i -E '^[[:space:]]*(port|listenaddress|addressfamily|passwordauthentication|pubkeyauthentication|kbdinteractiveauthentication|challengeresponseauthentication|permitrootlogin|usepam|authenticationmethods|authorizedkeysfile|allowusers|denyusers|allowgroups|denygroups|match)[[:space:]]' \
                "$f" >"$LL_RUN/hits"
            while IFS= read -r hit; do
                ll_emit warning "$f line ${hit%%:*} still applies after the reset: ${hit#*:}"
            done <"$LL_RUN/hits"
        done
    done <"$LL_RUN/includes"
}
