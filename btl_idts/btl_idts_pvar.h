/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * What idts counts, as MPI_T performance variables (btl_idts_pvar.c):
 * standard tools read them with MPI_T_pvar_read, by the names
 * btl_idts_records_sent, ..._tunnels_open, ..._sleeps and so on.
 */
#ifndef MCA_BTL_IDTS_PVAR_H
#define MCA_BTL_IDTS_PVAR_H

#include "btl_idts.h"

BEGIN_C_DECLS

/* Component-wide counters, updated with plain increments off the fast path
 * (under the component's lock). The records and bytes each endpoint counts
 * for the verbose output are summed when read, with those of endpoints
 * gone (retired). */
struct mca_btl_idts_counters {
    uint64_t sleeps;           /* idle sleeps on the tunnels (btl_idts_sleep.c) */
    uint64_t wakeups;          /* sleeps a record, a knock or room ended early */
    uint64_t connect_failures; /* tunnels that could not be set up */
    uint64_t tunnel_failures;  /* open tunnels that failed: a peer died or broke the protocol */
    uint64_t retired[4];       /* records and bytes of destroyed endpoints */
};
extern struct mca_btl_idts_counters mca_btl_idts_counters;

/* Register the variables (the component's register function). */
void mca_btl_idts_pvar_register(void);

/* Keep a destroyed endpoint's records and bytes in the totals. */
void mca_btl_idts_pvar_retire(const mca_btl_base_endpoint_t *endpoint);

END_C_DECLS

#endif
