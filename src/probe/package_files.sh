# Files on the login path that are not what their package installed (rule SSH010's fix): the
# libraries sshd and PID 1 load. A truncated or corrupted library stops every program that
# loads it, the package tools included when they load it too, so the file is named with what
# it takes to fetch its package elsewhere: the package, its architecture and exact version,
# its source, and the checksum dpkg recorded.
# shellcheck shell=dash disable=SC2086

# ll_package_files FILE...: prints the section "@package_files": for each FILE (a path, links
# followed) that is gone or whose checksum is not the one dpkg recorded, a line "PATH<TAB>MEMBER<TAB>PACKAGE
# <TAB>ARCH<TAB>VERSION<TAB>SOURCE<TAB>MD5": PATH the file on disk, MEMBER its path in the
# package. With /lib a link to /usr/lib (merged /usr), a package's lib/… is the same file as
# usr/lib/…. $LL_DPKG is dpkg's database (/var/lib/dpkg). One md5sum and two awk in all; an
# md5sum that times out judges nothing, and says so in a section "@errors".
ll_package_files() {
    local db=${LL_DPKG:-/var/lib/dpkg} real='' f
    sec package_files
    [ -d "$db/info" ] || return 0
    for f in "$@"; do
        # A file that is gone (a link left dangling) is judged too: no checksum is no match.
        # Each once: with /lib a link to /usr/lib, two names given are often one file.
        f=$(readlink -f -- "$f" 2>/dev/null) || continue
        [ -f "$f" ] || [ ! -e "$f" ] || continue
        case " $real " in *" $f "*) ;; *) real="$real $f" ;; esac
    done
    [ -n "$real" ] || return 0
    set +f
    {
        echo '=md5'
        t 20 md5sum -- $real 2>/dev/null
        # Timed out: the files not yet summed would all read as damaged.
        [ $? -ne 124 ] || echo '=timedout'
        echo '=records'
        awk -v want=" $real " '
            FNR == 1 { p = FILENAME; sub(/.*\//, "", p); sub(/\.md5sums$/, "", p) }
            {
                m = $2; for (i = 3; i <= NF; i++) m = m " " $i
                at = "/" m
                if (index(want, " " at " ") == 0 && m ~ /^(lib|lib64|bin|sbin)\//) at = "/usr/" m
                if (index(want, " " at " ")) print at "\t" m "\t" p "\t" $1
            }' "$db"/info/*.md5sums 2>/dev/null
        echo '=status'
        awk '
            /^Package: / { p = $2; a = ""; v = ""; s = "" }
            /^Architecture: / { a = $2 }
            /^Version: / { v = $2 }
            /^Source: / { s = $2 }
            /^$/ && p != "" { print p, a, v, (s == "" ? p : s); p = "" }
            END { if (p != "") print p, a, v, (s == "" ? p : s) }' "$db/status"
    } | awk '
        /^=timedout$/ { timedout = 1; next }
        /^=/ { sec = substr($0, 2); next }
        sec == "md5" { h["/" substr($0, index($0, "/") + 1)] = $1; next }
        sec == "records" { split($0, r, "\t"); n++; at[n] = r[1]; mem[n] = r[2]; pk[n] = r[3]; rec[n] = r[4]; next }
        sec == "status" { arch[$1] = $2; ver[$1] = $3; src[$1] = $4; arch[$1 ":" $2] = $2; ver[$1 ":" $2] = $3; src[$1 ":" $2] = $4 }
        END {
            if (timedout) { print "@errors"; print "md5sum timed out after 20 s: no file was judged"; exit }
            for (i = 1; i <= n; i++) {
                if (h[at[i]] == rec[i]) continue
                p = pk[i]; name = p; sub(/:.*/, "", name)
                printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", at[i], mem[i], name, arch[p], ver[p], src[p], rec[i]
            }
        }'
    set -f
}
