# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# What the TAP scripts of make check share (source it): a scratch directory
# $out, removed on exit, and numbered test points; end with tap_end.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
n=0
failed=0

# ok STATUS DESCRIPTION: a point that passes iff STATUS is 0.
ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

skip() {
    n=$((n + 1))
    echo "ok $n # SKIP $1"
}

tap_end() {
    echo "1..$n"
    exit $failed
}

# show FILE: FILE as TAP comments. mpirun's captured output may hold NUL
# bytes (PRRTE's help messages end in one) and lack a last newline, which
# would swallow the next test point.
show() {
    tr -d '\000' < "$1" | sed -e 's/^/# /' -e '$a\'
}
