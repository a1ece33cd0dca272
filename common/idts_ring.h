/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * One direction of a tunnel: the producer's or the consumer's view of a ring
 * laid out as idts_abi.h says. Neither view ever trusts what the peer wrote:
 * each shared index and header is loaded once, checked, and only then used.
 * A violation latches -EPROTO in ring->error and every later call fails.
 */
#ifndef IDTS_RING_H
#define IDTS_RING_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "idts_abi.h"

struct idts_ring {
    struct idts_ring_ctrl *ctrl; /* shared */
    uint8_t *data;               /* shared, size bytes */
    uint32_t size;
    /* Our own position (prod for a producer, cons for a consumer). The shared
     * cons is write-only for the consumer: the peer could change it under
     * our feet. */
    uint32_t head;
    /* Producer: cons as last loaded and validated. */
    uint32_t peer;
    /* Producer: bytes of PAD the reserved record needs before it. */
    uint32_t pad;
    /* Consumer: bytes of the record peeked. */
    uint32_t pending;
    uint16_t seq;
    int error;
};

/* A received record; data points into the ring until idts_ring_release(). */
struct idts_record {
    const uint8_t *data;
    uint32_t length;
    uint8_t type; /* IDTS_RECORD_DATA or IDTS_RECORD_MOVE */
    uint8_t tag;
};

/* Largest payload a ring of ring_size bytes carries in one record: half the
 * ring, less the record's header and the end marker after it. */
static inline uint32_t idts_ring_max_payload(uint32_t ring_size)
{
    return ring_size / 2 - 2 * IDTS_RECORD_HEADER_SIZE;
}

/* Bytes a record with `length` payload bytes takes: header, payload, padding. */
static inline uint32_t idts_ring_record_bytes(uint32_t length)
{
    return IDTS_RECORD_HEADER_SIZE + ((length + IDTS_RECORD_ALIGN - 1) & ~(IDTS_RECORD_ALIGN - 1));
}

/* The header at position `at`, accessed as one 8-byte word (see idts_abi.h). */
static inline uint64_t *idts_ring_slot(const struct idts_ring *ring, uint32_t at)
{
    return (uint64_t *)(ring->data + (at & (ring->size - 1)));
}

/* Consumer: nonzero when idts_ring_peek() would return 0 without a doubt:
 * an end marker at our position. Inline, as it is all an idle poll costs. */
static inline int idts_ring_empty(const struct idts_ring *ring)
{
    return !ring->error && __atomic_load_n(idts_ring_slot(ring, ring->head), __ATOMIC_RELAXED) == 0;
}

/* Nonzero if ring_size is one the ABI allows. */
int idts_ring_size_valid(uint32_t ring_size);

/* Point a view at a ring whose cons is zero. */
void idts_ring_init(struct idts_ring *ring, struct idts_ring_ctrl *ctrl, uint8_t *data,
                    uint32_t size);

/* Creator, before publishing: the end marker at offset 0 that makes the ring
 * empty whatever the memory held. */
void idts_ring_format(struct idts_ring *ring);

/* Producer, before its first record: write every byte of the empty ring
 * once, with the zeros it holds, so that the first lap finds each line in
 * a cache near us rather than in memory. 8-byte MPI latency on the first
 * lap of 1 MiB rings, unwarmed: 0.53 us against 0.46 us on later laps. */
void idts_ring_warm(struct idts_ring *ring);

/* Consumer, before its first record: load one byte of each page of the
 * ring. An end's first load from a page of its mapping costs microseconds
 * here though no page fault is taken (MAP_POPULATE mapped them): a 16-byte
 * osu_bibw-like stream ran 140 MB/s on the first lap of 1 MiB rings
 * against 185 MB/s later, and 185-210 with the pages read first. */
void idts_ring_touch(const struct idts_ring *ring);

/* Bytes from position `at` to the end of the ring. */
static inline uint32_t idts_ring_to_end(const struct idts_ring *ring, uint32_t at)
{
    return ring->size - (at & (ring->size - 1));
}

/* Producer: bytes of PAD a record of `bytes` needs before it at our position. */
static inline uint32_t idts_ring_pad_before(const struct idts_ring *ring, uint32_t bytes)
{
    uint32_t left = idts_ring_to_end(ring, ring->head);

    return left < bytes ? left : 0;
}

/* Producer: nonzero when `needed` bytes and the end marker after them fit
 * before the cons loaded last: the end marker must not land on a record not
 * yet released. */
static inline int idts_ring_fits(const struct idts_ring *ring, uint32_t needed)
{
    return ring->size - (ring->head - ring->peer) >= needed + IDTS_RECORD_HEADER_SIZE;
}

/* Producer: load cons again, when the one loaded last leaves no room: 0 when
 * `needed` bytes fit now, -EAGAIN when not, -EPROTO when the peer broke the
 * ring. */
int idts_ring_reload(struct idts_ring *ring, uint32_t needed);

/* Producer: 0 when `needed` bytes fit, loading cons only if need be. */
static inline int idts_ring_room(struct idts_ring *ring, uint32_t needed)
{
    return idts_ring_fits(ring, needed) ? 0 : idts_ring_reload(ring, needed);
}

/*
 * Producer. idts_ring_reserve() finds room for a record with `length` payload
 * bytes and returns where to write the payload; idts_ring_commit() publishes
 * it with its type (DATA, or MOVE), the final length (at most the reserved
 * one) and tag. Returns 0,
 * -EAGAIN when the ring is too full now, -EMSGSIZE when length exceeds
 * idts_ring_max_payload(), -EPROTO when the peer broke the ring.
 * Inline, with the header's stores: a small send is a few dozen
 * instructions, and two calls and their frames were a third of them.
 */
static inline int idts_ring_reserve(struct idts_ring *ring, uint32_t length, void **payload)
{
    uint32_t bytes, pad;
    int rc;

    if (ring->error)
        return ring->error;
    if (length > idts_ring_max_payload(ring->size))
        return -EMSGSIZE;
    bytes = idts_ring_record_bytes(length);
    pad = idts_ring_pad_before(ring, bytes);
    rc = idts_ring_room(ring, pad + bytes);
    if (rc)
        return rc;
    ring->pad = pad;
    *payload = (uint8_t *)idts_ring_slot(ring, ring->head + pad) + IDTS_RECORD_HEADER_SIZE;
    return 0;
}

static inline uint64_t idts_ring_header_word(uint32_t length, uint16_t seq, uint8_t type,
                                             uint8_t tag)
{
    struct idts_record_header header = {.length = length, .seq = seq, .type = type, .tag = tag};
    uint64_t word;

    memcpy(&word, &header, sizeof(word));
    return word;
}

static inline void idts_ring_commit(struct idts_ring *ring, uint8_t type, uint8_t tag,
                                    uint32_t length)
{
    uint32_t at = ring->head + ring->pad, bytes = idts_ring_record_bytes(length);
    uint64_t header = idts_ring_header_word(length, ring->seq++, type, tag);

    __atomic_store_n(idts_ring_slot(ring, at + bytes), 0, __ATOMIC_RELAXED);
    if (ring->pad) {
        /* The record is whole before the PAD that leads to it appears. */
        __atomic_store_n(idts_ring_slot(ring, at), header, __ATOMIC_RELAXED);
        header = idts_ring_header_word(ring->pad - IDTS_RECORD_HEADER_SIZE, 0, IDTS_RECORD_PAD, 0);
        at = ring->head;
    }
    __atomic_store_n(idts_ring_slot(ring, at), header, __ATOMIC_RELEASE);
    ring->head += ring->pad + bytes;
    ring->pad = 0;
}

/* Producer: nonzero if a record of `length` payload bytes would fit now. */
int idts_ring_writable(struct idts_ring *ring, uint32_t length);

/*
 * Consumer. idts_ring_peek() returns 1 and fills *record with the oldest
 * record, 0 when the ring is empty, -EPROTO when the peer broke the ring.
 * Peeking again before idts_ring_release() returns the same record.
 */
int idts_ring_peek(struct idts_ring *ring, struct idts_record *record);

/* Inline: a receive loop releases every record. */
static inline void idts_ring_release(struct idts_ring *ring)
{
    ring->head += ring->pending;
    ring->pending = 0;
    ring->seq++;
    __atomic_store_n(&ring->ctrl->cons, ring->head, __ATOMIC_RELEASE);
}

/*
 * Wait requests (see "Notification" in idts_abi.h). idts_ring_ask_*() sets
 * our request flag and issues the full barrier; the caller then checks its
 * condition once more and sleeps only if it still does not hold.
 * idts_ring_take_*() is called after publishing: it returns nonzero if the
 * peer asked, clearing the request, and the caller notifies the peer.
 */
void idts_ring_ask_data(struct idts_ring *ring);
void idts_ring_ask_space(struct idts_ring *ring);
int idts_ring_take_data_request(struct idts_ring *ring);
int idts_ring_take_space_request(struct idts_ring *ring);

#endif
