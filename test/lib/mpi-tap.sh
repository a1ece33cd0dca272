# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# Sourced by the MPI test scripts (test/KIND/NAME.sh): the component from
# this build tree, the names of the Open MPI series in use (ompi.sh), then
# what every TAP script shares (tap.sh).
build=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "${BASH_SOURCE[0]}")/ompi.sh"
ompi_component_path "$build/btl_idts/.libs"
export IDTS_HELP_DIR=${top_srcdir:-$build}/btl_idts
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export ASAN_OPTIONS=detect_leaks=0 # Open MPI's own allocations outlive MPI_Finalize
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"
