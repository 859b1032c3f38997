//! An `sshd` for the shell unit tests that run over a private /etc (`run_over_private_etc`):
//! this machine has no OpenSSH server, and the functions under test only need sshd's verdict on
//! `/etc/ssh/sshd_config` and the drop-ins it includes, in sshd's words.
//!
//! - `sshd -t [-f FILE]`: the main file must exist; a line starting `Bogus` in it or in a file
//!   it includes is rejected, named by file and line as sshd names it.
//! - `sshd -T -C user=NAME,…`: the PasswordAuthentication sshd applies for NAME: the first
//!   value read in a `Match User NAME` block, else the first global one, else `yes`; an
//!   included file is read where its Include stands, and a Match in it ends with it.

use super::{run_over_private_etc, scrubbed};

/// The stand-in's script.
const SSHD: &str = r#"#!/bin/sh
main=/etc/ssh/sshd_config
[ "$2" != -f ] || main=$3
[ -f "$main" ] || { echo "$main: No such file or directory" >&2; exit 255; }
files() {
    awk '{ for (i = 2; i <= NF; i++) print $i }' | while read -r p; do
        case $p in /*) ;; *) p=/etc/ssh/$p ;; esac
        for f in $p; do [ ! -f "$f" ] || echo "$f"; done
    done
}
expand() {
    while IFS= read -r l; do
        case $l in
        [Ii]nclude[[:space:]]*) for f in $(printf '%s\n' "$l" | files); do cat "$f"; echo @end; done ;;
        *) printf '%s\n' "$l" ;;
        esac
    done <"$1"
}
case $1 in
-t)
    for f in "$main" $(grep -i '^include[[:space:]]' "$main" | files); do
        n=$(grep -n '^Bogus' "$f" | head -n 1 | cut -d: -f1)
        [ -z "$n" ] || { echo "$f line $n: Bad configuration option: Bogus" >&2; exit 255; }
    done ;;
-T)
    u=${3#user=}
    expand "$main" | awk -v u="${u%%,*}" '
        BEGIN { m = 0 }
        $1 == "@end" { m = 0; next }
        tolower($1) == "match" { m = (tolower($2) == "user" && $3 == u) ? 1 : 2; next }
        tolower($1) == "passwordauthentication" && m != 2 && !(m in v) { v[m] = tolower($2) }
        END { print "passwordauthentication " ((1 in v) ? v[1] : (0 in v) ? v[0] : "yes") }' ;;
*) exit 2 ;;
esac
"#;

/// `body` run with `libraries` over a private /etc and /usr (`run_over_private_etc`) that
/// hold none of the guest's files yet (no /etc/os-release, an empty /etc/ssh, no
/// /usr/share/openssh nor /usr/etc/ssh), the stand-in as the runtime's `LL_SSHD`; what it
/// printed, [`scrubbed`]. `LL_CHECKED` says SSH was checked before this run's first change: the
/// check dials the ports sshd -T names, and nothing listens on them here.
pub(crate) fn over_empty_etc(libraries: &[&'static str], body: &str) -> String {
    let (dir, out) = run_over_private_etc(
        libraries,
        &format!(
            "rm -rf /etc/os-release /etc/ssh /usr/share/openssh /usr/etc/ssh && mkdir /etc/ssh\n\
             cat >\"$T/bin/sshd\" <<'LL_STAND_IN'\n{SSHD}LL_STAND_IN\n\
             chmod 0755 \"$T/bin/sshd\"; LL_SSHD=$T/bin/sshd; LL_CHECKED=1\n{body}"
        ),
    );
    std::fs::remove_dir_all(&dir).ok();
    scrubbed(&dir, &out)
}
