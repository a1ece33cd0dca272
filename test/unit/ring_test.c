/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Unit tests of one ring, producer and consumer views in one process over a
 * heap-allocated region: every record size, wrap-around at every offset,
 * full and empty, and a peer that corrupts indices and headers.
 */
#include "../lib/tap.h"
#include "idts_ring.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    struct idts_ctrl *ctrl;
    uint8_t *data;
    struct idts_ring tx, rx;
    uint32_t size;
};

static uint8_t pattern[IDTS_RING_MAX_SIZE / 64];

static void fixture_init(struct fixture *f, uint32_t size, uint32_t start)
{
    if (!f->ctrl) {
        f->ctrl = aligned_alloc(IDTS_CTRL_SIZE, IDTS_CTRL_SIZE);
        f->data = aligned_alloc(IDTS_CTRL_SIZE, size);
    }
    memset(f->ctrl, 0, IDTS_CTRL_SIZE);
    /* Stale bytes everywhere: only end markers may stop the consumer. */
    memset(f->data, 0xee, size);
    f->size = size;
    idts_ring_init(&f->tx, &f->ctrl->ring[0], f->data, size);
    idts_ring_init(&f->rx, &f->ctrl->ring[0], f->data, size);
    /* As if `start` bytes had already gone through the ring, which left an
     * end marker behind them. */
    f->ctrl->ring[0].cons = start;
    f->tx.head = f->tx.peer = f->rx.head = start;
    memset(f->data + (start & (size - 1)), 0, IDTS_RECORD_HEADER_SIZE);
}

static void fixture_free(struct fixture *f)
{
    free(f->ctrl);
    free(f->data);
    f->ctrl = NULL;
}

static uint8_t *pattern_at(uint32_t length)
{
    return pattern + (length * 13) % (sizeof(pattern) - IDTS_RING_MAX_SIZE / 128);
}

static int push(struct fixture *f, uint32_t length)
{
    void *payload;
    int rc = idts_ring_reserve(&f->tx, length, &payload);

    if (rc)
        return rc;
    memcpy(payload, pattern_at(length), length);
    idts_ring_commit(&f->tx, IDTS_RECORD_DATA, (uint8_t)length, length);
    return 0;
}

/* Pop one record and check it is the one push(length) sent, within the ring. */
static int pop(struct fixture *f, uint32_t length)
{
    struct idts_record record;
    int rc = idts_ring_peek(&f->rx, &record);
    int good = rc == 1 && record.length == length && record.tag == (uint8_t)length &&
               record.data >= f->data && record.data + length <= f->data + f->size &&
               memcmp(record.data, pattern_at(length), length) == 0;

    if (rc == 1)
        idts_ring_release(&f->rx);
    return good;
}

static void test_every_size(void)
{
    struct fixture f = {0};
    uint32_t size = 64 * 1024, max = idts_ring_max_payload(size), length, bad = 0;

    fixture_init(&f, size, 0);
    for (length = 0; length <= max; length++)
        if (push(&f, length) != 0 || !pop(&f, length))
            bad++;
    ok(bad == 0, "records of every size 0..%u pass intact (%u bad)", max, bad);
    ok(idts_ring_peek(&f.rx, &(struct idts_record){0}) == 0, "ring is empty afterwards");
    fixture_free(&f);
}

/* Start at every 8-byte offset, also across the 2^32 wrap of the counters. */
static void test_wrap_every_offset(void)
{
    static const uint32_t lengths[] = {0, 1, 7, 8, 9, 100, 1000, 2032}; /* 2032: the largest */
    static const uint32_t bases[] = {0, 0xfffff000u};
    struct fixture f = {0};
    uint32_t size = 4096, offset, bad = 0, runs = 0;
    size_t b, l;
    int i;

    for (b = 0; b < 2; b++)
        for (offset = 0; offset < size; offset += IDTS_RECORD_ALIGN)
            for (l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
                fixture_init(&f, size, bases[b] + offset);
                for (i = 0; i < 3; i++)
                    if (push(&f, lengths[l]) != 0 || !pop(&f, lengths[l]))
                        bad++;
                runs++;
            }
    ok(bad == 0, "wrap-around at every offset and length: %u runs, %u bad", runs, bad);
    fixture_free(&f);
}

static void test_full_and_empty(void)
{
    struct fixture f = {0};
    struct idts_record record;
    uint32_t size = 4096, count = 0, i, bad = 0;

    fixture_init(&f, size, 0);
    ok(idts_ring_peek(&f.rx, &record) == 0, "a new ring is empty");
    while (push(&f, 120) == 0)
        count++;
    /* 120 bytes of payload take 128 with the header: 31 records and the end
     * marker after them leave 120 bytes. */
    ok(count == 31, "a full ring holds %u records of 120 bytes", count);
    ok(push(&f, 120) == -EAGAIN && !idts_ring_writable(&f.tx, 120),
       "a full ring says -EAGAIN: the end marker keeps its 8 bytes");
    ok(push(&f, 112) == 0, "a record 8 bytes shorter still fits");
    ok(pop(&f, 120) && pop(&f, 120) && idts_ring_writable(&f.tx, 120),
       "releases make room again, past the padding to the ring's end");
    for (i = 2; i < count; i++)
        bad += !pop(&f, 120);
    ok(bad == 0 && pop(&f, 112), "all records drain in order");
    ok(idts_ring_peek(&f.rx, &record) == 0, "a drained ring is empty");
    ok(push(&f, idts_ring_max_payload(size) + 1) == -EMSGSIZE, "oversized record: -EMSGSIZE");
    ok(push(&f, idts_ring_max_payload(size)) == 0, "a max-size record fits a drained ring");
    fixture_free(&f);
}

static void test_sequence_wraps(void)
{
    struct fixture f = {0};
    uint32_t i, bad = 0;

    fixture_init(&f, 4096, 0);
    for (i = 0; i < 70000; i++)
        if (push(&f, i % 50) != 0 || !pop(&f, i % 50))
            bad++;
    ok(bad == 0, "70000 records: the 16-bit sequence number wraps cleanly");
    fixture_free(&f);
}

static void test_wait_requests(void)
{
    struct fixture f = {0};

    fixture_init(&f, 4096, 0);
    ok(!idts_ring_take_data_request(&f.tx), "no data request before one is asked");
    idts_ring_ask_data(&f.rx);
    ok(idts_ring_take_data_request(&f.tx), "the producer sees the consumer's request");
    ok(!idts_ring_take_data_request(&f.tx), "a request is taken once");
    idts_ring_ask_space(&f.tx);
    ok(idts_ring_take_space_request(&f.rx) && !idts_ring_take_space_request(&f.rx),
       "the consumer takes the producer's space request once");
    fixture_free(&f);
}

/* After the damage, peek must fail, and keep failing. */
static int consumer_rejects(struct fixture *f)
{
    struct idts_record record;

    return idts_ring_peek(&f->rx, &record) == -EPROTO &&
           idts_ring_peek(&f->rx, &record) == -EPROTO && f->rx.error == -EPROTO;
}

static struct idts_record_header *header_at(struct fixture *f, uint32_t index)
{
    return (struct idts_record_header *)(f->data + (index & (f->size - 1)));
}

static void test_corrupt_cons(void)
{
    struct fixture f = {0};
    void *payload;

    fixture_init(&f, 4096, 0);
    while (push(&f, 100) == 0)
        ;
    f.ctrl->ring[0].cons = f.tx.head + 8;
    ok(idts_ring_reserve(&f.tx, 100, &payload) == -EPROTO && f.tx.error == -EPROTO,
       "cons ahead of prod: the producer fails with -EPROTO");
    ok(idts_ring_reserve(&f.tx, 0, &payload) == -EPROTO, "and keeps failing");

    fixture_init(&f, 4096, 0);
    while (push(&f, 100) == 0)
        ;
    f.ctrl->ring[0].cons = f.tx.head - 4096 - 8;
    ok(idts_ring_reserve(&f.tx, 100, &payload) == -EPROTO, "cons moving backwards: -EPROTO");
    fixture_free(&f);
}

static void test_corrupt_headers(void)
{
    struct fixture f = {0};
    struct idts_record record;

    fixture_init(&f, 4096, 0);
    push(&f, 16);
    header_at(&f, 0)->type = 7;
    ok(consumer_rejects(&f), "unknown record type: -EPROTO");

    fixture_init(&f, 4096, 0);
    push(&f, 16);
    header_at(&f, 0)->type = IDTS_RECORD_END;
    ok(consumer_rejects(&f), "type 0 in a header that is not all zero: -EPROTO");

    fixture_init(&f, 4096, 0);
    push(&f, 16);
    header_at(&f, 0)->seq = 5;
    ok(consumer_rejects(&f), "out-of-sequence record: -EPROTO");

    fixture_init(&f, 4096, 0);
    push(&f, 16);
    header_at(&f, 0)->length = idts_ring_max_payload(4096) + 1;
    ok(consumer_rejects(&f), "length over the maximum: -EPROTO");

    fixture_init(&f, 4096, 4096 - 16);
    push(&f, 100);
    header_at(&f, 4096 - 16)->length = 100;
    header_at(&f, 4096 - 16)->type = IDTS_RECORD_DATA;
    ok(consumer_rejects(&f), "record running past the end of the ring: -EPROTO");

    fixture_init(&f, 4096, 4096 - 16);
    push(&f, 100);
    header_at(&f, 4096 - 16)->length = 100;
    ok(consumer_rejects(&f), "padding that does not end at the ring's end: -EPROTO");

    fixture_init(&f, 4096, 0);
    push(&f, 16);
    *header_at(&f, 0) = (struct idts_record_header){.length = 4096 - 8, .type = IDTS_RECORD_PAD};
    ok(consumer_rejects(&f), "padding at offset 0, over the whole ring: -EPROTO");

    fixture_init(&f, 4096, 4096 - 16);
    push(&f, 100);
    *header_at(&f, 0) = (struct idts_record_header){.length = 4096 - 8, .type = IDTS_RECORD_PAD};
    ok(consumer_rejects(&f), "padding that leads to more padding: -EPROTO");

    fixture_init(&f, 4096, 4096 - 16);
    push(&f, 100);
    memset(header_at(&f, 0), 0, IDTS_RECORD_HEADER_SIZE);
    ok(idts_ring_peek(&f.rx, &record) == 0 && idts_ring_peek(&f.rx, &record) == 0 && !f.rx.error,
       "padding before an end marker: nothing to read yet, not an error");
    fixture_free(&f);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

/* Random indices and bytes: every outcome stays inside the ring. */
static void test_garbage(void)
{
    struct fixture f = {0};
    struct idts_record record;
    uint32_t round, i, escaped = 0, records = 0, rejected = 0;
    int rc = 0;

    fixture_init(&f, 4096, 0);
    for (round = 0; round < 20000; round++) {
        uint32_t start = rng() & ~(IDTS_RECORD_ALIGN - 1); /* our own index: aligned */

        fixture_init(&f, 4096, start);
        for (i = 0; i < 4096 / 4; i++)
            ((uint32_t *)f.data)[i] = rng() % 4 ? rng() % 64 : rng();
        /* Plausible headers are what gets past the first checks. */
        header_at(&f, start)->type = 1 + rng() % 2;
        header_at(&f, start)->seq = 0;
        for (i = 0; i < 64 && (rc = idts_ring_peek(&f.rx, &record)) == 1; i++) {
            records++;
            if (record.data < f.data || record.data + record.length > f.data + f.size)
                escaped++;
            idts_ring_release(&f.rx);
        }
        rejected += rc == -EPROTO;
    }
    ok(escaped == 0, "20000 rings of garbage: %u records read, %u rejected, none outside the ring",
       records, rejected);
    fixture_free(&f);
}

int main(void)
{
    size_t i;

    for (i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 31 + 7);
    ok(idts_ring_size_valid(4096) && idts_ring_size_valid(IDTS_RING_MAX_SIZE) &&
           !idts_ring_size_valid(2048) && !idts_ring_size_valid(3 * 4096) &&
           !idts_ring_size_valid(2 * IDTS_RING_MAX_SIZE),
       "ring sizes: powers of two from 4 KiB to 64 MiB");
    test_every_size();
    test_wrap_every_offset();
    test_full_and_empty();
    test_sequence_wraps();
    test_wait_requests();
    test_corrupt_cons();
    test_corrupt_headers();
    test_garbage();
    return tap_done();
}
