# shellcheck shell=sh
# The in-guest login check (src/login/guest.rs): as root, put a throw-away key in the file that
# holds the user's keys, log in as the user through the guest's own sshd, run `true`, and put
# the file back byte for byte (same inode, owner and mode).
# Usage: ll_login_check USER HOST PORT BLOB FILE...   (BLOB: the operator's public key, or "-";
# FILE...: the authorized_keys files sshd consults for USER)
ll_login_check() {
    local u host port blob home c f d rc out
    u=$1 host=$2 port=$3 blob=$4
    shift 4
    command -v ssh >/dev/null 2>&1 || { echo "result=no-client"; return 0; }
    home=$(getent passwd "$u" | cut -d: -f6)
    f=
    # The file with the operator's key, else ~/.ssh/authorized_keys when it holds keys, else the
    # first consulted file that does.
    for c in "$home/.ssh/authorized_keys" "$@"; do
        [ -s "$c" ] || continue
        if [ "$blob" != - ]; then
            grep -qF "$blob" "$c" && { f=$c; break; }
        elif [ -z "$f" ]; then
            f=$c
        fi
    done
    [ -n "$f" ] || { echo "result=no-key-file"; return 0; }
    echo "file=$f"
    d=$(mktemp -d /run/ll-login.XXXXXX) || { echo "result=no-scratch"; return 0; }
    if ! ssh-keygen -q -t ed25519 -N '' -C lifeline-login-check -f "$d/k" >/dev/null 2>&1 ||
        ! cp -p "$f" "$d/orig" || ! cat "$d/k.pub" >>"$f"; then
        [ -f "$d/orig" ] && cat "$d/orig" >"$f"
        rm -rf "$d"
        echo "result=no-key-added"
        return 0
    fi
    # 90 s: the user's first login after a boot waits while systemd starts the user's own
    # manager (user@UID.service), 18 of 27 s on a Debian 13 guest under TCG at a load of 11.
    out=$(timeout 90 ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o ConnectTimeout=30 \
        -o LogLevel=ERROR -i "$d/k" -p "$port" -l "$u" "$host" true 2>&1 </dev/null)
    rc=$?
    cat "$d/orig" >"$f"
    rm -rf "$d"
    echo "result=ran"
    echo "status=$rc"
    printf '%s\n' "$out" | head -n 3 | cut -c1-200 | sed 's/^/said=/'
}
