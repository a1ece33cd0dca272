/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * idts's counters as MPI_T performance variables, through Open MPI's pvar
 * interface (as ob1 and the ugni BTL register theirs): read-only,
 * continuous, bound to no object, unsigned long long. Counters only grow;
 * btl_idts_tunnels_open is a level. They are valid from MPI_Init until
 * the component closes in MPI_Finalize.
 */
#include "btl_idts_pvar.h"

#include "opal/mca/base/mca_base_pvar.h"

#include <stdint.h>

struct mca_btl_idts_counters mca_btl_idts_counters;

/* The per-endpoint figures, in the order of mca_btl_idts_counters.retired. */
enum { SENT_RECORDS, SENT_BYTES, RECEIVED_RECORDS, RECEIVED_BYTES };

static uint64_t endpoint_figure(const mca_btl_base_endpoint_t *endpoint, int which)
{
    switch (which) {
    case SENT_RECORDS:
        return endpoint->sent_records;
    case SENT_BYTES:
        return endpoint->sent_bytes;
    case RECEIVED_RECORDS:
        return endpoint->received_records;
    default:
        return endpoint->received_bytes;
    }
}

void mca_btl_idts_pvar_retire(const mca_btl_base_endpoint_t *endpoint)
{
    int which;

    for (which = SENT_RECORDS; which <= RECEIVED_BYTES; which++)
        mca_btl_idts_counters.retired[which] += endpoint_figure(endpoint, which);
}

/* Endpoints exist once btl_init has set the module up. */
static int read_total(const struct mca_base_pvar_t *pvar, void *value, void *obj)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    int which = (int)(intptr_t)pvar->ctx;
    unsigned long long total = mca_btl_idts_counters.retired[which];
    mca_btl_base_endpoint_t *endpoint;

    (void)obj;
    if (c->module) {
        OPAL_THREAD_LOCK(&c->lock);
        OPAL_LIST_FOREACH(endpoint, &c->endpoints, mca_btl_base_endpoint_t)
        total += endpoint_figure(endpoint, which);
        OPAL_THREAD_UNLOCK(&c->lock);
    }
    *(unsigned long long *)value = total;
    return OPAL_SUCCESS;
}

static int read_tunnels_open(const struct mca_base_pvar_t *pvar, void *value, void *obj)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;

    (void)pvar;
    (void)obj;
    *(unsigned long long *)value = c->module ? (unsigned long long)c->open_count : 0;
    return OPAL_SUCCESS;
}

static void add(const char *name, const char *help, int var_class, mca_base_get_value_fn_t read,
                void *ctx)
{
    (void)mca_base_component_pvar_register(
        &mca_btl_idts_component.super.btl_version, name, help, OPAL_INFO_LVL_4, var_class,
        MCA_BASE_VAR_TYPE_UNSIGNED_LONG_LONG, NULL, MCA_BASE_VAR_BIND_NO_OBJECT,
        MCA_BASE_PVAR_FLAG_READONLY | MCA_BASE_PVAR_FLAG_CONTINUOUS, read, NULL, NULL, ctx);
}

void mca_btl_idts_pvar_register(void)
{
    struct mca_btl_idts_counters *n = &mca_btl_idts_counters;
    const int counter = MCA_BASE_PVAR_CLASS_COUNTER;

    add("records_sent",
        "Records this process sent over idts tunnels: one per eager message or fragment, one "
        "per btl_idts_get_chunk bytes of a rendezvous message (two at least), and idts's own "
        "requests",
        counter, read_total, (void *)(intptr_t)SENT_RECORDS);
    add("bytes_sent",
        "Bytes of the records this process sent over idts, Open MPI's headers included", counter,
        read_total, (void *)(intptr_t)SENT_BYTES);
    add("records_received", "Records this process received over idts tunnels", counter, read_total,
        (void *)(intptr_t)RECEIVED_RECORDS);
    add("bytes_received", "Bytes of the records this process received over idts", counter,
        read_total, (void *)(intptr_t)RECEIVED_BYTES);
    add("tunnels_open", "idts tunnels this process has open now", MCA_BASE_PVAR_CLASS_LEVEL,
        read_tunnels_open, NULL);
    add("sleeps", "Times an idle idts slept on its tunnels instead of polling (btl_idts_blocking)",
        counter, NULL, &n->sleeps);
    add("wakeups",
        "Sleeps that a peer's record or knock, or room to send, ended before btl_idts_sleep_max",
        counter, NULL, &n->wakeups);
    add("connect_failures",
        "Tunnels that could not be set up: the peer did not answer in time, or the backend failed",
        counter, NULL, &n->connect_failures);
    add("tunnel_failures", "Open tunnels that failed: the peer died, or broke the idts protocol",
        counter, NULL, &n->tunnel_failures);
}
