# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# What dom0's and the domUs' /init share. Every test prints exactly one line,
# "PASS name" or "FAIL name", on the console; test/xen/run counts them (domU
# lines reach it through dom0, prefixed "domU <name>: ").
#
# XenStore conventions of the tests (dom0 may write anywhere; a domU only
# under its own data/):
#   /local/domain/<id>/idts-test/peer   dom0 -> domU: the other domU's id
#   /local/domain/<id>/idts-test/role   dom0 -> domU: create or attach
#   /local/domain/<id>/data/idts-test/state  domU -> dom0: how far it got
export PATH=/bin:/usr/bin:/usr/lib/xen-4.17/bin
export IDTS_TEST_TIME_SCALE=20 # emulated CPUs: every time limit of the tests x20

boot_system() {
    hostname "$1"
    mount -t proc proc /proc
    mount -t sysfs sys /sys
    mount -t devtmpfs dev /dev
    mkdir -p /dev/pts /dev/shm
    mount -t devpts devpts /dev/pts
    mount -t tmpfs tmpfs /run
    mount -t tmpfs tmpfs /tmp
    mount -t tmpfs tmpfs /dev/shm
    mkdir -p /run/xen /run/xenstored
    ip link set lo up
    for m in xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc; do insmod /mods/$m.ko; done
    mount -t xenfs xenfs /proc/xen
}

# The idts nodes of a domain, "PATH = VALUE", as this domain may see them:
# the leaves under its data/idts (the bucket directories between, whose
# value is empty, stay for the domain's life).
idts_nodes_of() { # DOMID
    xenstore-ls -f "/local/domain/$1/data/idts" 2>/dev/null | grep -v ' = ""$'
}
# The path of domain DOMID's idts node NAME, if it is there.
idts_node() { # DOMID NAME
    idts_nodes_of "$1" | sed -n "s|^\(/local/domain/$1/data/idts/[0-9a-f]*/$2\) = .*|\1|p"
}

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; }

# run_test NAME SECONDS COMMAND...: PASS if it exits 0 in time; else FAIL and
# the end of its output.
run_test() {
    local name=$1 seconds=$2 out=/tmp/test.out rc
    shift 2
    timeout -s KILL "$seconds" "$@" >$out 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        pass "$name"
    else
        fail "$name (exit $rc)"
        tail -15 $out | sed 's/^/  | /'
    fi
    return $rc
}

# tap_test NAME SECONDS COMMAND...: one PASS/FAIL line per TAP point, and a
# FAIL if the program dies or stops before its plan.
tap_test() {
    local name=$1 seconds=$2 out=/tmp/tap.out rc
    shift 2
    timeout -s KILL "$seconds" "$@" >$out 2>&1
    rc=$?
    sed -n -e "s/^ok [0-9]* - \(.*\)/PASS $name: \1/p" -e "s/^not ok [0-9]* - \(.*\)/FAIL $name: \1/p" $out
    if [ $rc -ne 0 ] || ! grep -q '^1\.\.[0-9]' $out; then
        fail "$name: the program ended with status $rc"
        grep -v '^ok ' $out | tail -15 | sed 's/^/  | /'
    fi
}

# info_test [-u USER] NAME STATUS PATTERN...: "idts-info --require xen", run
# as USER if given, exits with STATUS and prints a line matching each
# PATTERN (grep -E). Its output follows on the console, for the record.
info_test() {
    local as="" name status out=/tmp/info.out rc p
    if [ "$1" = -u ]; then
        as=$2
        shift 2
    fi
    name=$1 status=$2
    shift 2
    if [ -n "$as" ]; then
        timeout -s KILL 120 su -s /bin/sh "$as" -c "idts-info --require xen" >$out 2>&1
    else
        timeout -s KILL 120 idts-info --require xen >$out 2>&1
    fi
    rc=$?
    for p; do
        grep -qE -- "$p" $out || { rc="$rc, no line matching \"$p\""; break; }
    done
    if [ "$rc" = "$status" ]; then pass "$name"; else fail "$name (exit $rc)"; fi
    sed 's/^/  | /' $out
}

# wait_for SECONDS COMMAND...: until the command succeeds, or SECONDS of
# wall-clock time passed (under TCG a try itself can take longer than the
# pause between tries).
wait_for() {
    local end=$(($(date +%s) + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt $end ] || return 1
        sleep 0.1
    done
}
