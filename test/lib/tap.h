/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Test Anything Protocol output for the test programs: automake's
 * tap-driver.sh counts every "ok"/"not ok" line as one test.
 */
#ifndef IDTS_TAP_H
#define IDTS_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count, tap_failures;

__attribute__((format(printf, 2, 3))) static int tap_ok(int passed, const char *fmt, ...)
{
    va_list ap;

    printf("%s %d - ", passed ? "ok" : "not ok", ++tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (!passed)
        tap_failures++;
    return passed;
}

/* Print the plan; the value to return from main. */
static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failures ? 1 : 0;
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)
#define diag(...)     (printf("# "), printf(__VA_ARGS__), printf("\n"))

#endif
