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

# ll_reset_sshd_config KEEP_PORTS [CARRY]: the step that resets the main file; with CARRY, the
# settings of the file it replaces that sshd still accepts are carried over (ll_carry_settings).
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
    [ -z "${2:-}" ] || ll_carry_settings "$LL_MAIN" "$LL_RUN/candidate" || return 1
    # /etc/ssh itself may be gone.
    ll_mkdir "${LL_MAIN%/*}" 0755 0:0 || return 1
    ll_put "$LL_MAIN" 0644 0:0 <"$LL_RUN/candidate" || return 1
    ll_repair_includes || return 1
    ll_report_overrides
}

# ll_carry_settings OLD CANDIDATE: the settings of OLD (the main file a reset replaces) put
# into CANDIDATE (the default), each only if sshd accepts it there: a line is dropped when
# adding it makes `sshd -t` say something it did not say without it. Global lines go after
# CANDIDATE's first Include (sshd takes the first value it reads, and drop-ins came first
# before), the Match section as one piece at the end. Every line kept or dropped is reported.
ll_carry_settings() {
    local line base said
    [ -f "$1" ] && [ -n "$LL_SSHD" ] || return 0
    # Printable text only (a corrupted file holds NULs and binary); no comments, no Include (the
    # default has its own), nothing the default already says word for word.
    tr -d '\000' <"$1" | LC_ALL=C tr -c '\011\012\040-\176' '?' | awk -v cand="$2" \
        -v global="$LL_RUN/carry.global" -v section="$LL_RUN/carry.match" '
        BEGIN {
            while ((getline l < cand) > 0) { gsub(/^[ \t]+|[ \t\r]+$/, "", l); have[l] = 1 }
            printf "" > global; printf "" > section
        }
        { sub(/[ \t\r]+$/, ""); t = $0; sub(/^[ \t]+/, "", t) }
        t == "" || t ~ /^#/ { next }
        tolower($1) == "match" { in_match = 1 }
        in_match { print > section; next }
        tolower($1) == "include" || (t in have) { next }
        { print t > global }' || return 1
    : >"$LL_RUN/carry.kept"
    : >"$LL_RUN/carry.none"
    base=$(ll_sshd_says "$2" "$LL_RUN/carry.none" "$LL_RUN/carry.none")
    while IFS= read -r line; do
        printf '%s\n' "$line" >"$LL_RUN/carry.line"
        cat "$LL_RUN/carry.kept" >>"$LL_RUN/carry.line"
        said=$(ll_sshd_says "$2" "$LL_RUN/carry.line" "$LL_RUN/carry.none")
        if [ "$said" = "$base" ]; then
            printf '%s\n' "$line" >>"$LL_RUN/carry.kept"
            ll_emit note "kept from the old sshd_config: $line"
        else
            ll_emit note "dropped from the old sshd_config: $line (sshd: $(printf '%s\n' "$said" | grep -vxF -e "$base" | head -n 1))"
        fi
    done <"$LL_RUN/carry.global"
    if [ -s "$LL_RUN/carry.match" ]; then
        said=$(ll_sshd_says "$2" "$LL_RUN/carry.kept" "$LL_RUN/carry.match")
        if [ "$said" = "$base" ]; then
            ll_emit note "kept from the old sshd_config: its Match section ($(wc -l <"$LL_RUN/carry.match") lines)"
        else
            ll_emit note "dropped from the old sshd_config: its Match section (sshd: $(printf '%s\n' "$said" | grep -vxF -e "$base" | head -n 1))"
            : >"$LL_RUN/carry.match"
        fi
    fi
    ll_carried "$2" "$LL_RUN/carry.kept" "$LL_RUN/carry.match" >"$LL_RUN/carry.out" &&
        mv -f "$LL_RUN/carry.out" "$2"
}

# ll_carried CANDIDATE GLOBAL MATCH: CANDIDATE with the lines of GLOBAL after its first Include
# (at the top when it has none) and MATCH at the end.
ll_carried() {
    if grep -qi '^[[:space:]]*include[[:space:]]' "$1"; then
        awk -v global="$2" '{ print }
            !done && tolower($1) == "include" { while ((getline l < global) > 0) print l; done = 1 }' "$1"
    else
        cat "$2" "$1"
    fi
    cat "$3"
}

# ll_sshd_says CANDIDATE GLOBAL MATCH: what `sshd -t` says of ll_carried's file, line numbers
# left out (inserting a line moves the ones below) and deprecation notes too (not errors).
ll_sshd_says() {
    ll_carried "$@" >"$LL_RUN/carry.try"
    "$LL_SSHD" -t -f "$LL_RUN/carry.try" 2>&1 | tr -d '\r' |
        sed -e "s| line [0-9][0-9]*:| line:|" -e "s|$LL_RUN/carry.try|sshd_config|" |
        grep -v -e 'Deprecated option' -e '^$'
    return 0
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
