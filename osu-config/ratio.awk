# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# How one transport's figure compares with another's, worded the same way in
# every table of osu-config/: never a bare fraction, always a factor of 1 or
# more and which way it goes. The scripts here put this file in front of
# their awk program: awk "$(cat ratio.awk)"' ...'.

# ratio(A, B, LOWER): A against B. LOWER is 1 for a time (lower is better):
# "2.00x lower latency", "1.20x higher latency"; else for a rate (higher is
# better): "1.30x faster", "1.30x slower". "-" when either is not a positive
# number (a run that failed). Factors of 10 or more get one decimal.
function ratio(a, b, lower,   r, f) {
    if (a + 0 <= 0 || b + 0 <= 0)
        return "-"
    r = a / b
    f = r >= 1 ? r : 1 / r
    f = sprintf(f < 10 ? "%.2fx" : "%.1fx", f)
    if (lower)
        return f " " (r <= 1 ? "lower" : "higher") " latency"
    return f " " (r >= 1 ? "faster" : "slower")
}
