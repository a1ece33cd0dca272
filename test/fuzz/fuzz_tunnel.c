/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Fuzz target "tunnel": a dual tunnel (common/idts_tunnel.c) over the fuzz
 * platform, as the attacher of a region a hostile creator wrote or as the
 * creator of one a hostile attacher writes into, then its data path against
 * the peer of fuzz_peer.h. Connecting must give what the ABI says of what the
 * creator wrote; afterwards every answer must be one the tunnel may give:
 * errors stick, -EPROTO comes only from a peer that wrote garbage, -EPIPE
 * only from one that is gone after closing in order and -ECONNRESET only
 * from one gone without, and records left by a peer that is gone are still
 * delivered.
 */
#include "fuzz_backend.h"
#include "fuzz_peer.h"
#include "idts_tunnel.h"

#include <errno.h>

/* Only a wait with a timeout reaches the backend's wait, and it may take
 * the whole millisecond: one per input keeps the fuzzer fast. */
#define TIMED_WAITS_MAX 1

struct harness {
    struct idts_backend be;
    struct fuzz_platform platform;
    struct idts_tunnel tunnel;
    struct fuzz_peer peer;
    int peeked, reserved;
    uint32_t reserved_length;
    int error;       /* what the tunnel failed with: it must keep saying it */
    int unformatted; /* the creator left stale bytes where the rings start */
    int timed_waits;
};

/* accept's or map's answer; wait says -ETIMEDOUT for "not yet". */
static int answer(uint8_t value, int not_yet)
{
    static const int rc[ANSWERS] = {0, -EAGAIN, -EPIPE, -EIO};

    return value % ANSWERS == ANSWER_NOT_YET ? not_yet : rc[value % ANSWERS];
}

static struct idts_ctrl *ctrl_of(struct harness *h)
{
    return h->tunnel.link.ctrl;
}

static uint8_t *peer_live(struct harness *h)
{
    struct idts_ctrl *ctrl = ctrl_of(h);

    return h->tunnel.role == IDTS_TUNNEL_CREATOR ? &ctrl->attacher_live : &ctrl->creator_live;
}

static uint8_t *peer_closed(struct harness *h)
{
    struct idts_ctrl *ctrl = ctrl_of(h);

    return h->tunnel.role == IDTS_TUNNEL_CREATOR ? &ctrl->attacher_closed : &ctrl->creator_closed;
}

/* The control page says what no honest peer would: its header is not the
 * one connecting checked, or the peer's state is not one of the ABI's. */
static int odd_ctrl(struct harness *h)
{
    const struct idts_ctrl *ctrl = ctrl_of(h);

    return ctrl->magic != IDTS_ABI_MAGIC || ctrl->version != IDTS_ABI_VERSION ||
           ctrl->ctrl_size != IDTS_CTRL_SIZE || ctrl->ring_size != h->tunnel.tx.size ||
           (*peer_live(h) != IDTS_END_LIVE && *peer_live(h) != IDTS_END_GONE);
}

/* The peer went, as its bytes or the backend say. */
static int peer_went(struct harness *h)
{
    return *peer_live(h) != IDTS_END_LIVE || h->platform.said_gone;
}

static int tainted(struct harness *h)
{
    return h->peer.to_us.tainted || h->peer.to_peer.tainted;
}

/* An error answer: the tunnel's own (sticky) one, or the first. */
static void check_error(struct harness *h, int rc)
{
    if (rc >= 0 || rc == -EAGAIN || rc == -EMSGSIZE)
        return;
    if (h->tunnel.state == IDTS_TUNNEL_CONNECTING) {
        fuzz_check(rc == -ENOTCONN, "%d before the tunnel is connected", rc);
        return;
    }
    if (h->error) {
        fuzz_check(rc == h->error, "failed with %d, then said %d", h->error, rc);
        return;
    }
    fuzz_check(rc != -EPROTO || tainted(h) || odd_ctrl(h), "-EPROTO from an honest peer");
    fuzz_check(rc != -EPIPE || (peer_went(h) && *peer_closed(h) == 1),
               "-EPIPE while the peer is live or did not close");
    fuzz_check(rc != -ECONNRESET || (peer_went(h) && *peer_closed(h) != 1),
               "-ECONNRESET while the peer is live or closed in order");
    fuzz_check(rc == -EPROTO || rc == -EPIPE || rc == -ECONNRESET || rc == -EIO,
               "unexpected error %d", rc);
    h->error = rc;
}

/* The rings as the peer sees them; ours are the tunnel's. */
static void peer_init(struct harness *h)
{
    struct idts_ctrl *ctrl = ctrl_of(h);
    uint8_t *data = h->tunnel.link.data;
    uint32_t size = h->tunnel.rx.size;
    int in = h->tunnel.role == IDTS_TUNNEL_CREATOR; /* the ring we consume */

    fuzz_peer_init(&h->peer, &ctrl->ring[in], data + (size_t)in * size, &ctrl->ring[!in],
                   data + (size_t)!in * size, size, 0, 0);
    h->peer.our_rx = &h->tunnel.rx;
    h->peer.our_tx = &h->tunnel.tx;
    fuzz_peer_add_area(&h->peer, ctrl, IDTS_CTRL_SIZE);
    fuzz_peer_add_area(&h->peer, data, h->tunnel.link.data_size);
}

/* Connecting as the creator: the attacher's live byte decides. */
static void connect_creator(struct harness *h, struct fuzz_input *in, uint32_t size)
{
    unsigned tries = fuzz_u8(in) % 4 + 1;
    int rc = idts_tunnel_create(&h->tunnel, &h->be, "fuzz", "fuzz", "fuzz", size), decided = 0;
    uint8_t live;

    fuzz_check(rc == 0, "create failed: %d", rc);
    while (tries-- > 0) {
        h->platform.accept_rc = answer(fuzz_u8(in), -EAGAIN);
        live = ctrl_of(h)->attacher_live = fuzz_u8(in);
        rc = idts_tunnel_connect(&h->tunnel);
        if (decided) {
            fuzz_check(rc == decided || (decided == 1 && rc == 0), "decided %d, then %d", decided,
                       rc);
            continue;
        }
        fuzz_check(rc != 0 || live == IDTS_END_LIVE || live == IDTS_END_GONE,
                   "open while the attacher's live byte is %u", live);
        fuzz_check(rc != -EPROTO || live > IDTS_END_WAITING, "-EPROTO for live byte %u", live);
        fuzz_check(rc == 0 || rc == -EAGAIN || rc == -EPROTO || rc == h->platform.accept_rc,
                   "connect returned %d", rc);
        if (rc != -EAGAIN)
            decided = rc == 0 ? 1 : rc;
    }
    h->error = decided < 0 ? decided : 0;
}

static int ring_size_valid(uint32_t size)
{
    return size >= IDTS_RING_MIN_SIZE && size <= IDTS_RING_MAX_SIZE && (size & (size - 1)) == 0;
}

/* What an attacher must answer to the page a creator published (see
 * idts_abi.h): 1 when fields that must be zero are not, where either
 * answer is right. */
static int verdict(const struct fuzz_platform *platform)
{
    const struct idts_ctrl *c = (const struct idts_ctrl *)platform->offer_ctrl;
    int i, unclean = c->reserved != 0;

    if (c->creator_live == IDTS_END_GONE)
        return -EPIPE;
    if (c->magic != IDTS_ABI_MAGIC || c->version != IDTS_ABI_VERSION ||
        c->ctrl_size != IDTS_CTRL_SIZE || !ring_size_valid(c->ring_size) ||
        platform->offer_data_size != 2 * (size_t)c->ring_size || c->creator_live != IDTS_END_LIVE ||
        c->attacher_live != IDTS_END_WAITING || c->creator_closed != 0 || c->attacher_closed != 0)
        return -EPROTO;
    for (i = 0; i < 2; i++) {
        if (c->ring[i].reserved != 0 || c->ring[i].cons != 0)
            return -EPROTO;
        unclean |= c->ring[i].consumer_waiting || c->ring[i].producer_waiting;
    }
    return unclean;
}

/* The region the creator published, from the input. */
static void write_offer(struct harness *h, struct fuzz_input *in, uint32_t size)
{
    struct fuzz_platform *platform = &h->platform;
    unsigned pokes;

    fuzz_platform_offer(platform, &h->be, size);
    platform->offer_fill = fuzz_u8(in);
    if (fuzz_u8(in))
        platform->offer_data_size = fuzz_u32(in) % (2 * FUZZ_RING_MAX + 1);
    for (pokes = fuzz_u8(in) % 16; pokes > 0; pokes--) {
        size_t offset = fuzz_u16(in) % IDTS_CTRL_SIZE, n = fuzz_u8(in);

        if (n > IDTS_CTRL_SIZE - offset)
            n = IDTS_CTRL_SIZE - offset;
        fuzz_bytes(in, platform->offer_ctrl + offset, n);
    }
}

/* The creator formats both rings before it publishes: an end marker at
 * offset 0 of each, where nothing has read yet. */
static void format_rings(struct harness *h)
{
    uint8_t *data = h->tunnel.link.data;

    memset(data, 0, IDTS_RECORD_HEADER_SIZE);
    memset(data + h->tunnel.rx.size, 0, IDTS_RECORD_HEADER_SIZE);
}

static void connect_attacher(struct harness *h, struct fuzz_input *in, uint32_t size)
{
    int map_rc = answer(fuzz_u8(in), -EAGAIN), expected, rc;

    write_offer(h, in, size);
    h->unformatted = fuzz_u8(in) & 1 && h->platform.offer_fill != 0;
    expected = verdict(&h->platform);
    h->platform.map_rc = map_rc;
    rc = idts_tunnel_attach(&h->tunnel, &h->be, "fuzz", "fuzz");
    fuzz_check(rc == 0, "attach failed: %d", rc);
    rc = idts_tunnel_connect(&h->tunnel);
    if (rc == -EAGAIN && map_rc == -EAGAIN) {
        h->platform.map_rc = 0;
        rc = idts_tunnel_connect(&h->tunnel);
    } else if (map_rc) {
        fuzz_check(rc == map_rc, "map said %d, connect %d", map_rc, rc);
        h->error = rc;
        return;
    }
    fuzz_check(rc == expected || (expected == 1 && (rc == 0 || rc == -EPROTO)),
               "a control page that calls for %d: connect returned %d", expected, rc);
    h->error = rc;
    if (rc != 0)
        return;
    fuzz_check(ctrl_of(h)->attacher_live == IDTS_END_LIVE && h->platform.notified == 1,
               "connected without saying so to the creator");
    if (!h->unformatted)
        format_rings(h);
}

static void peek(struct harness *h)
{
    const struct fuzz_ring *ring = &h->peer.to_us;
    struct idts_record record;
    int rc = idts_tunnel_peek(&h->tunnel, &record);

    check_error(h, rc);
    fuzz_check(rc != 0 || ring->tainted || ring->flight.count == 0,
               "%u records sent are not visible", ring->flight.count);
    fuzz_check((rc != -EPIPE && rc != -ECONNRESET) || ring->tainted || ring->flight.count == 0,
               "%d with %u records left to deliver", rc, ring->flight.count);
    if (rc != 1)
        return;
    fuzz_check(!h->error || h->error == -EPIPE || h->error == -ECONNRESET, "a record after %d",
               h->error);
    fuzz_check_received(&h->peer, &record);
    h->peeked = 1;
}

static void release(struct harness *h)
{
    if (!h->peeked)
        return;
    fuzz_check(idts_tunnel_release(&h->tunnel) == 0, "release failed");
    fuzz_released(&h->peer);
    h->peeked = 0;
}

static void check_reserve(struct harness *h, uint32_t length, int rc)
{
    const struct fuzz_ring *ring = &h->peer.to_peer;
    int usable = h->tunnel.state == IDTS_TUNNEL_OPEN || rc == 0;

    check_error(h, rc);
    fuzz_check(!usable || (rc == -EMSGSIZE) == (length > idts_tunnel_max_payload(&h->tunnel)),
               "length %u, max %u: %d", length, idts_tunnel_max_payload(&h->tunnel), rc);
    fuzz_check(rc != -EAGAIN || !fuzz_drained(ring), "a drained ring has no room for %u", length);
}

static void reserve(struct harness *h, uint32_t length)
{
    void *payload;
    int rc = idts_tunnel_reserve(&h->tunnel, length, &payload);

    check_reserve(h, length, rc);
    if (rc != 0)
        return;
    fuzz_check_reserved(&h->peer, payload, length);
    h->reserved = 1;
    h->reserved_length = length;
}

static void commit(struct harness *h, uint32_t length, uint8_t tag)
{
    if (!h->reserved)
        return;
    if (length > h->reserved_length)
        length = h->reserved_length;
    fuzz_check(idts_tunnel_commit(&h->tunnel, tag, length) == 0, "commit failed");
    fuzz_committed(&h->peer, length, tag);
    h->reserved = 0;
}

static void send(struct harness *h, uint32_t length, uint8_t tag)
{
    static uint8_t payload[UINT16_MAX];
    int rc;

    h->reserved = 0; /* a reservation may be given up */
    fuzz_next_payload(&h->peer, payload, length);
    rc = idts_tunnel_send(&h->tunnel, tag, payload, length);
    check_reserve(h, length, rc);
    if (rc == 0)
        fuzz_committed(&h->peer, length, tag);
}

/* What wait says holds must hold. */
static void wait_for(struct harness *h, struct fuzz_input *in)
{
    unsigned events = fuzz_u8(in) & (IDTS_WAIT_RECV | IDTS_WAIT_SEND);
    uint32_t length = fuzz_u16(in);
    int timeout_ms = fuzz_u8(in) & 1 && h->timed_waits < TIMED_WAITS_MAX, rc;

    h->platform.wait_rc = answer(fuzz_u8(in), -ETIMEDOUT);
    h->timed_waits += timeout_ms;
    rc = idts_tunnel_wait(&h->tunnel, events, length, timeout_ms);
    if (rc < 0) {
        fuzz_check(rc != -EIO || (timeout_ms && h->platform.wait_rc == -EIO) || h->error == -EIO,
                   "-EIO from nowhere");
        check_error(h, rc);
        return;
    }
    fuzz_check((rc & ~events) == 0, "events %u for %u", rc, events);
    if (rc & IDTS_WAIT_RECV) {
        peek(h);
        fuzz_check(h->peeked, "ready to receive, but nothing there");
    }
    if (rc & IDTS_WAIT_SEND) {
        reserve(h, length);
        fuzz_check(h->reserved, "ready to send, but no room for %u", length);
    }
}

/* idle() is right: peek finds nothing either. */
static void idle(struct harness *h)
{
    struct idts_record record;

    if (idts_tunnel_idle(&h->tunnel))
        fuzz_check(idts_tunnel_peek(&h->tunnel, &record) == 0, "idle, but peek found something");
}

static void run(struct harness *h, unsigned op, struct fuzz_input *in)
{
    uint32_t length;

    switch (op) {
    case TUNNEL_PEEK:
        peek(h);
        break;
    case TUNNEL_RELEASE:
        release(h);
        break;
    case TUNNEL_RESERVE:
        reserve(h, fuzz_u32(in));
        break;
    case TUNNEL_COMMIT:
        length = fuzz_u16(in);
        commit(h, length, fuzz_u8(in));
        break;
    case TUNNEL_SEND:
        length = fuzz_u16(in);
        send(h, length, fuzz_u8(in));
        break;
    case TUNNEL_WAIT:
        wait_for(h, in);
        break;
    case TUNNEL_IDLE:
        idle(h);
        break;
    case TUNNEL_PEER_LIVE:
        *peer_live(h) = fuzz_u8(in);
        break;
    case TUNNEL_CHECK:
        h->platform.check_rc = answer(fuzz_u8(in), 0);
        check_error(h, idts_tunnel_check(&h->tunnel));
        break;
    case TUNNEL_PEER_CLOSED:
        *peer_closed(h) = fuzz_u8(in);
        break;
    default:
        fuzz_peer_run(&h->peer, op, in);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct harness h; /* the peer's queues are large */
    struct fuzz_input in = {data, size};
    uint8_t setup = fuzz_u8(&in);
    uint32_t ring_size = IDTS_RING_MIN_SIZE << (setup >> 1) % 3;

    memset(&h, 0, sizeof(h));
    fuzz_backend_open(&h.be, &h.platform);
    if (setup & 1)
        connect_attacher(&h, &in, ring_size);
    else
        connect_creator(&h, &in, ring_size);
    if (h.tunnel.link.ctrl && h.tunnel.rx.size) {
        h.tunnel.spin_ns = 0; /* wait's spinning would only cost time here */
        peer_init(&h);
        h.peer.to_us.tainted = h.peer.to_peer.tainted = h.unformatted;
        while (fuzz_more(&in))
            run(&h, fuzz_u8(&in) % TUNNEL_OPS, &in);
    }
    idts_tunnel_close(&h.tunnel);
    return 0;
}
