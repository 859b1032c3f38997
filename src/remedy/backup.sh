# Backups. Before a plan changes a path, what it was is recorded twice: in the run's backup
# directory under $LL_BACKUP_ROOT (kept, for `lifeline undo`) and in the step's scratch
# snapshot (for rolling a failed step back). Each records a path once, the first time it is
# touched, in a manifest of tab-separated entries:
#
#   KIND  N  MODE  UID  GID  LABEL  SHA256  PATH
#
# file: a regular file, copied to files/N; meta: a directory whose owner, mode or label may
# change; absent: the path did not exist, so undo removes it; tree: a directory archived to
# files/N (tar) before it is deleted. LABEL is the SELinux context, "-" without SELinux.

LL_BACKUP_ROOT=${LL_BACKUP_ROOT:-/var/backups/lifeline}

ll_sha256() {
    local sum
    sum=$(sha256sum <"$1") || return 1
    printf '%s' "${sum%% *}"
}

ll_selinux() {
    [ -e /sys/fs/selinux/enforce ] && command -v chcon >/dev/null 2>&1
}

ll_label() {
    local label=
    ll_selinux && label=$(stat -c %C -- "$1" 2>/dev/null)
    case $label in '' | '?') label=- ;; esac
    printf '%s' "$label"
}

# ll_backup_dir: the run's backup directory, created on first use (a run that changes nothing
# leaves no backup behind). Its id is the UTC time, made unique by a suffix if need be.
ll_backup_dir() {
    local id try n=1
    [ -z "$LL_BDIR" ] || return 0
    # shellcheck disable=SC2174 # only the backup root itself is private; parents are the system's
    mkdir -p -m 0700 "$LL_BACKUP_ROOT" || {
        ll_fail "cannot create $LL_BACKUP_ROOT (read-only or full file system?)"
        return 1
    }
    id=$(date -u +%Y%m%dT%H%M%SZ)
    try=$id
    while ! mkdir -m 0700 "$LL_BACKUP_ROOT/$try" 2>/dev/null; do
        n=$((n + 1))
        [ $n -le 99 ] || {
            ll_fail "cannot create a backup directory under $LL_BACKUP_ROOT"
            return 1
        }
        try=$id-$n
    done
    LL_BDIR=$LL_BACKUP_ROOT/$try
    printf 'lifeline-backup\t1\noperation\t%s\ncreated\t%s\n' "$LL_OPERATION" \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$LL_BDIR/manifest"
    ll_emit backup "$try" "$LL_BDIR"
}

# ll_next DIR: the number of DIR's next entry.
ll_next() {
    if [ -f "$1/paths" ]; then
        echo $(($(wc -l <"$1/paths") + 1))
    else
        echo 1
    fi
}

# ll_record DIR PATH [meta]: records PATH's current state in DIR's manifest, once. With meta
# (a step that changes only owner or mode), a file's content is not copied: its owner may be
# what keeps it from being read. A later step that changes its content records it in full.
ll_record() {
    local dir="$1" path="$2" only="${3:-}" n kind sha=-
    if [ "$only" = meta ]; then
        ! grep -Fxqs -e "$path" -e "$path	meta" "$dir/paths" || return 0
    else
        ! grep -Fxqs -- "$path" "$dir/paths" || return 0
    fi
    n=$(ll_next "$dir")
    if [ -L "$path" ]; then
        ll_fail "$path is a symbolic link: lifeline does not change paths through links"
        return 1
    elif [ -f "$path" ] && [ "$only" = meta ]; then
        kind=meta
    elif [ -f "$path" ]; then
        if ! mkdir -p "$dir/files" || ! ll_read "$(ll_controller "${path%/*}")" "$path" >"$dir/files/$n"; then
            ll_fail "could not back up $path to $dir (unreadable, or file system full?)"
            return 1
        fi
        kind=file sha=$(ll_sha256 "$dir/files/$n")
    elif [ -d "$path" ]; then
        kind=meta
    elif [ -e "$path" ]; then
        ll_fail "$path is neither a regular file nor a directory"
        return 1
    else
        printf 'absent\t%s\t-\t-\t-\t-\t-\t%s\n' "$n" "$path" >>"$dir/manifest"
        printf '%s\n' "$path" >>"$dir/paths"
        return 0
    fi
    # shellcheck disable=SC2046 # three numbers, split on purpose
    set -- $(stat -c '%a %u %g' -- "$path")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$n" "$1" "$2" "$3" "$(ll_label "$path")" \
        "$sha" "$path" >>"$dir/manifest"
    printf '%s%s\n' "$path" "${only:+	$only}" >>"$dir/paths"
}

# ll_backup PATH...: records each PATH before the current step changes it.
ll_backup() {
    local path
    for path in "$@"; do
        # shellcheck disable=SC2153 # LL_SDIR is the current step's directory, set by ll_step in plan.sh
        ll_backup_dir && ll_record "$LL_BDIR" "$path" && ll_record "$LL_SDIR" "$path" || return 1
        ll_touches "$path"
    done
}

# ll_backup_meta PATH: ll_backup for a step that changes only PATH's owner or mode.
ll_backup_meta() {
    ll_backup_dir && ll_record "$LL_BDIR" "$1" meta && ll_record "$LL_SDIR" "$1" meta || return 1
    ll_touches "$1"
}

# ll_entry_holds KIND MODE UID GID LABEL SHA PATH: whether PATH already is as the entry
# recorded it.
ll_entry_holds() {
    case $1 in
    file)
        [ -f "$7" ] && [ ! -L "$7" ] && ll_read "$(ll_controller "${7%/*}")" "$7" >"$LL_RUN/held" &&
            [ "$(ll_sha256 "$LL_RUN/held")" = "$6" ] &&
            [ "$(stat -c '%a %u %g' -- "$7")" = "$2 $3 $4" ] && [ "$(ll_label "$7")" = "$5" ]
        ;;
    meta) { [ -d "$7" ] || [ -f "$7" ]; } && [ ! -L "$7" ] && [ "$(stat -c '%a %u %g' -- "$7")" = "$2 $3 $4" ] &&
        [ "$(ll_label "$7")" = "$5" ] ;;
    absent) [ ! -e "$7" ] && [ ! -L "$7" ] ;;
    tree) [ -e "$7" ] ;;
    esac
}

# ll_restore_entry DIR VERB KIND N MODE UID GID LABEL SHA PATH: puts PATH back as the entry
# recorded it (atomically for files) and says so with a VERB record; the caller has checked
# that it is not so already (ll_entry_holds). In a directory a user controls, that user does
# it (confine.sh): a file comes back theirs, whoever owned it before.
ll_restore_entry() {
    local dir="$1" verb="$2" kind="$3" n="$4" mode="$5" uid="$6" gid="$7" label="$8" sha="$9" path who
    shift 9
    path=$1
    who=$(ll_controller "${path%/*}")
    case $kind in
    file)
        [ "$(ll_sha256 "$dir/files/$n")" = "$sha" ] || {
            ll_emit failed "$path" "the backup copy $dir/files/$n is damaged (checksum differs)"
            return 1
        }
        if [ "$who" = 0 ]; then
            ll_put_root "$path" "$mode" "$uid:$gid" "$label" <"$dir/files/$n"
        else
            ll_place_as "$who" "$path" "$mode" <"$dir/files/$n"
        fi || {
            ll_emit failed "$path" "could not restore it from $dir/files/$n"
            return 1
        }
        ll_emit "$verb" "$path" "content, owner, mode and label as recorded"
        ;;
    meta)
        if ! {
            { [ -d "$path" ] || [ -f "$path" ]; } && [ ! -L "$path" ] &&
                { [ "$(stat -c %u:%g -- "$path")" = "$uid:$gid" ] ||
                    { [ -f "$path" ] && [ "$who" != 0 ]; } || ll_set_owner "$path" "$uid:$gid"; } &&
                ll_set_mode "$path" "$mode" &&
                { [ "$who" != 0 ] || ll_set_label "$path" "$label"; }
        }; then
            ll_emit failed "$path" "could not restore its owner, mode or label"
            return 1
        fi
        ll_emit "$verb" "$path" "owner, mode and label as recorded"
        ;;
    absent)
        if [ -d "$path" ] && [ ! -L "$path" ]; then
            if ll_as "$who" rmdir -- "$path" 2>/dev/null; then
                ll_emit "$verb" "$path" "removed: it did not exist before"
            else
                ll_emit warning "$path did not exist before but is left in place: it is not empty"
            fi
        else
            ll_as "$who" rm -f -- "$path" && ll_emit "$verb" "$path" "removed: it did not exist before"
        fi
        ;;
    tree)
        tar -C / --numeric-owner -xpf "$dir/files/$n" 2>/dev/null || {
            ll_emit failed "$path" "could not unpack $dir/files/$n"
            return 1
        }
        ll_emit "$verb" "$path" "unpacked from the archive"
        ;;
    esac
}

# ll_entries DIR: the manifest's entries, last first (undo order).
ll_entries() {
    awk -F '\t' 'NF == 8 && $1 ~ /^(file|meta|absent|tree)$/ { e[++n] = $0 }
        END { for (i = n; i > 0; i--) print e[i] }' "$1/manifest"
}

# ll_restore_all DIR VERB: puts every path recorded in DIR back, last first.
ll_restore_all() {
    local status=0 kind n mode uid gid label sha path
    ll_entries "$1" >"$LL_RUN/entries"
    while IFS=$LL_TAB read -r kind n mode uid gid label sha path; do
        ! ll_entry_holds "$kind" "$mode" "$uid" "$gid" "$label" "$sha" "$path" || continue
        ll_touches "$path"
        ll_restore_entry "$1" "$2" "$kind" "$n" "$mode" "$uid" "$gid" "$label" "$sha" "$path" ||
            status=1
    done <"$LL_RUN/entries"
    return $status
}
