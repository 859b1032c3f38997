# rescue: the fixes for what a diagnosis found. Each function repairs one kind of cause, touches
# only what that cause names, and is idempotent: what is already right is reported unchanged.

# ll_edit_lines FILE [CHECK...] <EDITS: applies edits to FILE's lines, one per line, its fields LINE, OLD,
# NEW and WHY separated by \037 (config lines may hold tabs):
# line LINE must still read OLD (leading blanks aside) or nothing is written, since the guest
# changed after the diagnosis. An empty NEW comments the line out (with WHY beside it); a NEW
# holding "\n" becomes several lines. Line numbers are those of the file as it was. CHECK, when
# given, must accept the edited file (see ll_put).
ll_edit_lines() {
    local file="$1"
    shift
    if [ ! -f "$file" ] || [ -L "$file" ]; then
        ll_fail "$file is gone or is a link: the guest changed since the diagnosis; run rescue again"
        return 1
    fi
    cat >"$LL_RUN/edits"
    # Read as the probe read it: its shell drops NUL bytes (a corrupted file), so they go here
    # too, or the line would never read as diagnosed.
    tr -d '\000' <"$file" | awk -F '\037' '
        FNR == NR { old[$1] = $2; new[$1] = $3; why[$1] = $4; next }
        FNR in old {
            seen[FNR] = 1
            text = $0; sub(/^[ \t]+/, "", text); sub(/[ \t\r]+$/, "", text)
            if (text != old[FNR]) { print FNR ": " text > "/dev/stderr"; bad = 1; exit }
            if (new[FNR] == "") { print "#" $0 "  # lifeline rescue: " why[FNR]; next }
            indent = $0; sub(/[^ \t].*/, "", indent)
            n = split(new[FNR], parts, /\\n/)
            for (i = 1; i <= n; i++) print indent parts[i]
            next
        }
        { print }
        END {
            for (l in old) if (!bad && !(l in seen)) { print l ": (past the end)" > "/dev/stderr"; bad = 1 }
            exit bad
        }' "$LL_RUN/edits" - >"$LL_RUN/edited" 2>"$LL_RUN/err" || {
        ll_fail "$file line $(cut -d: -f1 "$LL_RUN/err") no longer reads as diagnosed: the guest changed since the diagnosis; run rescue again"
        return 1
    }
    ll_put "$file" 0644 0:0 "$@" <"$LL_RUN/edited"
}

# ll_fstab_entry FSTAB LINE OLD NEW: line LINE of FSTAB, still reading OLD, becomes NEW (an
# empty NEW comments it out), checked with findmnt --verify; systemd then regenerates its mount
# units, so that a boot stuck on the entry can go on.
ll_fstab_entry() {
    printf '%s\037%s\037%s\037%s\n' "$2" "$3" "$4" "the boot stopped on it" >"$LL_RUN/edit"
    ll_edit_lines "$1" ll_fstab_no_worse "$1" <"$LL_RUN/edit" || return 1
    ! ll_systemd || systemctl daemon-reload >/dev/null 2>&1
}

# ll_pam_module MODULE REINSTALL DEB MD5 MEMBER DEST [FILE LINE TEXT]...: a PAM module a login
# stack loads is missing or damaged. Where apt's cache holds its package (DEB, "-": none) and
# the package's file (MEMBER, its path in the package) has the checksum dpkg recorded (MD5),
# that file becomes DEST. Otherwise each FILE's LINE, still reading TEXT, is commented out, and
# REINSTALL (the command that puts the package back) is named for later.
ll_pam_module() {
    local module="$1" reinstall="$2" deb="$3" md5="$4" member="$5" dest="$6" sum
    shift 6
    if [ "$deb" != - ] && [ -f "$deb" ] &&
        dpkg-deb --fsys-tarfile "$deb" 2>/dev/null | tar -xOf - "./$member" >"$LL_RUN/pam_module" 2>/dev/null; then
        sum=$(md5sum <"$LL_RUN/pam_module")
        if [ "${sum%% *}" = "$md5" ]; then
            ll_put "$dest" 0644 0:0 <"$LL_RUN/pam_module" || return 1
            ll_emit note "$module: put back from $deb"
            return 0
        fi
        ll_emit note "$module: $deb holds another version of it (its checksum is not dpkg's record)"
    fi
    if [ $# -lt 3 ]; then
        ll_fail "$module cannot be loaded and no line that loads it can safely go: $reinstall"
        return 1
    fi
    while [ $# -ge 3 ]; do
        # Not a pipe: ll_edit_lines must run in this shell, or what it records is lost.
        printf '%s\037%s\037\037%s\n' "$2" "$3" "$module cannot be loaded" >"$LL_RUN/edit"
        ll_edit_lines "$1" <"$LL_RUN/edit" || return 1
        shift 3
    done
    ll_emit note "$module: the session lines that load it are commented out; put it back with: $reinstall"
}

# ll_package_file PATH MD5 MODE <COPY: PATH, a file sshd or the boot loads that is not what its
# package installed, becomes the package's own copy (COPY: the file gzipped, in base64, fetched
# where lifeline runs), once the copy's checksum is dpkg's record MD5; it keeps PATH's owner
# and mode, or where PATH is gone gets MODE (octal, the package's). The rename leaves programs
# that have the old file mapped as they are.
ll_package_file() {
    local path="$1" md5="$2" mode="$3" sum
    if ! { base64 -d >"$LL_RUN/package_file.gz" &&
        gzip -dc <"$LL_RUN/package_file.gz" >"$LL_RUN/package_file"; } 2>/dev/null; then
        ll_fail "$path: the package's copy did not unpack (base64 -d, gzip -dc)"
        return 1
    fi
    sum=$(md5sum <"$LL_RUN/package_file")
    [ "${sum%% *}" = "$md5" ] || {
        ll_fail "$path: the copy sent has checksum ${sum%% *}, not dpkg's record $md5"
        return 1
    }
    ll_put "$path" "$mode" 0:0 <"$LL_RUN/package_file" || return 1
    ll_emit note "$path: put back from its package"
}

# ll_ldconfig: the loader's links and cache made again from the libraries on disk: a library's
# soname link deleted leaves it "not found" though its file is whole. Derived state, as
# daemon-reload's is: nothing to back up.
ll_ldconfig() {
    if ! ldconfig 2>"$LL_RUN/ldconfig.err"; then
        ll_fail "ldconfig failed: $(head -n 3 "$LL_RUN/ldconfig.err")"
        return 1
    fi
    ll_emit changed "the loader's links and cache" "made again by ldconfig"
}

# ll_fstab_no_worse OLD NEW: findmnt --verify finds no more errors (parse errors included) in
# NEW than in OLD. Where findmnt has no --verify (util-linux before 2.29, busybox), there is
# nothing to check with.
ll_fstab_no_worse() {
    findmnt --help 2>/dev/null | grep -q -e --verify || return 0
    local before after
    before=$(ll_fstab_errors "$1") after=$(ll_fstab_errors "$2")
    [ "$after" -le "$before" ] || {
        grep -e 'parse error' -e '\[E\]' "$LL_RUN/verify" | head -n 3 >&2
        return 1
    }
}

# ll_fstab_errors FILE: how many errors findmnt --verify finds in FILE (its report is kept in
# $LL_RUN/verify).
ll_fstab_errors() {
    findmnt --verify --tab-file "$1" >"$LL_RUN/verify" 2>&1
    grep -c -e '\[E\]' -e 'parse error at' "$LL_RUN/verify"
}

# ll_comment_rejected: while sshd -t names a file and line under /etc/ssh, comments that line
# out; a complaint without a line, or about a file elsewhere, is left for the step's validation.
ll_comment_rejected() {
    local i=0 loc file line text
    while [ $i -lt 20 ] && ! ll_sshd_valid; do
        i=$((i + 1))
        loc=$(printf '%s\n' "$LL_SSHD_ERR" |
            sed -n 's/^\(\/[^:]*\):\{0,1\} line \([0-9][0-9]*\):.*/\1 \2/p' | head -n 1)
        file=${loc% *} line=${loc##* }
        case $file in /etc/ssh/*) ;; *) return 0 ;; esac
        [ -f "$file" ] || return 0
        text=$(sed -n "${line}{s/^[[:space:]]*//;s/[[:space:]]*\$//;p;}" "$file")
        case $text in '' | '#'*) return 0 ;; esac
        # Not a pipe: ll_edit_lines must run in this shell, or what it records is lost.
        printf '%s\037%s\037\037%s\n' "$line" "$text" "sshd -t rejected it" >"$LL_RUN/edit"
        ll_edit_lines "$file" <"$LL_RUN/edit" || return 1
        ll_emit note "commented out $file line $line: $(printf '%s\n' "$LL_SSHD_ERR" | head -n 1)"
    done
    return 0
}

# ll_reset_if_still_rejected: when sshd -t still rejects the configuration after the edits (a
# line it names, the main file missing or unreadable, an Include loop), the main file goes back
# to the distribution's pristine default, its ports and every setting sshd still accepts kept:
# the last resort, taken only when nothing else works.
ll_reset_if_still_rejected() {
    ll_sshd_valid && return 0
    printf '%s\n' "$LL_SSHD_ERR" | grep -q -i -e ' line [0-9][0-9]*:' -e "^$LL_MAIN:" -e 'include' || return 0
    ll_emit note "sshd -t still rejects the configuration ($(printf '%s\n' "$LL_SSHD_ERR" | head -n 1)): resetting $LL_MAIN to the distribution's default, keeping the ports and the settings sshd accepts"
    ll_reset_sshd_config 1 carry
}

# ll_host_keys PATH...: creates each missing (or empty) private host key with ssh-keygen,
# of the type its name says, as the package would (ed25519 when the name says none: every
# client since OpenSSH 6.5 accepts it); other keys are left as they are.
ll_host_keys() {
    local key type err
    for key; do
        if [ -s "$key" ]; then
            ll_emit unchanged "$key"
            continue
        fi
        case $key in
        *ed25519*) type=ed25519 ;; *ecdsa*) type=ecdsa ;; *rsa*) type=rsa ;;
        *)
            type=ed25519
            ll_emit note "$key: its type is not in its name; creating an ed25519 key"
            ;;
        esac
        # /etc/ssh itself may be gone.
        ll_mkdir "${key%/*}" 0755 0:0 || return 1
        ll_backup "$key" "$key.pub" || return 1
        rm -f -- "$key" "$key.pub"
        err=$(ssh-keygen -q -t "$type" -N '' -C "root@$(hostname)" -f "$key" 2>&1 </dev/null) || {
            ll_fail "ssh-keygen -t $type -f $key failed: $err"
            return 1
        }
        ll_relabel "$key" "$key.pub"
        ll_emit changed "$key" "created a new $type host key: $(ssh-keygen -l -f "$key.pub" 2>/dev/null | cut -d' ' -f2)"
    done
}

# ll_host_key_modes PATH...: private host keys owned by root, mode 0600 (0640 where the group
# is ssh_keys, as the RHEL family ships them); their .pub files 0644.
ll_host_key_modes() {
    local key mode
    for key; do
        [ -f "$key" ] || continue
        mode=600
        [ "$(stat -c %G -- "$key")" != ssh_keys ] || mode=640
        ll_set "$key" owner 0 || return 1
        ll_set "$key" mode "$mode" || return 1
        [ ! -f "$key.pub" ] || ll_set "$key.pub" mode 644 || return 1
    done
}

# ll_file_mode PATH MODE USER GROUP: the file PATH names (a link's target, whose mode is the
# one that counts) gets the owner, group and mode its package ships, after a backup of the old
# ones; a file that has them already is reported unchanged.
ll_file_mode() {
    local path
    if ! path=$(readlink -f -- "$1") || [ ! -e "$path" ]; then
        ll_fail "$1 is gone: the guest changed since the diagnosis; run rescue again"
        return 1
    fi
    if [ "$(stat -c '%a %U %G' -- "$path")" = "$2 $3 $4" ]; then
        ll_emit unchanged "$path"
        return 0
    fi
    if ! ll_backup "$path" || ! ll_set_owner "$path" "$3:$4" || ! ll_set_mode "$path" "$2"; then
        ll_fail "${LL_STEP_ERR:-could not give $path the owner $3:$4 and the mode $2}"
        return 1
    fi
    ll_emit changed "$path" "owner $3:$4, mode $2, as its package ships it"
    # An sshd that could not be executed was not found when the run began.
    [ -n "$LL_SSHD" ] || ll_sshd_locate
}

# ll_privsep_dir DIR: root's, 0755, created if missing.
ll_privsep_dir() {
    ll_mkdir "$1" 0755 0:0 || return 1
    ll_set "$1" owner 0 && ll_set "$1" mode 755
}

# ll_privsep_user: the unprivileged account sshd's children run as, created as the package does.
ll_privsep_user() {
    local dir=/run/sshd shell=/usr/sbin/nologin err
    getent passwd sshd >/dev/null && return 0
    [ -d /var/empty/sshd ] && dir=/var/empty/sshd
    [ -x "$shell" ] || shell=/sbin/nologin
    # shellcheck disable=SC2086 # the account files, one per word
    ll_backup $LL_ACCOUNT_FILES || return 1
    set -- -r -M -d "$dir" -s "$shell" -c 'sshd privilege separation'
    ! getent group sshd >/dev/null || set -- "$@" -g sshd
    err=$(useradd "$@" sshd 2>&1) || {
        ll_fail "useradd sshd failed: $err"
        return 1
    }
    ll_emit changed "account sshd" "created (system account, home $dir, no login)"
}

# ll_key_path USER FILE: StrictModes satisfied along FILE's path: FILE owned by the user (or
# root), readable by them, writable by nobody else; every directory from FILE up to the home
# (or to / outside it) owned by the user or root and writable by nobody else; .ssh 0700.
ll_key_path() {
    local dir owner
    ll_user "$1" || return 1
    # sshd reads the file as the user: it must be theirs. A link sshd follows is left as it is
    # (its target is someone's choice); the directories on the way are fixed all the same.
    if [ -L "$2" ]; then
        ll_emit warning "$2 is a symbolic link: its target is left as it is"
    elif [ -f "$2" ]; then
        case $2 in "$LL_HOME"/*) ll_set "$2" owner "$LL_UID" || return 1 ;; esac
        ll_set "$2" mode 600 || return 1
    elif [ -e "$2" ]; then
        ll_fail "$2 is not a regular file: left for you to look at"
        return 1
    fi
    dir=${2%/*}
    while [ -n "$dir" ]; do
        if [ -d "$dir" ] && [ ! -L "$dir" ]; then
            owner=$(stat -c %u -- "$dir")
            case $dir in "$LL_HOME" | "$LL_HOME"/*)
                [ "$owner" = "$LL_UID" ] || [ "$owner" = 0 ] || ll_set "$dir" owner "$LL_UID" || return 1 ;;
            esac
            case $dir in */.ssh) ll_set "$dir" mode 700 ;; *) ll_set "$dir" mode "$(ll_without_group_other_write "$dir")" ;; esac || return 1
        fi
        [ "$dir" != "$LL_HOME" ] || break
        dir=${dir%/*}
    done
}

# ll_home USER: creates a missing home directory from /etc/skel, owned by the user, 0700.
ll_home() {
    ll_user "$1" || return 1
    [ ! -d "$LL_HOME" ] || return 0
    case $LL_HOME in /home/* | /srv/* | /var/lib/*/home/*) ;; *)
        ll_fail "the home of $1 is $LL_HOME, not under /home: create it by hand"
        return 1
        ;;
    esac
    # A home on a file system of its own that is not mounted must be mounted, not recreated.
    local mount
    mount=$(awk -v h="$LL_HOME" '$1 !~ /^#/ && $2 != "/" && (h == $2 || index(h, $2 "/") == 1) { print $2 }' \
        /etc/fstab 2>/dev/null | head -n 1)
    if [ -n "$mount" ] && ! awk -v m="$mount" '$2 == m { found = 1 } END { exit !found }' /proc/mounts; then
        ll_fail "$LL_HOME is under $mount, a file system of /etc/fstab that is not mounted: mount it (mount $mount) rather than create the home"
        return 1
    fi
    ll_mkdir "$LL_HOME" 0700 "$LL_UID:$LL_GID" || return 1
    # Unpacked by the user: a name they can change is never written by root.
    if [ -d /etc/skel ] && (cd /etc/skel && tar -cf - .) >"$LL_RUN/skel.tar" &&
        ll_as "$LL_UID" tar -C "$LL_HOME" -xpf - --no-same-owner <"$LL_RUN/skel.tar"; then
        ll_emit note "$LL_HOME filled from /etc/skel"
    fi
    chmod 0700 "$LL_HOME"
}

# ll_unlock USER [FILE]: unlocks a locked password (usermod -U, as often as there are "!":
# RHEL's passwd -l writes two). An account with no password behind the lock cannot be
# unlocked without becoming password-less: then sshd gets UsePAM yes instead (in FILE, the one
# that decides, else the main file), the distributions' default, under which sshd lets a
# locked account in by key.
ll_unlock() {
    local hash file="${2:-/etc/ssh/sshd_config}"
    ll_locked "$1" || {
        ll_emit unchanged "account $1 (not locked)"
        return 0
    }
    hash=$(getent shadow "$1" | cut -d: -f2)
    case ${hash#"${hash%%[!!]*}"} in '' | '*')
        ll_emit note "$1 has no password behind the lock: sshd gets UsePAM yes instead"
        # shellcheck disable=SC2094 # FILE is only read here: ll_set_option writes to stdout
        ll_set_option "$file" UsePAM yes <"$file" >"$LL_RUN/usepam" &&
            ll_put "$file" 0644 0:0 <"$LL_RUN/usepam" || return 1
        ll_sshd_valid || return 0 # the step's validation reports it
        [ "$(ll_effective "$1" usepam)" = yes ] || {
            ll_fail "UsePAM stays no for $1: another file or a Match block decides"
            return 1
        }
        return 0
        ;;
    esac
    ll_backup /etc/shadow || return 1
    for _ in 1 2 3; do
        ll_locked "$1" || break
        usermod -U "$1" 2>"$LL_RUN/err" || {
            ll_fail "usermod -U $1 failed: $(cat "$LL_RUN/err")"
            return 1
        }
    done
    ! ll_locked "$1" || {
        ll_fail "$1 is still locked after usermod -U"
        return 1
    }
    ll_emit changed "account $1" "unlocked (usermod -U)"
}

# ll_locked USER: the password field starts with "!".
ll_locked() {
    case $(getent shadow "$1" | cut -d: -f2) in '!'*) return 0 ;; esac
    return 1
}

# ll_login_shell USER: /bin/bash, or /bin/sh where bash is missing.
ll_login_shell() {
    local shell=/bin/bash
    [ -x "$shell" ] || shell=/bin/sh
    if ! ll_backup /etc/passwd || ! usermod -s "$shell" "$1" 2>"$LL_RUN/err"; then
        ll_fail "usermod -s $shell $1 failed: $(cat "$LL_RUN/err")"
        return 1
    fi
    ll_emit changed "account $1" "login shell $shell"
}

# ll_nologin PATH...: removes nologin files (backed up); a pending shutdown is cancelled first,
# since it would write them again.
ll_nologin() {
    local file
    [ ! -e /run/systemd/shutdown/scheduled ] || {
        shutdown -c 2>/dev/null && ll_emit changed "scheduled shutdown" cancelled
    }
    for file; do
        ll_remove "$file" || return 1
    done
}

# ll_free_space: the safe ways to free space (the journal, the package caches, rotated logs),
# then the largest files (over 50 MiB), for a person to judge.
ll_free_space() {
    local before after
    before=$(df -Pk / | awk 'NR == 2 { print $4 }')
    command -v journalctl >/dev/null 2>&1 && journalctl --vacuum-size=100M >/dev/null 2>&1
    if command -v apt-get >/dev/null 2>&1; then apt-get clean >/dev/null 2>&1
    elif command -v dnf >/dev/null 2>&1; then dnf clean all >/dev/null 2>&1
    elif command -v yum >/dev/null 2>&1; then yum clean all >/dev/null 2>&1
    elif command -v zypper >/dev/null 2>&1; then zypper clean --all >/dev/null 2>&1
    elif command -v tdnf >/dev/null 2>&1; then tdnf clean all >/dev/null 2>&1
    fi
    find /var/log -xdev -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete 2>/dev/null
    after=$(df -Pk / | awk 'NR == 2 { print $4 }')
    if [ "${after:-0}" -gt "${before:-0}" ]; then
        ll_emit changed "/" "$((after - before)) KiB freed (journal vacuumed to 100M, package cache cleaned, rotated logs removed)"
    else
        ll_emit unchanged "free space on / (nothing safe to delete)"
    fi
    ll_bounded 60 find / -xdev -type f -size +51200k -exec du -k {} + 2>/dev/null |
        sort -rn | head -n 5 >"$LL_RUN/large"
    while IFS=$LL_TAB read -r size path; do
        ll_emit warning "large file on /: $path ($((size / 1024)) MiB): delete it yourself if it is not needed"
    done <"$LL_RUN/large"
}

# ll_bounded SECONDS COMMAND...: COMMAND, stopped after SECONDS where timeout(1) exists.
ll_bounded() {
    local seconds="$1"
    shift
    if command -v timeout >/dev/null 2>&1; then timeout "$seconds" "$@"; else "$@"; fi
}

# ll_selinux_labels PATH...: the policy's labels back on each path, recursively.
ll_selinux_labels() {
    command -v restorecon >/dev/null 2>&1 || return 0
    restorecon -RF -- "$@" 2>/dev/null && ll_emit changed "$*" "SELinux labels restored (restorecon -RF)"
}

# ll_selinux_port PORT: lets sshd bind PORT under SELinux.
ll_selinux_port() {
    command -v semanage >/dev/null 2>&1 || {
        ll_fail "semanage is not installed (policycoreutils-python-utils): cannot label port $1"
        return 1
    }
    semanage port -a -t ssh_port_t -p tcp "$1" 2>"$LL_RUN/err" ||
        semanage port -m -t ssh_port_t -p tcp "$1" 2>>"$LL_RUN/err" || {
        ll_fail "semanage could not label TCP $1 ssh_port_t: $(cat "$LL_RUN/err")"
        return 1
    }
    ll_emit changed "SELinux port $1/tcp" "labelled ssh_port_t"
}

# ll_want_restart: sshd is restarted at the end even if no file of its changed.
ll_want_restart() {
    # shellcheck disable=SC2034 # read by ll_restart_and_verify in plan.sh
    LL_SSHD_CHANGED=1
}

# ll_drop_launch_override FILE: takes the override of sshd's command line out of FILE. A local
# unit file goes whole (the unit as shipped applies again); a drop-in loses its ExecStart= and
# SSHD_OPTS Environment= lines, and goes when only its section header is left; an environment
# file's (or a sysvinit script's) SSHD_OPTS/OPTIONS becomes empty. systemd reloads; sshd
# restarts at the end.
ll_drop_launch_override() {
    local f="$1" mode
    case $f in
    */systemd/system/*.service)
        ll_remove "$f" || return 1
        ;;
    *.conf)
        ll_drop_unit_lines "$f" '^[[:space:]]*(ExecStart=|Environment=.*SSHD_OPTS=)' || return 1
        ;;
    *)
        sed -E 's/^([[:space:]]*(export[[:space:]]+)?(SSHD_OPTS|OPTIONS)=).*/\1/' "$f" >"$LL_RUN/launch"
        # An init script stays executable; an environment file is read, never run.
        case $f in */init.d/*) mode=0755 ;; *) mode=0644 ;; esac
        ll_put "$f" "$mode" 0:0 <"$LL_RUN/launch" || return 1
        ;;
    esac
    systemctl daemon-reload >/dev/null 2>&1
    ll_want_restart
}

# ll_drop_unit_lines FILE ERE: the drop-in FILE without its lines matching ERE; the file goes
# when only section headers are left.
ll_drop_unit_lines() {
    grep -vE "$2" "$1" >"$LL_RUN/dropin"
    if grep -qvE '^[[:space:]]*(\[[A-Za-z]+\])?[[:space:]]*$' "$LL_RUN/dropin"; then
        ll_put "$1" 0644 0:0 <"$LL_RUN/dropin"
    else
        ll_remove "$1"
    fi
}

# ll_drop_socket_listen FILE: the local drop-in FILE of ssh.socket loses its ListenStream=
# lines, so that the socket listens where sshd_config says (through Ubuntu's generator) or
# where the unit as shipped does; systemd reloads, and the socket restarts at the end.
ll_drop_socket_listen() {
    ll_drop_unit_lines "$1" '^[[:space:]]*ListenStream=' || return 1
    systemctl daemon-reload >/dev/null 2>&1
    ll_want_restart
}

# ll_login_file PATH KIND FROM: a damaged login file (see ll_login_file_flaw) made sound again
# from FROM, a sound copy on the guest: an account database (passwd, group, shadow) keeps each
# sound entry of its own, in FROM's order (its backup, /etc/passwd-), takes FROM's where its
# own is damaged or gone, and keeps after them the sound ones FROM lacks (accounts added
# since); any other kind becomes FROM's copy. The result must pass the check the diagnosis
# failed; written as ll_put writes (backup, atomic, undoable).
ll_login_file() {
    local path="$1" kind="$2" from="$3" fields=0 mode
    ll_login_file_flaw "$kind" "$from" >"$LL_RUN/flaw" || {
        ll_fail "$from cannot stand in for $path: $(cat "$LL_RUN/flaw")"
        return 1
    }
    case $kind in passwd) fields=7 ;; group) fields=4 ;; shadow) fields=9 ;; esac
    if [ "$fields" = 0 ]; then
        cat -- "$from" >"$LL_RUN/login.new"
    else
        { [ ! -f "$path" ] || tr -d '\000' <"$path"; } >"$LL_RUN/login.own"
        awk -F: -v n="$fields" '
            FNR == NR {
                if (NF == n && $1 != "" && (n == 9 || $3 ~ /^[0-9]+$/) && !($1 in own)) { own[$1] = $0; order[++k] = $1 }
                next
            }
            { if ($1 in own) { print own[$1]; done[$1] = 1 } else print }
            END { for (i = 1; i <= k; i++) if (!(order[i] in done)) print own[order[i]] }
        ' "$LL_RUN/login.own" "$from" >"$LL_RUN/login.new"
    fi
    # A shadow made anew is never readable by others, not even until its owner is set.
    mode=0644
    [ "$kind" != shadow ] || mode=0640
    ll_put "$path" "$mode" 0:0 ll_login_file_flaw "$kind" <"$LL_RUN/login.new"
}

# ll_shadow_entry USER: USER, whom /etc/passwd sends to /etc/shadow for a password ("x"), gets
# the entry they lack there (a shadow restored from a backup older than the account): the
# password given to lifeline for them when the plan holds its hash ($LL_RUN/given_hash), since
# theirs went with the entry, else none ("*": keys work with PAM or without, as they would not
# on a locked "!"); changed today, no ageing. A shadow still missing or unusable (no sound copy
# restored it) is left to a person, as SSH309 says.
ll_shadow_entry() {
    local hash="$LL_RUN/given_hash" what="the one given to lifeline"
    if ! awk -F: -v u="$1" '$1 "" == u && $2 == "x" { found = 1 } END { exit !found }' /etc/passwd ||
        awk -F: -v u="$1" '$1 "" == u { found = 1 } END { exit !found }' /etc/shadow 2>/dev/null; then
        ll_emit unchanged /etc/shadow
        return 0
    fi
    ll_login_file_flaw shadow /etc/shadow >"$LL_RUN/flaw" || {
        ll_emit note "no shadow entry was made for $1: /etc/shadow $(cat "$LL_RUN/flaw")"
        return 0
    }
    if [ ! -s "$hash" ]; then
        hash=$LL_RUN/no_password what="none (*): set one with lifeline user reset-password"
        echo '*' >"$hash"
    fi
    # The hash is read from its file: on no command line.
    awk -v u="$1" -v day="$(($(date +%s) / 86400))" '
        FNR == NR { if (FNR == 1) h = $0; next }
        { print } END { print u ":" h ":" day ":0:99999:7:::" }
    ' "$hash" /etc/shadow >"$LL_RUN/shadow.new" || {
        ll_fail "cannot read /etc/shadow"
        return 1
    }
    ll_put /etc/shadow 0640 0:0 ll_login_file_flaw shadow <"$LL_RUN/shadow.new" &&
        ll_emit changed "password of $1" "$what, on a shadow entry made anew"
}

# ll_login_file_text PATH KIND TEXT: ll_login_file from TEXT, byte for byte (a file the package shipped, which
# lifeline carries) rather than a copy on the guest.
ll_login_file_text() {
    printf '%s' "$3" >"$LL_RUN/login.text"
    ll_login_file "$1" "$2" "$LL_RUN/login.text"
}

# ll_pam_auth_update: Debian's common-* PAM files written again by pam-auth-update from the
# profiles the packages installed (/usr/share/pam-configs), after a backup of each. --force
# overwrites local changes too, which is why this runs only when one is damaged; each must
# then pass the check the diagnosis failed.
ll_pam_auth_update() {
    local f err
    # pam-auth-update keeps the old files beside the new (.pam-old): recorded too, so that an
    # undo takes them away.
    for f in auth account session session-noninteractive password; do
        ll_backup "/etc/pam.d/common-$f" "/etc/pam.d/common-$f.pam-old" || return 1
    done
    err=$(DEBIAN_FRONTEND=noninteractive pam-auth-update --force </dev/null 2>&1) || {
        ll_fail "pam-auth-update --force failed: $err"
        return 1
    }
    for f in auth account session password; do
        ll_login_file_flaw pam "/etc/pam.d/common-$f" >"$LL_RUN/flaw" || {
            ll_fail "pam-auth-update left /etc/pam.d/common-$f unusable: $(cat "$LL_RUN/flaw")"
            return 1
        }
        ll_emit changed "/etc/pam.d/common-$f" "written again by pam-auth-update --force"
    done
}

# ll_login_file_owner PATH KIND: root's and writable by no one else; /etc/shadow readable by
# root and its group (root's or shadow) only, any other kind by everyone (0644).
ll_login_file_owner() {
    local mode=644 group
    [ -f "$1" ] || return 0
    if [ "$2" = shadow ]; then
        mode=$(printf '%o' $((0$(stat -c %a -- "$1") & 0640)))
        group=$(awk -F: '$1 == "shadow" { print $3 }' /etc/group)
        case $(stat -c %g -- "$1") in 0 | "${group:-0}") ;; *)
            { ll_backup "$1" && chgrp -- "${group:-0}" "$1"; } || {
                ll_fail "could not give $1 to group ${group:-0}"
                return 1
            }
            ll_emit changed "$1" "group gid ${group:-0}"
            ;;
        esac
    fi
    ll_set "$1" owner 0 && ll_set "$1" mode "$mode"
}
