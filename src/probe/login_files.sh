# What a sound login file looks like: the one check the probe judges the guest's files with and
# the rescue judges its new content with, so that a repair passes exactly where the diagnosis
# failed.
# shellcheck shell=dash

# ll_login_files_flaws KIND FILE [KIND FILE]...: one line "FILE<TAB>FLAW" for each FILE that can
# be read, FLAW being what makes it unusable as a KIND file (passwd, group, shadow, nsswitch, pam
# or limits, pam_limits' file, which only has to be there), or "-" when it is sound. Sound means
# what the readers need (glibc's files module, PAM's parser), not what a person would write: an
# entry with a field too many or too few is skipped by glibc, so its account is gone; a PAM line
# of no known type makes PAM fail the whole stack; a module name that is not a `.so` cannot load.
# All files are judged by one awk, and NUL bytes are looked for in all of them at once: the probe
# judges a dozen files, and every process is slow on an emulated guest.
ll_login_files_flaws() {
    local n=$# kind f kinds='' kept='' nul
    while [ "$n" -gt 0 ]; do
        kind=$1 f=$2
        shift 2
        n=$((n - 2))
        if [ ! -f "$f" ]; then
            printf '%s\tmissing\n' "$f"
        elif [ ! -s "$f" ] && [ "$kind" = limits ]; then
            # pam_limits reads what it finds; a file without limits is as the packages ship it.
            printf '%s\t-\n' "$f"
        elif [ ! -s "$f" ]; then
            printf '%s\tempty\n' "$f"
        elif [ -r "$f" ]; then
            set -- "$@" "$f"
            kinds="$kinds $kind"
        fi
    done
    [ $# -gt 0 ] || return 0
    nul=$(cat -- "$@" | tr -dc '\000' | wc -c)
    if [ "$nul" -gt 0 ]; then
        # Some file holds one: which, file by file (rare, so the slow way).
        set -- "$@" --
        for kind in $kinds; do
            f=$1
            shift
            if [ "$(tr -dc '\000' <"$f" | wc -c)" -gt 0 ]; then
                printf '%s\tholds NUL bytes\n' "$f"
            else
                set -- "$@" "$f"
                kept="$kept $kind"
            fi
        done
        shift
        kinds=$kept
        [ $# -gt 0 ] || return 0
    fi
    awk -v kinds="$kinds" '
        function flaw(why) { if (!bad) found = why; bad = 1 }
        function judged() {
            if (!bad && (kind in fields) && !root) found = "no entry for root"
            if (!bad && kind == "nsswitch" && !(seen["passwd"] && seen["group"] && seen["shadow"])) found = "passwd, group or shadow has no line"
            printf "%s\t%s\n", file, found
        }
        BEGIN { FS = ":"; fields["passwd"] = 7; fields["group"] = 4; fields["shadow"] = 9; split(kinds, kindof, " ") }
        FNR == 1 {
            if (file != "") judged()
            file = FILENAME; kind = kindof[++files]; found = "-"; bad = 0; root = 0; split("", seen)
        }
        bad { next }
        (kind in fields) && $0 == "" { next }
        kind in fields {
            if (NF != fields[kind] || $1 == "") { flaw("line " FNR " is not a " kind " entry"); next }
            if (kind != "shadow" && $3 !~ /^[0-9]+$/) { flaw("line " FNR " has no numeric id"); next }
            if ($1 == "root") root = 1
            next
        }
        { sub(/#.*/, ""); n = split($0, w, /[ \t]+/); if (n > 0 && w[1] == "") { for (i = 1; i < n; i++) w[i] = w[i + 1]; n-- } }
        n == 0 { next }
        kind == "nsswitch" {
            if (w[1] !~ /^[a-z_]+:$/ && $0 !~ /^[ \t]*[a-z_]+:/) { flaw("line " FNR " is not a database and its sources"); next }
            db = w[1]; sub(/:.*/, "", db); seen[db] = 1
            rest = $0; sub(/^[^:]*:/, "", rest)
            if (rest !~ /^[ \t]*([A-Za-z0-9_-]+|\[[!A-Za-z=_ \t]+\])([ \t]+([A-Za-z0-9_-]+|\[[!A-Za-z=_ \t]+\]))*[ \t]*$/) flaw("line " FNR " names sources that are not names")
            next
        }
        kind == "pam" {
            if (w[1] == "@include") { if (n != 2) flaw("line " FNR " is not an @include of one file"); next }
            if (w[1] !~ /^-?(auth|account|password|session)$/ || n < 3) { flaw("line " FNR " is not a PAM rule"); next }
            m = 3
            if (w[2] ~ /^\[/) while (m <= n && w[m - 1] !~ /\]$/) m++
            if (w[2] == "include" || w[2] == "substack") next
            if (m > n || w[m] !~ /(\.so|^\/.*)$/) flaw("line " FNR " names no PAM module")
            next
        }
        END { if (file != "") judged() }' "$@"
}

# ll_login_file_flaw KIND FILE: prints what makes FILE unusable as a KIND file and fails; prints
# nothing when it is sound (see ll_login_files_flaws).
ll_login_file_flaw() {
    local flaw
    flaw=$(ll_login_files_flaws "$1" "$2")
    flaw=${flaw#"$2"?}
    [ "$flaw" = - ] && return 0
    printf '%s\n' "${flaw:-cannot be read}"
    return 1
}
