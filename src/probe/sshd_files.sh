# The files sshd and a login run or load, for the owners and modes they need (rule SSH012):
# sshd and the helpers it executes, the user's login shell, the libraries sshd and its helpers
# load, the PAM modules sshd's stack names, and sshd's configuration. One process (stat), and
# ldd only for OpenSSH's per-connection helpers where they exist: every process costs a
# fraction of a second on a slow guest.
# shellcheck shell=dash disable=SC2086

# ll_sshd_files LDD: prints the section "@sshd_files": a line "ROLE PATH" for each file (ROLE
# is exec, lib, pam or conf), then the stat lines of those that exist in the probe's format
# ("HEXMODE UID GID USER GROUP SIZE PATH", links followed), then "override USER GROUP MODE
# PATH" for each entry of dpkg-statoverride, which the package's own modes give way to. LDD
# is what ldd printed for sshd (the probe's sshd section ran it already).
ll_sshd_files() {
    local ldd=$1 runs='' helpers='' libs='' mods='' conf='' f d w n line
    # sshd as the probe's sshd section finds it, but also when it lost its execute bit, which
    # `command -v` under dash and `[ -x ]` would not see.
    for f in "$(command -v sshd)" /usr/sbin/sshd /usr/bin/sshd /sbin/sshd; do
        [ -n "$f" ] && [ -e "$f" ] && runs=$f && break
    done
    # OpenSSH 9.8 on runs sshd-session (and 10.0 sshd-auth) for each connection.
    for d in /usr/lib/openssh /usr/libexec/openssh /usr/libexec/ssh /usr/libexec; do
        for f in sshd-session sshd-auth; do
            [ -e "$d/$f" ] && helpers="$helpers $d/$f"
        done
    done
    while IFS=: read -r w _ _ _ _ _ f; do
        [ "$w" = "$LL_USER" ] && [ -n "$f" ] && runs="$runs $f" && break
    done </etc/passwd
    runs="$runs$helpers"
    [ -z "$helpers" ] || ldd="$ldd $(t 5 ldd $helpers 2>/dev/null)"
    for w in $ldd; do
        case $w in
            /*:) ;;
            /*) case " $libs " in *" $w "*) ;; *) libs="$libs $w" ;; esac ;;
        esac
    done
    ll_pam_find_dirs
    set +f
    for f in /etc/ssh /etc/ssh/sshd_config /etc/ssh/sshd_config.d /etc/ssh/sshd_config.d/*.conf; do
        [ -e "$f" ] && conf="$conf $f"
    done
    set -f
    # The modules of sshd's stack and of the files it includes, read by the shell alone.
    for f in /etc/pam.d/sshd /etc/pam.d/common-auth /etc/pam.d/common-account /etc/pam.d/common-session \
        /etc/pam.d/common-password /etc/pam.d/password-auth /etc/pam.d/system-auth /etc/pam.d/postlogin; do
        [ -r "$f" ] || continue
        while read -r line; do
            for w in $line; do
                case $w in '#'*) break ;; pam_*.so) ;; *) continue ;; esac
                case " $mods " in *"/$w "*) continue ;; esac
                # shellcheck disable=SC2154 # set by ll_pam_find_dirs (pam_modules.sh)
                for d in $ll_pam_dirs; do
                    [ -e "$d/$w" ] && mods="$mods $d/$w" && break
                done
            done
        done <"$f"
    done
    sec sshd_files
    for f in $runs; do echo "exec $f"; done
    for f in $libs; do echo "lib $f"; done
    for f in $mods; do echo "pam $f"; done
    for f in $conf; do echo "conf $f"; done
    [ -z "$runs$libs$mods$conf" ] || t 5 stat -L -c '%f %u %g %U %G %s %n' -- $runs $libs $mods $conf 2>/dev/null
    [ -r /var/lib/dpkg/statoverride ] || return 0
    n=0
    while read -r w d f conf && [ $n -lt 100 ]; do
        n=$((n + 1))
        echo "override $w $d $f $conf"
    done </var/lib/dpkg/statoverride
}
