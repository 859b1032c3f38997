# The break-in's offline shell, when its own tools cannot run: which of them, and of the files
# the loader maps for them, are not what their package installed. Nothing here loads more than
# glibc's own libc and libm (the shell, awk, md5sum, readlink, timeout, env, and the loader's
# trace), so a damaged libselinux or libpcre2, which mount, sed, grep and mv load on Debian,
# does not stop it.
# ll_package_files (src/probe/package_files.sh) is sent before it.
# shellcheck shell=dash disable=SC2046,SC2086

LC_ALL=C
export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
sec() { printf '@%s\n' "$1"; }
t() { ll_s=$1; shift; timeout "$ll_s" "$@"; }

# ll_loaded PROGRAM...: each PROGRAM found, then each file the loader maps for it, one a line; a
# library the loader cannot find or refuses by its name alone, in each directory it may be in;
# a PROGRAM not found, where it would be. The trace (LD_TRACE_LOADED_OBJECTS, what ldd uses)
# maps the libraries and runs none of their code, so a library that crashes the program still
# gets named; a program the loader does not start (a static one, a script) runs, so each is
# bounded.
ll_loaded() (
    # A subshell: the directories are globs, whatever the caller's `set -f`.
    set +f
    for n in "$@"; do
        p=$(command -v "$n") || { printf '%s\n' "/usr/bin/$n" "/usr/sbin/$n" "/bin/$n" "/sbin/$n"; continue; }
        echo "$p"
        t 10 env LD_TRACE_LOADED_OBJECTS=1 "$p" 2>&1 </dev/null
    done | ll_traced_files $(echo /lib/*-linux-gnu /usr/lib/*-linux-gnu /lib64 /usr/lib64 /lib /usr/lib)
)

# ll_traced_files DIR... <TRACE: the paths in the loader's TRACE (and the programs' own paths
# before it); each library named without a path (not found, or refused), in each DIR.
ll_traced_files() {
    awk -v dirs="$*" '
        $2 == "=>" && $3 ~ /^\// { print $3; next }
        $2 == "=>" { name[$1] = 1; next }
        /error while loading shared libraries: / {
            n = $0; sub(/.*error while loading shared libraries: /, "", n); sub(/: .*/, "", n)
            if (n ~ /^\//) print n; else name[n] = 1
            next
        }
        $1 ~ /^\// { print $1 }
        END { k = split(dirs, d, " "); for (n in name) for (i = 1; i <= k; i++) print d[i] "/" n }'
}

# ll_tools_check: the sections "@os", "@package_files" (ll_package_files), "@errors" when the
# check could not judge, and "@end", for the programs the shell's preparation (mount), the
# offline repairs and the probe before them, and the one-time login after the boot run, and the
# files they load.
ll_tools_check() {
    local f
    sec os
    for f in /etc/os-release /usr/lib/os-release; do
        [ -r "$f" ] && { awk '/^(ID|ID_LIKE|VERSION_ID|PRETTY_NAME)=/' "$f"; break; }
    done
    [ -d "${LL_DPKG:-/var/lib/dpkg}/info" ] || { sec errors; echo "no dpkg database (${LL_DPKG:-/var/lib/dpkg}/info)"; }
    set -f
    ll_package_files $(ll_loaded mount mountpoint sed grep awk sort stat mv cp chmod chown mkdir ln rm login)
    sec end
}
