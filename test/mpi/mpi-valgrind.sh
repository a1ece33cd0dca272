#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# MPI over idts under valgrind (TAP output): a short mpi_stress job on 2
# ranks, both under memcheck, with Open MPI's suppressions for its own
# allocations. test/run-all runs it in its valgrind build instead of
# mpi-check.sh, whose jobs the werror build, compiled the same, has run.
set -u
. "$(dirname "$0")/../lib/mpi-tap.sh"
stress=$build/test/mpi/mpi_stress
timeout 600 mpirun --oversubscribe -np 2 --mca pml ob1 --mca "$help_aggregate" 0 \
    --mca btl idts,self valgrind -q --error-exitcode=9 \
    --suppressions=/usr/share/openmpi/openmpi-valgrind.supp "$stress" -n 2000 -t 120 \
    > "$out/stress" 2>&1
status=$?
relay < <(tr -d '\000' < "$out/stress")
ok "$status" "mpi_stress: 2000 messages on 2 ranks under valgrind ($status)"
[ "$status" = 0 ] || show "$out/stress"
tap_end
