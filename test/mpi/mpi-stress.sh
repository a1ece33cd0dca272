#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# The long integrity run: mpi_stress's million messages (or -n N) between 4
# ranks over idts, with the default rings (ring size 0) and with 64 KiB
# rings, every byte checked. Run from a build tree:
# make check-stress [STRESS_ARGS="-n N -s SEED"].
# Prints each run's figures; fails if any run found a bad, lost or extra
# message, or did not finish within an hour.
set -u
. "$(dirname "$0")/../lib/mpi-tap.sh"
for rings in 0 65536; do
    echo "== btl_idts_ring_size $rings"
    timeout 3600 mpirun --oversubscribe -np 4 --mca pml ob1 --mca btl idts,self \
        --mca btl_idts_ring_size "$rings" "$build/test/mpi/mpi_stress" "$@" || failed=1
done
exit $failed
