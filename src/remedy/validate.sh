# Validation: `sshd -t` judges every sshd configuration a step leaves, before any restart.

ll_sshd_locate() {
    local f
    LL_SSHD=$(command -v sshd 2>/dev/null)
    for f in /usr/sbin/sshd /usr/local/sbin/sshd /sbin/sshd; do
        [ -n "$LL_SSHD" ] || [ ! -x "$f" ] || LL_SSHD=$f
    done
}

# ll_sshd_valid: runs sshd -t, leaving its complaint in LL_SSHD_ERR. A missing privilege
# separation directory is created first: it lives on tmpfs, systemd makes it only while sshd
# runs, and without it sshd -t cannot judge anything else.
ll_sshd_valid() {
    local dir
    [ -n "$LL_SSHD" ] || {
        LL_SSHD_ERR="sshd is not installed"
        return 1
    }
    LL_SSHD_ERR=$("$LL_SSHD" -t 2>&1) && return 0
    case $LL_SSHD_ERR in
    *"Missing privilege separation directory: "*)
        dir=${LL_SSHD_ERR##*directory: }
        dir=${dir%%["$LL_CR$LL_NL"]*} # sshd ends its messages with CR LF
        # shellcheck disable=SC2174 # the mode is the privsep directory's; its parents are the system's
        mkdir -p -m 0755 -- "$dir" || return 1
        ll_emit changed "$dir" "created the privilege separation directory"
        LL_SSHD_ERR=$("$LL_SSHD" -t 2>&1)
        ;;
    *) return 1 ;;
    esac
}

ll_validate_report() {
    if ll_sshd_valid; then
        ll_emit validate ok
    else
        ll_emit validate failed "$LL_SSHD_ERR"
    fi
}

# ll_effective USER KEYWORD: the value sshd applies for USER connecting over loopback, Match
# blocks included (first word only).
ll_effective() {
    "$LL_SSHD" -T -C "user=$1,host=lifeline.invalid,addr=127.0.0.1" 2>/dev/null |
        awk -v k="$2" '$1 == k { print $2; exit }'
}
