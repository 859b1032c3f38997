# Verification from inside the guest: sshd's banner read on every port it is configured for.

# ll_targets: "ADDRESS PORT" per configured port, loopback for wildcard addresses. Kept in
# LL_TARGETS until the configuration changes (ll_touches forgets it): sshd -T is slow.
ll_targets() {
    [ -n "$LL_TARGETS" ] || LL_TARGETS=$(ll_listeners)
    printf '%s\n' "$LL_TARGETS"
}

ll_listeners() {
    [ -n "$LL_SSHD" ] || return 0
    "$LL_SSHD" -T -C user=root,host=lifeline.invalid,addr=127.0.0.1 2>/dev/null | awk '
        $1 == "listenaddress" {
            a = $2; p = a; sub(/.*:/, "", p); sub(/:[0-9]+$/, "", a); gsub(/[][]/, "", a)
            if (a == "0.0.0.0") a = "127.0.0.1"; else if (a == "::") a = "::1"
            if (!(p in addr) || a == "127.0.0.1") addr[p] = a
        }
        END { for (p in addr) print addr[p], p }' | sort -n -k 2
}

# ll_banner ADDRESS PORT: the first line the port sends, within 5 s.
ll_banner() {
    local t=
    command -v timeout >/dev/null 2>&1 && t="timeout 5"
    if command -v bash >/dev/null 2>&1; then
        # shellcheck disable=SC2016 # expanded by the inner bash, from its own arguments
        $t bash -c 'exec 3<>"/dev/tcp/$1/$2" && IFS= read -r l <&3 && printf "%s\n" "$l"' ll "$1" "$2" 2>&1
    elif command -v python3 >/dev/null 2>&1; then
        $t python3 -c 'import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
print(s.makefile().readline().rstrip())' "$1" "$2" 2>&1 | tail -n 1
    elif command -v nc >/dev/null 2>&1; then
        $t nc -w 5 "$1" "$2" </dev/null 2>&1 | head -n 1
    else
        echo "no bash, python3 or nc to connect with"
    fi
}

# ll_verify TRIES [quiet]: whether every configured port answers with an SSH banner, trying
# each up to TRIES times a second apart (a restarted or socket-activated sshd takes a moment).
ll_verify() {
    local targets addr port banner i status=0
    [ -n "$LL_TARGETS" ] || LL_TARGETS=$(ll_listeners)
    targets=$LL_TARGETS
    if [ -z "$targets" ]; then
        [ -n "$2" ] || ll_emit verify - - failed "sshd -T does not say which ports sshd listens on"
        return 1
    fi
    while read -r addr port; do
        i=0
        while :; do
            banner=$(ll_banner "$addr" "$port" | tr -d '\r')
            case $banner in SSH-2.0-* | SSH-1.99-*)
                [ -n "$2" ] || ll_emit verify "$port" "$addr" ok "$banner"
                break
                ;;
            esac
            i=$((i + 1))
            if [ $i -ge "$1" ]; then
                [ -n "$2" ] || ll_emit verify "$port" "$addr" failed "${banner:-no answer}"
                status=1
                break
            fi
            sleep 1
        done
    done <<LL_TARGETS
$targets
LL_TARGETS
    return $status
}
