# undo: every path of a backup put back as it was, last change first. What undo replaces is
# itself backed up, so an undo can be undone.

ll_undo() {
    local id="$1" src kind n mode uid gid label sha path
    [ -n "$id" ] || id=$(ll_list_backups | cut -f 3 | tail -n 1)
    src=$LL_BACKUP_ROOT/$id
    if [ -z "$id" ] || [ ! -f "$src/manifest" ]; then
        ll_fail "there is no backup ${id:-at all} under $LL_BACKUP_ROOT"
        return 1
    fi
    # shellcheck disable=SC2034 # read by ll_backup_dir in backup.sh, for the manifest
    LL_OPERATION="undo $id"
    ll_emit note "restoring backup $id ($(ll_manifest_field "$src" operation), $(ll_manifest_field "$src" created))"
    ll_entries "$src" >"$LL_RUN/undo"
    while IFS=$LL_TAB read -r kind n mode uid gid label sha path; do
        if ll_entry_holds "$kind" "$mode" "$uid" "$gid" "$label" "$sha" "$path"; then
            ll_emit unchanged "$path"
            continue
        fi
        [ "$kind" = tree ] || ll_backup "$path" || return 1
        ll_restore_entry "$src" restored "$kind" "$n" "$mode" "$uid" "$gid" "$label" "$sha" "$path" || {
            ll_fail "could not restore $path"
            return 1
        }
    done <"$LL_RUN/undo"
}

# ll_manifest_field DIR KEY: a value of the manifest's header.
ll_manifest_field() {
    awk -F '\t' -v k="$2" '$1 == k { print $2; exit }' "$1/manifest"
}

# ll_list_backups: one record per backup: id, operation, creation time, the paths it holds.
ll_list_backups() {
    local dir
    for dir in "$LL_BACKUP_ROOT"/*/; do
        [ -f "$dir/manifest" ] || continue
        dir=${dir%/}
        ll_emit backup-entry "${dir##*/}" "$(ll_manifest_field "$dir" operation)" \
            "$(ll_manifest_field "$dir" created)" \
            "$(ll_entries "$dir" | cut -f 8 | tr '\n' ' ')"
    done
}
