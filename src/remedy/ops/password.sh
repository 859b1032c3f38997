# Passwords. The hash was made on the client; it reaches chpasswd on stdin from the shell's
# own printf, so it is never on a command line (process lists) nor in a file that stays.

LL_DROPIN_DIR=/etc/ssh/sshd_config.d
LL_DROPIN=$LL_DROPIN_DIR/00-lifeline.conf

# ll_set_password USER SAME NEW: SAME is the password hashed with the salt the account has now
# (equal to its hash when the password is already the requested one); NEW uses a fresh salt.
ll_set_password() {
    local current err
    current=$(getent shadow "$1" | cut -d: -f2)
    [ -n "$current" ] || {
        ll_fail "$1 has no entry in the shadow database"
        return 1
    }
    if [ "$current" = "$2" ]; then
        ll_emit unchanged "password of $1"
        return 0
    fi
    ll_backup /etc/shadow || return 1
    if command -v chpasswd >/dev/null 2>&1; then
        err=$(printf '%s:%s\n' "$1" "$3" | chpasswd -e 2>&1) || {
            ll_fail "setting the password of $1 failed: $err"
            return 1
        }
    else
        # No chpasswd: the shadow entry is rewritten here (usermod -p would put the hash on
        # its command line, which every user can read). printf is the shell's own.
        if ! {
            printf '%s\n' "$3" >"$LL_RUN/hash" &&
                awk -F : -v OFS=: -v u="$1" 'NR == FNR { h = $0; next } $1 == u { $2 = h } { print }' \
                    "$LL_RUN/hash" /etc/shadow >"$LL_RUN/shadow" &&
                ll_put /etc/shadow 0640 0:0 <"$LL_RUN/shadow" >/dev/null
        }; then
            ll_fail "setting the password of $1 failed: ${LL_STEP_ERR:-could not rewrite /etc/shadow}"
            return 1
        fi
    fi
    case $current in
    '!'*) ll_emit changed "password of $1" "set; the account was locked and is unlocked" ;;
    *) ll_emit changed "password of $1" set ;;
    esac
}

# ll_account_usable USER: a password that must be changed, an expired password or account, or
# failed-login lockout each stop an SSH login; each is lifted and reported.
ll_account_usable() {
    local last max expire today
    IFS=: read -r _ _ last _ max _ _ expire _ <<LL_SHADOW
$(getent shadow "$1")
LL_SHADOW
    today=$(($(date +%s) / 86400))
    if [ "$last" = 0 ] || { [ -n "$last" ] && [ -n "$max" ] && [ "$max" -lt 99999 ] && [ $((last + max)) -lt "$today" ]; }; then
        if ! ll_backup /etc/shadow || ! chage -d "$today" "$1"; then
            ll_fail "chage -d could not clear the password expiry of $1"
            return 1
        fi
        ll_emit changed "account $1" "the password no longer counts as expired"
    fi
    if [ -n "$expire" ] && [ "$expire" -le "$today" ]; then
        if ! ll_backup /etc/shadow || ! chage -E -1 "$1"; then
            ll_fail "chage -E -1 could not lift the expiry of account $1"
            return 1
        fi
        ll_emit changed "account $1" "expired on day $expire; the expiry date is removed"
    fi
    if command -v faillock >/dev/null 2>&1 && [ "$(faillock --user "$1" 2>/dev/null | grep -c '^[0-9]')" -gt 0 ]; then
        faillock --user "$1" --reset && ll_emit changed "account $1" "failed-login lockout (faillock) reset"
    fi
    return 0
}

# ll_includes_first: whether the main file includes the drop-in directory before it sets
# PasswordAuthentication itself and before its first Match (so a drop-in decides).
ll_includes_first() {
    awk -v dir="$LL_DROPIN_DIR" '
        tolower($1) == "include" && ($2 == dir "/*.conf" || $2 == "sshd_config.d/*.conf") { ok = 1; exit }
        tolower($1) == "match" || tolower($1) == "passwordauthentication" { exit }
        END { exit !ok }' /etc/ssh/sshd_config
}

# ll_set_option FILE KEY VALUE <CURRENT: CURRENT with KEY set to VALUE in its global section:
# its global KEY lines replaced, else the line added above the first Match, else at the end.
ll_set_option() {
    awk -v key="$2" -v value="$3" '
        tolower($1) == tolower(key) && !inmatch { if (!done) print key " " value; done = 1; next }
        tolower($1) == "match" && !inmatch { if (!done) print key " " value; done = 1; inmatch = 1 }
        { print }
        END { if (!done) print key " " value }'
}

# ll_password_auth USER: PasswordAuthentication yes effectively for USER, by a drop-in of ours
# when drop-ins come first, else in the main file above the first Match. A Match block that
# still says no for USER is answered by a Match block in our drop-in, which sshd reads first.
ll_password_auth() {
    local file
    if [ "$(ll_effective "$1" passwordauthentication)" = yes ]; then
        ll_emit unchanged "PasswordAuthentication for $1 (yes)"
        return 0
    fi
    if ll_includes_first; then
        file=$LL_DROPIN
        ll_mkdir "$LL_DROPIN_DIR" 0755 0:0 || return 1
        if [ -f "$file" ]; then cat -- "$file"; else
            echo "# Written by lifeline: settings a rescue needed. lifeline undo takes them back."
        fi >"$LL_RUN/option"
    else
        file=/etc/ssh/sshd_config
        cat -- "$file" >"$LL_RUN/option"
    fi
    ll_set_option "$file" PasswordAuthentication yes <"$LL_RUN/option" >"$LL_RUN/option.new"
    ll_put "$file" 0644 0:0 <"$LL_RUN/option.new" || return 1
    ll_sshd_valid || return 0 # the step's validation reports it
    [ "$(ll_effective "$1" passwordauthentication)" != yes ] || return 0
    [ "$file" = "$LL_DROPIN" ] || {
        ll_fail "PasswordAuthentication stays no for $1: a Match block in /etc/ssh/sshd_config decides"
        return 1
    }
    printf 'Match User %s\n\tPasswordAuthentication yes\n' "$1" >>"$LL_RUN/option.new"
    ll_put "$file" 0644 0:0 <"$LL_RUN/option.new" || return 1
    if ! ll_sshd_valid || [ "$(ll_effective "$1" passwordauthentication)" != yes ]; then
        ll_fail "PasswordAuthentication stays no for $1 even with a Match block for the user in $file"
        return 1
    fi
}
