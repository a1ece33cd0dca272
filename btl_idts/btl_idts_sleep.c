/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Spin, then sleep. ob1 waits for a request by calling opal_progress() in a
 * loop and never asks a BTL to block. Where ranks outnumber cores (a Xen host
 * often runs more vCPUs than it has), a rank polling an idle tunnel takes the
 * CPU from the rank that would answer it. So once progress has found idts
 * idle for btl_idts_spin_time in a loop that only waits, it sleeps on every
 * tunnel's notification and the knock inbox, at most btl_idts_sleep_max at a
 * time. It sleeps in Open MPI's own event loop (opal_sync_event_base), where
 * the tcp BTL waits for its sockets too: a message from another host wakes
 * the sleeper, and tcp handles it at once, instead of waiting out idts's
 * sleep.
 *
 * A loop that waits and one of MPI_Test calls with work between them both
 * call progress over and over, with nothing for idts; the clock on the wall
 * cannot tell them apart either, as Open MPI yields the CPU at each idle
 * call on such a node, and the other ranks on the core run before the next
 * (gaps of 3-12 us with 3 ranks on 2 cores). What our thread ran meanwhile
 * can: a loop that only waits runs progress (a few us a call), one that
 * computes runs its work. That loop must never sleep: it would lose up to
 * sleep_max of its work at each call (with 20 us of work between its calls,
 * it kept 4% of its time for its work, against 68% polling).
 *
 * Not with MPI_THREAD_MULTIPLE: the sleeper would hold the component's lock,
 * and every other thread's send would wait for it.
 */
#include "btl_idts.h"
#include "btl_idts_pvar.h"

#include "opal/runtime/opal_progress.h"

#include <stdlib.h>

/* A longer gap between two idle polls means the caller did something else:
 * computed, or on an oversubscribed core, the scheduler ran someone else. */
#define MCA_BTL_IDTS_MAX_GAP_NS 50000
/* Our thread's CPU time for each idle poll, on average, of a loop that only
 * waits stays under this: progress, other transports, Open MPI's yield. A
 * loop of MPI_Test calls with work between them takes the work too. */
#define MCA_BTL_IDTS_WORK_NS 10000
/* Fewer polls than this are too few to judge a caller by: a tick or an
 * interrupt may have made a wait look like work. */
#define MCA_BTL_IDTS_JUDGE_POLLS 64

/* Count the polls from now on, and the CPU time our thread runs: once a
 * streak, once a sleep (mca_btl_idts_thread_cpu_ns is a system call). */
static void mark_cpu(mca_btl_idts_component_t *c)
{
    c->cpu_ns = mca_btl_idts_thread_cpu_ns();
    c->cpu_polls = 0;
}

/* Whether the caller worked between the polls since the mark: our thread
 * ran MCA_BTL_IDTS_WORK_NS a poll or more. Marks again. */
static int worked(mca_btl_idts_component_t *c)
{
    int64_t before = c->cpu_ns, polls = c->cpu_polls;

    mark_cpu(c);
    return c->cpu_ns - before >= polls * MCA_BTL_IDTS_WORK_NS;
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

/* What wakes the event loop only needs to wake it. */
static void woken(int fd, short flags, void *arg)
{
    (void)fd, (void)flags, (void)arg;
}

/* An event for each descriptor and one for the time limit, in Open MPI's
 * event base; kept from one sleep to the next. */
static opal_event_t **events;
static int events_size;

static int enough_events(int n)
{
    opal_event_t **grown;

    if (n <= events_size)
        return 1;
    grown = realloc(events, (size_t)n * sizeof(*grown));
    if (!grown)
        return 0;
    events = grown;
    while (events_size < n && (events[events_size] = opal_event_alloc()))
        events_size++;
    return events_size >= n;
}

/* The descriptors the open tunnels and the inbox wake: how many, or -1. */
static int sleep_fds(int **fds)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    struct idts_backend *be = &c->backend;
    struct idts_link *links[2];
    int i, j, n, count = 0, max = 4 * c->open_count + 2;

    *fds = malloc((size_t)max * sizeof(**fds));
    if (!*fds)
        return -1;
    for (i = 0; i < c->open_count; i++) {
        n = idts_tunnel_links(&c->open[i]->tunnel, links);
        for (j = 0; j < n; j++)
            count += be->ops->fds(be, links[j], *fds + count, max - count);
    }
    return count + be->ops->fds(be, NULL, *fds + count, max - count);
}

/* Sleep in Open MPI's event loop until one of the descriptors or another
 * event source (tcp's sockets) is ready, or sleep_max passes. */
static void sleep_in_event_loop(const int *fds, int n)
{
    struct timeval limit = {0, (suseconds_t)mca_btl_idts_component.sleep_max_us};
    int i;

    if (!enough_events(n + 1))
        return;
    for (i = 0; i < n; i++) {
        opal_event_set(opal_sync_event_base, events[i], fds[i], OPAL_EV_READ, woken, NULL);
        opal_event_add(events[i], NULL);
    }
    opal_event_evtimer_set(opal_sync_event_base, events[n], woken, NULL);
    opal_event_evtimer_add(events[n], &limit);
    opal_event_loop(opal_sync_event_base, OPAL_EVLOOP_ONCE);
    for (i = 0; i <= n; i++)
        opal_event_del(events[i]);
}

static void sleep_on_tunnels(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    struct idts_wait *waits;
    int *fds = NULL, i, n, ready = 0;

    /* Knocks and connections are looked at seldom while spinning, so before
     * every sleep. A peer that has not come to a tunnel may take minutes:
     * waiting for it sleeps too, sleep_max at a time. */
    if (mca_btl_idts_poll_connections(true))
        return;
    waits = malloc(((size_t)c->open_count + 1) * sizeof(*waits));
    if (!waits)
        return;
    for (i = 0; i < c->open_count && !ready; i++) {
        waits[i] = endpoint_wait(c->open[i]);
        ready = idts_tunnel_arm(waits[i].tunnel, waits[i].events, waits[i].send_length) != 0;
    }
    n = ready ? -1 : sleep_fds(&fds);
    if (n >= 0) {
        mca_btl_idts_counters.sleeps++;
        sleep_in_event_loop(fds, n);
    }
    /* Take what woke us (eventfds, event channels; peers seen going). */
    if (!ready && idts_tunnel_sleep(&c->backend, waits, c->open_count, 0) > 0)
        mca_btl_idts_counters.wakeups++;
    free(fds);
    free(waits);
}

void mca_btl_idts_idle(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    int64_t now = mca_btl_idts_now_ns();
    int many;

    /* Only the time between polls that follow each other counts. */
    if (c->idle_polls == MCA_BTL_IDTS_IDLE_POLLS) {
        c->idle_polls++;
        mark_cpu(c);
    } else {
        if (now - c->last_poll_ns < MCA_BTL_IDTS_MAX_GAP_NS)
            c->idle_ns += now - c->last_poll_ns;
        c->cpu_polls++;
    }
    c->last_poll_ns = now;
    if (c->idle_ns < (int64_t)c->spin_time_us * 1000)
        return;
    many = c->cpu_polls >= MCA_BTL_IDTS_JUDGE_POLLS;
    if (worked(c)) {
        /* No sleep for a caller that worked between its polls; judged over
         * many polls, it starts a new streak. */
        if (many)
            c->idle_ns = 0;
        return;
    }
    sleep_on_tunnels();
    /* The sleep is no gap: an idle poll after it sleeps again at once. */
    c->last_poll_ns = mca_btl_idts_now_ns();
    mark_cpu(c);
}
