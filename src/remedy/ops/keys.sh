# Public keys: added to (or replacing) the keys in the file sshd really reads for the user
# (AuthorizedKeysFile, %h and %u expanded), with owners and modes along the path as
# StrictModes demands, refusing symbolic links and files owned by somebody else.

# ll_user USER: LL_UID, LL_GID and LL_HOME of USER.
ll_user() {
    local entry
    entry=$(getent passwd "$1") || {
        ll_fail "there is no user $1 on the guest"
        return 1
    }
    IFS=: read -r _ _ LL_UID LL_GID _ LL_HOME _ <<LL_PASSWD
$entry
LL_PASSWD
}

# ll_keys_file USER: the first AuthorizedKeysFile sshd uses for USER, as an absolute path.
ll_keys_file() {
    local file
    file=$(ll_effective "$1" authorizedkeysfile)
    case $file in '' | none) file=.ssh/authorized_keys ;; esac
    file=$(printf '%s' "$file" | awk -v h="$LL_HOME" -v u="$1" '{
        out = ""
        for (i = 1; i <= length($0); i++) {
            c = substr($0, i, 1)
            if (c == "%" && i < length($0)) {
                n = substr($0, ++i, 1)
                out = out (n == "h" ? h : n == "u" ? u : n == "%" ? "%" : "%" n)
            } else out = out c
        }
        print out }')
    case $file in /*) ;; *) file=$LL_HOME/$file ;; esac
    printf '%s' "$file"
}

# ll_safe_dir DIR OWNER: DIR exists (created 0700 for OWNER if not), is no symbolic link, is
# owned by OWNER's uid or root, and is writable by nobody else.
ll_safe_dir() {
    local owner
    [ ! -L "$1" ] || {
        ll_fail "$1 is a symbolic link: refusing to write keys through it"
        return 1
    }
    if [ ! -d "$1" ]; then
        ll_mkdir "$1" 0700 "$2" || return 1
        return 0
    fi
    owner=$(stat -c %u -- "$1")
    [ "$owner" = "${2%%:*}" ] || [ "$owner" = 0 ] || {
        ll_fail "$1 belongs to uid $owner, neither the user nor root: refusing to touch it"
        return 1
    }
    ll_set "$1" mode "$(ll_without_group_other_write "$1")"
}

ll_without_group_other_write() {
    printf '%o' $((0$(stat -c %a -- "$1") & ~022))
}

# ll_install_keys USER NEWKEYS REPLACE: NEWKEYS is a file of key lines; REPLACE non-empty
# drops the keys there were.
ll_install_keys() {
    local user="$1" file dir rel part out err owner
    ll_user "$user" || return 1
    # A home that is a link (/home/u -> /data/u) is legitimate: sshd resolves it too.
    [ ! -L "$LL_HOME" ] || LL_HOME=$(readlink -f -- "$LL_HOME")
    [ -d "$LL_HOME" ] || {
        ll_fail "the home directory of $user ($LL_HOME) does not exist"
        return 1
    }
    if command -v ssh-keygen >/dev/null 2>&1 && ! err=$(ssh-keygen -l -f "$2" 2>&1); then
        ll_fail "ssh-keygen on the guest rejects the key: $err"
        return 1
    fi
    file=$(ll_keys_file "$user")
    dir=${file%/*}
    case $file in
    "$LL_HOME"/*)
        owner=$LL_UID:$LL_GID
        ll_safe_dir "$LL_HOME" "$owner" || return 1
        rel=${dir#"$LL_HOME"}
        out=$LL_HOME
        while [ -n "$rel" ]; do
            rel=${rel#/}
            part=${rel%%/*}
            rel=${rel#"$part"}
            out=$out/$part
            ll_safe_dir "$out" "$owner" || return 1
        done
        ;;
    *)
        owner=0:0
        [ -d "$dir" ] || {
            ll_fail "$dir (from AuthorizedKeysFile) does not exist"
            return 1
        }
        ;;
    esac
    if [ -e "$file" ] || [ -L "$file" ]; then
        ll_safe_file "$file" "$LL_UID" || return 1
    fi
    : >"$LL_RUN/current"
    if [ -f "$file" ] && ! ll_read "$(ll_controller "$dir")" "$file" >"$LL_RUN/current"; then
        ll_fail "cannot read $file with the rights of its directory's owner: ${LL_STEP_ERR:-$(ll_as_err)}"
        return 1
    fi
    ll_merge_keys "$2" "$3" <"$LL_RUN/current" >"$LL_RUN/keys" || return 1
    ll_put "$file" 0600 "$owner" <"$LL_RUN/keys" || return 1
    ll_set "$file" mode "$(ll_without_group_other_write "$file")" || return 1
    ll_relabel "$dir" "$file"
    [ "$(ll_effective "$user" pubkeyauthentication)" != no ] ||
        ll_emit warning "sshd has PubkeyAuthentication no for $user: the key is in place but will not be accepted"
}

# ll_merge_keys NEWKEYS REPLACE <CURRENT: CURRENT's lines (none when REPLACE is non-empty),
# then each key of NEWKEYS whose base64 part is not among them yet.
ll_merge_keys() {
    awk -v replace="$2" '
        function blob(line,   n, i, f) {
            n = split(line, f, /[ \t]+/)
            for (i = 1; i < n; i++) if (f[i] ~ /^(ssh-|ecdsa-|sk-)/) return f[i + 1]
            return ""
        }
        FNR == NR { want[++w] = $0; wanted[w] = blob($0); next }
        replace == "" { print; if (blob($0) != "") have[blob($0)] = 1 }
        END { for (i = 1; i <= w; i++) if (!(wanted[i] in have)) { print want[i]; have[wanted[i]] = 1 } }
    ' "$1" -
}

# ll_safe_file FILE UID: an existing keys file is no link and belongs to the user or root.
ll_safe_file() {
    local owner
    if [ -L "$1" ] || [ ! -f "$1" ]; then
        ll_fail "$1 is a symbolic link or not a regular file: refusing to write keys to it"
        return 1
    fi
    owner=$(stat -c %u -- "$1")
    [ "$owner" = "$2" ] || [ "$owner" = 0 ] || {
        ll_fail "$1 belongs to uid $owner, neither the user nor root: refusing to touch it"
        return 1
    }
}
