/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The other end of a pair of rings, played by the fuzzer. It runs the real
 * producer and consumer code on its side (an honest peer) and, when the
 * input says so, writes any bytes anywhere it can write (a hostile one).
 *
 * Whatever the peer does, what our end hands out must lie inside our rings;
 * the checks here say so. While a ring has had only honest writes, more must
 * hold: records arrive intact and in order, none is lost, nothing breaks, and
 * a drained ring takes a record of the largest size.
 */
#ifndef IDTS_FUZZ_PEER_H
#define IDTS_FUZZ_PEER_H

#include "fuzz_ops.h"
#include "fuzz_program.h"
#include "idts_ring.h"

/* The largest ring a harness makes: 8-byte records fill it at most. */
#define FUZZ_RING_MAX   (64u << 10)
#define FUZZ_QUEUE_SIZE (FUZZ_RING_MAX / IDTS_RECORD_HEADER_SIZE)

/* Bytes that differ from one number to the next: byte i of pattern
 * `number` is (7 (i + start) + 1) mod 256, start number * 151 mod 256; up
 * to FUZZ_PATTERN_MAX bytes. Copied from one table, so that a fuzzer's time
 * goes to the code under test, not to making and checking these. */
#define FUZZ_PATTERN_MAX (2 * FUZZ_RING_MAX)
const uint8_t *fuzz_pattern(uint32_t number);

/* Records sent and not yet released, oldest first: their payload is
 * fuzz_pattern(number). */
struct fuzz_queue {
    uint32_t length[FUZZ_QUEUE_SIZE];
    uint32_t number[FUZZ_QUEUE_SIZE];
    uint8_t tag[FUZZ_QUEUE_SIZE];
    uint32_t first, count, next_number;
};

/* One ring of the pair, as both ends share it. */
struct fuzz_ring {
    struct idts_ring_ctrl *ctrl;
    uint8_t *data;
    uint32_t size;
    int tainted; /* the peer wrote into it what an honest peer would not */
    /* Records go through it that are not the peer's patterns (the BTL's):
     * only their bounds are checked, and nothing of what is in flight. */
    int untracked;
    struct fuzz_queue flight;
};

struct fuzz_peer {
    struct fuzz_ring to_us, to_peer; /* the ring the peer produces, the one it consumes */
    struct idts_ring out, in;        /* the peer's producer and consumer views */
    const struct idts_ring *our_rx, *our_tx;
    /* With to_peer untracked: checks each record the peer receives. */
    void (*received)(const struct idts_record *record);
    /* Where a poke may write: the shared memory as the harness lays it out. */
    struct {
        uint8_t *base;
        size_t size;
    } area[4];
    unsigned areas;
};

/* The peer's views of two rings of `size` bytes whose positions are at
 * `start` and sequence numbers at `seq`; the harness points our_rx and our_tx at our views of them.
 */
void fuzz_peer_init(struct fuzz_peer *peer, struct idts_ring_ctrl *to_us_ctrl, uint8_t *to_us_data,
                    struct idts_ring_ctrl *to_peer_ctrl, uint8_t *to_peer_data, uint32_t size,
                    uint32_t start, uint16_t seq);
void fuzz_peer_add_area(struct fuzz_peer *peer, void *base, size_t size);

/* Run the peer's operation `op` (enum fuzz_peer_op) with its arguments
 * from the input; 0 if op is not one of the peer's. */
int fuzz_peer_run(struct fuzz_peer *peer, unsigned op, struct fuzz_input *in);

/* Our end: check a record it peeked from to_us, and note its release. */
void fuzz_check_received(struct fuzz_peer *peer, const struct idts_record *record);
void fuzz_released(struct fuzz_peer *peer);
/* Our end: check the payload space it reserved in to_peer, fill it, and
 * note the commit of its first `length` bytes. */
void fuzz_check_reserved(struct fuzz_peer *peer, void *payload, uint32_t length);
/* The bytes the next record we send must carry, for sends that copy. */
void fuzz_next_payload(const struct fuzz_peer *peer, uint8_t *payload, uint32_t length);
void fuzz_committed(struct fuzz_peer *peer, uint32_t length, uint8_t tag);
/* Nonzero when a ring, honest so far, holds nothing unreleased: any record
 * up to idts_ring_max_payload() must then fit. */
int fuzz_drained(const struct fuzz_ring *ring);

#endif
