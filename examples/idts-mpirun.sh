#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# Run an MPI program from a plain hostfile, for a job whose ranks span
# several Xen VMs on one host and several hosts: idts carries what goes
# between VMs of one host, tcp what goes between hosts (see
# idts-multihost.conf). Then check that idts was chosen (idts-summary).
#
# Usage: [HOSTFILE=FILE] [NP=N] [IDTS_PREFIX=DIR] idts-mpirun.sh PROGRAM [ARGS...]
#   HOSTFILE     the VMs, one a line (default ./hosts); for VMs a1, a2 on Xen
#                host A and b1, b2 on host B, one rank each (as
#                idts-multihost.conf expects; see there for more):
#                    a1 slots=1
#                    a2 slots=1
#                    b1 slots=1
#                    b2 slots=1
#   NP           how many ranks (default: one per slot)
#   IDTS_PREFIX  where idts is installed on every VM, the same path on all:
#                PREFIX/lib/openmpi/mca_btl_idts.so (default /usr/local)
#   LOG          where the verbose output goes, the program's stderr with it
#                (default idts-job.log)
#   TIMEOUT      seconds the job may take (default 3600)
#   REQUIRE      xen: first run idts-info --require xen once on every VM of
#                the hostfile, and stop before the job if a VM is not ready
#                for idts's xen backend (idts-info says what to fix there)
# This directory must be at the same path on every VM (a shared file
# system, or a copy): every rank reads the parameter file that mpirun
# --tune names, and a rank that cannot read it silently runs without it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
log=${LOG:-idts-job.log}
export OMPI_MCA_mca_base_component_path=${IDTS_PREFIX:-/usr/local}/lib/openmpi:SYS_DEFAULT
# Open MPI 5's mpirun hands that path to PMIx too, which would warn about
# idts; PMIx's own path (always searched) is enough for PMIx.
export PMIX_MCA_mca_base_component_path=
if [ "${REQUIRE:-}" = xen ]; then
    # One idts-info per VM; its output says which VM lacks what.
    if ! timeout 300 mpirun --hostfile "${HOSTFILE:-hosts}" --map-by ppr:1:node --tag-output \
        idts-info --require xen > "$log.check" 2>&1; then
        cat "$log.check" >&2
        echo "idts-mpirun.sh: not every VM is ready for idts's xen backend (above)" >&2
        exit 1
    fi
fi
# mpirun passes the OMPI_MCA_ variables on to every rank.
timeout "${TIMEOUT:-3600}" mpirun --hostfile "${HOSTFILE:-hosts}" ${NP:+-np "$NP"} \
    --tune "$here/idts-multihost.conf" --mca btl_base_verbose 10 "$@" 2> "$log"
status=$?
"$here/idts-summary" "$log" || [ "$status" != 0 ] || status=1
exit "$status"
