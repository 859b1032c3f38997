# The files sshd and a login run or load, for the owners and modes they need (rule SSH012):
# sshd and the helpers it executes, the user's login shell, the libraries they load, the PAM
# modules sshd's stack names, and sshd's configuration. Three processes at most (ldd, grep,
# stat): every one costs a fraction of a second on a slow guest.
# shellcheck shell=dash disable=SC2086,SC2013

# ll_sshd_files: prints the section "@sshd_files": a line "ROLE PATH" for each file (ROLE is
# exec, lib, pam or conf), then the stat lines of those that exist in the probe's format
# ("HEXMODE UID GID USER GROUP SIZE PATH", links followed), then "override USER GROUP MODE
# PATH" for each entry of dpkg-statoverride, which the package's own modes give way to.
ll_sshd_files() {
    local runs='' libs='' mods='' conf='' f d w n
    # sshd as the probe's sshd section finds it, but also when it lost its execute bit, which
    # `command -v` under dash and `[ -x ]` would not see.
    for f in "$(command -v sshd)" /usr/sbin/sshd /usr/bin/sshd /sbin/sshd; do
        [ -n "$f" ] && [ -e "$f" ] && runs=$f && break
    done
    # OpenSSH 9.8 on runs sshd-session (and 10.0 sshd-auth) for each connection.
    for d in /usr/lib/openssh /usr/libexec/openssh /usr/libexec/ssh /usr/libexec; do
        for f in sshd-session sshd-auth; do
            [ -e "$d/$f" ] && runs="$runs $d/$f"
        done
    done
    while IFS=: read -r w _ _ _ _ _ f; do
        [ "$w" = "$LL_USER" ] && [ -n "$f" ] && runs="$runs $f" && break
    done </etc/passwd
    if [ -n "$runs" ]; then
        for w in $(t 5 ldd $runs 2>/dev/null); do
            case $w in
                /*:) ;;
                /*) case " $libs " in *" $w "*) ;; *) libs="$libs $w" ;; esac ;;
            esac
        done
    fi
    set +f
    for w in $(grep -h -o 'pam_[A-Za-z0-9_]*\.so' /etc/pam.d/sshd /etc/pam.d/common-auth /etc/pam.d/common-account \
        /etc/pam.d/common-session /etc/pam.d/common-password /etc/pam.d/password-auth /etc/pam.d/system-auth \
        /etc/pam.d/postlogin 2>/dev/null); do
        for d in /lib/*/security /usr/lib/*/security /lib64/security /usr/lib64/security /lib/security /usr/lib/security; do
            [ -e "$d/$w" ] || continue
            case " $mods " in *"/$w "*) ;; *) mods="$mods $d/$w" ;; esac
            break
        done
    done
    for f in /etc/ssh /etc/ssh/sshd_config /etc/ssh/sshd_config.d /etc/ssh/sshd_config.d/*.conf; do
        [ -e "$f" ] && conf="$conf $f"
    done
    set -f
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
