# The SHA256 fingerprints of the keys in the authorized keys files sshd consults, so that the
# operator's key can be matched on this side (SSH803) while the keys themselves never cross the
# console. Called by the probe (it uses the probe's `sec`, `has` and `t`).
# shellcheck shell=dash

# ll_authorized_fingerprints FILES: FILES is the probe's tab-separated list of the user's
# authorized keys files; prints "PATH<TAB>SHA256:…<TAB>(TYPE)" for each key ssh-keygen reads,
# or "unavailable" without ssh-keygen (then nothing can be told).
ll_authorized_fingerprints() {
    sec authorized_fp
    has ssh-keygen || { echo unavailable; return 0; }
    local files=$1 f
    IFS=$TAB
    # shellcheck disable=SC2086 # split on tabs only; globbing is off in the probe
    set -- $files
    IFS=$LL_IFS
    for f; do
        if [ -f "$f" ] && [ -r "$f" ]; then
            t 5 ssh-keygen -lf "$f" 2>/dev/null | awk -v f="$f" '$2 ~ /^SHA256:/ { print f "\t" $2 "\t" $NF }'
        fi
    done
}
