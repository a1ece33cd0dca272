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
    grep -aqE 'Using idts btl for send to \[\[[0-9]+,2\],[0-9]+\]' "$1" &&
        grep -aqE 'btl:idts: \[\[[0-9]+,1\],[0-9]+\] -> \[\[[0-9]+,2\],[0-9]+\]: sent [1-9]' "$1"
}

# Why a job failed: its exit status and the last line it printed.
failure() {
    echo "status $1: $(tr -d '\000' < "$2" | grep -av '^[[:space:]]*$' | tail -n 1)"
}

spawns=no
for mode in spawn connect; do
    run "self,$sm_btl,tcp" "$mode" "$out/plain"
    status=$?
    if [ "$status" != 0 ]; then
        skip "$mode: Open MPI fails it without idts here (self,$sm_btl,tcp, $(failure "$status" "$out/plain"))"
        continue
    fi
    [ "$mode" != spawn ] || spawns=yes
    for btls in "idts,self,$sm_btl,tcp" idts,self,tcp; do
        run "$btls" "$mode" "$out/idts"
        status=$?
        [ "$status" = 0 ] && ! grep -aq '^not ok' "$out/idts" && grep -aq '^ok ' "$out/idts"
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
# of hanging: whether the parent sleeps meanwhile (the child waits in
# MPI_Finalize for it to take the message's header) or polls (the header
# arrives unexpected, the tunnel closes, then a receive matches it).
if [ "$spawns" = yes ]; then
    for mode in leave leave-polling; do
        timeout -k 10 180 mpirun --oversubscribe -np 1 --mca pml ob1 --mca btl "idts,self,$sm_btl,tcp" \
            "$program" "$mode" > "$out/leave" 2>&1
        status=$?
        [ "$status" != 0 ] && [ "$status" != 124 ] && [ "$status" != 137 ]
        ok $? "$mode: a child leaves before its parent took its message: the job ends ($status)"
        help_arrived "peer gone" "$out/leave"
        ok $? "$mode: and the help message \"peer gone\" arrives whole through mpirun"
    done

    # Jobs with different ring sizes: the tunnel whose rings cannot hold
    # one end's fragments stops the job, naming the setting to align.
    timeout -k 10 180 mpirun --oversubscribe -np 1 --mca pml ob1 --mca btl "idts,self,$sm_btl,tcp" \
        --mca btl_idts_ring_size 65536 "$program" rings > "$out/rings" 2>&1
    status=$?
    [ "$status" != 0 ] && [ "$status" != 124 ] && [ "$status" != 137 ]
    ok $? "jobs with 64 KiB and 1 MiB rings: the job ends ($status)"
    help_arrived "connect failed" "$out/rings" &&
        grep -aq 'our fragments are [0-9]* (btl_idts_max_send_size): give both jobs the same btl_idts_ring_size' "$out/rings"
    ok $? "and \"connect failed\" arrives, naming the fragments and btl_idts_ring_size"
else
    skip "a child that leaves early: Open MPI cannot spawn here without idts (above)"
    skip "a child that leaves early, the parent polling: Open MPI cannot spawn here without idts (above)"
    skip "jobs with different ring sizes: Open MPI cannot spawn here without idts (above)"
fi

tap_end
