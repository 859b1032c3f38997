# The SSH service: restarted (never condrestart, which leaves a stopped sshd stopped) when its
# configuration changed, started when it is not running, unmasked and enabled on the way.
# Debian and Ubuntu call the unit ssh, everyone else sshd; Ubuntu 22.10 and later start it
# from ssh.socket, whose listening ports a generator derives from sshd_config at daemon-reload.

ll_systemd() {
    [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && command -v systemctl >/dev/null 2>&1
}

# ll_unit_state NAME: LoadState, UnitFileState and ActiveState of NAME.service (LL_SVC_LOAD,
# LL_SVC_FILE, LL_SVC_ACTIVE) and the UnitFileState and ActiveState of NAME.socket
# (LL_SOCK_FILE, LL_SOCK_ACTIVE), from one systemctl call: every process counts on a slow guest.
ll_unit_state() {
    local key value socket=
    LL_SVC_LOAD='' LL_SVC_FILE='' LL_SVC_ACTIVE='' LL_SOCK_FILE='' LL_SOCK_ACTIVE=
    systemctl show -p LoadState -p UnitFileState -p ActiveState "$1.service" "$1.socket" \
        >"$LL_RUN/units" 2>/dev/null
    while IFS='=' read -r key value; do
        case $key:$socket in
        :*) socket=1 ;;
        LoadState:) LL_SVC_LOAD=$value ;;
        UnitFileState:) LL_SVC_FILE=$value ;;
        ActiveState:) LL_SVC_ACTIVE=$value ;;
        UnitFileState:1) LL_SOCK_FILE=$value ;;
        ActiveState:1) LL_SOCK_ACTIVE=$value ;;
        esac
    done <"$LL_RUN/units"
}

# ll_ssh_unit: LL_UNIT (ssh or sshd), its state (ll_unit_state), and whether it is
# socket-activated (LL_SOCKET=1).
ll_ssh_unit() {
    local name
    LL_UNIT='' LL_SOCKET=
    for name in ssh sshd; do
        ll_unit_state "$name"
        case $LL_SVC_LOAD in loaded | masked)
            LL_UNIT=$name
            break
            ;;
        esac
    done
    [ -n "$LL_UNIT" ] || return 1
    case $LL_SOCK_FILE in enabled | enabled-runtime)
        [ "$LL_SVC_FILE" = enabled ] || LL_SOCKET=1
        ;;
    esac
}


# ll_sysv_service CHANGED: ll_sshd_service where sysvinit runs the system: the init script
# (/etc/init.d/ssh or sshd) is linked into the runlevels and restarted or started. Returns 2
# when there is no init at all (an emergency shell) or no init script.
ll_sysv_service() {
    local changed="$1" name script='' err
    [ "$(cat /proc/1/comm 2>/dev/null)" = init ] || return 2
    for name in ssh sshd; do
        [ -x "/etc/init.d/$name" ] && script=/etc/init.d/$name && break
    done
    [ -n "$script" ] || return 2
    set +f
    set -- /etc/rc[2345].d/S[0-9][0-9]"$name"
    set -f
    if [ ! -e "$1" ] && command -v update-rc.d >/dev/null 2>&1; then
        update-rc.d "$name" defaults >/dev/null 2>&1 && update-rc.d "$name" enable >/dev/null 2>&1 &&
            ll_emit changed "$script" "linked into the runlevels (starts at boot)"
    fi
    if [ -z "$changed" ] && "$script" status >/dev/null 2>&1; then
        ll_emit service "$script" unchanged "running"
        return 0
    fi
    if err=$("$script" restart 2>&1) && sleep 1 && "$script" status >/dev/null 2>&1; then
        ll_emit service "$script" restarted
        return 0
    fi
    [ ! -e /etc/ssh/sshd_not_to_be_run ] || err="$err /etc/ssh/sshd_not_to_be_run exists."
    ll_emit service "$script" failed "$err $(tail -n 5 /var/log/auth.log 2>/dev/null)"
    return 1
}

# ll_sshd_service CHANGED: restarts the SSH unit when CHANGED is non-empty, starts it when it
# is not active.
ll_sshd_service() {
    local unit active err rc
    if ! ll_systemd; then
        ll_sysv_service "$1"
        rc=$?
        [ "$rc" = 2 ] || return "$rc"
        ll_emit service - skipped "no systemd and no init script here (an emergency shell?): nothing was started; start sshd once the system is up"
        # shellcheck disable=SC2034 # read by the plan's end (plan.sh)
        LL_NO_INIT=1
        return 0
    fi
    ll_ssh_unit || {
        # systemctl itself may not run (a library it loads damaged): then no unit is known.
        if err=$(systemctl --version 2>&1 >/dev/null); then
            ll_emit service - failed "neither ssh.service nor sshd.service exists: is openssh-server installed?"
        else
            ll_emit service - failed "systemctl cannot run: $(printf '%s\n' "$err" | head -n 2 | tr '\n' ' ')"
        fi
        return 1
    }
    if [ "$LL_SVC_LOAD" = masked ]; then
        systemctl unmask "$LL_UNIT.service" >/dev/null 2>&1 && ll_ssh_unit &&
            ll_emit changed "$LL_UNIT.service" unmasked
    fi
    # A masked socket where the service is not enabled: sshd was socket-activated (Ubuntu),
    # so the socket comes back rather than the service taking its place.
    if [ "$LL_SOCK_FILE" = masked ] && [ "$LL_SVC_FILE" != enabled ]; then
        systemctl unmask "$LL_UNIT.socket" >/dev/null 2>&1 && ll_ssh_unit &&
            ll_emit changed "$LL_UNIT.socket" unmasked
    fi
    unit=$LL_UNIT.service active=$LL_SVC_ACTIVE
    if [ -n "$LL_SOCKET" ]; then
        unit=$LL_UNIT.socket active=$LL_SOCK_ACTIVE
    elif [ "$LL_SVC_FILE" = disabled ]; then
        systemctl enable "$unit" >/dev/null 2>&1 && ll_emit changed "$unit" "enabled at boot"
    fi
    if [ -z "$1" ] && [ "$active" = active ]; then
        ll_emit service "$unit" unchanged "active"
        return 0
    fi
    systemctl reset-failed "$LL_UNIT.service" "$unit" >/dev/null 2>&1
    if [ -n "$LL_SOCKET" ]; then
        # The generator rewrites the socket's ports from sshd_config; the running service
        # (if any) must go so the next connection starts one with the new configuration.
        systemctl daemon-reload >/dev/null 2>&1
        systemctl stop "$LL_UNIT.service" >/dev/null 2>&1
    fi
    if err=$(systemctl restart "$unit" 2>&1) && [ "$(systemctl is-active "$unit")" = active ]; then
        # The service starts now rather than at the first connection: a configuration it
        # rejects shows here, and the checks that follow neither wait for its start (seconds on
        # a slow guest) nor lack /run/sshd, which only the running service has (sshd -T
        # needs it).
        if [ -z "$LL_SOCKET" ] || err=$(systemctl start "$LL_UNIT.service" 2>&1); then
            ll_emit service "$unit" restarted
            return 0
        fi
        unit=$LL_UNIT.service
    fi
    [ ! -e /etc/ssh/sshd_not_to_be_run ] || err="$err /etc/ssh/sshd_not_to_be_run exists."
    ll_emit service "$unit" failed "$err $(journalctl -u "$unit" -n 5 -o cat --no-pager 2>/dev/null)"
    return 1
}
