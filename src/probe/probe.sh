# lifeline probe: everything that decides whether SSH can work on this guest, in one pass.
#
# Runs as root under dash, bash or busybox sh; needs nothing beyond what a minimal image has
# and degrades when a tool is missing. It only reads: no file, unit, rule or setting changes.
# (The local banner check connects to sshd like any client would; on socket-activated
# systems that starts ssh.service, exactly as the first real client would.)
#
# Input: LL_USER, the account whose login matters, set by the sender in front of this script.
# Output: sections, each a line "@name" followed by its lines; src/probe/parse.rs reads them.
# The last section is "@end": without it the output was cut short.
#
# Every command that can block runs under `t SECONDS`, so a hung tool costs at most that long:
# whatever talks to a daemon (systemctl, journalctl, firewall-cmd, fail2ban-client), a name
# service (getent, id), the network (the banner check), or reads a file system that may hang
# (stat, df, the user's home). Text filters on pipes and reads of /etc and /proc are not
# wrapped: they cannot block, and each wrapper costs a process.
#
# The sender strips comment lines and leading blanks (src/probe/mod.rs), so the continuation
# lines of a multi-line quoted string must start at column 0 and never with `#`.
#
# `local` is not POSIX but dash, bash and busybox sh all have it. Word splitting of unquoted
# variables is deliberate (globbing is off: `set -f`).
# shellcheck shell=dash disable=SC2086,SC2016

LC_ALL=C
export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
TAB=$(printf '\t')
NL='
'
CR=$(printf '\r')
LL_IFS=$IFS
set -f

if timeout 1 true 2>/dev/null; then
    t() { ll_s=$1; shift; timeout "$ll_s" "$@"; }
elif timeout -t 1 true 2>/dev/null; then
    t() { ll_s=$1; shift; timeout -t "$ll_s" "$@"; }
else
    t() {
        ll_s=$1; shift
        "$@" &
        ll_p=$!
        (sleep "$ll_s"; kill -9 "$ll_p") >/dev/null 2>&1 &
        ll_w=$!
        wait "$ll_p"; ll_r=$?
        kill "$ll_w" 2>/dev/null
        return "$ll_r"
    }
fi

has() { command -v "$1" >/dev/null 2>&1; }

# first_with WORD TEXT: the first line of TEXT that holds WORD (grep | head, without the two
# processes).
first_with() {
    ll_rest=$2$NL
    while [ -n "$ll_rest" ]; do
        case ${ll_rest%%"$NL"*} in *"$1"*) printf '%s\n' "${ll_rest%%"$NL"*}"; return ;; esac
        ll_rest=${ll_rest#*"$NL"}
    done
}
sec() { printf '@%s\n' "$1"; }

# st PATH...: one stat line per path ("HEXMODE UID GID USER GROUP SIZE PATH"), "- PATH" when
# it does not exist. Symlinks are followed, as sshd's realpath() does.
st() {
    ll_n=$#
    for ll_f; do
        if [ -e "$ll_f" ]; then set -- "$@" "$ll_f"; else printf -- '- %s\n' "$ll_f"; fi
    done
    shift "$ll_n"
    [ $# -gt 0 ] || return 0
    t 5 stat -L -c '%f %u %g %U %G %s %n' -- "$@"
}

# conf FILE DEPTH: the active lines of an sshd config file as "FILE<TAB>LINE<TAB>TEXT", with
# Include directives expanded in place, in the order sshd reads them.
conf() {
    if [ ! -r "$1" ]; then
        printf '%s\t-\t\n' "$1"
        return
    fi
    local file=$1 depth=$2 n=0 line text pat f
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        text=${line#"${line%%[! "$TAB"]*}"}
        case $text in '' | '#'*) continue ;; esac
        printf '%s\t%s\t%s\n' "$file" "$n" "$text"
        case ${text%%[ ="$TAB"]*} in
            [Ii][Nn][Cc][Ll][Uu][Dd][Ee])
                [ "$depth" -lt 8 ] || continue
                for pat in ${text#???????}; do
                    pat=${pat#=}; pat=${pat#\"}; pat=${pat%\"}
                    [ -n "$pat" ] || continue
                    case $pat in /*) ;; *) pat=/etc/ssh/$pat ;; esac
                    set +f
                    for f in $pat; do
                        [ -f "$f" ] && conf "$f" $((depth + 1))
                    done
                    set -f
                done
                ;;
        esac
    done <"$file"
}

# cfg KEYWORD [all]: a keyword's effective value(s): from `sshd -T` when it ran, otherwise from
# the config files (first value wins, global section only).
cfg() {
    if [ -n "$SSHD_T" ]; then
        printf '%s\n' "$SSHD_T" | sed -n "s/^$1 //p"
        return
    fi
    printf '%s\n' "$CONF" | awk -F "$TAB" -v k="$1" -v all="$2" '
        { l = $3; n = split(l, w, /[ \t=]+/); kw = tolower(w[1]) }
        kw == "match" { exit }
        kw == k { v = l; sub(/^[^ \t=]+[ \t=]+/, "", v); print v; if (all == "") exit }'
}

# bash_banner SECONDS HOST PORT: the first line sshd sends, through bash's /dev/tcp (7: refused).
bash_banner() {
    t "$1" bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 7; IFS= read -r l <&3; printf "%s\n" "$l"' _ "$2" "$3" 2>&1
}

# banner HOST PORT: connect to sshd on this guest and read its first line.
banner() {
    if has bash; then
        ll_out=$(bash_banner 3 "$1" "$2")
        ll_rc=$?
        # A connection accepted but not answered gets 10 s more: where ssh.socket listens it
        # may be what starts sshd, and OpenSSH 9.8 and later start an sshd-session before the
        # banner; either takes longer than 3 s on a slow guest.
        if [ "$ll_rc" != 0 ] && [ "$ll_rc" != 7 ]; then
            ll_out=$(bash_banner 10 "$1" "$2")
            ll_rc=$?
        fi
    elif has nc; then
        ll_out=$(t 3 nc "$1" "$2" </dev/null 2>&1 | head -n 1)
        ll_rc=$?
    else
        printf '%s %s - unavailable\n' "$1" "$2"
        return
    fi
    # The first line without its CRs, cut at 120 bytes (LC_ALL=C), in the shell.
    ll_out=${ll_out%%"$NL"*}
    while :; do
        case $ll_out in *"$CR"*) ll_out=${ll_out%%"$CR"*}${ll_out#*"$CR"} ;; *) break ;; esac
    done
    printf '%s %s %s %.120s\n' "$1" "$2" "$ll_rc" "$ll_out"
}

# keys FILE: what an authorized keys file holds, without the keys themselves: its lines, the
# lines with no key type, lines ending in CR, and the key types.
keys() {
    [ -f "$1" ] && [ -r "$1" ] || return 0
    t 5 awk -v f="$1" '
        /\r$/ { cr++ }
        { sub(/\r$/, "") }
        /^[ \t]*(#|$)/ { next }
        { lines++; t = ""
          for (i = 1; i <= NF; i++) if ($i ~ /^(ssh-|ecdsa-|sk-)/) { t = $i; break }
          if (t == "") bad++; else types = types (types == "" ? "" : ",") t }
        END { printf "keys=%s lines=%d bad=%d cr=%d types=%s\n", f, lines, bad, cr, types }' "$1"
}

# device SPEC: whether the device an fstab entry names is on this system: "found", "missing",
# "-" (not a local device: tmpfs, a bind mount, NFS) or "?" (nothing here could tell: no blkid
# and no udev links, as in a break-in shell). blkid reads the disks themselves, so it answers
# where udev never ran.
device() {
    case $1 in
        UUID=* | LABEL=* | PARTUUID=* | PARTLABEL=*) ll_tok=$1 ;;
        /dev/disk/by-uuid/*) ll_tok=UUID=${1##*/} ;;
        /dev/disk/by-label/*) ll_tok=LABEL=${1##*/} ;;
        /dev/disk/by-partuuid/*) ll_tok=PARTUUID=${1##*/} ;;
        /dev/disk/by-partlabel/*) ll_tok=PARTLABEL=${1##*/} ;;
        /dev/*) ll_tok= ;;
        *) echo -; return ;;
    esac
    if [ -n "$ll_tok" ] && has blkid; then
        t 5 blkid -l -o device -t "$ll_tok" >/dev/null 2>&1 && echo found || echo missing
    elif [ -z "$ll_tok" ] && [ -e "$1" ]; then
        echo found
    elif [ -e "/dev/disk/by-$(printf '%s' "${ll_tok%%=*}" | tr '[:upper:]' '[:lower:]')/${ll_tok#*=}" ]; then
        echo found
    elif [ -d /dev/disk ]; then
        echo missing
    else
        echo '?'
    fi
}

# fstab: the active lines of /etc/fstab as "LINE<TAB>DEVICE<TAB>MOUNTED<TAB>TEXT". MOUNTED is
# "?" when no init has tried to mount anything yet (PID 1 is a break-in shell): not mounted
# then says nothing about the entry.
fstab() {
    ll_init=
    read -r ll_init </proc/1/comm
    awk '{ sub(/^[ \t]+/, ""); sub(/[ \t\r]+$/, "") } $0 != "" && $0 !~ /^#/ { print NR "\t" $0 }' /etc/fstab |
        head -n 100 | while IFS=$TAB read -r ll_n ll_text; do
            set -- $ll_text
            case $ll_init in
                systemd | init) ll_mp=$2 awk '$2 == ENVIRON["ll_mp"] { f = 1 } END { exit !f }' /proc/mounts && ll_m=yes || ll_m=no ;;
                *) ll_m='?' ;;
            esac
            printf '%s\t%s\t%s\t%s\n' "$ll_n" "$(device "$1")" "$ll_m" "$ll_text"
        done
}

# flaw_of FILE: sets ll_flaw to what ll_login_files_flaws found wrong with FILE ("-": nothing,
# empty: it could not be read) and succeeds when FILE is sound.
flaw_of() {
    case $ll_flaws in
        *"$NL$1$TAB"*) ll_flaw=${ll_flaws#*"$NL$1$TAB"}; ll_flaw=${ll_flaw%%"$NL"*} ;;
        *) ll_flaw= ;;
    esac
    [ "$ll_flaw" = - ]
}

probe() {
    sec probe
    echo "version=1"
    ll_start=$(date +%s)
    echo "start=$ll_start"
    echo "user=$LL_USER"

    sec os
    for f in /etc/os-release /usr/lib/os-release; do
        if [ -r "$f" ]; then
            grep -E '^(ID|ID_LIKE|VERSION_ID|PRETTY_NAME)=' "$f"
            break
        fi
    done

    # How sshd is started: the unit's files and their Exec/Environment lines, and the
    # environment files' options, each line prefixed with the file it came from.
    sec launch
    if has systemctl; then
        t 5 systemctl cat ssh.service sshd.service ssh.socket sshd.socket 2>/dev/null |
            awk '/^# \// { f = $2 } /^(ExecStart|ExecStartPre|Environment|EnvironmentFile|ListenStream)=/ { print substr(f ":" $0, 1, 300) }'
        ll_inits=
    else
        # Without systemd the init script starts sshd: its option variables count too.
        ll_inits="/etc/init.d/ssh /etc/init.d/sshd /etc/rc.d/init.d/sshd"
    fi
    for ll_f in /etc/default/ssh /etc/sysconfig/sshd $ll_inits; do
        [ -r "$ll_f" ] && grep -E '^[[:space:]]*(export[[:space:]]+)?(SSHD_OPTS|OPTIONS)=' "$ll_f" | sed "s|^|$ll_f:|" | cut -c1-300
    done

    sec init
    read -r ll_pid1 </proc/1/comm && echo "pid1=$ll_pid1"
    has systemctl && echo "state=$(t 5 systemctl is-system-running)"
    # Without systemd: the init script that starts sshd, and its start links per runlevel.
    if [ "$ll_pid1" != systemd ]; then
        for ll_n in ssh sshd; do
            [ -x "/etc/init.d/$ll_n" ] || continue
            echo "init_script=/etc/init.d/$ll_n"
            set +f
            set -- /etc/rc[2345].d/S[0-9][0-9]"$ll_n"
            set -f
            [ -e "$1" ] && echo "boot_links=$*"
            break
        done
    fi

    if has systemctl; then
        sec units
        t 5 systemctl show -p Id,LoadState,UnitFileState,ActiveState,SubState,Result,NRestarts,DropInPaths,RuntimeDirectory,Listen \
            ssh.service sshd.service ssh.socket sshd.socket | cut -c1-400
    fi

    sec sshd
    SSHD=$(command -v sshd)
    if [ -z "$SSHD" ]; then
        for f in /usr/sbin/sshd /usr/bin/sshd /sbin/sshd; do
            [ -x "$f" ] && SSHD=$f && break
        done
    fi
    echo "path=$SSHD"
    ll_sshd_v=
    if [ -n "$SSHD" ]; then
        ll_sshd_v=$(t 5 "$SSHD" -V 2>&1)
        echo "version=$(first_with OpenSSH "$ll_sshd_v")"
        if has ldd; then
            ll_libs=$(t 5 ldd "$SSHD" 2>&1)
            case $ll_libs in *libwrap*) echo "libwrap=yes" ;; esac
            case $ll_libs in
                *'not found'*) printf '%s\n' "$ll_libs" | grep 'not found' | sed 's/^[ \t]*/missing_lib=/' ;;
            esac
        fi
    fi
    [ -e /etc/ssh/sshd_not_to_be_run ] && echo "not_to_be_run=yes"

    sec processes
    set +f
    set -- /proc/[0-9]*
    set -f
    for d; do
        read -r ll_comm <"$d/comm" 2>/dev/null || continue
        case $ll_comm in
            sshd | sshd-session | sshd-auth)
                printf '%s %s\n' "${d#/proc/}" "$(tr '\0' ' ' <"$d/cmdline" | cut -c1-120)"
                ;;
        esac
    done

    sec listen
    if has ss; then
        echo "tool=ss"
        ll_out=$(t 5 ss -ltnp)
        case $ll_out in *"$NL"*) printf '%s\n' "${ll_out#*"$NL"}" ;; esac
    elif has netstat; then
        echo "tool=netstat"
        t 5 netstat -ltnp | grep LISTEN
    else
        echo "tool=proc"
        for f in /proc/net/tcp /proc/net/tcp6; do
            [ -r "$f" ] && awk '$4 == "0A" { print $2 }' "$f"
        done
    fi

    sec sshd_t
    ll_rc_t=
    if [ -n "$SSHD" ]; then
        ll_out=$(t 10 "$SSHD" -t 2>&1)
        ll_rc_t=$?
        echo "rc=$ll_rc_t"
        if [ -n "$ll_out" ]; then printf '%s\n' "$ll_out" | head -n 20 | cut -c1-300; else echo; fi
    fi

    # `sshd -T` makes every check `sshd -t` makes before it prints anything, so where -t ran to
    # its end and failed (OpenSSH exits 1 or 255; sshd stopped leaves no /run/sshd) both -T runs
    # would fail too and print nothing: two sshd runs saved. A timeout (124) still tries them.
    SSHD_T=
    if [ -n "$SSHD" ] && [ "$ll_rc_t" != 1 ] && [ "$ll_rc_t" != 255 ]; then
        SSHD_T=$(t 10 "$SSHD" -T -C "user=$LL_USER,host=localhost,addr=127.0.0.1") ||
            SSHD_T=$(t 10 "$SSHD" -T) || SSHD_T=
    fi
    sec sshd_T
    printf '%s\n' "$SSHD_T" | grep -E '^(port|listenaddress|addressfamily|permitrootlogin|passwordauthentication|pubkeyauthentication|kbdinteractiveauthentication|usepam|allowusers|denyusers|allowgroups|denygroups|authorizedkeysfile|authorizedkeyscommand|strictmodes|hostkey|maxstartups|maxsessions|maxauthtries|persourcepenalties|usedns|chrootdirectory|forcecommand|authenticationmethods|pubkeyacceptedalgorithms|pubkeyacceptedkeytypes|permitemptypasswords|pidfile) '

    ll_main=/etc/ssh/sshd_config
    [ ! -e "$ll_main" ] && [ -e /usr/etc/ssh/sshd_config ] && ll_main=/usr/etc/ssh/sshd_config
    CONF=$(conf "$ll_main" 0)
    sec config
    printf '%s\n' "$CONF" | cut -c1-300

    sec hostkeys
    ll_keys=$(cfg hostkey all)
    [ -n "$ll_keys" ] || ll_keys="/etc/ssh/ssh_host_rsa_key
/etc/ssh/ssh_host_ecdsa_key
/etc/ssh/ssh_host_ed25519_key"
    printf '%s\n' "$ll_keys"
    # Fingerprints of the host keys, to recognise the server a client reaches.
    sec hostkey_fp
    for ll_k in $ll_keys; do t 5 ssh-keygen -lf "$ll_k" 2>/dev/null; done | cut -d' ' -f2

    sec stat
    set +f
    set -- /etc/ssh/ssh_host_*_key
    set -f
    # shellcheck disable=SC2046 # config file paths, one a line
    st /etc/ssh /etc/ssh/sshd_config.d $(printf '%s\n' "$CONF" | cut -f1 | sort -u) \
        $ll_keys "$@" /run/sshd /var/run/sshd /var/empty/sshd /var/empty /var/lib/empty /var/lib/sshd /usr/share/empty.sshd \
        $(cfg chrootdirectory | grep -v -e '^none$' -e '%')

    sec privsep
    if t 5 getent passwd sshd >/dev/null || grep -q '^sshd:' /etc/passwd; then echo "user=yes"; else echo "user=no"; fi

    sec account
    echo "today=$((ll_start / 86400))"
    ll_pw=$(t 5 getent passwd "$LL_USER") || ll_pw=$(grep "^$LL_USER:" /etc/passwd)
    echo "passwd=$ll_pw"
    ll_home=
    ll_shell=
    if [ -n "$ll_pw" ]; then
        IFS=:
        set -- $ll_pw
        IFS=$LL_IFS
        ll_home=$6
        ll_shell=$7
        if [ -x "$ll_shell" ]; then
            echo "shell_executable=yes"
        else
            echo "shell_file=$(readlink -f -- "$ll_shell" 2>/dev/null)"
        fi
        echo "groups=$(t 5 id -Gn "$LL_USER")"
        echo "group=$(t 5 getent group "$4")"
        ll_sh=$(t 5 getent shadow "$LL_USER") || ll_sh=$(grep "^$LL_USER:" /etc/shadow)
        if [ -n "$ll_sh" ]; then
            IFS=:
            set -- $ll_sh
            IFS=$LL_IFS
            case $2 in
                '') ll_state=empty ;;
                '!'*) ll_state=locked ;;
                '*'*) ll_state=nopassword ;;
                *) ll_state=hashed ;;
            esac
            echo "shadow=$ll_state:$3:$4:$5:$6:$7:$8"
        elif [ -r /etc/shadow ] && awk -F: -v u="$LL_USER" '$1 "" == u && $2 == "x" { f = 1 } END { exit !f }' /etc/passwd; then
            # /etc/passwd (not a directory service) sends the password to shadow, which has no
            # entry: PAM's account check fails every login of theirs.
            echo "shadow=none"
        fi
        if has faillock && grep -qs pam_faillock /etc/pam.d/sshd /etc/pam.d/system-auth /etc/pam.d/password-auth /etc/pam.d/common-auth; then
            echo "faillock_valid=$(t 5 faillock --user "$LL_USER" | grep -c ' V$')"
            echo "faillock_deny=$(sed -n 's/^[ ]*deny[ ]*=[ ]*\([0-9]*\).*/\1/p' /etc/security/faillock.conf 2>/dev/null | head -n 1)"
        fi
    fi

    sec keyfiles
    ll_akf=$(cfg authorizedkeysfile)
    [ -n "$ll_akf" ] || ll_akf=".ssh/authorized_keys .ssh/authorized_keys2"
    ll_paths=
    ll_files=
    if [ -n "$ll_home" ]; then
        for f in $ll_akf; do
            [ "$f" = none ] && continue
            case $f in *%*) f=$(printf '%s' "$f" | sed "s|%h|$ll_home|g; s|%u|$LL_USER|g; s|%%|%|g") ;; esac
            case $f in /*) ;; *) f=$ll_home/$f ;; esac
            case $f in "$ll_home"/*) ll_stop=$ll_home ;; *) ll_stop=/ ;; esac
            echo "file=$f"
            ll_files="$ll_files$TAB$f"
            ll_p=$f
            ll_paths="$ll_paths
$f"
            while [ "$ll_p" != "$ll_stop" ] && [ "$ll_p" != / ]; do
                ll_p=${ll_p%/*}
                [ -n "$ll_p" ] || ll_p=/
                ll_paths="$ll_paths
$ll_p"
            done
            keys "$f"
        done
        # Keys in the usual place that the configuration does not consult still tell a story.
        case "$ll_files$TAB" in
            *"$TAB$ll_home/.ssh/authorized_keys$TAB"*) ;;
            *) keys "$ll_home/.ssh/authorized_keys" ;;
        esac
        ll_authorized_fingerprints "$ll_files"
        sec stat
        IFS='
'
        # shellcheck disable=SC2046 # split on newlines only: one path a line
        st $(printf '%s\n' "$ll_paths" | sort -u)
        IFS=$LL_IFS
    fi

    sec nologin
    for f in /etc/nologin /run/nologin /var/run/nologin; do
        # shellcheck disable=SC3013 # dash, bash and busybox sh all support -ef
        [ "$f" = /var/run/nologin ] && [ /var/run -ef /run ] && continue
        [ -e "$f" ] && printf '%s %s\n' "$f" "$(head -n 1 "$f" | cut -c1-100)"
    done

    ll_pam_modules sshd
    ll_sshd_files "$ll_libs"
    # Read only when sshd cannot run (`sshd -V` does not print its version: a library the
    # loader refused, or one that crashes it, as a corrupted libwrap does, silently) or a
    # library is not found: the check reads every package's checksums. Each path ldd or the
    # loader named (a path followed by ':' in the loader's message).
    case "$ll_sshd_v" in *OpenSSH*) ll_sshd_v= ;; *) ll_sshd_v="${ll_sshd_v:-$SSHD} failed" ;; esac
    case "$ll_sshd_v$ll_libs" in
        ?*' failed'* | *'not found'*) ll_check="$ll_libs $ll_sshd_v" ;;
        *) ll_check= ;;
    esac
    # In the break-in's shell (PID 1 a shell), also the system's init and what it loads: a
    # library of PID 1 damaged panics the kernel at every boot, before any login.
    case $ll_pid1 in
        sh | bash | dash | busybox)
            ll_f=$(readlink -f /sbin/init 2>/dev/null)
            [ -x "$ll_f" ] && has ldd && ll_check="$ll_check $ll_f $(t 5 ldd "$ll_f" 2>&1)"
            ;;
    esac
    # A library the loader refused (not an ELF file any more) is "not found", named without a
    # path: each directory it would be in stands for it (ll_package_files drops the paths that
    # are no file).
    for ll_n in $(printf '%s\n' "$ll_check" | sed -n 's/^[[:space:]]*\([^ /]*\) => not found.*/\1/p; s/.*error while loading shared libraries: \([^ /:]*\):.*/\1/p' | sort -u); do
        set +f
        for ll_f in /lib/*-linux-gnu /usr/lib/*-linux-gnu /lib64 /usr/lib64 /lib /usr/lib; do
            ll_check="$ll_check $ll_f/$ll_n"
        done
        set -f
    done
    # The PAM modules of the login stacks found damaged, where dpkg knows their package, are
    # fetched as sshd's libraries are (rule SSH310's fix): their file, or where it is gone,
    # the package's path for it.
    ll_pam=$(ll_pam_damage)
    ll_check="$ll_check $(printf '%s\n' "$ll_pam" | awk -F '\t' 'NF >= 10 && $6 != "-" { print ($5 != "-" ? $5 : "/" $8) }')"
    # The user's login shell when it cannot run (not one that refuses logins by design): gone
    # from its package, it goes back (rule SSH303) rather than the user being given another.
    case $ll_shell in
        '' | */nologin | */false) ;;
        *) [ -x "$ll_shell" ] || ll_check="$ll_check $ll_shell" ;;
    esac
    # shellcheck disable=SC2046 # paths, one a word
    ll_package_files $(printf '%s\n' "$ll_check" | tr -s ' \t' '\n' | sed -n 's/:$//; /^\//p' | sort -u)
    printf '%s\n' "$ll_pam"

    # Each file a login reads: "PATH KIND MODE UID GID FLAW SOURCE", tab-separated ("-" when
    # there is none), SOURCE being a sound copy to restore it from: the account databases'
    # backups (/etc/passwd-), the package's nsswitch.conf, pam-auth-update for Debian's
    # common-* files, the checksum dpkg recorded for /etc/pam.d/sshd (lifeline carries the
    # package's file). Debian's common-* must exist where libpam-runtime is installed.
    sec login_files
    ll_lf="/etc/passwd passwd /etc/group group /etc/shadow shadow /etc/nsswitch.conf nsswitch /etc/pam.d/sshd pam"
    [ -f /usr/share/pam/common-auth ] &&
        ll_lf="$ll_lf /etc/pam.d/common-auth pam /etc/pam.d/common-account pam /etc/pam.d/common-session pam /etc/pam.d/common-password pam"
    # pam_limits fails every session it runs in when its file is gone (grep only then: a process
    # is slow on an emulated guest).
    if [ -e /etc/security/limits.conf ] || grep -qs pam_limits /etc/pam.d/login /etc/pam.d/sshd /etc/pam.d/common-session; then
        ll_lf="$ll_lf /etc/security/limits.conf limits"
    fi
    # One judge and one stat for all of them (each process is slow on an emulated guest): the
    # files, then the copies to restore them from.
    set -- $ll_lf
    ll_n=$#
    while [ "$ll_n" -gt 0 ]; do
        set -- "$@" "$2" "$1"
        case $2 in passwd | group | shadow) set -- "$@" "$2" "$1-" ;; esac
        shift 2
        ll_n=$((ll_n - 2))
    done
    ll_flaws=$NL$(ll_login_files_flaws "$@" nsswitch /usr/share/libc-bin/nsswitch.conf)
    set --
    for ll_f in $ll_lf; do [ -e "$ll_f" ] && set -- "$@" "$ll_f"; done
    ll_modes=
    [ $# -gt 0 ] && ll_modes=$NL$(t 5 stat -L -c '%n %a %u %g' -- "$@")
    set -- $ll_lf
    while [ $# -ge 2 ]; do
        ll_src=-
        case $2 in
            passwd | group | shadow) flaw_of "$1-" && ll_src=$1- ;;
            nsswitch) flaw_of /usr/share/libc-bin/nsswitch.conf && ll_src=/usr/share/libc-bin/nsswitch.conf ;;
            limits) ll_src=lifeline ;;
            pam)
                case $1 in
                    */common-*) has pam-auth-update && [ -d /usr/share/pam-configs ] && ll_src=pam-auth-update ;;
                    *) ll_src=$(awk -v f="$1" '$1 == f && $2 ~ /^[0-9a-f]+$/ { print "dpkg:" $2; exit }' /var/lib/dpkg/status 2>/dev/null) ;;
                esac
                ;;
        esac
        ll_mode="- - -"
        if [ -e "$1" ]; then
            case $ll_modes in
                *"$NL$1 "*) ll_mode=${ll_modes#*"$NL$1 "}; ll_mode=${ll_mode%%"$NL"*} ;;
                *) ll_mode= ;;
            esac
        fi
        flaw_of "$1" || true
        printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$ll_mode" "${ll_flaw:--}" "${ll_src:--}"
        shift 2
    done

    if has iptables-save; then
        sec iptables
        t 5 iptables-save | awk '/^\*/ { f = ($0 == "*filter") } f && /^(:|-A)/ && ++n <= 200'
    fi
    if has nft; then
        sec nft
        t 5 nft -s list ruleset | head -n 300
    fi
    if has ufw; then
        sec ufw
        grep -E '^ENABLED=' /etc/ufw/ufw.conf
        grep -qs '^ENABLED=yes' /etc/ufw/ufw.conf && t 10 ufw status verbose | head -n 60
    fi
    if has firewall-cmd && [ "$(t 5 systemctl is-active firewalld)" = active ]; then
        sec firewalld
        t 10 firewall-cmd --list-all | head -n 40
    fi
    if has fail2ban-client; then
        sec fail2ban
        t 10 fail2ban-client status sshd | head -n 20
    fi
    sec hosts_access
    grep -Hv -E '^[[:space:]]*(#|$)' /etc/hosts.allow /etc/hosts.deny | head -n 40

    sec df
    t 5 df -P / /var /home /tmp /run
    sec dfi
    t 5 df -Pi / /var /home /tmp /run
    sec mounts
    # The root's line, read by the shell (a line's fields hold no blanks: /proc escapes them).
    while IFS= read -r ll_l; do
        set -- $ll_l
        [ "$2" != / ] || printf '%s\n' "$ll_l"
    done </proc/mounts
    sec fstab
    [ -r /etc/fstab ] && fstab

    if has ip; then
        sec addr
        t 5 ip -o addr show | awk '{ print $2, $3, $4 }'
    fi

    sec selinux
    if [ -r /sys/fs/selinux/enforce ]; then
        read -r ll_enf </sys/fs/selinux/enforce && echo "enforce=$ll_enf"
    fi
    if [ -r /sys/fs/selinux/enforce ] && [ -n "$ll_home" ]; then
        for f in "$ll_home" "$ll_home/.ssh" "$ll_home/.ssh/authorized_keys"; do
            [ -e "$f" ] && echo "label=$(t 5 stat -c '%C %n' "$f")"
        done
        ll_ports=$(cfg port all)
        if [ "$ll_ports" != 22 ] && has semanage; then
            echo "ssh_port_t=$(t 15 semanage port -l | sed -n 's/^ssh_port_t[ ]*tcp[ ]*//p')"
        fi
    fi

    sec crypto
    [ -r /etc/crypto-policies/config ] && echo "policy=$(grep -v '^#' /etc/crypto-policies/config | head -n 1)"
    if [ -r /proc/sys/crypto/fips_enabled ]; then
        ll_fips=
        IFS= read -r ll_fips </proc/sys/crypto/fips_enabled
        echo "fips=$ll_fips"
    fi

    sec log
    ll_log=
    has journalctl && ll_log=$(t 5 journalctl -b --no-pager -o cat -n 15 -u ssh.service -u sshd.service -u ssh.socket)
    if [ -z "$ll_log" ]; then
        for f in /var/log/auth.log /var/log/secure /var/log/messages; do
            if [ -r "$f" ]; then
                ll_log=$(grep sshd "$f" | tail -n 15)
                break
            fi
        done
    fi
    printf '%s\n' "$ll_log" | cut -c1-200
    sec oom
    { t 5 dmesg || t 5 journalctl -k -b --no-pager -o cat; } |
        awk 'tolower($0) ~ /out of memory|oom-kill/ && /sshd/ { l[++n] = substr($0, 1, 200) }
            END { for (i = n > 3 ? n - 2 : 1; i <= n; i++) print l[i] }'

    sec banner
    ll_ports=$(cfg port all)
    [ -n "$ll_ports" ] || ll_ports=22
    if [ -n "$SSHD_T" ]; then
        ll_las=$(cfg listenaddress all)
    else
        ll_las=
        for a in $(cfg listenaddress all); do
            case $a in
                \[*\]:* | *.*:*) ll_las="$ll_las $a" ;;
                *) for p in $ll_ports; do ll_las="$ll_las $a:$p"; done ;;
            esac
        done
    fi
    if [ -z "$ll_las" ]; then
        for p in $ll_ports; do ll_las="$ll_las 0.0.0.0:$p [::]:$p"; done
    fi
    for a in $ll_las; do
        ll_h=${a%:*}
        case $ll_h in
            0.0.0.0) ll_h=127.0.0.1 ;;
            '[::]') ll_h=::1 ;;
            \[*\]) ll_h=${ll_h#[}; ll_h=${ll_h%]} ;;
        esac
        banner "$ll_h" "${a##*:}"
    done

    sec end
    echo "end=$(date +%s)"
}

probe 2>/dev/null
