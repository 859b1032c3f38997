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
            # shellcheck disable=SC2034 # read by ll_finish in plan.sh
            ! ll_verify 1 quiet || LL_WAS_OK=1
        fi
        # shellcheck disable=SC2034 # read by ll_step (plan.sh) and ll_targets (verify.sh)
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
# new content (a file given as its last argument) first, e.g. `visudo -cf`. Writes nothing when
# PATH already holds CONTENT. Redirect CONTENT from a file, never pipe it: a pipeline runs the
# function in a subshell, where what it records about the run is lost. In a directory a user
# controls (confine.sh) the file is written as that user, so it ends up theirs whatever OWNER.
ll_put() {
    local path="$1" mode="$2" owner="$3" dir who new err verb=rewritten
    shift 3
    dir=${path%/*}
    new=$LL_RUN/put.new
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
    who=$(ll_controller "$dir")
    cat >"$new" || {
        ll_fail "writing the new content of $path to $LL_RUN failed (file system full?)"
        return 1
    }
    if [ -f "$path" ] && ll_read "$who" "$path" >"$LL_RUN/put.old" && ll_same "$new" "$LL_RUN/put.old"; then
        ll_emit unchanged "$path"
        return 0
    fi
    if [ $# -gt 0 ] && ! err=$("$@" "$new" 2>&1); then
        ll_fail "$path: $1 rejects the new content: $err"
        return 1
    fi
    ll_backup "$path" || return 1
    if [ -e "$path" ]; then
        # shellcheck disable=SC2046 # three numbers, split on purpose
        set -- $(stat -c '%a %u %g' -- "$path")
        mode=$1 owner=$2:$3
    else
        verb=created
    fi
    if [ "$who" != 0 ]; then
        ll_place_as "$who" "$path" "$mode" <"$new" || return 1
        ll_relabel "$path"
    else
        ll_put_root "$path" "$mode" "$owner" <"$new" || {
            ll_fail "could not put $path in place"
            return 1
        }
        [ "$verb" = rewritten ] || ll_relabel "$path"
    fi
    ll_emit changed "$path" "$verb"
}

# ll_put_root PATH MODE OWNER [LABEL] <CONTENT: replaces PATH, in a directory only root
# controls, through a temporary file beside it.
ll_put_root() {
    local tmp
    tmp=$(mktemp "${1%/*}/.lifeline.XXXXXX") || return 1
    if ! {
        cat >"$tmp" && chown "$3" "$tmp" && chmod "$2" "$tmp" &&
            ll_set_label "$tmp" "${4:-$(ll_label "$1")}" && ll_place "$tmp" "$1"
    }; then
        rm -f -- "$tmp"
        return 1
    fi
}

# ll_remove PATH: removes a file, after backing it up.
ll_remove() {
    if [ ! -e "$1" ] && [ ! -L "$1" ]; then
        ll_emit unchanged "$1"
        return 0
    fi
    if ! ll_backup "$1" || ! rm -f -- "$1"; then
        ll_fail "${LL_STEP_ERR:-could not remove $1}"
        return 1
    fi
    ll_emit changed "$1" removed
}

# ll_mkdir PATH MODE OWNER: creates a directory (recorded as absent, so undo removes it). In a
# directory a user controls, only for that user, and made by them.
ll_mkdir() {
    local who
    [ ! -d "$1" ] || return 0
    who=$(ll_controller "${1%/*}")
    [ "$who" = 0 ] || [ "$who" = "${3%%:*}" ] || {
        ll_fail "${1%/*} is controlled by uid $who: lifeline creates nothing there for $3"
        return 1
    }
    if ! {
        ll_backup "$1" && if [ "$who" = 0 ]; then
            mkdir -m "$2" -- "$1" 2>/dev/null && chown -h -- "$3" "$1"
        else
            ll_as "$who" mkdir -m "$2" -- "$1"
        fi
    }; then
        ll_fail "${LL_STEP_ERR:-could not create $1}"
        return 1
    fi
    ll_relabel "$1"
    ll_emit changed "$1" "created"
}

# ll_set PATH owner|mode VALUE: changes the owning user (the group is left) or the mode of a
# path, after backing up its owner, mode and label.
ll_set() {
    local format=%a change=ll_set_mode
    [ "$2" = mode ] || format=%u change=ll_set_owner
    [ "$(stat -c "$format" -- "$1")" != "$3" ] || return 0
    if ! ll_backup_meta "$1" || ! "$change" "$1" "$3"; then
        ll_fail "${LL_STEP_ERR:-could not change the $2 of $1}"
        return 1
    fi
    if [ "$2" = mode ]; then
        ll_emit changed "$1" "mode $3"
    else
        ll_emit changed "$1" "owner uid $3"
    fi
}
