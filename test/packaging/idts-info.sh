#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# idts-info on this machine (TAP output): its answer, its exit status, and
# that the component, opened by Open MPI here, picks the backend and host it
# names. On a machine without Xen it must say so and that shm is used; on a
# Xen domain those points are skipped (test/xen checks idts-info there).
# TEST_RUNNER (valgrind in test/run-all) wraps idts-info.
set -u
build=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
info="${TEST_RUNNER:-} $build/tools/idts-info"
. "$(dirname "$0")/../lib/tap.sh"

# run NAME ARGS...: idts-info's output in $out/NAME, its status in $status.
run() {
    local name=$1
    shift
    timeout 60 $info "$@" > "$out/$name" 2>&1
    status=$?
}

says() { grep -q -- "$2" "$out/$1" || { sed 's/^/# /' "$out/$1"; return 1; }; }

run plain
ok "$status" "idts-info exits 0 where a backend works ($status)"
says plain '^  shm  usable: '
ok $? "it says shm is usable here"
chosen=$(sed -n "s/^auto (btl_idts_backend's default) picks: //p" "$out/plain")
[ -n "$chosen" ]
ok $? "it names the backend auto picks: ${chosen:-none}"

if [ -e /sys/hypervisor/type ] || [ -e /dev/xen ] || [ -e /proc/xen ]; then
    for what in "no Xen here" "--require xen fails" "the reason" "nothing to fix"; do
        skip "$what: this machine looks like a Xen domain"
    done
else
    says plain '^  hypervisor      none' && says plain 'this is not a Xen domain' &&
        says plain '^idts will use shm: no Xen here'
    ok $? "without Xen it says there is no Xen here and that idts will use shm"
    run xen --require xen
    [ "$status" = 1 ]
    ok $? "--require xen exits 1 without Xen ($status)"
    says xen '^  xen  not usable: XenStore is not reachable: not a Xen domain' ||
        says xen '^  xen  not in this build'
    ok $? "and says why xen is not usable"
    ! grep -q '^To fix:' "$out/plain"
    ok $? "without Xen there is nothing to fix"
fi

run shm --require shm
ok "$status" "--require shm exits 0 ($status)"
run bad --require tcp
[ "$status" = 2 ] && says bad '^usage: idts-info'
ok $? "an unknown backend is a usage error, exit 2 ($status)"
run extra shm
[ "$status" = 2 ]
ok $? "so is an operand ($status)"

# The component in an isolated singleton reports the backend and host it
# opened: they must be idts-info's.
env OMPI_MCA_mca_base_component_path="$build/btl_idts/.libs:SYS_DEFAULT" \
    IDTS_HELP_DIR="${top_srcdir:-$build}/btl_idts" ASAN_OPTIONS=detect_leaks=0 \
    OMPI_MCA_ess_singleton_isolated=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=idts,self \
    OMPI_MCA_btl_base_verbose=10 timeout 120 "$build/test/bench/idts_mpi_bench" > "$out/mpi" 2>&1
component=$(sed -n 's/.*btl:idts: backend \([a-z]*\), host \([^,]*\),.*/\1 \2/p' "$out/mpi")
host=$(sed -n "s/^  $chosen  usable: .*host \([^);]*\).*/\1/p" "$out/plain")
[ -n "$component" ] && [ "$component" = "$chosen $host" ]
ok $? "the component opened by Open MPI picks the same backend and host: ${component:-none}"

tap_end
