# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# Sourced by the MPI test scripts (test/KIND/NAME.sh): the component from
# this build tree, the names of the Open MPI series in use (ompi.sh), tcp
# over the loopback device (ompi_tcp_local: the jobs that fall back to tcp,
# or spawn with it, run on one machine), then what every TAP script shares
# (tap.sh).
build=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "${BASH_SOURCE[0]}")/ompi.sh"
ompi_component_path "$build/btl_idts/.libs"
ompi_tcp_local
export IDTS_HELP_DIR=${top_srcdir:-$build}/btl_idts
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export ASAN_OPTIONS=detect_leaks=0 # Open MPI's own allocations outlive MPI_Finalize
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

# help_arrived TOPIC LOG: the text of idts's help topic TOPIC arrived whole
# in LOG, mpirun's output: every line of it that takes no argument (those
# with % are filled in), in order of the file. Says what is missing.
help_arrived() {
    local topic=$1 log=$2 line
    while IFS= read -r line; do
        grep -qaF -- "$line" "$log" || { echo "# missing from the output: $line"; return 1; }
    done < <(awk -v topic="[$topic]" '$0 == topic { on = 1; next } /^\[/ { on = 0 }
        on && NF && !/%/' "$IDTS_HELP_DIR/help-btl-idts.txt")
}

# Re-number the program's own TAP lines into ours.
relay() {
    local line
    while read -r line; do
        case "$line" in
        "ok "*) ok 0 "${line#ok * - }" ;;
        "not ok "*) ok 1 "${line#not ok * - }" ;;
        esac
    done
}
