#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# MPI tests over idts with the component from this build tree (TAP output):
# our suite on 2, 4 and 8 ranks, Debian's NetPIPE and HPCC, selection, errors.
# Every run is forced through idts with --mca pml ob1 --mca btl idts,self and
# bounded by a timeout.
set -u
. "$(dirname "$0")/../lib/mpi-tap.sh"
program=$build/test/mpi/mpi_p2p_test

run() {
    local ranks=$1
    shift
    timeout 300 mpirun --oversubscribe -np "$ranks" --mca pml ob1 \
        --mca "$help_aggregate" 0 "$@" "$program"
}

for ranks in 2 4 8; do
    run "$ranks" --mca btl idts,self > "$out/run$ranks" 2> "$out/err$ranks"
    status=$?
    relay < "$out/run$ranks"
    ok "$status" "the suite on $ranks ranks over idts,self exits cleanly ($status)"
    [ "$status" = 0 ] || cat "$out/err$ranks" >&2
done

# Small rings with the default limits: the fragment size, the eager limit and
# the rendezvous records (btl_idts_get_chunk, 32 KiB) yield to the ring (64 KiB
# rings carry 32752-byte records, 4 KiB rings 2032).
for rings in 65536 4096; do
    run 2 --mca btl idts,self --mca btl_idts_ring_size "$rings" > "$out/small" 2> "$out/err-small"
    status=$?
    relay < "$out/small"
    ok "$status" "the suite on 2 ranks with $rings-byte rings and the default limits ($status)"
    [ "$status" = 0 ] || cat "$out/err-small" >&2
done

# Ranks that sleep whenever idts is idle (as on an oversubscribed node) are
# woken by every record and knock they wait for: a lost wake-up hangs here.
run 4 --mca btl idts,self --mca btl_idts_blocking always --mca btl_idts_spin_time 0 \
    > "$out/sleeping" 2> "$out/err-sleeping"
status=$?
relay < "$out/sleeping"
ok "$status" "the suite on 4 ranks that sleep whenever idts is idle ($status)"
[ "$status" = 0 ] || cat "$out/err-sleeping" >&2

# Integrity at volume, bounded: 30000 messages of random sizes, tags, send
# modes and receive styles between 4 ranks, every byte checked, with the
# default rings and with 64 KiB rings, which wrap hundreds of times each
# (README: the million-message run). Then the checks catch what they are
# for: a flipped bit, a lost message, a duplicated one.
stress=$build/test/mpi/mpi_stress
run_stress() {
    local ranks=$1
    shift
    timeout 300 mpirun --oversubscribe -np "$ranks" --mca pml ob1 --mca "$help_aggregate" 0 \
        --mca btl idts,self "$@"
}
for rings in 0 65536; do
    run_stress 4 --mca btl_idts_ring_size "$rings" "$stress" -n 30000 -t 60 \
        > "$out/stress" 2> "$out/err-stress"
    status=$?
    relay < "$out/stress"
    grep '^#' "$out/stress"
    ok "$status" "mpi_stress: 30000 messages on 4 ranks, btl_idts_ring_size $rings ($status)"
    [ "$status" = 0 ] || cat "$out/err-stress" >&2
done
caught() {
    local fault=$1 expected=$2 status
    run_stress 4 "$stress" -n 5000 -t 5 -F "$fault" > "$out/fault" 2>&1
    status=$?
    [ "$status" != 0 ] && [ "$status" != 124 ] && grep -aq -E "$expected" "$out/fault"
    ok $? "mpi_stress -F $fault: the job fails and says so ($status)"
}
caught flip "1 corrupted"
caught drop "no progress for 5 s in batch .*: lost messages"
caught twice "got one from 0|left over from 0|nobody owes us"

# MPI_THREAD_MULTIPLE: 4 threads per rank sending and receiving at once,
# on 2 and 4 ranks; idts must carry the traffic.
for ranks in 2 4; do
    timeout 300 mpirun --oversubscribe -np "$ranks" --mca pml ob1 --mca "$help_aggregate" 0 \
        --mca btl idts,self --mca btl_base_verbose 10 "$build/test/mpi/mpi_threads_test" \
        > "$out/threads" 2> "$out/err-threads"
    status=$?
    relay < "$out/threads"
    records=$(grep -ao 'sent [0-9]* records' "$out/err-threads" | awk '{s += $2} END {print s + 0}')
    [ "$status" = 0 ] && [ "$records" -gt 1000 ]
    ok $? "mpi_threads_test on $ranks ranks exits cleanly ($status), idts carried $records records"
    [ "$status" = 0 ] || cat "$out/err-threads" >&2
done

# Offered tcp too, local ranks must still pick idts, and idts must carry data.
run 2 --mca btl idts,tcp,self --mca btl_base_verbose 10 > "$out/both" 2>&1
status=$?
grep -aq "Using idts btl for send to" "$out/both" && ! grep -aq "Using tcp btl for send to" "$out/both"
ok $? "with idts,tcp,self offered, Open MPI selects idts for local peers (not tcp)"
records=$(grep -ao 'sent [0-9]* records' "$out/both" | awk '{s += $2} END {print s + 0}')
[ "$status" = 0 ] && [ "$records" -gt 1000 ]
ok $? "and idts carried the traffic: $records records counted by the component"

# idts's counters as MPI_T performance variables, as any MPI_T tool reads
# them (mpi_t_pvars): around a known exchange on 2 ranks that sleep when
# idle, what rank 0 sent is what rank 1 received, eager and rendezvous.
count=1000 size=1000 big=1048576
# (MPI_T makes Open MPI open every component it finds: not libtool's
# objects next to ours in the build tree, without saying so.)
timeout 300 mpirun --oversubscribe -np 2 --mca pml ob1 --mca btl idts,self \
    --mca btl_idts_blocking always --mca btl_idts_spin_time 0 \
    --mca mca_base_component_show_load_errors 0 "$build/test/mpi/mpi_t_pvars" "$count" "$size" > "$out/pvars" 2> "$out/err-pvars"
status=$?
show "$out/pvars"
names=$(awk '$1 == 0 { print $2 }' "$out/pvars" | sort | tr '\n' ' ')
want="btl_idts_bytes_received btl_idts_bytes_sent btl_idts_connect_failures "
want="${want}btl_idts_records_received btl_idts_records_sent btl_idts_sleeps "
want="${want}btl_idts_tunnel_failures btl_idts_tunnels_open btl_idts_wakeups "
[ "$status" = 0 ] && [ "$names" = "$want" ] && [ "$(awk '$1 == 1' "$out/pvars" | wc -l)" = 9 ]
ok $? "MPI_T lists idts's 9 performance variables on both ranks ($status)"
[ "$status" = 0 ] || show "$out/err-pvars"
# delta RANK NAME / after RANK NAME: a variable's change, or its last value.
delta() { awk -v r="$1" -v n="btl_idts_$2" '$1 == r && $2 == n { print $4 - $3 }' "$out/pvars"; }
after() { awk -v r="$1" -v n="btl_idts_$2" '$1 == r && $2 == n { print $4 }' "$out/pvars"; }
sent=$(delta 0 records_sent) bytes=$(delta 0 bytes_sent)
[ -n "$sent" ] && [ "$sent" = "$(delta 1 records_received)" ] && [ "$sent" -gt "$count" ] &&
    [ "$bytes" = "$(delta 1 bytes_received)" ] && [ "$bytes" -ge $((count * size + big)) ] &&
    [ "$bytes" -le $((count * (size + 64) + big + 64 * 100)) ]
ok $? "what rank 0 sent (${sent:-?} records, ${bytes:-?} bytes) is what rank 1 received: $count x $size B eager and 1 MiB"
back=$(delta 1 records_sent)
[ -n "$back" ] && [ "$back" -ge 2 ] && [ "$(delta 0 records_received)" = "$back" ] &&
    [ "$(delta 0 bytes_received)" = "$(delta 1 bytes_sent)" ]
ok $? "what rank 1 sent (${back:-?} records: go, rendezvous request and completion) is what rank 0 received (the answer for the go)"
[ "$(after 0 tunnels_open)" = 1 ] && [ "$(after 1 tunnels_open)" = 1 ] &&
    [ "$(after 0 connect_failures)$(after 1 connect_failures)" = 00 ] &&
    [ "$(after 0 tunnel_failures)$(after 1 tunnel_failures)" = 00 ]
ok $? "one tunnel open on each rank, no failures"
[ "${status}" = 0 ] && [ "$(after 1 sleeps)" -gt 0 ] && [ "$(after 1 wakeups)" -gt 0 ] &&
    [ "$(after 1 wakeups)" -le "$(after 1 sleeps)" ]
ok $? "the waiting rank slept and was woken ($(after 1 sleeps) sleeps, $(after 1 wakeups) wake-ups)"

# A rank that computes between its MPI_Test calls is not waiting: were it
# to sleep, each call would cost its work up to btl_idts_sleep_max. Rank 0
# tests every 40 us of work for 200 ms, then rank 1 waits in MPI_Recv as
# long; with a spin of 1 ms only the second sleeps.
timeout 300 mpirun --oversubscribe -np 2 --mca pml ob1 --mca btl idts,self \
    --mca btl_idts_blocking always --mca btl_idts_spin_time 1000 \
    --mca mca_base_component_show_load_errors 0 "$build/test/mpi/mpi_t_pvars" overlap > "$out/pvars" 2> "$out/err-pvars"
status=$?
show "$out/pvars"
[ "$status" = 0 ] || show "$out/err-pvars"
[ "$status" = 0 ] && [ "$(delta 0 sleeps)" = 0 ]
ok $? "a loop of MPI_Test calls 40 us of work apart never sleeps ($(delta 0 sleeps) sleeps in 200 ms)"
[ "$status" = 0 ] && [ "$(delta 1 sleeps)" -gt 0 ]
ok $? "a rank waiting in MPI_Recv as long sleeps ($(delta 1 sleeps) sleeps)"

# Third-party programs from Debian, judged by their own checks. A component
# built with AddressSanitizer loads only into programs built so: skip there.
asan=$(ldd "$build/btl_idts/.libs/mca_btl_idts.so" | grep -c libasan)
third_party() {
    local what=$1 ranks=$2 check=$3
    shift 3
    if [ "$asan" != 0 ]; then
        skip "$what: this component is built with AddressSanitizer"
        return
    fi
    (cd "$out" && timeout 300 mpirun --oversubscribe -np "$ranks" --mca pml ob1 \
        --mca btl idts,self "$@" > "$out/third.log" 2>&1)
    local status=$?
    [ "$status" = 0 ] && (cd "$out" && eval "$check")
    ok $? "$what over idts ($status)"
}

third_party "NetPIPE (NPopenmpi) to 1 MiB" 2 '[ "$(awk "END {print \$1}" np)" -ge 1048576 ]' \
    NPopenmpi -u 1048576 -o np
cp /usr/share/doc/hpcc/examples/_hpccinf.txt "$out/hpccinf.txt"
third_party "HPCC on 4 ranks, its own checks report success" 4 \
    'grep -q "^Success=1" hpccoutf.txt && grep -q " 0 tests completed and failed" hpccoutf.txt' \
    hpcc

# A setting idts cannot work with must stop a 2-rank job (not hang), and its
# help message must reach mpirun's output whole.
fails_saying() {
    local what=$1 topic=$2 status
    shift 2
    run 2 --mca btl idts,self "$@" > "$out/error" 2>&1
    status=$?
    [ "$status" != 0 ] && [ "$status" != 124 ]
    ok $? "$what: a 2-rank job stops ($status)"
    help_arrived "$topic" "$out/error"
    ok $? "$what: the help message \"$topic\" arrives whole through mpirun"
}

fails_saying "btl_idts_ring_size 1000" "bad ring size" --mca btl_idts_ring_size 1000
fails_saying "an eager limit larger than 64 KiB rings carry" "limits exceed ring" \
    --mca btl_idts_ring_size 65536 --mca btl_idts_eager_limit 40000 \
    --mca btl_idts_max_send_size 40000
fails_saying "btl_idts_backend xen without Xen" "backend unavailable" --mca btl_idts_backend xen

tap_end
