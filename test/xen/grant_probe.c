/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * How many more pages this domain may share through gntalloc, for
 * test/xen: gntalloc counts the grants in use device-wide against
 * /sys/module/xen_gntalloc/parameters/limit but shows no counter, so the
 * free budget is measured. The probe shares pages to its own domain in one
 * call, in a binary search up to the limit, releases each try, and prints
 *
 *     grants free N of LIMIT
 *
 * A job that left grants behind lowers N. Usage: grant_probe DOMID (this
 * domain's id). Exit status 0, or 1 when gntalloc does not open.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xengnttab.h>
#include <xentoollog.h>

#define LIMIT_PATH "/sys/module/xen_gntalloc/parameters/limit"

/* Share count pages to ourselves and give them back: 1 if gntalloc let us. */
static int can_share(xengntshr_handle *gs, unsigned domid, unsigned count, uint32_t *refs)
{
    void *pages = xengntshr_share_pages(gs, domid, (int)count, refs, 1);

    if (!pages)
        return 0;
    xengntshr_unshare(gs, pages, count);
    return 1;
}

int main(int argc, char **argv)
{
    FILE *f = fopen(LIMIT_PATH, "r");
    unsigned limit = 0, domid, lo = 0, hi;
    xengntshr_handle *gs;
    uint32_t *refs;
    /* Failed tries are answers here: the library logs only what is critical. */
    xentoollog_logger *quiet =
        (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);

    if (!f || fscanf(f, "%u", &limit) != 1) {
        fprintf(stderr, "grant_probe: cannot read %s: is xen-gntalloc loaded?\n", LIMIT_PATH);
        return 1;
    }
    fclose(f);
    if (argc != 2 || sscanf(argv[1], "%u", &domid) != 1) {
        fprintf(stderr, "usage: grant_probe DOMID (this domain's id)\n");
        return 1;
    }
    gs = xengntshr_open(quiet, 0);
    refs = calloc(limit + 1, sizeof(*refs));
    if (!gs || !refs) {
        fprintf(stderr, "grant_probe: cannot open /dev/xen/gntalloc: %s\n", strerror(errno));
        return 1;
    }
    /* lo pages can be shared; limit + 1 cannot. */
    hi = limit + 1;
    while (hi - lo > 1) {
        unsigned mid = lo + (hi - lo) / 2;

        if (can_share(gs, domid, mid, refs))
            lo = mid;
        else
            hi = mid;
    }
    printf("grants free %u of %u\n", lo, limit);
    free(refs);
    xengntshr_close(gs);
    return 0;
}
