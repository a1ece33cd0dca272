/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Endpoints and their tunnels. A tunnel is made on first use by either side:
 * one end creates it (mca_btl_idts_creates), the other attaches, and
 * whichever side starts knocks at the other's inbox so that a peer with
 * nothing to send joins in. Connecting never blocks; progress advances it. No clock ends it:
 * a peer may compute for minutes before its next MPI call, and is waited for
 * as long as its inbox says it lives.
 */
#include "btl_idts.h"
#include "btl_idts_pvar.h"

#include "opal/util/output.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static void endpoint_construct(mca_btl_base_endpoint_t *endpoint)
{
    /* OBJ_NEW does not zero: everything after the list item starts at 0. */
    memset((char *)endpoint + sizeof(endpoint->super), 0,
           sizeof(*endpoint) - sizeof(endpoint->super));
    OBJ_CONSTRUCT(&endpoint->pending, opal_list_t);
    OBJ_CONSTRUCT(&endpoint->serving, opal_list_t);
    OBJ_CONSTRUCT(&endpoint->gets, opal_pointer_array_t);
    opal_pointer_array_init(&endpoint->gets, 4, INT32_MAX, 4);
    endpoint->state = MCA_BTL_IDTS_IDLE;
}

static void endpoint_destruct(mca_btl_base_endpoint_t *endpoint)
{
    OBJ_DESTRUCT(&endpoint->gets);
    OBJ_DESTRUCT(&endpoint->serving);
    OBJ_DESTRUCT(&endpoint->pending);
}

OBJ_CLASS_INSTANCE(mca_btl_base_endpoint_t, opal_list_item_t, endpoint_construct,
                   endpoint_destruct);

void mca_btl_idts_inbox_key(const opal_process_name_t *name, char *key, size_t len)
{
    snprintf(key, len, "in-%x-%u", (unsigned)name->jobid, (unsigned)name->vpid);
}

static mca_btl_base_endpoint_t *find_endpoint(opal_process_name_t name)
{
    mca_btl_base_endpoint_t *endpoint;

    OPAL_LIST_FOREACH(endpoint, &mca_btl_idts_component.endpoints, mca_btl_base_endpoint_t)
    if (opal_compare_proc(endpoint->proc->proc_name, name) == 0)
        return endpoint;
    return NULL;
}

mca_btl_base_endpoint_t *mca_btl_idts_endpoint_create(opal_proc_t *proc, const char *instance)
{
    opal_process_name_t self = opal_proc_local_get()->proc_name, peer = proc->proc_name;
    mca_btl_base_endpoint_t *endpoint = find_endpoint(peer);
    const opal_process_name_t *low, *high;

    /* A knock may have made it before add_procs did. */
    if (endpoint)
        return endpoint;
    endpoint = OBJ_NEW(mca_btl_base_endpoint_t);
    if (!endpoint)
        return NULL;
    endpoint->proc = proc;
    endpoint->creator = mca_btl_idts_creates(&self, &peer);
    low = opal_compare_proc(self, peer) < 0 ? &self : &peer;
    high = low == &self ? &peer : &self;
    snprintf(endpoint->key, sizeof(endpoint->key), "t-%x-%u-%x-%u", (unsigned)low->jobid,
             (unsigned)low->vpid, (unsigned)high->jobid, (unsigned)high->vpid);
    mca_btl_idts_inbox_key(&peer, endpoint->peer_inbox, sizeof(endpoint->peer_inbox));
    memcpy(endpoint->peer_instance, instance, sizeof(endpoint->peer_instance));
    opal_list_append(&mca_btl_idts_component.endpoints, &endpoint->super);
    return endpoint;
}

static void open_remove(mca_btl_base_endpoint_t *endpoint)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    int i;

    for (i = 0; i < c->open_count; i++)
        if (c->open[i] == endpoint) {
            c->open[i] = c->open[--c->open_count];
            return;
        }
}

static void knock(mca_btl_base_endpoint_t *endpoint)
{
    struct idts_backend *be = &mca_btl_idts_component.backend;
    opal_process_name_t self = opal_proc_local_get()->proc_name;
    mca_btl_idts_knock_t msg = {MCA_BTL_IDTS_KNOCK_MAGIC, self.jobid, self.vpid};

    if (!endpoint->knocked)
        endpoint->knocked = be->ops->knock(be, endpoint->peer_instance, endpoint->peer_inbox, &msg,
                                           sizeof(msg)) == 0;
}

/* Once the tunnel is open the knock has served; on xen it would hold a node
 * of the guest's XenStore quota until the rank ends. */
static void unknock(mca_btl_base_endpoint_t *endpoint)
{
    struct idts_backend *be = &mca_btl_idts_component.backend;

    if (endpoint->knocked)
        be->ops->unknock(be, endpoint->peer_instance, endpoint->peer_inbox);
}

/* Tell the user, once, why the endpoint carries nothing more. */
static void tell(mca_btl_base_endpoint_t *endpoint, const char *topic, int error, const char *why)
{
    if (endpoint->told)
        return;
    endpoint->told = 1;
    mca_btl_idts_fatal(endpoint, topic, error, why);
}

static void connect_failed(mca_btl_base_endpoint_t *endpoint, int error, const char *why)
{
    endpoint->state = MCA_BTL_IDTS_CLOSED;
    tell(endpoint, "connect failed", error, why);
}

/* 0, or -ENOMEM once the user is told. */
static int open_add(mca_btl_base_endpoint_t *endpoint)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;

    if (c->open_count == c->open_size) {
        int size = c->open_size ? 2 * c->open_size : 8;
        mca_btl_base_endpoint_t **open = realloc(c->open, size * sizeof(*open));

        if (!open) {
            connect_failed(endpoint, ENOMEM, NULL);
            return -ENOMEM;
        }
        c->open = open;
        c->open_size = size;
    }
    c->open[c->open_count++] = endpoint;
    return 0;
}

static void start_connect(mca_btl_base_endpoint_t *endpoint)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    int rc = endpoint->creator
                 ? idts_tunnel_create(&endpoint->tunnel, &c->backend, endpoint->peer_instance,
                                      endpoint->peer_inbox, endpoint->key,
                                      mca_btl_idts_budget_ring(endpoint))
                 : idts_tunnel_attach(&endpoint->tunnel, &c->backend, endpoint->peer_instance,
                                      endpoint->key);

    if (rc) {
        connect_failed(endpoint, rc, c->backend.why);
        return;
    }
    /* Known by now: Open MPI decides whether ranks yield during MPI_Init,
     * before it sends anything. */
    if (!mca_btl_idts_may_sleep())
        idts_tunnel_poll_only(&endpoint->tunnel);
    endpoint->state = MCA_BTL_IDTS_CONNECTING;
}

static uint64_t traffic(const mca_btl_base_endpoint_t *endpoint)
{
    return endpoint->sent_bytes + endpoint->received_bytes;
}

void mca_btl_idts_endpoint_grow(mca_btl_base_endpoint_t *endpoint)
{
    uint32_t from = idts_tunnel_ring_size(&endpoint->tunnel);
    uint32_t to = mca_btl_idts_budget_grow(endpoint, from);
    int rc = to ? idts_tunnel_grow(&endpoint->tunnel, to) : 0;

    if (rc == -EAGAIN)
        return;
    endpoint->grow_at =
        traffic(endpoint) + MCA_BTL_IDTS_GROW_EVERY * (uint64_t)(to && rc == 0 ? to : from);
    if (!to)
        return;
    if (rc == 0)
        mca_btl_idts_budget_charge(endpoint, from, to);
    opal_output_verbose(20, opal_btl_base_framework.framework_output,
                        "btl:idts: tunnel %s %s from %u to %u bytes%s%s", endpoint->key,
                        rc ? "could not grow" : "grew", from, to, rc ? ": " : "",
                        rc ? strerror(-rc) : "");
}

/* 0, or -EMSGSIZE once the user is told, when a peer of another job made
 * rings whose records cannot hold our fragments. */
static int holds_fragments(mca_btl_base_endpoint_t *endpoint)
{
    size_t fragment = mca_btl_idts_module.super.btl_max_send_size;
    uint32_t most = idts_tunnel_max_payload(&endpoint->tunnel);
    char why[192];

    if (most >= fragment)
        return 0;
    snprintf(why, sizeof(why),
             "its rings of %u bytes hold records of %u bytes, our fragments are %zu "
             "(btl_idts_max_send_size): give both jobs the same btl_idts_ring_size",
             idts_tunnel_ring_size(&endpoint->tunnel), most, fragment);
    connect_failed(endpoint, EMSGSIZE, why);
    return -EMSGSIZE;
}

/* Returns 1 when the tunnel opened, 0 otherwise. */
static int advance(mca_btl_base_endpoint_t *endpoint)
{
    int rc;

    knock(endpoint);
    rc = idts_tunnel_connect(&endpoint->tunnel);
    if (rc == -EAGAIN)
        return 0;
    if (rc) {
        connect_failed(endpoint, rc, mca_btl_idts_component.backend.why);
        return 0;
    }
    if (holds_fragments(endpoint) || open_add(endpoint))
        return 0;
    endpoint->state = MCA_BTL_IDTS_OPEN;
    unknock(endpoint);
    endpoint->grow_at = traffic(endpoint) + MCA_BTL_IDTS_GROW_EVERY *
                                                (uint64_t)idts_tunnel_ring_size(&endpoint->tunnel);
    opal_output_verbose(20, opal_btl_base_framework.framework_output,
                        "btl:idts: tunnel %s open (%s)", endpoint->key,
                        endpoint->creator ? "created" : "attached");
    return 1;
}

int mca_btl_idts_endpoint_ready(mca_btl_base_endpoint_t *endpoint)
{
    if (endpoint->state == MCA_BTL_IDTS_IDLE) {
        start_connect(endpoint);
        if (endpoint->state == MCA_BTL_IDTS_CONNECTING)
            (void)advance(endpoint);
    }
    switch (endpoint->state) {
    case MCA_BTL_IDTS_OPEN:
        return 0;
    case MCA_BTL_IDTS_CONNECTING:
        /* The creator's ring takes records before the attacher comes. */
        return endpoint->creator ? 0 : -EAGAIN;
    default:
        return -EPIPE;
    }
}

/* A knock names a process, and anyone who can reach our inbox may send
 * one: we act only for a process we may reach, and knock back, so that a
 * forged knock costs a tunnel nobody uses, not a peer waited for in vain.
 * A process Open MPI does not know yet is looked up only in a job our PMIx
 * knows (looking up others could wait on the server): ours, or one we
 * spawned or connected to, whose processes Open MPI 5 adds only when it
 * first sends to them. Returns 0 for a knock of a job not known (yet). */
static int knocked(const mca_btl_idts_knock_t *msg)
{
    opal_process_name_t name;
    mca_btl_base_endpoint_t *endpoint;
    opal_proc_t *proc;
    char instance[IDTS_ID_MAX];

    if (msg->magic != MCA_BTL_IDTS_KNOCK_MAGIC)
        return 1;
    name.jobid = msg->jobid;
    name.vpid = msg->vpid;
    endpoint = find_endpoint(name);
    if (!endpoint) {
        if (name.jobid != opal_proc_local_get()->proc_name.jobid &&
            !mca_btl_idts_job_size(name.jobid))
            return 0;
        if (!(proc = opal_proc_for_name(name)) || !mca_btl_idts_peer_instance(proc, instance))
            return 1;
        endpoint = mca_btl_idts_endpoint_create(proc, instance);
    }
    if (endpoint && endpoint->state == MCA_BTL_IDTS_IDLE)
        start_connect(endpoint);
    return 1;
}

/* A spawned job's processes may knock before MPI_Comm_spawn has returned
 * in ours and Open MPI knows their job: their knocks are kept and looked at
 * again at every poll (a few: forged ones push out only each other). */
static void hold_knock(const mca_btl_idts_knock_t *msg)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;

    if (c->held_knock_count == MCA_BTL_IDTS_HELD_KNOCKS) {
        c->held_knock_count--;
        memmove(c->held_knocks, c->held_knocks + 1, (size_t)c->held_knock_count * sizeof(*msg));
    }
    c->held_knocks[c->held_knock_count++] = *msg;
}

static void retry_held_knocks(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    int i, kept = 0;

    for (i = 0; i < c->held_knock_count; i++)
        if (!knocked(&c->held_knocks[i]))
            c->held_knocks[kept++] = c->held_knocks[i];
    c->held_knock_count = kept;
}

/* 0 while the peer's inbox says it lives, -EPIPE once it is gone. */
static int peer_listening(mca_btl_base_endpoint_t *endpoint)
{
    struct idts_backend *be = &mca_btl_idts_component.backend;

    return be->ops->listening(be, endpoint->peer_instance, endpoint->peer_inbox) == -EPIPE ? -EPIPE
                                                                                           : 0;
}

/* A peer that died while we only poll its ring would go unheard: its
 * tunnel is checked now and then. A failed check latches the tunnel's error;
 * progress delivers what the peer left, then reports it. A peer that died
 * before its tunnel opened ends the connection. */
static void check_peers(int64_t now)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    mca_btl_base_endpoint_t *endpoint, *next;
    int i;

    if (now < c->next_check_ns)
        return;
    c->next_check_ns = now + MCA_BTL_IDTS_CHECK_NS;
    for (i = 0; i < c->open_count; i++)
        (void)idts_tunnel_check(&c->open[i]->tunnel);
    OPAL_LIST_FOREACH_SAFE(endpoint, next, &c->endpoints, mca_btl_base_endpoint_t)
    if (endpoint->state == MCA_BTL_IDTS_CONNECTING && peer_listening(endpoint))
        mca_btl_idts_endpoint_closed(endpoint, -ECONNRESET);
}

static int connections_under_way(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    mca_btl_base_endpoint_t *endpoint;

    if (c->held_knock_count)
        return 1;
    OPAL_LIST_FOREACH(endpoint, &c->endpoints, mca_btl_base_endpoint_t)
    if (endpoint->state == MCA_BTL_IDTS_CONNECTING)
        return 1;
    return 0;
}

/* Knocks start connections: while some are under way, more tend to follow
 * (a job's first exchange), so the inbox is read at every poll then; else
 * once per btl_idts_knock_period, as each read costs system calls. */
static void read_knocks(bool always, int64_t now)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    mca_btl_idts_knock_t msg;
    int n;

    if (!always && now < c->next_knock_ns && !connections_under_way())
        return;
    c->next_knock_ns = now + (int64_t)c->knock_period_us * 1000;
    retry_held_knocks();
    while ((n = c->backend.ops->knocked(&c->backend, &msg, sizeof(msg))) != -EAGAIN)
        if (n == (int)sizeof(msg) && !knocked(&msg))
            hold_knock(&msg);
}

int mca_btl_idts_poll_connections(bool read_inbox)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    mca_btl_base_endpoint_t *endpoint;
    int64_t now = mca_btl_idts_now_ns();
    int opened = 0;

    read_knocks(read_inbox, now);
    OPAL_LIST_FOREACH(endpoint, &c->endpoints, mca_btl_base_endpoint_t)
    if (endpoint->state == MCA_BTL_IDTS_CONNECTING)
        opened += advance(endpoint);
    check_peers(now);
    return opened;
}

/* The help message for a tunnel that ended with `error`. */
static const char *closed_topic(int error)
{
    switch (error) {
    case -EPIPE:
        return "peer gone";
    case -ECONNRESET:
        return "peer died";
    default:
        return "peer broke protocol";
    }
}

/* The tunnel ended. A peer that closed in order while we owe it nothing
 * simply finished first (MPI_Finalize); anything else is an error. */
void mca_btl_idts_endpoint_closed(mca_btl_base_endpoint_t *endpoint, int error)
{
    int owed = !opal_list_is_empty(&endpoint->pending) || !opal_list_is_empty(&endpoint->serving) ||
               endpoint->gets_outstanding > 0;

    if (endpoint->state == MCA_BTL_IDTS_CLOSED)
        return;
    open_remove(endpoint);
    endpoint->state = MCA_BTL_IDTS_CLOSED;
    endpoint->error = error;
    if (error == -EPIPE && !owed)
        opal_output_verbose(20, opal_btl_base_framework.framework_output,
                            "btl:idts: tunnel %s closed by the peer", endpoint->key);
    else
        tell(endpoint, closed_topic(error), error, mca_btl_idts_component.backend.why);
    mca_btl_idts_fail_gets(endpoint);
}

/* A send or GET refused by a closed tunnel is a message the peer will never
 * get. The user hears why even where the tunnel closed quietly before (the
 * peer finished first, owing nothing): the PML may still send it more, as
 * ob1 does once a receive matches the header of a large message the peer
 * left behind; told only OPAL_ERR_UNREACH, ob1 would retry for ever. */
void mca_btl_idts_endpoint_refused(mca_btl_base_endpoint_t *endpoint, int error)
{
    mca_btl_idts_endpoint_closed(endpoint, error);
    tell(endpoint, closed_topic(endpoint->error), endpoint->error,
         mca_btl_idts_component.backend.why);
}

static void report(const mca_btl_base_endpoint_t *endpoint)
{
    opal_output_verbose(
        10, opal_btl_base_framework.framework_output,
        "btl:idts: %s -> %s: sent %llu records %llu bytes, received %llu "
        "records %llu bytes",
        OPAL_NAME_PRINT(opal_proc_local_get()->proc_name),
        OPAL_NAME_PRINT(endpoint->proc->proc_name), (unsigned long long)endpoint->sent_records,
        (unsigned long long)endpoint->sent_bytes, (unsigned long long)endpoint->received_records,
        (unsigned long long)endpoint->received_bytes);
}

/* What the peer has not been given yet: frags queued for it, or, while
 * the attacher has not come, records in the creator's ring. */
static int owed(mca_btl_base_endpoint_t *endpoint)
{
    return !opal_list_is_empty(&endpoint->pending) ||
           (endpoint->state == MCA_BTL_IDTS_CONNECTING && endpoint->creator &&
            endpoint->sent_records > 0);
}

/* One turn of the flush: connect, drop what arrives, push what is queued. */
static int flush_turn(mca_btl_base_endpoint_t *endpoint)
{
    struct idts_record record;
    int rc = 0;

    if (endpoint->state == MCA_BTL_IDTS_CONNECTING) {
        knock(endpoint);
        rc = idts_tunnel_connect(&endpoint->tunnel);
        if (rc == 0)
            endpoint->state = MCA_BTL_IDTS_OPEN;
    }
    while (rc == 0 && (rc = idts_tunnel_peek(&endpoint->tunnel, &record)) > 0)
        rc = idts_tunnel_release(&endpoint->tunnel);
    if (rc == 0 && endpoint->state == MCA_BTL_IDTS_OPEN)
        rc = mca_btl_idts_push_pending(endpoint);
    return rc == -EAGAIN || rc == -ENOTCONN ? 0 : rc;
}

/* Before its tunnel goes, an endpoint gives the peer what it reported sent,
 * as long as the peer lives. MPI_Finalize's fence holds only the ranks of
 * one job: a peer of another (spawned, connected) may not have come for it
 * yet. The PML is gone: what the peer sends meanwhile is dropped. */
static void flush(mca_btl_base_endpoint_t *endpoint)
{
    const struct timespec pause = {0, 100000};
    int64_t next_look = 0;
    int rc = 0;

    while (rc >= 0 && owed(endpoint) &&
           (endpoint->state == MCA_BTL_IDTS_CONNECTING || endpoint->state == MCA_BTL_IDTS_OPEN)) {
        if (mca_btl_idts_now_ns() >= next_look) {
            if (peer_listening(endpoint))
                break;
            next_look = mca_btl_idts_now_ns() + MCA_BTL_IDTS_CHECK_NS;
        }
        rc = flush_turn(endpoint);
        if (rc >= 0 && owed(endpoint))
            nanosleep(&pause, NULL);
    }
    if (owed(endpoint))
        opal_output_verbose(10, opal_btl_base_framework.framework_output,
                            "btl:idts: %s left before it took what was sent to it",
                            OPAL_NAME_PRINT(endpoint->proc->proc_name));
}

void mca_btl_idts_endpoint_destroy(mca_btl_base_endpoint_t *endpoint)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    opal_list_item_t *item;

    open_remove(endpoint);
    flush(endpoint);
    if (endpoint->sent_records || endpoint->received_records)
        report(endpoint);
    if (endpoint->creator && endpoint->state != MCA_BTL_IDTS_IDLE)
        mca_btl_idts_budget_charge(endpoint, idts_tunnel_ring_size(&endpoint->tunnel), 0);
    mca_btl_idts_pvar_retire(endpoint);
    if (endpoint->state != MCA_BTL_IDTS_IDLE)
        idts_tunnel_close(&endpoint->tunnel);
    mca_btl_idts_fail_gets(endpoint);
    while ((item = opal_list_remove_first(&endpoint->pending)))
        opal_free_list_return(&c->frags, (opal_free_list_item_t *)item);
    opal_list_remove_item(&c->endpoints, &endpoint->super);
    OBJ_RELEASE(endpoint);
}
