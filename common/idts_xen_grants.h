/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * A Xen guest's grant budget as idts sees it: how many pages the guest's
 * processes may share (xen_gntalloc's limit, for all of them together), how
 * many they could share now, and how large Xen lets the guest's grant table
 * grow (its max_grant_frames), which the kernel's own devices (netfront,
 * blkfront) share with them. The xen backend sizes rings from the first;
 * idts-info reports all of them.
 */
#ifndef IDTS_XEN_GRANTS_H
#define IDTS_XEN_GRANTS_H

/* Grant entries of version 1 in one 4 KiB frame of a grant table. */
#define IDTS_XEN_GRANTS_PER_FRAME 512

struct idts_xen_grants {
    long limit;        /* xen_gntalloc's limit; -1: unknown (module not loaded) */
    long available;    /* pages this domain could share now; -1: unknown */
    long table_frames; /* frames of this domain's grant table in use; -1: unknown */
    long table_max;    /* frames it may have (max_grant_frames); -1: unknown */
    char why[160];     /* why a figure is unknown */
};

struct xentoollog_logger;
/* A logger for the Xen libraries that prints nothing: their failures are
 * answers to idts, which says what they mean itself. */
extern struct xentoollog_logger idts_xen_quiet;

/* xen_gntalloc's limit, or 0 when it is not known. */
long idts_xen_grant_limit(void);

/* Fill *grants for domain domid (this one). */
void idts_xen_grants(unsigned domid, struct idts_xen_grants *grants);

#endif
