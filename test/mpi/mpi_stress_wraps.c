/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The ring wrap-around model of mpi_stress (see mpi_stress_wraps.h).
 *
 * A ring of R bytes wraps when the record at its producer's position does
 * not fit before the end: a PAD covers the rest and the record goes to
 * offset 0. Records are 8-byte aligned, so a PAD can start at any 8-byte
 * offset o with R - o smaller than the largest record: with eager records
 * to 32 KiB, the last ~4090 offsets of any ring, however large.
 * Records themselves start at all R / 8 offsets.
 *
 * Which of those a run hits depends on every record the ring carried, and
 * their order depends on timing, so the model replays what the schedule
 * implies for each of this rank's rings in schedule order: for a message
 * sent, ob1's eager record, or its RGET header and the GET_DATA records the
 * peer's btl_get pulls; for a message received, the GET_REQUEST and FIN, or
 * the ACK of a synchronous send, that this rank sends back. Header sizes are
 * those Open MPI 4.1's ob1 and idts use, as the component's record counters
 * show them. The real interleaving differs, the sizes do not: the model's
 * coverage is an estimate of the real one, the number of wraps is close.
 */
#include "mpi_stress_wraps.h"

#include "btl_idts_get_record.h"
#include "idts_ring.h"

#include <mpi.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Record payloads of ob1 (4.1) over idts, in bytes. */
#define OB1_HDR_UNION                                                                              \
    56               /* sizeof(mca_pml_ob1_hdr_t): ob1 sends eagerly what                          \
                      * fits btl_eager_limit with this much to spare */
#define OB1_MATCH 14 /* eager message header */
#define OB1_RNDV  32 /* synchronous eager message header */
#define OB1_ACK   40
#define OB1_RGET  56 /* rendezvous header with the registration */
#define OB1_FIN   24

/* PADs up to this long can follow the records of most messages (to 4 KiB);
 * longer ones only those of larger messages, rendezvous records among them,
 * which stream in runs of equal size. */
#define SHORT_PAD 4096

struct ring_model {
    struct idts_ring_ctrl ctrl;
    struct idts_ring tx, rx;
    uint8_t *data;
    uint8_t *pad_at, *record_at; /* per 8-byte offset: seen there */
    uint64_t bytes, wraps;
    uint32_t largest; /* record bytes, header and alignment included */
};

static struct ring_model *rings; /* to each peer; NULL for self */
static int me, ranks;
static uint32_t ring_size;
static unsigned long eager_limit;
static uint32_t chunk; /* btl_idts_get_chunk */

/* An idts MCA variable through MPI_T, 0 when there is none. */
static unsigned long setting(const char *wanted)
{
    int count = 0, verbosity, bind, scope, name_len, desc_len, n;
    char name[256], desc[16];
    unsigned long value = 0;
    MPI_Datatype type;
    MPI_T_enum enumtype;
    MPI_T_cvar_handle handle;

    MPI_T_cvar_get_num(&count);
    for (int i = 0; i < count; i++) {
        name_len = sizeof(name);
        desc_len = sizeof(desc);
        if (MPI_T_cvar_get_info(i, name, &name_len, &verbosity, &type, &enumtype, desc, &desc_len,
                                &bind, &scope) != MPI_SUCCESS ||
            strcmp(name, wanted) != 0)
            continue;
        if (MPI_T_cvar_handle_alloc(i, NULL, &handle, &n) != MPI_SUCCESS)
            return 0;
        if (type == MPI_UNSIGNED || type == MPI_INT) {
            unsigned int small = 0;

            MPI_T_cvar_read(handle, &small);
            value = small;
        } else if (type == MPI_UNSIGNED_LONG || type == MPI_UNSIGNED_LONG_LONG) {
            MPI_T_cvar_read(handle, &value);
        }
        MPI_T_cvar_handle_free(&handle);
        return value;
    }
    return 0;
}

static void ring_init(struct ring_model *ring)
{
    memset(ring, 0, sizeof(*ring));
    ring->data = calloc(ring_size, 1);
    ring->pad_at = calloc(ring_size / 8, 1);
    ring->record_at = calloc(ring_size / 8, 1);
    if (!ring->data || !ring->pad_at || !ring->record_at) {
        fprintf(stderr, "mpi_stress: out of memory for the ring model\n");
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    idts_ring_init(&ring->tx, &ring->ctrl, ring->data, ring_size);
    idts_ring_init(&ring->rx, &ring->ctrl, ring->data, ring_size);
}

void wraps_init(int rank, int nprocs)
{
    int provided;

    me = rank;
    ranks = nprocs;
    MPI_T_init_thread(MPI_THREAD_SINGLE, &provided);
    ring_size = (uint32_t)setting("btl_idts_ring_size");
    eager_limit = setting("btl_idts_eager_limit");
    chunk = (uint32_t)setting("btl_idts_get_chunk");
    MPI_T_finalize();
    if (!idts_ring_size_valid(ring_size) || eager_limit == 0) {
        ring_size = 0;
        return;
    }
    rings = calloc(nprocs, sizeof(*rings));
    if (!rings)
        MPI_Abort(MPI_COMM_WORLD, 3);
    for (int peer = 0; peer < nprocs; peer++)
        if (peer != rank)
            ring_init(&rings[peer]);
}

/* One record through the real producer and consumer, noting where it went. */
static void put(struct ring_model *ring, uint32_t length)
{
    uint32_t mask = ring_size - 1, bytes = IDTS_RECORD_HEADER_SIZE + ((length + 7) & ~7u);
    struct idts_record record;
    void *payload;

    if (idts_ring_reserve(&ring->tx, length, &payload) != 0)
        return; /* cannot be: the ring is empty and length within the limit */
    if (ring->tx.pad) {
        ring->pad_at[(ring->tx.head & mask) / 8] = 1;
        ring->wraps++;
    }
    ring->record_at[((ring->tx.head + ring->tx.pad) & mask) / 8] = 1;
    idts_ring_commit(&ring->tx, IDTS_RECORD_DATA, 0, length);
    if ((ring->tx.head & mask) == 0)
        ring->wraps++; /* it ended exactly at the end of the ring */
    idts_ring_peek(&ring->rx, &record);
    idts_ring_release(&ring->rx);
    ring->bytes += bytes;
    ring->largest = bytes > ring->largest ? bytes : ring->largest;
}

static int eager(size_t size)
{
    return size + OB1_HDR_UNION <= eager_limit;
}

void wraps_sent(int dest, size_t size, int synchronous)
{
    struct ring_model *ring = &rings[dest];

    if (!ring_size)
        return;
    if (eager(size)) {
        put(ring, (uint32_t)size + (synchronous ? OB1_RNDV : OB1_MATCH));
        return;
    }
    put(ring, OB1_RGET);
    for (size_t offset = 0, step; offset < size; offset += step) {
        step = mca_btl_idts_get_record_data(size, offset, chunk, idts_ring_max_payload(ring_size));
        put(ring, (uint32_t)(sizeof(mca_btl_idts_get_data_t) + step));
    }
}

void wraps_received(int source, size_t size, int synchronous)
{
    struct ring_model *ring = &rings[source];

    if (!ring_size)
        return;
    if (!eager(size)) {
        put(ring, (uint32_t)sizeof(mca_btl_idts_get_request_t));
        put(ring, OB1_FIN);
    } else if (synchronous) {
        put(ring, OB1_ACK);
    }
}

static uint64_t seen(const uint8_t *at, uint32_t from, uint32_t to)
{
    uint64_t n = 0;

    for (uint32_t i = from; i < to; i++)
        n += at[i];
    return n;
}

enum { RINGS, WRAPS, PADS, REACHABLE, SHORT_PADS, RECORDS, FIGURES };

void wraps_report(void)
{
    uint64_t mine[FIGURES] = {0}, sum[FIGURES], least = UINT64_MAX, least_of_all = 0;
    uint32_t slots = ring_size / 8;

    for (int peer = 0; ring_size && peer < ranks; peer++) {
        struct ring_model *ring = &rings[peer];
        uint32_t first_pad;
        uint64_t pads;

        if (peer == me || ring->largest == 0)
            continue;
        first_pad = slots - (ring->largest - IDTS_RECORD_HEADER_SIZE) / 8;
        pads = seen(ring->pad_at, first_pad, slots);
        mine[RINGS]++;
        mine[WRAPS] += ring->wraps;
        mine[PADS] += pads;
        mine[REACHABLE] += slots - first_pad;
        mine[SHORT_PADS] += seen(ring->pad_at, slots - SHORT_PAD / 8, slots);
        mine[RECORDS] += seen(ring->record_at, 0, slots);
        /* In parts per million, the least covered of this rank's rings. */
        if (pads * 1000000 / (slots - first_pad) < least)
            least = pads * 1000000 / (slots - first_pad);
    }
    for (int peer = 0; rings && peer < ranks; peer++) {
        free(rings[peer].data);
        free(rings[peer].pad_at);
        free(rings[peer].record_at);
    }
    free(rings);
    MPI_Reduce(mine, sum, FIGURES, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&least, &least_of_all, 1, MPI_UINT64_T, MPI_MIN, 0, MPI_COMM_WORLD);
    if (me != 0 || sum[RINGS] == 0)
        return;
    printf("# ring wrap model, %u-byte rings: %" PRIu64 " rings, %.0f wraps per ring; PADs "
           "started at %.1f%% of the %.0f offsets per ring where one can (%.1f%% on the least "
           "covered ring; %.1f%% of the last %u, where messages to 4 KiB wrap too); records "
           "started at %.1f%% of all %u offsets\n",
           ring_size, sum[RINGS], (double)sum[WRAPS] / sum[RINGS],
           100.0 * sum[PADS] / sum[REACHABLE], (double)sum[REACHABLE] / sum[RINGS],
           least_of_all / 1e4, 100.0 * sum[SHORT_PADS] / sum[RINGS] / (SHORT_PAD / 8),
           SHORT_PAD / 8, 100.0 * sum[RECORDS] / sum[RINGS] / slots, slots);
}
