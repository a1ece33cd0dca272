/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */

#include "idts_ring.h"

#include <errno.h>
#include <string.h>

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

void idts_ring_format(struct idts_ring *ring)
{
    __atomic_store_n(idts_ring_slot(ring, 0), 0, __ATOMIC_RELAXED);
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

/* Load cons once; refuse it unless 0 <= prod - cons <= size. */
int idts_ring_reload(struct idts_ring *ring, uint32_t needed)
{
    uint32_t cons = __atomic_load_n(&ring->ctrl->cons, __ATOMIC_ACQUIRE);

    if (ring->head - cons > ring->size)
        return ring_break(ring);
    ring->peer = cons;
    return idts_ring_fits(ring, needed) ? 0 : -EAGAIN;
}

int idts_ring_writable(struct idts_ring *ring, uint32_t length)
{
    uint32_t bytes = idts_ring_record_bytes(length);

    return !ring->error && length <= idts_ring_max_payload(ring->size) &&
           idts_ring_room(ring, idts_ring_pad_before(ring, bytes) + bytes) == 0;
}

/* Load the header at the consumer's position once, into *header; only the
 * copy is looked at. Returns 0 for an end marker. */
static int load_header(const struct idts_ring *ring, struct idts_record_header *header)
{
    uint64_t word = __atomic_load_n(idts_ring_slot(ring, ring->head), __ATOMIC_ACQUIRE);

    memcpy(header, &word, sizeof(*header));
    return word != 0;
}

/* Skip a PAD at the consumer's position. It must reach exactly to the ring's
 * end, and cannot start at offset 0: it would cover the whole ring, forever. */
static int skip_pad(struct idts_ring *ring, const struct idts_record_header *header)
{
    uint32_t left = idts_ring_to_end(ring, ring->head);

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
        idts_ring_record_bytes(header->length) > ring->size - offset)
        return ring_break(ring);
    record->data = ring->data + offset + IDTS_RECORD_HEADER_SIZE;
    record->length = header->length;
    record->type = header->type;
    record->tag = header->tag;
    ring->pending = idts_ring_record_bytes(header->length);
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
