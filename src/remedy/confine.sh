# Directories a user controls. A name in a directory that someone other than root can change
# (a home, ~/.ssh) can be swapped, for a symbolic link to /etc/shadow say, between any two
# commands root runs on it. So root never reads, writes, removes or changes the mode of a path
# by such a name: it acts as whoever controls the directory, with no more rights than they
# have, which the kernel checks on every step. The one thing a user cannot do for themselves,
# taking ownership of a file in their own directory, is done with `chown -h` (never follows a
# link) where the kernel's hard-link protection keeps links to others' files out.

# ll_controller DIR: who controls the names in DIR. 0 when DIR and every directory above it
# belong to root and nobody else can write to them (a sticky directory on the way counts as
# root's as long as the next one is root's too); otherwise the uid that owns the first
# directory on the way that is not root's; "-" when a root directory on the way is writable
# by others without the sticky bit, or is the last one and writable by others at all (nobody
# can act safely there). Links in root's directories are root's choice and are followed.
ll_controller() {
    local rest="$1" at='' part hops=0
    while [ -n "$rest" ]; do
        rest=${rest#/}
        part=${rest%%/*}
        rest=${rest#"$part"}
        case $part in '' | .) continue ;; ..)
            at=${at%/*}
            continue
            ;;
        esac
        if [ -L "$at/$part" ]; then
            hops=$((hops + 1))
            if ! part=$(readlink -- "$at/$part") || [ $hops -gt 40 ]; then
                echo -
                return 0
            fi
            case $part in /*) rest=$part/$rest at= ;; *) rest=$at/$part/$rest at= ;; esac
            continue
        fi
        [ -d "$at/$part" ] || break
        # shellcheck disable=SC2046 # two numbers, split on purpose
        set -- $(stat -c '%u %a' -- "$at/$part")
        at=$at/$part
        if [ "$1" != 0 ]; then
            echo "$1"
            return 0
        fi
        if [ $((0$2 & 022)) -ne 0 ] && { [ $((0$2 & 01000)) -eq 0 ] || [ -z "${rest#/}" ]; }; then
            echo -
            return 0
        fi
    done
    echo 0
}

# ll_as WHO COMMAND...: runs COMMAND as uid WHO (from ll_controller; 0 runs it as it is), in a
# session of its own and without the console: a process the user owns can be traced by them,
# and one holding the terminal could push keystrokes into root's shell (TIOCSTI).
ll_as() {
    local who="$1" entry name gid arg line=exec
    shift
    case $who in
    0)
        "$@"
        return
        ;;
    - | '')
        ll_fail "a directory on the way is writable by others: lifeline changes nothing there"
        return 1
        ;;
    esac
    entry=$(getent passwd "$who" 2>/dev/null | head -n 1)
    name=${entry%%:*}
    gid=$(printf '%s' "$entry" | cut -d: -f4)
    if command -v setpriv >/dev/null 2>&1; then
        set -- setpriv --reuid="$who" --regid="${gid:-65534}" --clear-groups -- "$@"
    elif [ -n "$name" ] && command -v runuser >/dev/null 2>&1; then
        set -- runuser -u "$name" -- "$@"
    elif [ -n "$name" ] && command -v su >/dev/null 2>&1; then
        # su parses options anywhere among its arguments: the command goes as one quoted line.
        for arg; do
            line="$line '$(printf '%s' "$arg" | sed "s/'/'\\\\''/g")'"
        done
        set -- su -s /bin/sh -c "$line" "$name"
    else
        ll_fail "neither setpriv, runuser nor su is here to act as uid $who: lifeline does not change their files as root"
        return 1
    fi
    command -v setsid >/dev/null 2>&1 || {
        ll_fail "setsid is missing: lifeline cannot act as uid $who safely"
        return 1
    }
    # A plan's commands never lead a process group, so setsid needs no fork and the status
    # is COMMAND's.
    (
        [ ! -t 0 ] || exec </dev/null
        [ ! -t 1 ] || exec >/dev/null
        exec setsid "$@" 2>"$LL_RUN/as.err"
    )
}

# ll_as_err: what the last ll_as command said on stderr, on one line.
ll_as_err() {
    tr '\n' ' ' <"$LL_RUN/as.err" 2>/dev/null
}

# ll_read WHO PATH: PATH's content on stdout, read with WHO's rights.
ll_read() {
    ll_as "$1" cat -- "$2"
}

# The program that writes a file as the directory's owner: a new temporary file beside the
# target ($1), its content from stdin, mode $2, flushed, renamed over the target.
# shellcheck disable=SC2016 # expanded by the user's shell, not here
LL_AS_PLACE='t=$(mktemp "${1%/*}/.lifeline.XXXXXX") || exit 1; if cat >"$t" && chmod "$2" "$t" && { sync -- "$t" 2>/dev/null || sync; } && mv -f -- "$t" "$1"; then exit 0; fi; rm -f -- "$t"; exit 1'

# ll_place_as WHO PATH MODE <CONTENT: replaces PATH with CONTENT, written as WHO (not root).
ll_place_as() {
    ll_as "$1" sh -c "$LL_AS_PLACE" sh "$2" "$3" || {
        ll_fail "${LL_STEP_ERR:-could not write $2 as uid $1, who controls its directory: $(ll_as_err)}"
        return 1
    }
}

# ll_set_mode PATH MODE: chmod, by whoever controls PATH's directory.
ll_set_mode() {
    local who
    who=$(ll_controller "${1%/*}")
    ll_as "$who" chmod -- "$2" "$1" || {
        [ "$who" = 0 ] || [ "$who" = - ] ||
            ll_fail "$1 is not owned by uid $who, who controls its directory: lifeline does not change its mode as root ($(ll_as_err))"
        return 1
    }
}

# ll_set_owner PATH UID[:GID]: chown without following a link. In a directory a user controls
# only that user can be made the owner, and only while the kernel keeps hard links to files
# they may not write out of their directories (fs.protected_hardlinks): then whatever sits at
# PATH is a link (-h changes the link itself) or a file they own or may write already.
ll_set_owner() {
    local who
    who=$(ll_controller "${1%/*}")
    case $who in
    0) ;;
    "${2%%:*}")
        [ "$(cat /proc/sys/fs/protected_hardlinks 2>/dev/null)" = 1 ] || {
            ll_fail "fs.protected_hardlinks is off, so $1 may be a hard link to any file: change its owner by hand"
            return 1
        }
        [ -d "$1" ] || [ "$(stat -c %h -- "$1")" = 1 ] || {
            ll_fail "$1 has other hard links: change its owner by hand"
            return 1
        }
        ;;
    *)
        ll_fail "$1 is in a directory uid $who controls: lifeline gives it to nobody else"
        return 1
        ;;
    esac
    chown -h -- "$2" "$1"
}
