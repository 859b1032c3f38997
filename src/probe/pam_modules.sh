# The PAM modules the login path's stacks load (rule SSH310): login (the console), sshd, sudo
# and su (sudo-i and su-l for `sudo -i` and `su -`, which lifeline's own climb to root runs),
# and the files they include. A module that is missing, or whose checksum differs from
# the one dpkg recorded for it, fails every login through the stack, console logins included.
# shellcheck shell=dash disable=SC2086

# ll_pam_stack_lines FILE DEPTH: "FILE<TAB>LINE<TAB>MODULE<TAB>SKIP<TAB>TEXT" for each module
# line of FILE and of the files it includes (@include, include, substack), each file once
# ($ll_pam_seen holds those read). SKIP is "-" where PAM skips the line when its module is
# missing (`-type`, `module_unknown=ignore`), "+" where it fails (never empty: a tab is blank to
# `read`, and empty fields would run together). A file that cannot be read gives
# "FILE<TAB>nofile".
ll_pam_stack_lines() {
    local file=$1 depth=$2 n=0 line skip ctrl
    case " $ll_pam_seen " in *" $file "*) return 0 ;; esac
    ll_pam_seen="$ll_pam_seen $file"
    if [ ! -r "$file" ]; then
        printf '%s\tnofile\n' "$file"
        return 0
    fi
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        set -- $line
        case $1 in '' | '#'*) continue ;; esac
        if [ "$1" = @include ]; then
            [ "$depth" -lt 6 ] && ll_pam_stack_lines "/etc/pam.d/$2" $((depth + 1))
            continue
        fi
        skip=+
        case $1 in -*) skip=- ;; esac
        shift
        ctrl=$1
        [ $# -gt 0 ] && shift
        case $ctrl in
            '['*)
                while [ $# -gt 0 ]; do
                    case $ctrl in *']') break ;; esac
                    ctrl="$ctrl $1"
                    shift
                done
                ;;
        esac
        [ -n "$1" ] || continue
        case $ctrl in *module_unknown=ignore*) skip=- ;; esac
        case $ctrl in
            include | substack)
                [ "$depth" -lt 6 ] && ll_pam_stack_lines "/etc/pam.d/$1" $((depth + 1))
                continue
                ;;
        esac
        printf '%s\t%s\t%s\t%s\t%s\n' "$file" "$n" "$1" "$skip" "$line"
    done <"$file"
}

# ll_pam_find_dirs: sets $ll_pam_dirs to the directories PAM modules are found in, the
# multiarch ones first (where Debian's libpam looks).
ll_pam_find_dirs() {
    local d
    ll_pam_dirs=
    set +f
    for d in /lib/*/security /usr/lib/*/security /lib64/security /usr/lib64/security /lib/security /usr/lib/security; do
        [ -d "$d" ] && ll_pam_dirs="$ll_pam_dirs $d"
    done
    set -f
}

# ll_pam_modules SERVICE: the section "@pam": each module SERVICE's stack uses, as
# "[-]MODULE ok|missing" ("-": PAM skips it when missing), and "nofile FILE" for each file of
# the stack that cannot be read.
ll_pam_modules() {
    local d file n mod skip found
    ll_pam_find_dirs
    sec pam
    ll_pam_seen=
    ll_pam_stack_lines "/etc/pam.d/$1" 0 | while IFS="$TAB" read -r file n mod skip _; do
        if [ "$n" = nofile ]; then
            printf 'nofile %s\n' "$file"
            continue
        fi
        found=missing
        case $mod in
            /*) [ -e "$mod" ] && found=ok ;;
            *) for d in $ll_pam_dirs; do [ -e "$d/$mod" ] && found=ok && break; done ;;
        esac
        printf '%s%s %s\n' "${skip%+}" "$mod" "$found"
    done | sort -u
}

# ll_pam_damage: prints the section "@pam_damage": each module line of the login path's stacks
# whose module is missing or changed, tab-separated: FILE LINE MODULE STATE PATH PACKAGE MD5
# MEMBER DEB TEXT. STATE is missing or changed (its checksum is none dpkg recorded for it); PATH
# the module's file ("-": none); PACKAGE, MD5 and MEMBER what dpkg recorded for a module of that
# name (its package, checksum and path in the package; "-" without dpkg); DEB a copy of that
# package in apt's cache ("-": none). Lines PAM skips when their module is missing (`-type`,
# `module_unknown=ignore`) are listed only when it is there but changed. One md5sum for every
# module found: each process is slow on an emulated guest.
ll_pam_damage() {
    local lines sums='' found='' debs='' m d f b
    ll_pam_find_dirs
    set +f
    [ -d /var/lib/dpkg/info ] && sums=$(awk '$2 ~ /\/security\/[^\/]+\.so$/ {
        p = FILENAME; sub(/.*\//, "", p); sub(/\.md5sums$/, "", p); sub(/:.*/, "", p)
        print $1, $2, p }' /var/lib/dpkg/info/*.md5sums 2>/dev/null)
    for f in /var/cache/apt/archives/*.deb; do
        [ -f "$f" ] && b=${f##*/} && debs="$debs${NL}${b%%_*} $f"
    done
    set -f
    ll_pam_seen=
    lines=$(for f in login sshd sudo sudo-i su su-l; do ll_pam_stack_lines "/etc/pam.d/$f" 0; done)
    for m in $(printf '%s\n' "$lines" | cut -f3 | sort -u); do
        case $m in
            /*) [ -e "$m" ] && found="$found$NL$m $m" ;;
            *) for d in $ll_pam_dirs; do [ -e "$d/$m" ] && found="$found$NL$m $d/$m" && break; done ;;
        esac
    done
    sec pam_damage
    {
        echo '=sums'
        printf '%s\n' "$sums"
        echo '=found'
        printf '%s\n' "$found"
        echo '=md5'
        # shellcheck disable=SC2046 # the paths hold no blanks: found by name in the module dirs
        [ -z "$found" ] || t 10 md5sum -- $(printf '%s\n' "$found" | awk 'NF == 2 { print $2 }') 2>/dev/null
        echo '=debs'
        printf '%s\n' "$debs"
        echo '=lines'
        printf '%s\n' "$lines"
    } | awk '
        /^=/ { sec = substr($0, 2); next }
        $0 == "" { next }
        sec == "sums" {
            b = $2; sub(/.*\//, "", b)
            if (!(b in pkg)) { pkg[b] = $3; rec[b] = $1; mem[b] = $2 }
            ok[b " " $1] = 1; next
        }
        sec == "found" { path[$1] = $2; next }
        sec == "md5" { h[$2] = $1; next }
        sec == "debs" { deb[$1] = $2; next }
        sec == "lines" {
            split($0, f, "\t"); m = f[3]; b = m; sub(/.*\//, "", b)
            if (f[2] == "nofile") next
            # PAM skips a "-" line whose module is missing, not one whose module is there but
            # damaged: loading it may crash the login itself (ld.so asserts).
            if (!(m in path)) { if (f[4] == "-") next; st = "missing" }
            else if ((b in pkg) && (path[m] in h) && !((b " " h[path[m]]) in ok)) st = "changed"
            else next
            p = (b in pkg) ? pkg[b] : "-"
            # The line as its file has it, tabs and all (a fix finds it by that text).
            text = $0; for (i = 0; i < 4; i++) sub(/^[^\t]*\t/, "", text)
            printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f[1], f[2], m, st,
                (m in path) ? path[m] : "-", p, (b in pkg) ? rec[b] : "-",
                (b in pkg) ? mem[b] : "-", (p in deb) ? deb[p] : "-", text
        }'
}
