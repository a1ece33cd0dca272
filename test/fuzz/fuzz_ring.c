/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Fuzz target "ring": our consumer view of the ring a peer produces and our
 * producer view of the ring it consumes (common/idts_ring.c), interleaved
 * with what the peer does to both (fuzz_peer.h). Each ring's control and
 * data are heap blocks of exactly their size, so ASan sees any access
 * outside them. Beyond the peer's checks: a broken ring stays broken, only a
 * peer that wrote garbage breaks one, and the calls agree with each other.
 */
#include "fuzz_peer.h"
#include "idts_ring.h"

#include <errno.h>

struct ring_memory {
    struct idts_ring_ctrl *ctrl;
    uint8_t *data;
};

struct ring_pair {
    struct ring_memory to_us, to_peer;
    struct idts_ring rx, tx;
    struct fuzz_peer peer;
    int peeked, reserved;
    uint32_t reserved_length;
};

static void ring_memory_init(struct ring_memory *m, uint32_t size, uint32_t start, uint8_t stale)
{
    m->ctrl = calloc(1, sizeof(*m->ctrl));
    m->data = malloc(size);
    fuzz_check(m->ctrl && m->data, "out of memory");
    /* As if `start` bytes had gone through: stale bytes, an end marker. */
    memset(m->data, stale, size);
    memset(m->data + (start & (size - 1)), 0, IDTS_RECORD_HEADER_SIZE);
    m->ctrl->cons = start;
}

static void ring_memory_free(struct ring_memory *m)
{
    free(m->ctrl);
    free(m->data);
}

static void pair_init(struct ring_pair *p, struct fuzz_input *in)
{
    uint32_t size = IDTS_RING_MIN_SIZE << (fuzz_u8(in) % 5);
    uint32_t start = fuzz_u32(in) & ~(IDTS_RECORD_ALIGN - 1);
    uint8_t stale = fuzz_u8(in);
    uint16_t seq = fuzz_u16(in);

    ring_memory_init(&p->to_us, size, start, stale);
    ring_memory_init(&p->to_peer, size, start, stale);
    idts_ring_init(&p->rx, p->to_us.ctrl, p->to_us.data, size);
    idts_ring_init(&p->tx, p->to_peer.ctrl, p->to_peer.data, size);
    p->rx.head = p->tx.head = p->tx.peer = start;
    p->rx.seq = p->tx.seq = seq;
    fuzz_peer_init(&p->peer, p->to_us.ctrl, p->to_us.data, p->to_peer.ctrl, p->to_peer.data, size,
                   start, seq);
    p->peer.our_rx = &p->rx;
    p->peer.our_tx = &p->tx;
    fuzz_peer_add_area(&p->peer, p->to_us.ctrl, sizeof(*p->to_us.ctrl));
    fuzz_peer_add_area(&p->peer, p->to_us.data, size);
    fuzz_peer_add_area(&p->peer, p->to_peer.ctrl, sizeof(*p->to_peer.ctrl));
    fuzz_peer_add_area(&p->peer, p->to_peer.data, size);
    p->peeked = p->reserved = 0;
}

static void peek(struct ring_pair *p)
{
    const struct fuzz_ring *ring = &p->peer.to_us;
    struct idts_record record, again;
    int broken = p->rx.error != 0, rc = idts_ring_peek(&p->rx, &record);

    fuzz_check(rc == 1 || rc == 0 || rc == -EPROTO, "peek returned %d", rc);
    fuzz_check(!broken || rc == -EPROTO, "a broken ring gave %d", rc);
    fuzz_check(rc != -EPROTO || (ring->tainted && p->rx.error == -EPROTO),
               "an honest producer broke the ring");
    fuzz_check(rc != 0 || ring->tainted || ring->flight.count == 0,
               "%u committed records are not visible", ring->flight.count);
    if (rc != 1)
        return;
    fuzz_check_received(&p->peer, &record);
    fuzz_check(idts_ring_peek(&p->rx, &again) == 1 && again.data == record.data &&
                   again.length == record.length && again.tag == record.tag,
               "peeking again gave another record");
    p->peeked = 1;
}

static void release(struct ring_pair *p)
{
    if (!p->peeked)
        return;
    idts_ring_release(&p->rx);
    fuzz_released(&p->peer);
    p->peeked = 0;
    fuzz_check(p->to_us.ctrl->cons == p->rx.head, "cons %u published, position %u",
               p->to_us.ctrl->cons, p->rx.head);
}

/* A reservation of `length` returned rc: is that an answer the ring may give? */
static void check_reserve(struct ring_pair *p, uint32_t length, int rc, int broken)
{
    const struct fuzz_ring *ring = &p->peer.to_peer;
    uint32_t max = idts_ring_max_payload(ring->size);

    fuzz_check(rc == 0 || rc == -EAGAIN || rc == -EMSGSIZE || rc == -EPROTO, "reserve returned %d",
               rc);
    fuzz_check(!broken || rc == -EPROTO, "a broken ring gave %d", rc);
    fuzz_check(rc != -EPROTO || ring->tainted, "an honest consumer broke the ring");
    fuzz_check((rc == -EMSGSIZE) == (length > max && rc != -EPROTO), "length %u, max %u: %d",
               length, max, rc);
    fuzz_check(rc != -EAGAIN || !fuzz_drained(ring), "a drained ring has no room for %u", length);
}

static void reserve(struct ring_pair *p, uint32_t length)
{
    void *payload;
    int broken = p->tx.error != 0, rc = idts_ring_reserve(&p->tx, length, &payload);

    check_reserve(p, length, rc, broken);
    if (rc != 0)
        return;
    fuzz_check_reserved(&p->peer, payload, length);
    p->reserved = 1;
    p->reserved_length = length;
}

static void commit(struct ring_pair *p, uint32_t length, uint8_t tag)
{
    if (!p->reserved)
        return;
    if (length > p->reserved_length)
        length = p->reserved_length;
    idts_ring_commit(&p->tx, IDTS_RECORD_DATA, tag, length);
    fuzz_committed(&p->peer, length, tag);
    p->reserved = 0;
}

/* writable() and reserve() must agree. */
static void writable(struct ring_pair *p, uint32_t length)
{
    const struct fuzz_ring *ring = &p->peer.to_peer;

    if (idts_ring_writable(&p->tx, length)) {
        reserve(p, length);
        fuzz_check(p->reserved && p->reserved_length == length, "writable, but reserve failed");
    } else {
        fuzz_check(!fuzz_drained(ring) || length > idts_ring_max_payload(ring->size),
                   "a drained ring is not writable for %u", length);
    }
}

/* empty() is right: peek finds nothing either. */
static void empty(struct ring_pair *p)
{
    struct idts_record record;

    if (idts_ring_empty(&p->rx))
        fuzz_check(idts_ring_peek(&p->rx, &record) == 0, "empty, but peek found something");
}

/* One end asks to be woken, the other takes the request once. */
static void wake(struct ring_pair *p, uint8_t which)
{
    int ours = which & 1, data = which & 2;
    struct idts_ring *asker = ours ? (data ? &p->rx : &p->tx) : (data ? &p->peer.in : &p->peer.out);
    struct idts_ring *taker = ours ? (data ? &p->peer.out : &p->peer.in) : (data ? &p->tx : &p->rx);
    const struct fuzz_ring *ring =
        asker->ctrl == p->peer.to_us.ctrl ? &p->peer.to_us : &p->peer.to_peer;
    int first, second;

    if (data)
        idts_ring_ask_data(asker);
    else
        idts_ring_ask_space(asker);
    first = data ? idts_ring_take_data_request(taker) : idts_ring_take_space_request(taker);
    second = data ? idts_ring_take_data_request(taker) : idts_ring_take_space_request(taker);
    fuzz_check(ring->tainted || (first && !second), "a wake-up request taken %d then %d", first,
               second);
}

static void run(struct ring_pair *p, unsigned op, struct fuzz_input *in)
{
    uint32_t length;

    switch (op) {
    case RING_PEEK:
        peek(p);
        break;
    case RING_RELEASE:
        release(p);
        break;
    case RING_RESERVE:
        reserve(p, fuzz_u32(in));
        break;
    case RING_COMMIT:
        length = fuzz_u16(in);
        commit(p, length, fuzz_u8(in));
        break;
    case RING_WRITABLE:
        writable(p, fuzz_u32(in));
        break;
    case RING_EMPTY:
        empty(p);
        break;
    case RING_WAKE:
        wake(p, fuzz_u8(in));
        break;
    default:
        fuzz_peer_run(&p->peer, op, in);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ring_pair pair; /* the peer's queues are large */
    struct fuzz_input in = {data, size};

    pair_init(&pair, &in);
    while (fuzz_more(&in))
        run(&pair, fuzz_u8(&in) % RING_OPS, &in);
    ring_memory_free(&pair.to_us);
    ring_memory_free(&pair.to_peer);
    return 0;
}
