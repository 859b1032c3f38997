# The runtime of a lifeline plan: records, steps, and the end of a run.
#
# A plan prints nothing but records on stdout: one line each, tab-separated, starting with
# "ll". What a tool prints is captured and passed on inside a record, so the Rust side never
# has to guess which line is which.

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH LC_ALL=C
umask 077
LL_TAB=$(printf '\t')
LL_NL='
'
LL_CR=$(printf '\r')

# ll_emit KIND FIELD...: one record; tabs and line breaks inside a field become spaces.
ll_emit() {
    local line field
    line=ll$LL_TAB$1
    shift
    for field in "$@"; do
        case $field in
        *"$LL_TAB"* | *"$LL_NL"* | *"$LL_CR"*) field=$(printf '%s' "$field" | tr '\t\n\r' '   ') ;;
        esac
        line=$line$LL_TAB$field
    done
    printf '%s\n' "$line"
}

# ll_fail MESSAGE: why the current step fails; always returns 1, for `|| { ll_fail ...; return 1; }`.
ll_fail() {
    LL_STEP_ERR=$*
    return 1
}

ll_begin() {
    LL_RUN=$(mktemp -d /run/lifeline.XXXXXX 2>/dev/null || mktemp -d /tmp/lifeline.XXXXXX) || {
        ll_emit error "no scratch directory: /run and /tmp are not writable"
        exit 1
    }
    trap 'rm -rf "$LL_RUN"' EXIT
    LL_FAILED='' LL_STEPS=0 LL_BDIR='' LL_SSHD_CHANGED='' LL_STEP_ERR='' LL_STEP_SSHD=''
    # shellcheck disable=SC2034 # read by ll_touches (write.sh) and ll_targets (verify.sh)
    LL_TARGETS='' LL_CHECKED='' LL_WAS_OK=
    ll_sshd_locate
}

# ll_step TITLE FUNCTION: runs one step. A step that fails, or leaves an sshd configuration that
# sshd -t rejects, is undone: every path it touched is put back as it was before the step,
# and the steps after it are skipped.
ll_step() {
    LL_STEPS=$((LL_STEPS + 1))
    if [ -n "$LL_FAILED" ]; then
        ll_emit step "$1" skipped "an earlier step failed"
        return 0
    fi
    LL_SDIR=$LL_RUN/step$LL_STEPS
    mkdir "$LL_SDIR" && : >"$LL_SDIR/manifest"
    LL_STEP_ERR='' LL_STEP_SSHD=''
    if "$2" && ll_step_validate; then
        ll_emit step "$1" ok
        [ -z "$LL_STEP_SSHD" ] || LL_SSHD_CHANGED=1
    else
        LL_FAILED=$1
        # A command that failed on its own (not through ll_fail) still gets a reason.
        ll_emit step "$1" failed "${LL_STEP_ERR:-a command failed without saying why; see other_output}"
        ll_restore_all "$LL_SDIR" rollback
        [ -z "$LL_STEP_SSHD" ] || ll_validate_report
    fi
    return 0
}

ll_step_validate() {
    [ -n "$LL_STEP_SSHD" ] || return 0
    if ll_sshd_valid; then
        ll_emit validate ok
    else
        ll_fail "sshd -t rejects the new configuration: $LL_SSHD_ERR"
    fi
}

# ll_finish: restart sshd if its configuration changed (start it if it is not running), then
# prove it answers on every port it is configured for. If it answered before this run changed
# its configuration and does not now, everything the run changed is put back. The exit status
# says whether all steps succeeded and SSH answers.
ll_finish() {
    local status=0
    if ! ll_restart_and_verify; then
        status=1
        if [ -n "$LL_WAS_OK" ] && [ -n "$LL_BDIR" ]; then
            ll_emit note "SSH answered before this run and does not now: putting everything back"
            ll_restore_all "$LL_BDIR" rollback
            ll_restart_and_verify 1
        fi
    fi
    [ -z "$LL_BDIR" ] || sync
    [ -z "$LL_FAILED" ] || status=1
    return $status
}

# ll_restart_and_verify [FORCE]: a unit that failed to start is checked once, not waited for.
ll_restart_and_verify() {
    if ll_sshd_service "${1:-$LL_SSHD_CHANGED}"; then
        # No init runs (a break-in shell): nothing was started, so nothing can answer yet.
        [ -n "$LL_NO_INIT" ] && return 0
        ll_verify 10
    else
        ll_verify 1
        return 1
    fi
}
