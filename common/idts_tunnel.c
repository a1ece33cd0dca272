/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */

#define _GNU_SOURCE
#include "idts_tunnel.h"

#include <errno.h>
#include <stddef.h>
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

static uint8_t *live_byte(const struct idts_tunnel *tunnel, enum idts_tunnel_role role)
{
    struct idts_ctrl *ctrl = ctrl_of(tunnel);

    return role == IDTS_TUNNEL_CREATOR ? &ctrl->creator_live : &ctrl->attacher_live;
}

static void set_live(struct idts_tunnel *tunnel, uint8_t state)
{
    __atomic_store_n(live_byte(tunnel, tunnel->role), state, __ATOMIC_RELEASE);
}

static enum idts_tunnel_role peer_role(const struct idts_tunnel *tunnel)
{
    return tunnel->role == IDTS_TUNNEL_CREATOR ? IDTS_TUNNEL_ATTACHER : IDTS_TUNNEL_CREATOR;
}

static uint8_t peer_live(const struct idts_tunnel *tunnel)
{
    return __atomic_load_n(live_byte(tunnel, peer_role(tunnel)), __ATOMIC_ACQUIRE);
}

static uint8_t *closed_byte(const struct idts_tunnel *tunnel, enum idts_tunnel_role role)
{
    struct idts_ctrl *ctrl = ctrl_of(tunnel);

    return role == IDTS_TUNNEL_CREATOR ? &ctrl->creator_closed : &ctrl->attacher_closed;
}

/* What the peer's bytes say about it (idts_abi.h, "Ends"): 0 while it is
 * live, -EPIPE once it closed in order, -ECONNRESET when it died, -EPROTO
 * for a state the ABI does not have. `gone`: the backend saw it go, whatever
 * its live byte still says. */
static int peer_status(const struct idts_tunnel *tunnel, int gone)
{
    uint8_t live = peer_live(tunnel);

    if (live != IDTS_END_LIVE && live != IDTS_END_GONE)
        return -EPROTO;
    if (live == IDTS_END_LIVE && !gone)
        return 0;
    return __atomic_load_n(closed_byte(tunnel, peer_role(tunnel)), __ATOMIC_ACQUIRE) == 1
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

/* Ring i of the data area; the creator produces on 0, the attacher on 1. */
static void bind_rings(struct idts_tunnel *tunnel, uint32_t ring_size)
{
    struct idts_ctrl *ctrl = ctrl_of(tunnel);
    uint8_t *data = tunnel->link.data;
    int out = tunnel->role == IDTS_TUNNEL_CREATOR ? 0 : 1;

    idts_ring_init(&tunnel->tx, &ctrl->ring[out], data + (size_t)out * ring_size, ring_size);
    idts_ring_init(&tunnel->rx, &ctrl->ring[!out], data + (size_t)!out * ring_size, ring_size);
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

int idts_tunnel_create(struct idts_tunnel *tunnel, struct idts_backend *backend, const char *peer,
                       const char *inbox, const char *key, uint32_t ring_size)
{
    int rc = start(tunnel, backend, IDTS_TUNNEL_CREATOR, peer, key);

    if (rc == 0 && !idts_ring_size_valid(ring_size))
        rc = -EINVAL;
    if (rc == 0)
        rc = backend->ops->share(backend, peer, 2 * (size_t)ring_size, &tunnel->link);
    if (rc == 0) {
        init_ctrl(ctrl_of(tunnel), ring_size);
        bind_rings(tunnel, ring_size);
        idts_ring_format(&tunnel->tx);
        idts_ring_format(&tunnel->rx);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        rc = backend->ops->publish(backend, &tunnel->link, key, inbox);
    }
    if (rc) {
        backend->ops->unlink(backend, &tunnel->link);
        return fail(tunnel, rc);
    }
    return 0;
}

int idts_tunnel_attach(struct idts_tunnel *tunnel, struct idts_backend *backend, const char *peer,
                       const char *key)
{
    int rc = start(tunnel, backend, IDTS_TUNNEL_ATTACHER, peer, key);

    return rc ? fail(tunnel, rc) : 0;
}

/* The attacher's check of what the creator wrote: each field read once. */
static int check_ctrl(const struct idts_tunnel *tunnel)
{
    const volatile struct idts_ctrl *ctrl = ctrl_of(tunnel);
    uint32_t ring_size = ctrl->ring_size;
    uint8_t creator_live = ctrl->creator_live;
    int i;

    if (creator_live == IDTS_END_GONE)
        return -EPIPE;
    if (ctrl->magic != IDTS_ABI_MAGIC || ctrl->version != IDTS_ABI_VERSION ||
        ctrl->ctrl_size != IDTS_CTRL_SIZE || !idts_ring_size_valid(ring_size) ||
        tunnel->link.data_size != 2 * (size_t)ring_size || creator_live != IDTS_END_LIVE ||
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
    rc = check_ctrl(tunnel);
    if (rc < 0)
        return rc;
    bind_rings(tunnel, (uint32_t)rc);
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

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
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

int idts_tunnel_reserve(struct idts_tunnel *tunnel, uint32_t length, void **payload)
{
    int rc = writable(tunnel);

    return rc ? rc : full_or_gone(tunnel, idts_ring_reserve(&tunnel->tx, length, payload));
}

int idts_tunnel_commit(struct idts_tunnel *tunnel, uint8_t tag, uint32_t length)
{
    idts_ring_commit(&tunnel->tx, tag, length);
    if (idts_ring_take_data_request(&tunnel->tx))
        return tunnel->backend->ops->notify(&tunnel->link);
    return 0;
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

int idts_tunnel_peek(struct idts_tunnel *tunnel, struct idts_record *record)
{
    int rc = usable(tunnel);

    /* A peer that went away may have left records behind: deliver them. */
    if (rc && (!departed(rc) || !tunnel->rx.ctrl))
        return rc;
    rc = idts_ring_peek(&tunnel->rx, record);
    if (rc < 0)
        return fail(tunnel, rc);
    return rc == 0 && tunnel->state == IDTS_TUNNEL_FAILED ? tunnel->error : rc;
}

int idts_tunnel_release(struct idts_tunnel *tunnel)
{
    idts_ring_release(&tunnel->rx);
    if (idts_ring_take_space_request(&tunnel->rx))
        return tunnel->backend->ops->notify(&tunnel->link);
    return 0;
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
static int arm(struct idts_tunnel *tunnel, unsigned events, uint32_t send_length)
{
    if (events & IDTS_WAIT_RECV)
        idts_ring_ask_data(&tunnel->rx);
    if (events & IDTS_WAIT_SEND)
        idts_ring_ask_space(&tunnel->tx);
    return ready(tunnel, events, send_length);
}

int idts_tunnel_check(struct idts_tunnel *tunnel)
{
    int rc = usable(tunnel);

    if (rc)
        return rc;
    if (!header_intact(tunnel))
        return fail(tunnel, -EPROTO);
    rc = peer_status(tunnel, tunnel->backend->ops->check(&tunnel->link) == -EPIPE);
    return rc ? fail(tunnel, rc) : 0;
}

int idts_tunnel_sleep(struct idts_backend *backend, const struct idts_wait *waits, int n,
                      int timeout_ms)
{
    struct idts_link **links = calloc((size_t)n + 1, sizeof(*links));
    int i, rc = 0;

    for (i = 0; links && rc == 0 && i < n; i++) {
        rc = arm(waits[i].tunnel, waits[i].events, waits[i].send_length);
        links[i] = &waits[i].tunnel->link;
    }
    if (!links || rc) {
        free(links);
        return 1;
    }
    rc = backend->ops->wait(backend, links, n, timeout_ms);
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
    struct idts_link *link = &tunnel->link;
    int rc = usable(tunnel), left;

    if (rc && !departed(rc))
        return rc;
    rc = spin(tunnel, events, send_length);
    while (rc == 0) {
        left = remaining_ms(deadline);
        if (left == 0)
            return 0;
        rc = arm(tunnel, events, send_length);
        if (rc)
            break;
        if (left < 0 || left > IDTS_TUNNEL_CHECK_MS)
            left = IDTS_TUNNEL_CHECK_MS;
        rc = tunnel->backend->ops->wait(tunnel->backend, &link, 1, left);
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

void idts_tunnel_close(struct idts_tunnel *tunnel)
{
    /* A creator still waiting says so too: on xen an attacher may have
     * mapped the region without the creator having looked yet. */
    if (tunnel->link.ctrl) {
        __atomic_store_n(closed_byte(tunnel, tunnel->role), 1, __ATOMIC_RELEASE);
        set_live(tunnel, IDTS_END_GONE);
        tunnel->backend->ops->notify(&tunnel->link);
    }
    tunnel->backend->ops->unlink(tunnel->backend, &tunnel->link);
    tunnel->state = IDTS_TUNNEL_CLOSED;
}
