# shellcheck shell=bash
# The probe's script as lifeline sends it, for scripts/probe-sections and scripts/probe-compare.
# Sourced, never executed; the caller runs from the repository's root.

# probe_file REV FILE: src/probe/FILE as git revision REV has it, or the working tree's if REV
# is empty.
probe_file() {
  if [[ -n $1 ]]; then git show "$1:src/probe/$2"; else cat "src/probe/$2"; fi
}

# probe_script USER [REV]: the probe as REV has it, with its comments: LL_USER, then every
# library src/probe/mod.rs includes (script_for sends them all in front of probe.sh), then
# probe.sh, whose last line runs it.
probe_script() {
  local user=$1 rev=${2:-} f
  printf 'LL_USER=%s\n' "$user"
  for f in $(probe_file "$rev" mod.rs | sed -n 's/.*include_str!("\([^"]*\.sh\)").*/\1/p'); do
    [[ $f == probe.sh ]] || probe_file "$rev" "$f"
  done
  probe_file "$rev" probe.sh
}
