/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */

#include "idts_ring.h"

#include <errno.h>
#include <string.h>

static uint32_t record_bytes(uint32_t length)
{
    return IDTS_RECORD_HEADER_SIZE + ((length + IDTS_RECORD_ALIGN - 1) & ~(IDTS_RECORD_ALIGN - 1));
}

static int ring_break(struct idts_ring *ring)
{
    ring->error = -EPROTO;
    return -EPROTO;
}

int idts_ring_size_valid(uint32_t ring_size)
{
    return ring_size >= IDTS_RING_MIN_SIZE && ring_size <= IDTS_RING_MAX_SIZE &&
           (ring_size & (ring_size - 1)) == 0;
}

void idts_ring_init(struct idts_ring *ring, struct idts_ring_ctrl *ctrl, uint8_t *data,
                    uint32_t size)
{
    memset(ring, 0, sizeof(*ring));
    ring->ctrl = ctrl;
    ring->data = data;
    ring->size = size;
}

/* The header at position `at`, accessed as one 8-byte word (see idts_abi.h). */
static uint64_t *header_slot(const struct idts_ring *ring, uint32_t at)
{
    return (uint64_t *)(ring->data + (at & (ring->size - 1)));
}

static uint64_t header_word(uint32_t length, uint16_t seq, uint8_t type, uint8_t tag)
{
    struct idts_record_header header = {.length = length, .seq = seq, .type = type, .tag = tag};
    uint64_t word;

    memcpy(&word, &header, sizeof(word));
    return word;
}

void idts_ring_format(struct idts_ring *ring)
{
    __atomic_store_n(header_slot(ring, 0), 0, __ATOMIC_RELAXED);
}

void idts_ring_warm(struct idts_ring *ring)
{
    memset(ring->data, 0, ring->size);
}

void idts_ring_touch(const struct idts_ring *ring)
{
    uint32_t at;

    for (at = 0; at < ring->size; at += IDTS_PAGE_SIZE)
        (void)*(const volatile uint8_t *)(ring->data + at);
}

/* Bytes from position `at` to the end of the ring. */
static uint32_t to_end(const struct idts_ring *ring, uint32_t at)
{
    return ring->size - (at & (ring->size - 1));
}

/* Load cons once; refuse it unless 0 <= prod - cons <= size. */
static int load_cons(struct idts_ring *ring)
{
    uint32_t cons = __atomic_load_n(&ring->ctrl->cons, __ATOMIC_ACQUIRE);

    if (ring->head - cons > ring->size)
        return ring_break(ring);
    ring->peer = cons;
    return 0;
}

/* Bytes of PAD needed before a record of `bytes` at the producer's position. */
static uint32_t pad_before(const struct idts_ring *ring, uint32_t bytes)
{
    uint32_t left = to_end(ring, ring->head);

    return left < bytes ? left : 0;
}

/* A record of `bytes` fits if it, the PAD before it and the end marker after
 * it do: the end marker must not land on a record not yet released. */
static int room_for(struct idts_ring *ring, uint32_t bytes)
{
    uint32_t needed = pad_before(ring, bytes) + bytes + IDTS_RECORD_HEADER_SIZE;

    if (ring->size - (ring->head - ring->peer) >= needed)
        return 0;
    if (load_cons(ring))
        return -EPROTO;
    return ring->size - (ring->head - ring->peer) >= needed ? 0 : -EAGAIN;
}

int idts_ring_reserve(struct idts_ring *ring, uint32_t length, void **payload)
{
    uint32_t bytes;
    int rc;

    if (ring->error)
        return ring->error;
    if (length > idts_ring_max_payload(ring->size))
        return -EMSGSIZE;
    bytes = record_bytes(length);
    rc = room_for(ring, bytes);
    if (rc)
        return rc;
    ring->pad = pad_before(ring, bytes);
    *payload = (uint8_t *)header_slot(ring, ring->head + ring->pad) + IDTS_RECORD_HEADER_SIZE;
    return 0;
}

void idts_ring_commit(struct idts_ring *ring, uint8_t type, uint8_t tag, uint32_t length)
{
    uint32_t at = ring->head + ring->pad, bytes = record_bytes(length);
    uint64_t header = header_word(length, ring->seq++, type, tag);

    __atomic_store_n(header_slot(ring, at + bytes), 0, __ATOMIC_RELAXED);
    if (ring->pad) {
        /* The record is whole before the PAD that leads to it appears. */
        __atomic_store_n(header_slot(ring, at), header, __ATOMIC_RELAXED);
        header = header_word(ring->pad - IDTS_RECORD_HEADER_SIZE, 0, IDTS_RECORD_PAD, 0);
        at = ring->head;
    }
    __atomic_store_n(header_slot(ring, at), header, __ATOMIC_RELEASE);
    ring->head += ring->pad + bytes;
    ring->pad = 0;
}

int idts_ring_writable(struct idts_ring *ring, uint32_t length)
{
    return !ring->error && length <= idts_ring_max_payload(ring->size) &&
           room_for(ring, record_bytes(length)) == 0;
}

/* Load the header at the consumer's position once, into *header; only the
 * copy is looked at. Returns 0 for an end marker. */
static int load_header(const struct idts_ring *ring, struct idts_record_header *header)
{
    uint64_t word = __atomic_load_n(header_slot(ring, ring->head), __ATOMIC_ACQUIRE);

    memcpy(header, &word, sizeof(*header));
    return word != 0;
}

/* Skip a PAD at the consumer's position. It must reach exactly to the ring's
 * end, and cannot start at offset 0: it would cover the whole ring, forever. */
static int skip_pad(struct idts_ring *ring, const struct idts_record_header *header)
{
    uint32_t left = to_end(ring, ring->head);

    if (left == ring->size || header->length != left - IDTS_RECORD_HEADER_SIZE)
        return ring_break(ring);
    ring->head += left;
    return 0;
}

/* Hand out the DATA or MOVE record at the consumer's position, if it is one
 * the ABI allows there: the next in sequence, within the maximum and the
 * ring. */
static int accept_record(struct idts_ring *ring, const struct idts_record_header *header,
                         struct idts_record *record)
{
    uint32_t offset = ring->head & (ring->size - 1);

    if ((header->type != IDTS_RECORD_DATA && header->type != IDTS_RECORD_MOVE) ||
        header->seq != ring->seq || header->length > idts_ring_max_payload(ring->size) ||
        record_bytes(header->length) > ring->size - offset)
        return ring_break(ring);
    record->data = ring->data + offset + IDTS_RECORD_HEADER_SIZE;
    record->length = header->length;
    record->type = header->type;
    record->tag = header->tag;
    ring->pending = record_bytes(header->length);
    return 1;
}

int idts_ring_peek(struct idts_ring *ring, struct idts_record *record)
{
    struct idts_record_header header;
    int found;

    if (ring->error)
        return ring->error;
    found = load_header(ring, &header);
    /* A PAD leads to offset 0, where accept_record() refuses another: no
     * header of the peer's makes us loop. */
    if (found && header.type == IDTS_RECORD_PAD) {
        if (skip_pad(ring, &header))
            return -EPROTO;
        found = load_header(ring, &header);
    }
    return found ? accept_record(ring, &header, record) : 0;
}

static void ask(uint32_t *flag)
{
    __atomic_store_n(flag, 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void idts_ring_ask_data(struct idts_ring *ring)
{
    ask(&ring->ctrl->consumer_waiting);
}

void idts_ring_ask_space(struct idts_ring *ring)
{
    ask(&ring->ctrl->producer_waiting);
}

static int take(uint32_t *flag)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(flag, __ATOMIC_RELAXED) &&
           __atomic_exchange_n(flag, 0, __ATOMIC_RELAXED);
}

int idts_ring_take_data_request(struct idts_ring *ring)
{
    return take(&ring->ctrl->consumer_waiting);
}

int idts_ring_take_space_request(struct idts_ring *ring)
{
    return take(&ring->ctrl->producer_waiting);
}
