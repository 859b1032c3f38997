# Atomic writes. New content goes to a temporary file in the target's own directory (so the
# final rename cannot cross file systems), gets the original's owner, mode and SELinux label,
# is flushed to disk, and replaces the target with one rename: a reader, or a crash, sees the
# old file or the new one, never half of one.

ll_same() {
    if command -v cmp >/dev/null 2>&1; then
        cmp -s -- "$1" "$2"
    else
        [ "$(ll_sha256 "$1")" = "$(ll_sha256 "$2")" ]
    fi
}

ll_set_label() {
    [ "$2" = - ] || ! ll_selinux || chcon -- "$2" "$1"
}

# ll_relabel PATH...: the policy's default labels for paths lifeline created, when SELinux is on.
ll_relabel() {
    ll_selinux && command -v restorecon >/dev/null 2>&1 || return 0
    restorecon -F -- "$@" 2>/dev/null || true
}

# ll_touches PATH: notes that the current step changes sshd's configuration, so that it is
# validated before the step counts as done, and sshd is restarted at the end. Before the first
# such change of a run, whether SSH answers is noted: if it did and does not at the end, the
# whole run is put back.
ll_touches() {
    case $1 in /etc/ssh/*_key | /etc/ssh/*_key.pub | /etc/ssh/moduli) ;;
    /etc/ssh/* | /usr/etc/ssh/*)
        if [ -z "$LL_CHECKED" ]; then
            LL_CHECKED=1
            ! ll_verify 1 quiet || LL_WAS_OK=1
        fi
        LL_STEP_SSHD=1 LL_TARGETS=
        ;;
    esac
}

# ll_place TMP PATH: flushes TMP and renames it over PATH, then flushes the directory.
ll_place() {
    sync -- "$1" 2>/dev/null || sync
    mv -f -- "$1" "$2" || return 1
    sync -- "${2%/*}" 2>/dev/null || true
}

# ll_put PATH MODE OWNER [CHECK...] <CONTENT: makes PATH hold CONTENT. An existing file keeps
# its owner, mode and label; a new one gets MODE and OWNER. CHECK, when given, must accept the
# temporary file (given as its last argument) first, e.g. `visudo -cf`. Writes nothing when
# PATH already holds CONTENT. Redirect CONTENT from a file, never pipe it: a pipeline runs the
# function in a subshell, where what it records about the run is lost.
ll_put() {
    local path="$1" mode="$2" owner="$3" dir tmp err verb=rewritten
    shift 3
    dir=${path%/*}
    [ -d "$dir/" ] || {
        ll_fail "cannot write $path: $dir is not a directory"
        return 1
    }
    [ ! -L "$path" ] || {
        ll_fail "$path is a symbolic link: lifeline does not write through links"
        return 1
    }
    [ ! -e "$path" ] || [ -f "$path" ] || {
        ll_fail "$path exists and is not a regular file"
        return 1
    }
    tmp=$(mktemp "$dir/.lifeline.XXXXXX") || {
        ll_fail "cannot create a temporary file in $dir (read-only or full?)"
        return 1
    }
    if ! cat >"$tmp"; then
        rm -f -- "$tmp"
        ll_fail "writing $tmp failed (file system full?)"
        return 1
    fi
    if [ -f "$path" ] && ll_same "$tmp" "$path"; then
        rm -f -- "$tmp"
        ll_emit unchanged "$path"
        return 0
    fi
    if [ $# -gt 0 ] && ! err=$("$@" "$tmp" 2>&1); then
        rm -f -- "$tmp"
        ll_fail "$path: $1 rejects the new content: $err"
        return 1
    fi
    if ! ll_backup "$path"; then
        rm -f -- "$tmp"
        return 1
    fi
    if [ -e "$path" ]; then
        # shellcheck disable=SC2046 # three numbers, split on purpose
        set -- $(stat -c '%a %u %g' -- "$path")
        mode=$1 owner=$2:$3
    else
        verb=created
    fi
    if ! { chown "$owner" "$tmp" && chmod "$mode" "$tmp" &&
        ll_set_label "$tmp" "$(ll_label "$path")" && ll_place "$tmp" "$path"; }; then
        rm -f -- "$tmp"
        ll_fail "could not put $path in place"
        return 1
    fi
    [ "$verb" = rewritten ] || ll_relabel "$path"
    ll_emit changed "$path" "$verb"
}

# ll_remove PATH: removes a file, after backing it up.
ll_remove() {
    if [ ! -e "$1" ] && [ ! -L "$1" ]; then
        ll_emit unchanged "$1"
        return 0
    fi
    ll_backup "$1" && rm -f -- "$1" || {
        ll_fail "${LL_STEP_ERR:-could not remove $1}"
        return 1
    }
    ll_emit changed "$1" removed
}

# ll_mkdir PATH MODE OWNER: creates a directory (recorded as absent, so undo removes it).
ll_mkdir() {
    [ ! -d "$1" ] || return 0
    ll_backup "$1" && mkdir -m "$2" -- "$1" 2>/dev/null && chown "$3" "$1" || {
        ll_fail "${LL_STEP_ERR:-could not create $1}"
        return 1
    }
    ll_relabel "$1"
    ll_emit changed "$1" "created"
}

# ll_chmod PATH MODE: changes a path's mode, after backing up its owner, mode and label.
ll_chmod() {
    [ "$(stat -c %a -- "$1")" != "$2" ] || return 0
    ll_backup "$1" && chmod "$2" "$1" || {
        ll_fail "${LL_STEP_ERR:-could not change the mode of $1}"
        return 1
    }
    ll_emit changed "$1" "mode $2"
}
