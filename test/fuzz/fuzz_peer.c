/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */

#include "fuzz_peer.h"

#include <errno.h>

const uint8_t *fuzz_pattern(uint32_t number)
{
    static uint8_t table[UINT8_MAX + 1 + FUZZ_PATTERN_MAX];
    size_t i;

    if (table[0] == 0)
        for (i = 0; i < sizeof(table); i++)
            table[i] = (uint8_t)(7 * i + 1);
    return table + (number * 151u & UINT8_MAX);
}

static void fill_pattern(uint8_t *payload, uint32_t length, uint32_t number)
{
    memcpy(payload, fuzz_pattern(number), length);
}

static int pattern_intact(const uint8_t *payload, uint32_t length, uint32_t number)
{
    return memcmp(payload, fuzz_pattern(number), length) == 0;
}

static void queue_push(struct fuzz_queue *q, uint32_t length, uint8_t tag)
{
    uint32_t slot = (q->first + q->count) % FUZZ_QUEUE_SIZE;

    fuzz_check(q->count < FUZZ_QUEUE_SIZE, "more records in flight than a ring holds");
    q->length[slot] = length;
    q->tag[slot] = tag;
    q->number[slot] = q->next_number;
    q->count++;
}

static void queue_pop(struct fuzz_queue *q)
{
    q->first = (q->first + 1) % FUZZ_QUEUE_SIZE;
    q->count--;
}

/* Checks that hold whatever the peer wrote: the record lies in the ring,
 * after its header, aligned, within the largest payload. */
static void check_bounds(const struct fuzz_ring *ring, const uint8_t *payload, uint32_t length)
{
    const uint8_t *end = ring->data + ring->size;

    fuzz_check(payload >= ring->data + IDTS_RECORD_HEADER_SIZE && payload <= end &&
                   length <= (size_t)(end - payload),
               "%u bytes at ring offset %td, outside the ring of %u bytes", length,
               payload - ring->data, ring->size);
    fuzz_check((payload - ring->data) % IDTS_RECORD_ALIGN == 0, "unaligned record at %td",
               payload - ring->data);
    fuzz_check(length <= idts_ring_max_payload(ring->size), "length %u over the maximum %u", length,
               idts_ring_max_payload(ring->size));
}

/* While the ring is honest: the record is the oldest one in flight, intact. */
static void check_in_order(const struct fuzz_ring *ring, const struct idts_record *record)
{
    const struct fuzz_queue *q = &ring->flight;

    if (ring->tainted || ring->untracked)
        return;
    fuzz_check(q->count > 0, "a record nobody sent");
    fuzz_check(record->length == q->length[q->first] && record->tag == q->tag[q->first] &&
                   pattern_intact(record->data, record->length, q->number[q->first]),
               "record %u (length %u tag %u) arrived as length %u tag %u or with other bytes",
               q->number[q->first], q->length[q->first], q->tag[q->first], record->length,
               record->tag);
}

void fuzz_peer_init(struct fuzz_peer *peer, struct idts_ring_ctrl *to_us_ctrl, uint8_t *to_us_data,
                    struct idts_ring_ctrl *to_peer_ctrl, uint8_t *to_peer_data, uint32_t size,
                    uint32_t start, uint16_t seq)
{
    memset(peer, 0, sizeof(*peer));
    peer->to_us = (struct fuzz_ring){.ctrl = to_us_ctrl, .data = to_us_data, .size = size};
    peer->to_peer = (struct fuzz_ring){.ctrl = to_peer_ctrl, .data = to_peer_data, .size = size};
    idts_ring_init(&peer->out, to_us_ctrl, to_us_data, size);
    idts_ring_init(&peer->in, to_peer_ctrl, to_peer_data, size);
    peer->out.head = peer->out.peer = peer->in.head = start;
    peer->out.seq = peer->in.seq = seq;
}

void fuzz_peer_add_area(struct fuzz_peer *peer, void *base, size_t size)
{
    fuzz_check(peer->areas < sizeof(peer->area) / sizeof(peer->area[0]), "too many areas");
    peer->area[peer->areas].base = base;
    peer->area[peer->areas].size = size;
    peer->areas++;
}

int fuzz_drained(const struct fuzz_ring *ring)
{
    return !ring->tainted && !ring->untracked && ring->flight.count == 0;
}

/* An honest send: the real producer code on the peer's side. */
static void peer_send(struct fuzz_peer *peer, struct fuzz_input *in)
{
    struct fuzz_ring *ring = &peer->to_us;
    uint32_t length = fuzz_u16(in), max = idts_ring_max_payload(ring->size);
    uint8_t tag = fuzz_u8(in);
    void *payload;
    int rc = idts_ring_reserve(&peer->out, length, &payload);

    if (rc == 0) {
        fill_pattern(payload, length, ring->flight.next_number);
        idts_ring_commit(&peer->out, IDTS_RECORD_DATA, tag, length);
        if (!ring->tainted && !ring->untracked)
            queue_push(&ring->flight, length, tag);
        ring->flight.next_number++;
        return;
    }
    fuzz_check(rc == -EAGAIN || rc == -EMSGSIZE || rc == -EPROTO, "reserve returned %d", rc);
    fuzz_check(rc != -EMSGSIZE || length > max, "%u bytes refused as too large", length);
    fuzz_check(rc != -EPROTO || ring->tainted, "an honest consumer broke the ring");
    fuzz_check(rc != -EAGAIN || !fuzz_drained(ring) || length > max,
               "a drained ring of %u bytes has no room for %u", ring->size, length);
}

/* An honest receive: the real consumer code on the peer's side. */
static void peer_receive(struct fuzz_peer *peer)
{
    struct fuzz_ring *ring = &peer->to_peer;
    struct idts_record record;
    int rc = idts_ring_peek(&peer->in, &record);

    fuzz_check(rc == 1 || rc == 0 || rc == -EPROTO, "peek returned %d", rc);
    fuzz_check(rc != -EPROTO || ring->tainted, "an honest producer broke the ring");
    fuzz_check(rc != 0 || ring->tainted || ring->flight.count == 0,
               "%u committed records are not visible", ring->flight.count);
    if (rc != 1)
        return;
    check_bounds(ring, record.data, record.length);
    check_in_order(ring, &record);
    if (peer->received)
        peer->received(&record);
    idts_ring_release(&peer->in);
    if (!ring->tainted && !ring->untracked)
        queue_pop(&ring->flight);
}

static int overlaps(const uint8_t *at, size_t n, const void *base, size_t size)
{
    const uint8_t *b = base;

    return n > 0 && at < b + size && b < at + n;
}

/* Whatever the peer writes into a ring's memory, honest rules no longer
 * bind that ring. */
static void taint(struct fuzz_ring *ring, const uint8_t *at, size_t n)
{
    if (overlaps(at, n, ring->ctrl, sizeof(*ring->ctrl)) || overlaps(at, n, ring->data, ring->size))
        ring->tainted = 1;
}

static void write_shared(struct fuzz_peer *peer, uint8_t *at, const void *bytes, size_t n)
{
    memcpy(at, bytes, n);
    taint(&peer->to_us, at, n);
    taint(&peer->to_peer, at, n);
}

/* Any bytes anywhere in the shared memory. */
static void poke(struct fuzz_peer *peer, struct fuzz_input *in)
{
    unsigned which = fuzz_u8(in) % peer->areas;
    size_t size = peer->area[which].size, offset = fuzz_u32(in) % size, n = fuzz_u8(in);
    uint8_t bytes[UINT8_MAX];

    if (n > size - offset)
        n = size - offset;
    fuzz_bytes(in, bytes, n);
    write_shared(peer, peer->area[which].base + offset, bytes, n);
}

/* A header where our consumer will look: at its position, the next slots,
 * offset 0 (where a PAD leads), or where the peer's producer is. Flags make
 * the plausible values, which take the consumer's checks one by one, easy. */
#define HEADER_PAD_TO_END  0x10u /* length: to the end of the ring */
#define HEADER_NEXT_SEQ    0x20u /* seq: the one our consumer expects */
#define HEADER_KNOWN_TYPE  0x40u /* type: DATA or PAD */
#define HEADER_WHERE_SLOTS 0x0fu

static void write_header(struct fuzz_peer *peer, struct fuzz_input *in)
{
    struct fuzz_ring *ring = &peer->to_us;
    uint8_t how = fuzz_u8(in);
    struct idts_record_header header = {
        .length = fuzz_u32(in), .seq = fuzz_u16(in), .type = fuzz_u8(in), .tag = fuzz_u8(in)};
    uint32_t slots = how & HEADER_WHERE_SLOTS, at;

    if (slots == 0)
        at = 0;
    else if (slots == 1)
        at = peer->out.head;
    else
        at = peer->our_rx->head + (slots - 2) * IDTS_RECORD_ALIGN;
    at &= ring->size - 1;
    if (how & HEADER_PAD_TO_END)
        header.length = ring->size - at - IDTS_RECORD_HEADER_SIZE;
    if (how & HEADER_NEXT_SEQ)
        header.seq = peer->our_rx->seq;
    if (how & HEADER_KNOWN_TYPE)
        header.type = header.type & 1 ? IDTS_RECORD_PAD : IDTS_RECORD_DATA;
    write_shared(peer, ring->data + at, &header, sizeof(header));
}

/* The consumer index of the ring we produce: behind, ahead of or far from
 * our producer's position. */
static void write_cons(struct fuzz_peer *peer, struct fuzz_input *in)
{
    uint8_t how = fuzz_u8(in);
    uint32_t value = fuzz_u32(in), head = peer->our_tx->head;
    uint32_t cons = how % 3 == 0 ? head - value : how % 3 == 1 ? head + value : value;

    write_shared(peer, (uint8_t *)&peer->to_peer.ctrl->cons, &cons, sizeof(cons));
}

void fuzz_check_received(struct fuzz_peer *peer, const struct idts_record *record)
{
    check_bounds(&peer->to_us, record->data, record->length);
    check_in_order(&peer->to_us, record);
}

void fuzz_released(struct fuzz_peer *peer)
{
    if (!peer->to_us.tainted && !peer->to_us.untracked)
        queue_pop(&peer->to_us.flight);
}

void fuzz_check_reserved(struct fuzz_peer *peer, void *payload, uint32_t length)
{
    struct fuzz_ring *ring = &peer->to_peer;
    uint8_t *header = (uint8_t *)payload - IDTS_RECORD_HEADER_SIZE;
    uint32_t head = peer->our_tx->head, pad, end;

    check_bounds(ring, payload, length);
    /* The PAD before the record, the record and the end marker after it
     * must be free: released by the (honest) peer. */
    pad = ((uint32_t)(header - ring->data) - head) & (ring->size - 1);
    end = head + pad + idts_ring_record_bytes(length) + IDTS_RECORD_HEADER_SIZE;
    fuzz_check(ring->tainted || end - ring->ctrl->cons <= ring->size,
               "a record of %u bytes at %u would overwrite unread bytes (cons %u)", length, head,
               ring->ctrl->cons);
    fuzz_next_payload(peer, payload, length);
}

void fuzz_next_payload(const struct fuzz_peer *peer, uint8_t *payload, uint32_t length)
{
    fill_pattern(payload, length, peer->to_peer.flight.next_number);
}

void fuzz_committed(struct fuzz_peer *peer, uint32_t length, uint8_t tag)
{
    struct fuzz_ring *ring = &peer->to_peer;

    if (!ring->tainted && !ring->untracked)
        queue_push(&ring->flight, length, tag);
    ring->flight.next_number++;
}

int fuzz_peer_run(struct fuzz_peer *peer, unsigned op, struct fuzz_input *in)
{
    switch (op) {
    case PEER_SEND:
        peer_send(peer, in);
        return 1;
    case PEER_RECEIVE:
        peer_receive(peer);
        return 1;
    case PEER_POKE:
        poke(peer, in);
        return 1;
    case PEER_HEADER:
        write_header(peer, in);
        return 1;
    case PEER_CONS:
        write_cons(peer, in);
        return 1;
    default:
        return 0;
    }
}
