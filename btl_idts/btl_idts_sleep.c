/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Spin, then sleep. ob1 waits for a request by calling opal_progress() in a
 * loop and never asks a BTL to block. Where ranks outnumber cores (a Xen host
 * often runs more vCPUs than it has), a rank polling an idle tunnel takes the
 * CPU from the rank that would answer it. So once progress has found idts
 * idle for btl_idts_spin_time, counted over calls that come back to back (a
 * loop that waits, not an application that computes between two MPI_Test
 * calls), it sleeps on every tunnel's notification and the knock inbox, at
 * most btl_idts_sleep_max at a time: other transports and Open MPI's own
 * events get their turn at least that often.
 *
 * Not with MPI_THREAD_MULTIPLE: the sleeper would hold the component's lock,
 * and every other thread's send would wait for it.
 */
#include "btl_idts.h"
#include "btl_idts_pvar.h"

#include "opal/runtime/opal_progress.h"

#include <stdlib.h>

/* Idle polls before the clock is read: a reply that comes at once pays nothing. */
#define MCA_BTL_IDTS_IDLE_POLLS 64
/* A longer gap between two idle polls means the caller did something else. */
#define MCA_BTL_IDTS_MAX_GAP_NS 50000

static int blocking(void)
{
    switch (mca_btl_idts_component.blocking) {
    case MCA_BTL_IDTS_BLOCKING_ALWAYS:
        return !opal_using_threads();
    case MCA_BTL_IDTS_BLOCKING_AUTO:
        /* Open MPI sets it for nodes with more ranks than slots. */
        return opal_progress_yield_when_idle && !opal_using_threads();
    default:
        return 0;
    }
}

/* What an endpoint waits for: records, and room for what it has to send. */
static struct idts_wait endpoint_wait(mca_btl_base_endpoint_t *endpoint)
{
    struct idts_wait wait = {.tunnel = &endpoint->tunnel, .events = IDTS_WAIT_RECV};
    mca_btl_idts_frag_t *frag = (mca_btl_idts_frag_t *)opal_list_get_first(&endpoint->pending);

    if (!opal_list_is_empty(&endpoint->pending))
        wait.send_length = (uint32_t)frag->segment.seg_len;
    else
        wait.send_length = mca_btl_idts_next_get_record(endpoint);
    if (wait.send_length)
        wait.events |= IDTS_WAIT_SEND;
    return wait;
}

static int connecting(void)
{
    mca_btl_base_endpoint_t *endpoint;

    OPAL_LIST_FOREACH(endpoint, &mca_btl_idts_component.endpoints, mca_btl_base_endpoint_t)
    if (endpoint->state == MCA_BTL_IDTS_CONNECTING)
        return 1;
    return 0;
}

static void sleep_on_tunnels(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    struct idts_wait *waits;
    int i;

    /* Knocks and connections are looked at seldom while spinning; a tunnel
     * being set up needs them looked at now, and no sleep. */
    if (mca_btl_idts_poll_connections() || connecting())
        return;
    waits = malloc(((size_t)c->open_count + 1) * sizeof(*waits));
    if (!waits)
        return;
    for (i = 0; i < c->open_count; i++)
        waits[i] = endpoint_wait(c->open[i]);
    mca_btl_idts_counters.sleeps++;
    if (idts_tunnel_sleep(&c->backend, waits, c->open_count,
                          (int)((c->sleep_max_us + 999) / 1000)) > 0)
        mca_btl_idts_counters.wakeups++;
    free(waits);
}

void mca_btl_idts_idle(int progressed)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    int64_t now;

    if (progressed) {
        c->idle_polls = 0;
        c->idle_ns = 0;
        return;
    }
    if (c->idle_polls < MCA_BTL_IDTS_IDLE_POLLS) {
        c->idle_polls++;
        return;
    }
    if (!blocking())
        return;
    now = mca_btl_idts_now_ns();
    /* Only the time between polls that follow each other counts: a longer
     * gap is an application computing between two MPI_Test calls, or on an
     * oversubscribed core, the scheduler running someone else. */
    if (c->idle_polls == MCA_BTL_IDTS_IDLE_POLLS)
        c->idle_polls++;
    else if (now - c->last_poll_ns < MCA_BTL_IDTS_MAX_GAP_NS)
        c->idle_ns += now - c->last_poll_ns;
    c->last_poll_ns = now;
    if (c->idle_ns < (int64_t)c->spin_time_us * 1000)
        return;
    sleep_on_tunnels();
    /* The sleep is no gap: an idle poll after it sleeps again at once. */
    c->last_poll_ns = mca_btl_idts_now_ns();
}
