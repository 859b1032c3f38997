# Accounts: created with useradd -m, removed with userdel -r (system accounts and root refused),
# sudo rights as a drop-in of lifeline's own checked by visudo. The account databases are backed
# up before every change, so undo restores them byte for byte.

LL_ACCOUNT_FILES="/etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/subuid /etc/subgid"

# ll_sudoers_file USER: sudo skips files in sudoers.d whose names contain a dot.
ll_sudoers_file() {
    printf '/etc/sudoers.d/90-lifeline-%s' "$(printf '%s' "$1" | tr '.' '_')"
}

ll_add_user() {
    local shell home err
    if getent passwd "$1" >/dev/null; then
        ll_emit unchanged "account $1 (it exists)"
        return 0
    fi
    shell=/bin/bash
    [ -x "$shell" ] || shell=/bin/sh
    home=$(useradd -D 2>/dev/null | sed -n 's/^HOME=//p')
    # shellcheck disable=SC2086 # the account files, one per word
    ll_backup $LL_ACCOUNT_FILES "${home:-/home}/$1" || return 1
    err=$(useradd -m -s "$shell" "$1" 2>&1) || {
        ll_fail "useradd -m -s $shell $1 failed: $err"
        return 1
    }
    ll_emit changed "account $1" "created with home $(getent passwd "$1" | cut -d: -f6) and shell $shell"
}

# ll_grant_sudo USER NOPASSWD: NOPASSWD non-empty lets USER run sudo without a password.
ll_grant_sudo() {
    local file rule
    command -v visudo >/dev/null 2>&1 || {
        ll_fail "sudo is not installed (there is no visudo)"
        return 1
    }
    rule="$1 ALL=(ALL) ALL"
    [ -z "$2" ] || rule="$1 ALL=(ALL) NOPASSWD: ALL"
    ll_mkdir /etc/sudoers.d 0750 0:0 || return 1
    if ! grep -Eq '^[#@]includedir[[:space:]]+/etc/sudoers.d[[:space:]]*$' /etc/sudoers; then
        { cat /etc/sudoers; echo '#includedir /etc/sudoers.d'; } >"$LL_RUN/sudoers"
        ll_put /etc/sudoers 0440 0:0 visudo -cf <"$LL_RUN/sudoers" || return 1
    fi
    file=$(ll_sudoers_file "$1")
    printf '# Written by lifeline user add.\n%s\n' "$rule" >"$LL_RUN/sudo"
    ll_put "$file" 0440 0:0 visudo -cf <"$LL_RUN/sudo"
}

# ll_remove_user USER: refuses root and system accounts (uid below UID_MIN); ends the user's
# processes (userdel refuses otherwise); archives the home before userdel -r deletes it.
ll_remove_user() {
    local min err
    if ! getent passwd "$1" >/dev/null; then
        ll_emit unchanged "account $1 (there is none)"
        ll_remove "$(ll_sudoers_file "$1")"
        return
    fi
    ll_user "$1" || return 1
    min=$(awk '$1 == "UID_MIN" { print $2 }' /etc/login.defs 2>/dev/null)
    if [ "$LL_UID" = 0 ] || ! [ "$LL_UID" -ge "${min:-1000}" ]; then
        ll_fail "$1 has uid $LL_UID, below UID_MIN ${min:-1000}: a system account or root, not removed"
        return 1
    fi
    if [ -n "$(ps -o pid= -u "$LL_UID" 2>/dev/null)" ]; then
        command -v loginctl >/dev/null 2>&1 && loginctl terminate-user "$1" >/dev/null 2>&1
        sleep 1
        pkill -KILL -u "$LL_UID" 2>/dev/null
        sleep 1
        ll_emit changed "processes of $1" "ended (userdel refuses to remove a user who runs something)"
    fi
    # shellcheck disable=SC2086 # the account files, one per word
    ll_backup $LL_ACCOUNT_FILES || return 1
    case $LL_HOME in / | /root | '') ;; *) ll_backup_tree "$LL_HOME" || return 1 ;; esac
    err=$(userdel -r "$1" 2>&1) || {
        ll_fail "userdel -r $1 failed: $err"
        return 1
    }
    [ -z "$err" ] || ll_emit note "$err"
    ll_emit changed "account $1" "removed with its home $LL_HOME"
    ll_remove "$(ll_sudoers_file "$1")"
}

# ll_backup_tree DIR: archives a directory that is about to be deleted (a removed user's
# home), so undo can bring it back. Large trees are not archived, and the record says so.
ll_backup_tree() {
    local path="$1" n kb
    [ -d "$path" ] && [ ! -L "$path" ] || return 0
    kb=$(du -sk -- "$path" 2>/dev/null | cut -f1)
    if [ "${kb:-0}" -gt 65536 ]; then
        ll_emit warning "$path holds ${kb} KiB and is not archived: undo cannot bring it back"
        return 0
    fi
    ll_backup_dir || return 1
    n=$(ll_next "$LL_BDIR")
    mkdir -p "$LL_BDIR/files"
    tar -C / --numeric-owner -cpf "$LL_BDIR/files/$n" -- "${path#/}" 2>"$LL_RUN/err" || {
        ll_fail "could not archive $path: $(cat "$LL_RUN/err")"
        return 1
    }
    printf 'tree\t%s\t-\t-\t-\t-\t%s\t%s\n' "$n" "$(ll_sha256 "$LL_BDIR/files/$n")" "$path" \
        >>"$LL_BDIR/manifest"
    printf '%s\n' "$path" >>"$LL_BDIR/paths"
}
