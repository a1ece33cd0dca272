#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# Shared memory that grows with the ranks, not with their square (TAP
# output): a 32-rank all-to-all, every byte checked, over idts and over
# vader with two copies, each with the peak of the machine's shared memory
# measured (test/lib/shmem-peak) and reported side by side; 2 ranks keep
# 1 MiB rings; a pair that streams grows its rings while idle pairs keep
# theirs; and a budget too small for every pair leaves some pairs to tcp,
# with one warning, and the job runs. (The 4x target is checked by
# osu-config/memory, over interleaved rounds.)
set -u
. "$(dirname "$0")/../lib/mpi-tap.sh"
program=$build/test/mpi/mpi_alltoall_test
peak=$(dirname "$0")/../lib/shmem-peak

run() {
    local ranks=$1
    shift
    timeout 900 mpirun --oversubscribe -np "$ranks" --mca pml ob1 "$@"
}

"$peak" "$out/idts-peak" timeout 900 mpirun --oversubscribe -np 32 --mca pml ob1 --mca btl idts,self --mca btl_base_verbose 10 "$program" \
    > "$out/idts" 2>&1
status=$?
relay < "$out/idts"
ok "$status" "32 ranks over idts: the job ends cleanly ($status)"
grep -q "among 496 tunnels of its 32 ranks: rings of 65536 bytes, 496 tunnels admitted" "$out/idts"
ok $? "32 ranks: every pair gets a tunnel, with 64 KiB rings"
[ "$(grep -c "rings of 65536 bytes at least: fragments of 32752 bytes, eager to 32752" "$out/idts")" = 32 ]
ok $? "32 ranks: every rank's fragments and eager limit yield to what 64 KiB rings hold"
"$peak" "$out/vader-peak" timeout 900 mpirun --oversubscribe -np 32 --mca pml ob1 --mca btl vader,self --mca btl_vader_single_copy_mechanism none \
    "$program" > "$out/vader" 2>&1
status=$?
relay < "$out/vader"
ok "$status" "32 ranks over vader (two copies): the job ends cleanly ($status)"
idts_kib=$(cat "$out/idts-peak")
vader_kib=$(cat "$out/vader-peak")
echo "# peak shared memory of a 32-rank all-to-all: idts $((idts_kib / 1024)) MiB," \
    "vader (two copies) $((vader_kib / 1024)) MiB, $(awk -v a="$idts_kib" -v b="$vader_kib" \
    'BEGIN { printf "%.2f", b ? a / b : 0 }')x"

run 2 --mca btl idts,self --mca btl_base_verbose 10 "$program" 1048576 5 > "$out/two" 2>&1
status=$?
relay < "$out/two"
grep -q "rings of 1048576 bytes, 1 tunnels admitted" "$out/two"
ok $? "2 ranks alone keep 1 MiB rings ($status)"
[ "$(grep -c "rings of 131072 bytes at least: fragments of 32832 bytes, eager to 32832" "$out/two")" = 2 ]
ok $? "2 ranks: 32 KiB messages go eagerly (fragments of 32 KiB and a header, rings of 128 KiB at least)"

# 2800 pages for the 28 tunnels of 8 ranks: 128 KiB rings (65 pages), which
# every tunnel keeps; the one pair that streams grows its tunnel out of what
# its creator's share has beyond them, the idle ones stay.
run 8 --mca btl idts,self --mca btl_idts_budget 11468800 --mca btl_base_verbose 20 "$program" \
    1048576 100 pair > "$out/grow" 2>&1
status=$?
relay < "$out/grow"
grep -q "rings of 131072 bytes, 28 tunnels admitted" "$out/grow" &&
    [ "$(grep -c 'grew from 131072 to 262144 bytes' "$out/grow")" = 1 ]
ok $? "8 ranks, one pair streaming: its tunnel alone grows from 128 KiB to 256 KiB rings ($status)"

# 2 MiB for the 28 tunnels of 8 ranks: 15 fit with 64 KiB rings.
run 8 --mca btl idts,self,tcp --mca btl_tcp_if_include lo --mca btl_idts_budget 2097152 \
    --mca btl_base_verbose 20 "$program" > "$out/over" 2>&1
status=$?
relay < "$out/over"
ok "$status" "8 ranks with a budget for 15 of 28 tunnels: the job ends cleanly ($status)"
grep -q "28 tunnels of its 8 ranks: rings of 65536 bytes, 15 tunnels admitted" "$out/over" &&
    grep -q "left to another BTL: over the budget" "$out/over" &&
    grep -q "Using tcp btl for send to" "$out/over" && grep -q "Using idts btl for send to" "$out/over"
ok $? "and the pairs over the budget use tcp, the others idts"
[ "$(grep -ac '^The idts BTL on host .* cannot give every pair' "$out/over")" = 1 ]
ok $? "one warning says so"
help_arrived "budget exceeded" "$out/over"
ok $? "the help message \"budget exceeded\" arrives whole through mpirun"

tap_end
