# What a sound login file looks like: the one check the probe judges the guest's files with and
# the rescue judges its new content with, so that a repair passes exactly where the diagnosis
# failed.
# shellcheck shell=dash

# ll_login_file_flaw KIND FILE: prints what makes FILE unusable as a KIND file (passwd, group,
# shadow, nsswitch or pam) and fails; prints nothing when it is sound. Sound means what the
# readers need (glibc's files module, PAM's parser), not what a person would write: an entry
# with a field too many or too few is skipped by glibc, so its account is gone; a PAM line of
# no known type makes PAM fail the whole stack; a module name that is not a `.so` cannot load.
ll_login_file_flaw() {
    [ -f "$2" ] || { echo "missing"; return 1; }
    [ -s "$2" ] || { echo "empty"; return 1; }
    [ "$(tr -d '\000' <"$2" | wc -c)" = "$(wc -c <"$2")" ] || { echo "holds NUL bytes"; return 1; }
    awk -v kind="$1" '
        function flaw(why) { print why; bad = 1; exit 1 }
        BEGIN { FS = ":"; fields["passwd"] = 7; fields["group"] = 4; fields["shadow"] = 9 }
        (kind in fields) && $0 == "" { next }
        kind in fields {
            if (NF != fields[kind] || $1 == "") flaw("line " NR " is not a " kind " entry")
            if (kind != "shadow" && $3 !~ /^[0-9]+$/) flaw("line " NR " has no numeric id")
            if ($1 == "root") root = 1
            next
        }
        { sub(/#.*/, ""); n = split($0, w, /[ \t]+/); if (n > 0 && w[1] == "") { for (i = 1; i < n; i++) w[i] = w[i + 1]; n-- } }
        n == 0 { next }
        kind == "nsswitch" {
            if (w[1] !~ /^[a-z_]+:$/ && $0 !~ /^[ \t]*[a-z_]+:/) flaw("line " NR " is not a database and its sources")
            db = w[1]; sub(/:.*/, "", db); seen[db] = 1
            rest = $0; sub(/^[^:]*:/, "", rest)
            if (rest !~ /^[ \t]*([A-Za-z0-9_-]+|\[[!A-Za-z=_ \t]+\])([ \t]+([A-Za-z0-9_-]+|\[[!A-Za-z=_ \t]+\]))*[ \t]*$/) flaw("line " NR " names sources that are not names")
            next
        }
        kind == "pam" {
            if (w[1] == "@include") { if (n != 2) flaw("line " NR " is not an @include of one file"); next }
            if (w[1] !~ /^-?(auth|account|password|session)$/ || n < 3) flaw("line " NR " is not a PAM rule")
            m = 3
            if (w[2] ~ /^\[/) while (m <= n && w[m - 1] !~ /\]$/) m++
            if (w[2] == "include" || w[2] == "substack") next
            if (m > n || w[m] !~ /(\.so|^\/.*)$/) flaw("line " NR " names no PAM module")
            next
        }
        END {
            if (bad) exit 1
            if ((kind in fields) && !root) { print "no entry for root"; exit 1 }
            if (kind == "nsswitch" && !(seen["passwd"] && seen["group"] && seen["shadow"])) { print "passwd, group or shadow has no line"; exit 1 }
        }' "$2"
}
