#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# Faults in MPI jobs over idts (TAP output): hostile peers that write into
# the tunnel what no honest end would, ranks killed with SIGKILL in the
# middle of eager and rendezvous transfers, and what killed jobs leave.
# IDTS_FAULT_KILLS jobs are killed for the leftover check (default 10).
set -u
. "$(dirname "$0")/../lib/mpi-tap.sh"
program=$build/test/fault/mpi_fault_test
kills=${IDTS_FAULT_KILLS:-10}

# run LOG MPIRUN-OPTIONS... -- PROGRAM-ARGUMENTS...: the status, the log in LOG.
run() {
    local log=$1
    shift
    local opts=()
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    timeout 120 mpirun --oversubscribe -np 2 --mca pml ob1 --mca btl idts,self \
        "${opts[@]}" "$program" "$@" > "$log" 2>&1
}

# The job stopped itself (no timeout, no crash) and idts named the cause.
reported() {
    local log=$1 status=$2 cause=$3
    [ "$status" != 0 ] && [ "$status" != 124 ] || return 1
    ! grep -aqiE 'segmentation|signal 11|signal 6|core dumped|AddressSanitizer|runtime error' "$log" || return 1
    grep -aqE "btl:idts on .*: the tunnel between \[\[[0-9]+,1\],0\] and \[\[[0-9]+,1\],1\] failed: $cause" "$log"
}

for hostile in cons-ahead cons-behind length-past-ring sequence-replayed pad-short garbage \
    magic-flipped live-byte-invalid; do
    run "$out/$hostile" -- hostile "$hostile"
    status=$?
    reported "$out/$hostile" "$status" "the peer broke the idts protocol"
    result=$?
    ok $result "a hostile peer writes $hostile: the victim stops the job, naming idts and the peer ($status)"
    [ "$result" = 0 ] || show "$out/$hostile"
done
help_arrived "peer broke protocol" "$out/garbage"
ok $? "the help message \"peer broke protocol\" arrives whole through mpirun"

# A process of the user hands a rank's inbox a broken offer for a tunnel
# before the real one: the rank that takes it stops the job and says why.
run "$out/offer" -- bad-offer
status=$?
[ "$status" != 0 ] && [ "$status" != 124 ] &&
    grep -qE 'btl:idts on .*: the tunnel between \[\[[0-9]+,1\],1\] and \[\[[0-9]+,1\],0\] failed: it could not be set up \(Protocol error' "$out/offer"
ok $? "a broken offer in a rank's inbox: the job stops, naming idts, both ranks and the cause ($status)"
help_arrived "connect failed" "$out/offer"
ok $? "the help message \"connect failed\" arrives whole through mpirun"

# An inbox whose name another process holds: idts cannot listen, and says so.
run "$out/inbox" -- inbox-taken
status=$?
[ "$status" != 0 ] && [ "$status" != 124 ] && help_arrived "listen failed" "$out/inbox"
ok $? "a rank's inbox name is taken: the job stops and \"listen failed\" arrives whole ($status)"

# A knock anyone may forge costs a tunnel nobody uses: 0 and 2 never talk,
# but rank 1 tells 0 that 2 knocked.
timeout 120 mpirun --oversubscribe -np 3 --mca pml ob1 --mca btl idts,self \
    "$program" forged-knock > "$out/knock" 2>&1
status=$?
ok $status "a forged knock: the job ends cleanly ($status)"
[ "$status" = 0 ] || show "$out/knock"

# mpirun itself ends a job whose rank died; with --enable-recovery it leaves
# that to the survivors, which is what is tested here.
for size in eager rendezvous; do
    for dying in sender receiver; do
        start=$(date +%s%N)
        run "$out/die" --enable-recovery -- die "$size" "$dying"
        status=$?
        seconds=$((($(date +%s%N) - start) / 1000000))
        grep -aq "rank . kills itself" "$out/die" &&
            grep -aqE 'btl:idts on .*: the tunnel between .* failed: the peer died' "$out/die" &&
            [ "$status" != 124 ]
        result=$?
        ok $result "the $dying killed mid-$size: the survivor reports it and the job ends ($status, $seconds ms)"
        [ "$result" = 0 ] || show "$out/die"
    done
done

help_arrived "peer died" "$out/die"
ok $? "the help message \"peer died\" arrives whole through mpirun"

# A rank killed before any tunnel to it exists, while its peer sends to it
# and waits for an answer (the peer as creator, then as attacher): nothing
# waits for it longer than the peer's check of it takes (a second).
for dying in 1 0; do
    start=$(date +%s%N)
    run "$out/first" --enable-recovery -- die-first "$dying"
    status=$?
    seconds=$((($(date +%s%N) - start) / 1000000000))
    grep -q "rank $dying kills itself" "$out/first" &&
        grep -qE 'btl:idts on .*: the tunnel between .* failed: the peer died' "$out/first" &&
        [ "$status" != 124 ] && [ "$seconds" -lt 60 ]
    result=$?
    ok $result "rank $dying killed before its tunnel was set up: the survivor reports it in ${seconds} s ($status)"
    [ "$result" = 0 ] || sed 's/^/# /' "$out/first"
done

# Killed jobs leave no shared memory, sockets or processes behind. A job's
# sockets are named after its jobid (family << 16 | 1, in hex; the logs name
# ranks [[family,1],vpid]).
reports=0
jobids=()
for i in $(seq "$kills"); do
    run "$out/kill" --enable-recovery -- die eager $((i % 2 ? 0 : 1))
    grep -aq "the peer died" "$out/kill" && reports=$((reports + 1))
    family=$(grep -aoE '\[\[[0-9]+,1\],[01]\]' "$out/kill" | head -n 1 | grep -aoE '[0-9]+' | head -n 1)
    [ -n "$family" ] && jobids+=("$(printf '%x' $((family << 16 | 1)))")
done
[ "$reports" = "$kills" ] && [ "${#jobids[@]}" = "$kills" ]
ok $? "$kills jobs with a rank killed: every survivor reported it ($reports)"
sleep 1
! pgrep -f "$program" > /dev/null
ok $? "no process of the killed jobs is left"
left=0
for jobid in "${jobids[@]}"; do
    grep -qE "@idts-(in|t)-$jobid-" /proc/net/unix && left=$((left + 1))
done
[ "$left" = 0 ]
ok $? "no socket of theirs is left ($left jobs left some)"
! ls /dev/shm | grep -q idts
ok $? "nothing named idts in /dev/shm"
timeout 120 mpirun --oversubscribe -np 2 --mca pml ob1 --mca btl idts,self \
    "$build/test/bench/idts_mpi_bench" -q > "$out/next" 2>&1 && grep -aq '^bandwidth 4194304 ' "$out/next"
ok $? "the next job runs normally"

tap_end
