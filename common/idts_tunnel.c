/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */

#define _GNU_SOURCE
#include "idts_tunnel.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define cpu_relax() __asm__ __volatile__("" ::: "memory")
#endif

static struct idts_ctrl *ctrl_of(const struct idts_tunnel *tunnel)
{
    return tunnel->link.ctrl;
}

static uint8_t *live_byte(struct idts_ctrl *ctrl, enum idts_tunnel_role role)
{
    return role == IDTS_TUNNEL_CREATOR ? &ctrl->creator_live : &ctrl->attacher_live;
}

static uint8_t *closed_byte(struct idts_ctrl *ctrl, enum idts_tunnel_role role)
{
    return role == IDTS_TUNNEL_CREATOR ? &ctrl->creator_closed : &ctrl->attacher_closed;
}

static uint8_t *polls_byte(struct idts_ctrl *ctrl, enum idts_tunnel_role role)
{
    return role == IDTS_TUNNEL_CREATOR ? &ctrl->creator_polls : &ctrl->attacher_polls;
}

/* Our promise never to sleep, in a region we use (idts_abi.h, "Notification"). */
static void promise_polling(const struct idts_tunnel *tunnel, struct idts_ctrl *ctrl)
{
    if (tunnel->polls)
        __atomic_store_n(polls_byte(ctrl, tunnel->role), 1, __ATOMIC_RELAXED);
}

static void set_live(struct idts_tunnel *tunnel, uint8_t state)
{
    __atomic_store_n(live_byte(ctrl_of(tunnel), tunnel->role), state, __ATOMIC_RELEASE);
}

static enum idts_tunnel_role peer_role(const struct idts_tunnel *tunnel)
{
    return tunnel->role == IDTS_TUNNEL_CREATOR ? IDTS_TUNNEL_ATTACHER : IDTS_TUNNEL_CREATOR;
}

/* The region that tells how the peer is: during a move, the old one until
 * the attacher has come to the new one (idts_abi.h, "Moving"). */
static struct idts_link *peer_link(struct idts_tunnel *tunnel)
{
    if (tunnel->moving && __atomic_load_n(live_byte(ctrl_of(tunnel), IDTS_TUNNEL_ATTACHER),
                                          __ATOMIC_ACQUIRE) == IDTS_END_WAITING)
        return &tunnel->old;
    return &tunnel->link;
}

static uint8_t peer_live(struct idts_tunnel *tunnel)
{
    return __atomic_load_n(live_byte(peer_link(tunnel)->ctrl, peer_role(tunnel)), __ATOMIC_ACQUIRE);
}

/* What the peer's bytes say about it (idts_abi.h, "Ends"): 0 while it is
 * live, -EPIPE once it closed in order, -ECONNRESET when it died, -EPROTO
 * for a state the ABI does not have. `gone`: the backend saw it go, whatever
 * its live byte still says. */
static int peer_status(struct idts_tunnel *tunnel, int gone)
{
    uint8_t live = peer_live(tunnel);

    if (live != IDTS_END_LIVE && live != IDTS_END_GONE)
        return -EPROTO;
    if (live == IDTS_END_LIVE && !gone)
        return 0;
    return __atomic_load_n(closed_byte(peer_link(tunnel)->ctrl, peer_role(tunnel)),
                           __ATOMIC_ACQUIRE) == 1
               ? -EPIPE
               : -ECONNRESET;
}

/* The errors after which what the peer sent before is still delivered. */
static int departed(int error)
{
    return error == -EPIPE || error == -ECONNRESET;
}

static int fail(struct idts_tunnel *tunnel, int error)
{
    if (tunnel->state != IDTS_TUNNEL_FAILED) {
        tunnel->state = IDTS_TUNNEL_FAILED;
        tunnel->error = error;
    }
    return tunnel->error;
}

/* Ring i of a region's data area; the creator produces on 0, the attacher on 1. */
static void bind_ring(struct idts_ring *ring, const struct idts_link *link, int i,
                      uint32_t ring_size)
{
    struct idts_ctrl *ctrl = link->ctrl;

    idts_ring_init(ring, &ctrl->ring[i], (uint8_t *)link->data + (size_t)i * ring_size, ring_size);
}

/* The ring we write into. */
static int our_ring(const struct idts_tunnel *tunnel)
{
    return tunnel->role == IDTS_TUNNEL_CREATOR ? 0 : 1;
}

static void bind_rings(struct idts_tunnel *tunnel, uint32_t ring_size)
{
    bind_ring(&tunnel->tx, &tunnel->link, our_ring(tunnel), ring_size);
    bind_ring(&tunnel->rx, &tunnel->link, !our_ring(tunnel), ring_size);
}

/* Before we use a region (the creator publishes it, the attacher goes LIVE
 * in it): our empty ring written once and the peer's read once a page, so
 * that the first lap costs what later ones do, and our promise to poll if we
 * made one. */
static void enter_region(const struct idts_tunnel *tunnel, struct idts_link *link,
                         uint32_t ring_size)
{
    struct idts_ring ours, theirs;

    bind_ring(&ours, link, our_ring(tunnel), ring_size);
    idts_ring_warm(&ours);
    bind_ring(&theirs, link, !our_ring(tunnel), ring_size);
    idts_ring_touch(&theirs);
    promise_polling(tunnel, link->ctrl);
}

/* Say we left a region (closed, then gone), wake the peer, let the region go. */
static void leave_region(struct idts_tunnel *tunnel, struct idts_link *link)
{
    if (link->ctrl) {
        __atomic_store_n(closed_byte(link->ctrl, tunnel->role), 1, __ATOMIC_RELEASE);
        __atomic_store_n(live_byte(link->ctrl, tunnel->role), IDTS_END_GONE, __ATOMIC_RELEASE);
        tunnel->backend->ops->notify(link);
    }
    tunnel->backend->ops->unlink(tunnel->backend, link);
}

/* The key of a region: the tunnel's for generation 0, with "-N" after. */
static int region_key(const struct idts_tunnel *tunnel, uint32_t generation, char *key)
{
    int n = generation ? snprintf(key, IDTS_KEY_MAX, "%s-%u", tunnel->key, (unsigned)generation)
                       : snprintf(key, IDTS_KEY_MAX, "%s", tunnel->key);

    return n > 0 && n < IDTS_KEY_MAX;
}

static int start(struct idts_tunnel *tunnel, struct idts_backend *backend,
                 enum idts_tunnel_role role, const char *peer, const char *key)
{
    memset(tunnel, 0, sizeof(*tunnel));
    tunnel->backend = backend;
    tunnel->role = role;
    tunnel->state = IDTS_TUNNEL_CONNECTING;
    tunnel->spin_ns = IDTS_TUNNEL_SPIN_NS;
    tunnel->link.live_offset = role == IDTS_TUNNEL_CREATOR
                                   ? offsetof(struct idts_ctrl, creator_live)
                                   : offsetof(struct idts_ctrl, attacher_live);
    if (!idts_key_valid(key) || strlen(peer) >= sizeof(tunnel->peer))
        return -EINVAL;
    strcpy(tunnel->peer, peer);
    strcpy(tunnel->key, key);
    return 0;
}

static void init_ctrl(struct idts_ctrl *ctrl, uint32_t ring_size)
{
    /* The backend area past the fields is the backend's: share filled it. */
    memset(ctrl, 0, sizeof(*ctrl));
    ctrl->magic = IDTS_ABI_MAGIC;
    ctrl->version = IDTS_ABI_VERSION;
    ctrl->ctrl_size = IDTS_CTRL_SIZE;
    ctrl->ring_size = ring_size;
    ctrl->creator_live = IDTS_END_LIVE;
    ctrl->attacher_live = IDTS_END_WAITING;
}

/* Creator: share a region with two rings of ring_size bytes for the peer,
 * formatted, and publish it under key. */
static int make_region(struct idts_tunnel *tunnel, struct idts_link *link, const char *key,
                       uint32_t ring_size)
{
    struct idts_backend *backend = tunnel->backend;
    struct idts_ring ring;
    int rc = backend->ops->share(backend, tunnel->peer, 2 * (size_t)ring_size, link), i;

    if (rc == 0) {
        init_ctrl(link->ctrl, ring_size);
        enter_region(tunnel, link, ring_size);
        for (i = 0; i < 2; i++) {
            bind_ring(&ring, link, i, ring_size);
            idts_ring_format(&ring);
        }
        __atomic_thread_fence(__ATOMIC_RELEASE);
        rc = backend->ops->publish(backend, link, key, tunnel->inbox);
    }
    if (rc)
        backend->ops->unlink(backend, link);
    return rc;
}

int idts_tunnel_create(struct idts_tunnel *tunnel, struct idts_backend *backend, const char *peer,
                       const char *inbox, const char *key, uint32_t ring_size)
{
    int rc = start(tunnel, backend, IDTS_TUNNEL_CREATOR, peer, key);

    if (rc == 0 && (!idts_ring_size_valid(ring_size) || !idts_key_valid(inbox)))
        rc = -EINVAL;
    if (rc == 0) {
        strcpy(tunnel->inbox, inbox);
        rc = make_region(tunnel, &tunnel->link, key, ring_size);
    }
    if (rc)
        return fail(tunnel, rc);
    bind_rings(tunnel, ring_size);
    return 0;
}

int idts_tunnel_attach(struct idts_tunnel *tunnel, struct idts_backend *backend, const char *peer,
                       const char *key)
{
    int rc = start(tunnel, backend, IDTS_TUNNEL_ATTACHER, peer, key);

    return rc ? fail(tunnel, rc) : 0;
}

/* The attacher's check of what the creator wrote: each field read once. */
static int check_ctrl(const struct idts_link *link)
{
    const volatile struct idts_ctrl *ctrl = link->ctrl;
    uint32_t ring_size = ctrl->ring_size;
    uint8_t creator_live = ctrl->creator_live;
    int i;

    if (creator_live == IDTS_END_GONE)
        return -EPIPE;
    if (ctrl->magic != IDTS_ABI_MAGIC || ctrl->version != IDTS_ABI_VERSION ||
        ctrl->ctrl_size != IDTS_CTRL_SIZE || !idts_ring_size_valid(ring_size) ||
        link->data_size != 2 * (size_t)ring_size || creator_live != IDTS_END_LIVE ||
        ctrl->attacher_live != IDTS_END_WAITING)
        return -EPROTO;
    if (ctrl->creator_closed != 0 || ctrl->attacher_closed != 0)
        return -EPROTO;
    for (i = 0; i < 2; i++)
        if (ctrl->ring[i].reserved != 0 || ctrl->ring[i].cons != 0)
            return -EPROTO;
    return (int)ring_size;
}

/* The fields the creator wrote once must stay as the attacher checked them. */
static int header_intact(const struct idts_tunnel *tunnel)
{
    const volatile struct idts_ctrl *ctrl = ctrl_of(tunnel);

    return ctrl->magic == IDTS_ABI_MAGIC && ctrl->version == IDTS_ABI_VERSION &&
           ctrl->ctrl_size == IDTS_CTRL_SIZE && ctrl->ring_size == tunnel->tx.size;
}

static int connect_attacher(struct idts_tunnel *tunnel)
{
    struct idts_backend *backend = tunnel->backend;
    int rc = backend->ops->map(backend, tunnel->peer, tunnel->key, &tunnel->link);

    if (rc)
        return rc;
    rc = check_ctrl(&tunnel->link);
    if (rc < 0)
        return rc;
    bind_rings(tunnel, (uint32_t)rc);
    enter_region(tunnel, &tunnel->link, (uint32_t)rc);
    set_live(tunnel, IDTS_END_LIVE);
    return backend->ops->notify(&tunnel->link);
}

static int connect_creator(struct idts_tunnel *tunnel)
{
    struct idts_backend *backend = tunnel->backend;

    if (!tunnel->accepted) {
        int rc = backend->ops->accept(backend, &tunnel->link);

        /* Where the attacher needs nothing from accept (xen), it may have
         * come and gone between two looks: its live byte says it came. */
        if (rc == -EAGAIN && peer_live(tunnel) != IDTS_END_WAITING)
            rc = 0;
        if (rc)
            return rc;
        tunnel->accepted = 1;
    }
    /* An attacher that is already gone did connect: what it sent before
     * leaving is delivered, then the data path reports -EPIPE. */
    switch (peer_live(tunnel)) {
    case IDTS_END_WAITING:
        return -EAGAIN;
    case IDTS_END_LIVE:
    case IDTS_END_GONE:
        return 0;
    default:
        return -EPROTO;
    }
}

int idts_tunnel_connect(struct idts_tunnel *tunnel)
{
    int rc;

    if (tunnel->state != IDTS_TUNNEL_CONNECTING)
        return tunnel->state == IDTS_TUNNEL_OPEN ? 0 : tunnel->error;
    rc = tunnel->role == IDTS_TUNNEL_CREATOR ? connect_creator(tunnel) : connect_attacher(tunnel);
    if (rc == -EAGAIN)
        return rc;
    if (rc)
        return fail(tunnel, rc);
    tunnel->state = IDTS_TUNNEL_OPEN;
    return 0;
}

int64_t idts_clock_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ns(void)
{
    return idts_clock_ns(CLOCK_MONOTONIC);
}

int idts_tunnel_connect_wait(struct idts_tunnel *tunnel, int timeout_ms)
{
    int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
    const struct timespec pause = {0, 200000};
    int rc;

    while ((rc = idts_tunnel_connect(tunnel)) == -EAGAIN) {
        if (now_ns() >= deadline)
            return fail(tunnel, -ETIMEDOUT);
        nanosleep(&pause, NULL);
    }
    return rc;
}

uint32_t idts_tunnel_max_payload(const struct idts_tunnel *tunnel)
{
    /* An attacher learns the ring size only when it maps the region. */
    return tunnel->tx.size ? idts_ring_max_payload(tunnel->tx.size) : 0;
}

/* 0 when open; else what a call on the tunnel returns. */
static int usable(const struct idts_tunnel *tunnel)
{
    switch (tunnel->state) {
    case IDTS_TUNNEL_OPEN:
        return 0;
    case IDTS_TUNNEL_CONNECTING:
        return -ENOTCONN;
    case IDTS_TUNNEL_FAILED:
        return tunnel->error;
    default:
        return -EBADF;
    }
}

/* The creator's ring exists from the start: records it writes before the
 * attacher comes wait there for it, as they would in a socket's buffer. */
static int writable(const struct idts_tunnel *tunnel)
{
    if (tunnel->state == IDTS_TUNNEL_CONNECTING && tunnel->role == IDTS_TUNNEL_CREATOR)
        return 0;
    return usable(tunnel);
}

/* A full ring towards a peer that is gone will never drain; one the peer
 * has not come to yet drains once it does. */
static int full_or_gone(struct idts_tunnel *tunnel, int rc)
{
    int status;

    if (rc == -EPROTO)
        return fail(tunnel, rc);
    if (rc == -EAGAIN && tunnel->state == IDTS_TUNNEL_OPEN &&
        (status = peer_status(tunnel, 0)) != 0)
        return fail(tunnel, status);
    return rc;
}

int idts_tunnel_reserve_slowly(struct idts_tunnel *tunnel, uint32_t length, void **payload)
{
    int rc = writable(tunnel);

    return rc ? rc : full_or_gone(tunnel, idts_ring_reserve(&tunnel->tx, length, payload));
}

void idts_tunnel_poll_only(struct idts_tunnel *tunnel)
{
    tunnel->polls = 1;
    if (tunnel->link.ctrl)
        promise_polling(tunnel, tunnel->link.ctrl);
}

/* Whether the peer promised, in the region of link, never to sleep; a
 * promise holds for the region. */
static int peer_polls(const struct idts_tunnel *tunnel, struct idts_link *link)
{
    if (!link->peer_polls)
        link->peer_polls =
            __atomic_load_n(polls_byte(link->ctrl, peer_role(tunnel)), __ATOMIC_RELAXED) != 0;
    return link->peer_polls;
}

/* The peer asked to be woken for records (idts_abi.h, "Notification"). */
int idts_tunnel_wake_consumer_slowly(struct idts_tunnel *tunnel)
{
    if (!peer_polls(tunnel, &tunnel->link) && idts_ring_take_data_request(&tunnel->tx))
        return tunnel->backend->ops->notify(&tunnel->link);
    return 0;
}

/* The peer asked to be woken for room. */
int idts_tunnel_wake_producer_slowly(struct idts_tunnel *tunnel)
{
    struct idts_link *link = idts_tunnel_producer_link(tunnel);

    if (!peer_polls(tunnel, link) && idts_ring_take_space_request(&tunnel->rx))
        return tunnel->backend->ops->notify(link);
    return 0;
}

/* Publish the MOVE record reserved and written (idts_abi.h, "Moving to a
 * new region"). */
static int commit_move(struct idts_tunnel *tunnel)
{
    idts_ring_commit(&tunnel->tx, IDTS_RECORD_MOVE, 0, sizeof(struct idts_move));
    return idts_tunnel_wake_consumer(tunnel);
}

int idts_tunnel_send(struct idts_tunnel *tunnel, uint8_t tag, const void *buf, uint32_t length)
{
    void *payload;
    int rc = idts_tunnel_reserve(tunnel, length, &payload);

    if (rc)
        return rc;
    memcpy(payload, buf, length);
    return idts_tunnel_commit(tunnel, tag, length);
}

int idts_tunnel_grow(struct idts_tunnel *tunnel, uint32_t ring_size)
{
    struct idts_link link = {.live_offset = tunnel->link.live_offset};
    struct idts_move move = {tunnel->generation + 1, ring_size};
    char key[IDTS_KEY_MAX];
    void *payload;
    int rc = usable(tunnel);

    if (rc)
        return rc;
    if (tunnel->role != IDTS_TUNNEL_CREATOR || tunnel->moving || !idts_ring_size_valid(ring_size) ||
        !region_key(tunnel, move.generation, key))
        return -EINVAL;
    /* The MOVE's room first: a region shared for nothing is a waste. */
    rc = idts_tunnel_reserve(tunnel, sizeof(move), &payload);
    if (rc == 0)
        rc = make_region(tunnel, &link, key, ring_size);
    if (rc)
        return rc;
    memcpy(payload, &move, sizeof(move));
    commit_move(tunnel);
    tunnel->old = tunnel->link;
    tunnel->link = link;
    bind_ring(&tunnel->tx, &tunnel->link, 0, ring_size);
    bind_ring(&tunnel->next_rx, &tunnel->link, 1, ring_size);
    tunnel->moving = 1;
    tunnel->generation = move.generation;
    return 0;
}

/* Creator: the attacher's MOVE closes the old region's ring 1; the new one's
 * follows. 1 when done, else the error. */
static int finish_move(struct idts_tunnel *tunnel, const struct idts_record *record)
{
    struct idts_move move;

    if (!tunnel->moving || record->length != sizeof(move))
        return -EPROTO;
    memcpy(&move, record->data, sizeof(move));
    if (move.generation != tunnel->generation || move.ring_size != tunnel->tx.size)
        return -EPROTO;
    idts_ring_release(&tunnel->rx);
    leave_region(tunnel, &tunnel->old);
    tunnel->rx = tunnel->next_rx;
    tunnel->moving = 0;
    return 1;
}

/* Attacher: the creator moved on. Map the new region, answer with a MOVE in
 * the old one, leave it. 1 when done, 0 to try again later (no room for the
 * answer, the region not there yet), or the error. */
static int follow_move(struct idts_tunnel *tunnel, const struct idts_record *record)
{
    struct idts_backend *backend = tunnel->backend;
    struct idts_link link = {.live_offset = tunnel->link.live_offset};
    struct idts_move move;
    char key[IDTS_KEY_MAX];
    void *payload;
    int rc;

    if (record->length != sizeof(move))
        return -EPROTO;
    memcpy(&move, record->data, sizeof(move));
    if (move.generation != tunnel->generation + 1 || !idts_ring_size_valid(move.ring_size) ||
        !region_key(tunnel, move.generation, key))
        return -EPROTO;
    rc = idts_ring_reserve(&tunnel->tx, sizeof(move), &payload);
    if (rc)
        return rc == -EAGAIN ? 0 : rc;
    rc = backend->ops->map(backend, tunnel->peer, key, &link);
    if (rc == 0 && (rc = check_ctrl(&link)) >= 0)
        rc = (uint32_t)rc == move.ring_size ? 0 : -EPROTO;
    if (rc) {
        backend->ops->unlink(backend, &link);
        return rc == -EAGAIN ? 0 : rc;
    }
    /* Live in the new region before gone from the old: the creator judges
     * us by the new one from then on. */
    enter_region(tunnel, &link, move.ring_size);
    __atomic_store_n(live_byte(link.ctrl, tunnel->role), IDTS_END_LIVE, __ATOMIC_RELEASE);
    memcpy(payload, &move, sizeof(move));
    commit_move(tunnel);
    idts_ring_release(&tunnel->rx);
    leave_region(tunnel, &tunnel->link);
    tunnel->link = link;
    bind_rings(tunnel, move.ring_size);
    tunnel->generation = move.generation;
    return backend->ops->notify(&tunnel->link) ? -EIO : 1;
}

/* All but an open tunnel's next DATA record or its empty ring: a MOVE to
 * follow, a broken ring, a tunnel closed or failed. Not inlined: the move
 * handlers' frame would cost idts_tunnel_peek() a dozen instructions on
 * every record. */
static __attribute__((noinline)) int peek_slowly(struct idts_tunnel *tunnel,
                                                 struct idts_record *record)
{
    int rc = usable(tunnel);

    /* A peer that went away may have left records behind: deliver them. */
    if (rc && (!departed(rc) || !tunnel->rx.ctrl))
        return rc;
    while ((rc = idts_ring_peek(&tunnel->rx, record)) == 1 && record->type == IDTS_RECORD_MOVE) {
        if (tunnel->state != IDTS_TUNNEL_OPEN)
            return tunnel->error;
        rc = tunnel->role == IDTS_TUNNEL_CREATOR ? finish_move(tunnel, record)
                                                 : follow_move(tunnel, record);
        if (rc <= 0)
            break;
    }
    if (rc < 0)
        return fail(tunnel, rc);
    return rc == 0 && tunnel->state == IDTS_TUNNEL_FAILED ? tunnel->error : rc;
}

int idts_tunnel_peek(struct idts_tunnel *tunnel, struct idts_record *record)
{
    int rc;

    if (tunnel->state != IDTS_TUNNEL_OPEN)
        return peek_slowly(tunnel, record);
    rc = idts_ring_peek(&tunnel->rx, record);
    if (rc == 0 || (rc == 1 && record->type == IDTS_RECORD_DATA))
        return rc;
    return peek_slowly(tunnel, record);
}

int idts_tunnel_release(struct idts_tunnel *tunnel)
{
    idts_ring_release(&tunnel->rx);
    return idts_tunnel_wake_producer(tunnel);
}

/* The events that hold now; errors surface through peek and reserve. */
static int ready(struct idts_tunnel *tunnel, unsigned events, uint32_t send_length)
{
    /* Looked at before the rings: a peer marks itself gone only after its
     * last record, so if it is gone here, all it sent is visible below. */
    int status = usable(tunnel) ? 0 : peer_status(tunnel, 0);
    struct idts_record record;
    int rc, got = 0;

    if (events & IDTS_WAIT_RECV) {
        rc = idts_tunnel_peek(tunnel, &record);
        if (rc < 0)
            return rc;
        if (rc > 0)
            got |= IDTS_WAIT_RECV;
    }
    if (events & IDTS_WAIT_SEND) {
        /* A failed tunnel still delivers what the peer left: report that first. */
        rc = usable(tunnel);
        if (rc)
            return got ? got : rc;
        if (idts_ring_writable(&tunnel->tx, send_length))
            got |= IDTS_WAIT_SEND;
        else if (tunnel->tx.error)
            return fail(tunnel, tunnel->tx.error);
    }
    if (!got && status)
        return fail(tunnel, status);
    return got;
}

static int spin(struct idts_tunnel *tunnel, unsigned events, uint32_t send_length)
{
    int64_t until = now_ns() + tunnel->spin_ns;
    int rc, i;

    do {
        for (i = 0; i < 64; i++) {
            rc = ready(tunnel, events, send_length);
            if (rc)
                return rc;
            cpu_relax();
        }
    } while (now_ns() < until);
    return 0;
}

static int remaining_ms(int64_t deadline)
{
    int64_t left;

    if (deadline < 0)
        return -1;
    left = deadline - now_ns();
    return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/* Ask the peer to wake us for the events, then look once more: the order
 * that loses no wake-up (idts_abi.h, "Notification"). */
int idts_tunnel_arm(struct idts_tunnel *tunnel, unsigned events, uint32_t send_length)
{
    if (tunnel->polls)
        return -EINVAL;
    if (events & IDTS_WAIT_RECV)
        idts_ring_ask_data(&tunnel->rx);
    if (events & IDTS_WAIT_SEND)
        idts_ring_ask_space(&tunnel->tx);
    return ready(tunnel, events, send_length);
}

int idts_tunnel_check(struct idts_tunnel *tunnel)
{
    struct idts_backend *backend = tunnel->backend;
    int rc = usable(tunnel);

    if (rc)
        return rc;
    if (!header_intact(tunnel))
        return fail(tunnel, -EPROTO);
    /* An offer the peer's inbox could not take at once goes now (shm). */
    if (tunnel->moving)
        (void)backend->ops->accept(backend, &tunnel->link);
    rc = peer_status(tunnel, backend->ops->check(peer_link(tunnel)) == -EPIPE);
    return rc ? fail(tunnel, rc) : 0;
}

int idts_tunnel_links(struct idts_tunnel *tunnel, struct idts_link **links)
{
    links[0] = &tunnel->link;
    links[1] = &tunnel->old;
    return tunnel->moving ? 2 : 1;
}

int idts_tunnel_sleep(struct idts_backend *backend, const struct idts_wait *waits, int n,
                      int timeout_ms)
{
    struct idts_link **links = calloc(2 * (size_t)n + 1, sizeof(*links));
    int i, count = 0, rc = 0;

    for (i = 0; links && rc == 0 && i < n; i++) {
        rc = idts_tunnel_arm(waits[i].tunnel, waits[i].events, waits[i].send_length);
        count += idts_tunnel_links(waits[i].tunnel, links + count);
    }
    if (!links || rc) {
        free(links);
        return 1;
    }
    rc = backend->ops->wait(backend, links, count, timeout_ms);
    free(links);
    /* A peer the backend saw go would wake every sleep: fail its tunnel. */
    for (i = 0; rc == -EPIPE && i < n; i++)
        (void)idts_tunnel_check(waits[i].tunnel);
    return rc == -ETIMEDOUT ? 0 : 1;
}

int idts_tunnel_wait(struct idts_tunnel *tunnel, unsigned events, uint32_t send_length,
                     int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : now_ns() + (int64_t)timeout_ms * 1000000;
    int64_t next_check = now_ns() + (int64_t)IDTS_TUNNEL_CHECK_MS * 1000000;
    struct idts_link *links[2];
    int rc = usable(tunnel), left;

    if (rc && !departed(rc))
        return rc;
    rc = spin(tunnel, events, send_length);
    while (rc == 0) {
        left = remaining_ms(deadline);
        if (left == 0)
            return 0;
        rc = idts_tunnel_arm(tunnel, events, send_length);
        if (rc)
            break;
        if (left < 0 || left > IDTS_TUNNEL_CHECK_MS)
            left = IDTS_TUNNEL_CHECK_MS;
        rc = tunnel->backend->ops->wait(tunnel->backend, links, idts_tunnel_links(tunnel, links),
                                        left);
        if (rc && rc != -ETIMEDOUT && rc != -EPIPE)
            return fail(tunnel, rc);
        /* Look for the peer when the backend saw it go, and every CHECK_MS;
         * one found gone may have left records: ready() says so first. */
        if (rc == -EPIPE || now_ns() >= next_check) {
            next_check = now_ns() + (int64_t)IDTS_TUNNEL_CHECK_MS * 1000000;
            if (idts_tunnel_check(tunnel)) {
                rc = ready(tunnel, events, send_length);
                continue;
            }
        }
        rc = 0;
    }
    return rc;
}

uint32_t idts_tunnel_ring_size(const struct idts_tunnel *tunnel)
{
    return tunnel->tx.size;
}

void idts_tunnel_close(struct idts_tunnel *tunnel)
{
    /* A creator still waiting says so too: on xen an attacher may have
     * mapped the region without the creator having looked yet. */
    if (tunnel->moving)
        leave_region(tunnel, &tunnel->old);
    leave_region(tunnel, &tunnel->link);
    tunnel->moving = 0;
    tunnel->state = IDTS_TUNNEL_CLOSED;
}
