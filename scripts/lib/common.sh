# shellcheck shell=bash
# Helpers shared by scripts/install-deps, scripts/guest-build and scripts/guest.
# Sourced, never executed. Everything here writes to stderr only, so that the
# scripts' stdout stays machine-readable (a directory, a READY line, ...).

LIFELINE_PROG=${0##*/}

# Microseconds since the epoch (EPOCHREALTIME may use a locale's decimal comma).
now_us() { printf '%s\n' "${EPOCHREALTIME//[!0-9]/}"; }

LIFELINE_T0=$(now_us)

# Seconds since $1 (microseconds from now_us), one decimal: "12.3".
elapsed_since() {
  local d=$(($(now_us) - $1))
  printf '%d.%d\n' $((d / 1000000)) $((d / 100000 % 10))
}

log() { printf '[%s +%ss] %s\n' "$LIFELINE_PROG" "$(elapsed_since "$LIFELINE_T0")" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$LIFELINE_PROG" "$*" >&2; }

# die MESSAGE [HINT...]: the message says what failed, the hints what to do.
die() {
  printf '%s: error: %s\n' "$LIFELINE_PROG" "$1" >&2
  shift
  local hint
  for hint in "$@"; do printf '  -> %s\n' "$hint" >&2; done
  exit 1
}

# need_cmds CMD...: fail with one message naming every missing command.
need_cmds() {
  local c missing=()
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  ((${#missing[@]} == 0)) && return 0
  die "missing command(s): ${missing[*]}" \
    "install them with: sudo $(lifeline_scripts_dir)/install-deps"
}

lifeline_scripts_dir() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# Where finished guest images are cached (one guest-<key>/ directory each).
lifeline_cache_dir() { printf '%s\n' "${LIFELINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeline}"; }

# kv NAME VALUE: one shell-evaluable assignment (for the .env files).
kv() { printf '%s=%q\n' "$1" "$2"; }

# Print the last $2 lines of file $1, without colour codes and CRs, indented.
tail_clean() {
  [[ -f $1 ]] || { printf '    (%s does not exist)\n' "$1" >&2; return 0; }
  tail -n "$2" "$1" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r//g' -e 's/^/    | /' >&2
}
