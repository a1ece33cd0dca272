#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# Dynamic processes (TAP output): jobs that spawn processes, and that
# connect to spawned ones through a published port (MPI_Comm_connect,
# MPI_Comm_accept, MPI_Intercomm_merge), must pass with idts added to the
# BTLs they pass with here (self,vader,tcp), with idts carrying the traffic
# between the jobs; idts never the reason such a job fails or hangs.
set -u
. "$(dirname "$0")/../lib/mpi-tap.sh"
program=$build/test/mpi/mpi_dynamic_test

run() {
    local btls=$1 mode=$2 log=$3
    timeout -k 10 180 mpirun --oversubscribe -np 2 --mca pml ob1 --mca btl "$btls" \
        --mca btl_base_verbose 10 "$program" "$mode" > "$log" 2>&1
}

# The spawned job is [[family,2],*]: idts sends to it, and counted records.
idts_crossed_jobs() {
    grep -qE 'Using idts btl for send to \[\[[0-9]+,2\],[0-9]+\]' "$1" &&
        grep -qE 'btl:idts: \[\[[0-9]+,1\],[0-9]+\] -> \[\[[0-9]+,2\],[0-9]+\]: sent [1-9]' "$1"
}

for mode in spawn connect; do
    if ! run self,vader,tcp "$mode" "$out/plain"; then
        skip "$mode: Open MPI fails it without idts here (self,vader,tcp): $(tail -1 "$out/plain")"
        continue
    fi
    for btls in idts,self,vader,tcp idts,self,tcp; do
        run "$btls" "$mode" "$out/idts"
        status=$?
        [ "$status" = 0 ] && ! grep -q '^not ok' "$out/idts" && grep -q '^ok ' "$out/idts"
        ok $? "$mode with --mca btl $btls: every check passes, the job ends ($status)"
        [ "$status" = 0 ] || sed 's/^/# /' "$out/idts"
        idts_crossed_jobs "$out/idts"
        ok $? "$mode with --mca btl $btls: idts carried the traffic between the two jobs"
    done
done

# Two mpiruns joined by ompi-server are not tested: here Open MPI 4.1.4
# hangs in their MPI_Comm_connect/accept (PMIx_Lookup in
# opal_pmix_base_exchange) in about half of the tries with self,vader,tcp
# alone. A published port inside one mpirun is tested above.
skip "connect/accept between two mpiruns through ompi-server: Open MPI 4.1.4 hangs in PMIx_Lookup in half the tries here without idts"

# A child that sends its parent a large message, frees the request and
# leaves: the parent's receive cannot complete, and idts says why instead
# of hanging.
timeout -k 10 180 mpirun --oversubscribe -np 1 --mca pml ob1 --mca btl idts,self,vader,tcp \
    "$program" leave > "$out/leave" 2>&1
status=$?
[ "$status" != 0 ] && [ "$status" != 124 ] && [ "$status" != 137 ]
ok $? "a child leaves before its parent took its message: the job ends ($status)"
help_arrived "peer gone" "$out/leave"
ok $? "and the help message \"peer gone\" arrives whole through mpirun"

tap_end
