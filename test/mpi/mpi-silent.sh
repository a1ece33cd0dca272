#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# Ranks that stay away from MPI for 45 s (longer than any clock idts ever
# had), as real codes do, over --mca btl idts,self (TAP output): the silent
# one receiving, sending, and crossing eager sends, on 2 ranks (the silent
# rank attaches to the tunnel) and 4 (the silent ranks create theirs; these
# jobs sleep while they wait, as on an oversubscribed node). The jobs run
# at once: they are mostly asleep.
set -u
. "$(dirname "$0")/../lib/mpi-tap.sh"
program=$build/test/mpi/mpi_silent_test
silence=${IDTS_SILENCE:-45}

jobs=()
for mode in receiver sender crossed; do
    timeout $((silence + 240)) mpirun --oversubscribe -np 2 --mca pml ob1 --mca btl idts,self \
        "$program" "$mode" "$silence" odd > "$out/$mode-2" 2>&1 &
    jobs+=("$!:$mode-2")
    timeout $((silence + 240)) mpirun --oversubscribe -np 4 --mca pml ob1 --mca btl idts,self \
        --mca btl_idts_blocking always "$program" "$mode" "$silence" even > "$out/$mode-4" 2>&1 &
    jobs+=("$!:$mode-4")
done
for job in "${jobs[@]}"; do
    wait "${job%%:*}"
    status=$?
    relay < "$out/${job#*:}"
    ok "$status" "${job#*:}: the job ends cleanly ($status)"
    [ "$status" = 0 ] || sed 's/^/# /' "$out/${job#*:}"
done

tap_end
