/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
#include "idts_xen_grants.h"

#include "idts_backend.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/xen.h>

#include <xen/grant_table.h>
#include <xencall.h>
#include <xengnttab.h>
#include <xentoollog.h>

/* The libraries log every failure to stderr; failures here are answers. */
static void quiet_message(struct xentoollog_logger *logger, xentoollog_level level, int errnoval,
                          const char *context, const char *format, va_list args)
{
    (void)logger, (void)level, (void)errnoval, (void)context, (void)format, (void)args;
}

static void quiet_destroy(struct xentoollog_logger *logger)
{
    (void)logger;
}

struct xentoollog_logger idts_xen_quiet = {.vmessage = quiet_message, .destroy = quiet_destroy};

long idts_xen_grant_limit(void)
{
    FILE *f = fopen(IDTS_XEN_GRANT_LIMIT, "r");
    long limit = 0;

    if (!f || fscanf(f, "%ld", &limit) != 1 || limit < 0)
        limit = 0;
    if (f)
        fclose(f);
    return limit;
}

/* Whether domain domid's processes could share n more pages now. */
static int could_share(xengntshr_handle *shr, unsigned domid, long n)
{
    uint32_t *refs = malloc((size_t)n * sizeof(*refs));
    void *pages = refs ? xengntshr_share_pages(shr, domid, (int)n, refs, 0) : NULL;

    if (pages)
        xengntshr_unshare(shr, pages, (uint32_t)n);
    free(refs);
    return pages != NULL;
}

/* The largest number of pages that could be shared at once, by bisection. */
static long available(unsigned domid, long limit, char *why, size_t len)
{
    xengntshr_handle *shr = xengntshr_open(&idts_xen_quiet, 0);
    long low = 0, high = limit, mid;

    if (!shr) {
        snprintf(why, len, "cannot open /dev/xen/gntalloc (%s)", strerror(errno));
        return -1;
    }
    while (low < high) {
        mid = (low + high + 1) / 2;
        if (could_share(shr, domid, mid))
            low = mid;
        else
            high = mid - 1;
    }
    xengntshr_close(shr);
    return low;
}

/* GNTTABOP_query_size for this domain: its grant table's frames. */
static void table_size(struct idts_xen_grants *grants)
{
    xencall_handle *xc = xencall_open(&idts_xen_quiet, 0);
    struct gnttab_query_size *query = xc ? xencall_alloc_buffer(xc, sizeof(*query)) : NULL;

    if (query) {
        query->dom = DOMID_SELF;
        if (xencall3(xc, __HYPERVISOR_grant_table_op, GNTTABOP_query_size, (uintptr_t)query, 1) ==
                0 &&
            query->status == GNTST_okay) {
            grants->table_frames = query->nr_frames;
            grants->table_max = query->max_nr_frames;
        }
        xencall_free_buffer(xc, query);
    }
    if (grants->table_max < 0)
        snprintf(grants->why, sizeof(grants->why),
                 "cannot ask Xen: /dev/xen/privcmd (module xen-privcmd, root) %s",
                 xc ? "refused the query" : "cannot be opened");
    if (xc)
        xencall_close(xc);
}

void idts_xen_grants(unsigned domid, struct idts_xen_grants *grants)
{
    memset(grants, 0, sizeof(*grants));
    grants->limit = idts_xen_grant_limit() ?: -1;
    grants->available = grants->table_frames = grants->table_max = -1;
    if (grants->limit > 0)
        grants->available = available(domid, grants->limit, grants->why, sizeof(grants->why));
    table_size(grants);
}
