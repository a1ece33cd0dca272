/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * MPI correctness over whatever BTLs mpirun selects (test/mpi/mpi-check.sh
 * forces idts with --mca btl idts,self): point-to-point at every size
 * boundary, blocking and non-blocking, many outstanding requests, ordering,
 * wildcards, probe, derived datatypes, sendrecv, collectives. Every byte is
 * checked; rank 0 prints one TAP line per check with the number of ranks
 * that failed. -m BYTES caps the exchanges of every size at BYTES (64 MiB
 * by default; test/xen uses 4 MiB, where memory and emulated CPUs are
 * short).
 */
#include "mpi_tap.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank, nprocs;
static size_t max_size = 64u << 20; /* -m BYTES: the largest exchange */

static uint8_t byte_at(size_t i, size_t size, int tag)
{
    return (uint8_t)(i * 131 + size * 7 + (size_t)tag);
}

static void fill(uint8_t *buf, size_t size, int tag)
{
    size_t i;

    for (i = 0; i < size; i++)
        buf[i] = byte_at(i, size, tag);
}

static int intact(const uint8_t *buf, size_t size, int tag)
{
    size_t i;

    for (i = 0; i < size; i++)
        if (buf[i] != byte_at(i, size, tag))
            return 0;
    return 1;
}

/* Rank pairs (0,1), (2,3)...: even ranks send first. */
static int partner(void)
{
    return rank ^ 1;
}

static int exchange(size_t size, int nonblocking)
{
    uint8_t *out = malloc(size + 1), *in = malloc(size + 1);
    int peer = partner(), good;
    MPI_Request requests[2];

    fill(out, size, 3);
    memset(in, 0, size + 1);
    if (nonblocking) {
        MPI_Irecv(in, (int)size, MPI_BYTE, peer, 3, MPI_COMM_WORLD, &requests[0]);
        MPI_Isend(out, (int)size, MPI_BYTE, peer, 3, MPI_COMM_WORLD, &requests[1]);
        MPI_Waitall(2, requests, MPI_STATUSES_IGNORE);
    } else if (rank % 2 == 0) {
        MPI_Send(out, (int)size, MPI_BYTE, peer, 3, MPI_COMM_WORLD);
        MPI_Recv(in, (int)size, MPI_BYTE, peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
        MPI_Recv(in, (int)size, MPI_BYTE, peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(out, (int)size, MPI_BYTE, peer, 3, MPI_COMM_WORLD);
    }
    good = intact(in, size, 3);
    free(out);
    free(in);
    return good;
}

static void test_sizes(void)
{
    /* Around ob1's inline send (256), 4 KiB, idts's eager limit less ob1's
     * 56-byte header union (32696 with 64 KiB rings, 32776 with larger
     * ones), 32 KiB, a get chunk's multiples, and large. */
    static const size_t sizes[] = {
        0,      1,      255,    256,    257,     4095,          4096,
        4097,   32696,  32697,  32768,  32769,   32776,         32777,
        131071, 131072, 131073, 524288, 1 << 20, (1 << 20) + 1, 64u << 20};
    char what[96];
    size_t i;
    int mode;

    for (mode = 0; mode < 2; mode++)
        for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            /* Sizes above -m give way to one exchange of exactly -m. */
            size_t size = sizes[i] < max_size ? sizes[i] : max_size;

            if (i > 0 && sizes[i - 1] >= max_size)
                break;
            snprintf(what, sizeof(what), "%s exchange of %zu bytes",
                     mode ? "non-blocking" : "blocking", size);
            ok_all(exchange(size, mode), what);
        }
}

/* Many outstanding requests of mixed sizes, completed out of order, must
 * match in posting order. */
static void test_outstanding(void)
{
    enum { N = 200 };
    static MPI_Request requests[N];
    uint8_t *bufs[N];
    int i, good = 1, peer = partner();

    for (i = 0; i < N; i++) {
        size_t size = (size_t)(i * 997) % 70000;

        bufs[i] = malloc(size + 1);
        if (rank % 2 == 0) {
            fill(bufs[i], size, 7);
            MPI_Isend(bufs[i], (int)size, MPI_BYTE, peer, 7, MPI_COMM_WORLD, &requests[i]);
        } else {
            MPI_Irecv(bufs[i], (int)size, MPI_BYTE, peer, 7, MPI_COMM_WORLD, &requests[i]);
        }
    }
    MPI_Waitall(N, requests, MPI_STATUSES_IGNORE);
    for (i = 0; i < N; i++) {
        good &= rank % 2 == 0 || intact(bufs[i], (size_t)(i * 997) % 70000, 7);
        free(bufs[i]);
    }
    ok_all(good, "200 outstanding requests of mixed sizes arrive in posting order");
}

static void test_wildcards_and_probe(void)
{
    int value = -1, good = 1, flag = 0, count = 0, i;
    MPI_Status status;

    if (rank % 2 == 0) {
        for (i = 0; i < 10; i++) {
            value = rank * 100 + i;
            MPI_Send(&value, 1, MPI_INT, partner(), 10 + i, MPI_COMM_WORLD);
        }
    } else {
        /* Blocking probes and polled iprobes in turn; a later test's messages
         * may already be on their way, so "nothing more" is not checked. */
        for (i = 0; i < 10; i++) {
            if (i % 2)
                for (flag = 0; !flag;)
                    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
            else
                MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
            MPI_Get_count(&status, MPI_INT, &count);
            good &= status.MPI_SOURCE == partner() && status.MPI_TAG == 10 + i && count == 1;
            MPI_Recv(&value, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
            good &= value == partner() * 100 + i && status.MPI_TAG == 10 + i;
        }
    }
    ok_all(good, "ANY_SOURCE/ANY_TAG receives and probes see messages in order");
}

/* One `type` both ways over arrays of n ints: the ints it covers, every
 * stride-th from first up to last, must arrive; the others must stay 0. */
static int typed_exchange(MPI_Datatype type, int n, int first, int stride, int last)
{
    int *out = malloc(n * sizeof(int)), *in = calloc(n, sizeof(int));
    int i, covered, good = 1;

    for (i = 0; i < n; i++)
        out[i] = i * 3 + rank;
    MPI_Type_commit(&type);
    MPI_Sendrecv(out, 1, type, partner(), 20, in, 1, type, partner(), 20, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    MPI_Type_free(&type);
    for (i = 0; i < n; i++) {
        covered = i >= first && i < last && (i - first) % stride == 0;
        good &= in[i] == (covered ? i * 3 + partner() : 0);
    }
    free(out);
    free(in);
    return good;
}

static void test_datatypes(void)
{
    enum { LARGE = 1 << 17, SMALL = 16, BLOCK = 8, DISPLACEMENT = 4 };
    MPI_Datatype type;

    MPI_Type_vector(LARGE, 1, 2, MPI_INT, &type);
    ok_all(typed_exchange(type, 2 * LARGE, 0, 2, 2 * LARGE),
           "a strided vector datatype (512 KiB of 1 MiB) through sendrecv");
    /* Small messages go through sendi, which packs what is not contiguous
     * and copies what is straight from the type's lower bound. */
    MPI_Type_vector(SMALL, 1, 2, MPI_INT, &type);
    ok_all(typed_exchange(type, 2 * SMALL, 0, 2, 2 * SMALL),
           "a small strided vector (64 B of 128 B) through sendrecv");
    MPI_Type_create_indexed_block(1, BLOCK, &(int){DISPLACEMENT}, MPI_INT, &type);
    ok_all(typed_exchange(type, DISPLACEMENT + BLOCK, DISPLACEMENT, 1, DISPLACEMENT + BLOCK),
           "a contiguous block at a displacement (32 B from byte 16) through sendrecv");
}

static void test_collectives(void)
{
    enum { N = 4096 };
    int *mine = malloc(N * nprocs * sizeof(int)), *all = malloc(N * nprocs * sizeof(int));
    long sum = 0, expect = 0;
    int i, good = 1, token = 0;

    for (i = 0; i < N * nprocs; i++)
        mine[i] = rank * 1000000 + i;
    MPI_Alltoall(mine, N, MPI_INT, all, N, MPI_INT, MPI_COMM_WORLD);
    for (i = 0; i < N * nprocs; i++)
        good &= all[i] == (i / N) * 1000000 + rank * N + i % N;
    ok_all(good, "alltoall of 16 KiB blocks");

    MPI_Allreduce(&(long){rank + 1}, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    for (i = 1; i <= nprocs; i++)
        expect += i;
    ok_all(sum == expect, "allreduce");

    memset(all, 0, N * sizeof(int));
    if (rank == 0)
        memcpy(all, mine, N * sizeof(int));
    MPI_Bcast(all, N, MPI_INT, 0, MPI_COMM_WORLD);
    good = 1;
    for (i = 0; i < N; i++)
        good &= all[i] == i;
    ok_all(good, "broadcast");

    /* A token around the ring of ranks, each adding its rank. */
    if (rank == 0) {
        MPI_Send(&token, 1, MPI_INT, 1 % nprocs, 30, MPI_COMM_WORLD);
        MPI_Recv(&token, 1, MPI_INT, nprocs - 1, 30, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
        MPI_Recv(&token, 1, MPI_INT, rank - 1, 30, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        token += rank;
        MPI_Send(&token, 1, MPI_INT, (rank + 1) % nprocs, 30, MPI_COMM_WORLD);
    }
    ok_all(rank != 0 || token == (int)(expect - nprocs), "a token passed around the ring");
    free(mine);
    free(all);
}

/* Rank r gives r + 1 ints; every rank gets them all, in rank order. */
static void test_allgatherv(void)
{
    int *counts = malloc(nprocs * sizeof(int)), *displs = malloc(nprocs * sizeof(int));
    int *mine = malloc((rank + 1) * sizeof(int)), *all;
    int i, r, total = 0, good = 1;

    for (r = 0; r < nprocs; r++) {
        counts[r] = r + 1;
        displs[r] = total;
        total += counts[r];
    }
    for (i = 0; i <= rank; i++)
        mine[i] = rank * 1000 + i;
    all = calloc(total, sizeof(int));
    MPI_Allgatherv(mine, rank + 1, MPI_INT, all, counts, displs, MPI_INT, MPI_COMM_WORLD);
    for (r = 0; r < nprocs; r++)
        for (i = 0; i < counts[r]; i++)
            good &= all[displs[r] + i] == r * 1000 + i;
    ok_all(good, "allgatherv of 1 to N ints per rank");
    free(counts);
    free(displs);
    free(mine);
    free(all);
}

/* Nobody leaves a barrier before the last rank entered it: the last rank
 * enters 1 s late (after an allreduce, which no rank leaves before all
 * entered), so every other rank waits in it for most of that second; a
 * barrier that let them through would take milliseconds. */
static void test_barrier(void)
{
    const double late = 1.0;
    long sum = 0;
    double waited;

    MPI_Allreduce(&(long){1}, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    waited = MPI_Wtime();
    if (rank == nprocs - 1)
        usleep((useconds_t)(late * 1e6));
    MPI_Barrier(MPI_COMM_WORLD);
    waited = MPI_Wtime() - waited;
    ok_all(sum == nprocs && (rank == nprocs - 1 || waited > late / 2),
           "barrier: no rank leaves before the last one, 1 s late, entered");
}

static void test_one_sided(void)
{
    int *base, value = rank + 1, i, good = 1;
    MPI_Win win;

    MPI_Win_allocate(nprocs * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &base, &win);
    memset(base, 0, nprocs * sizeof(int));
    MPI_Win_fence(0, win);
    for (i = 0; i < nprocs; i++)
        MPI_Put(&value, 1, MPI_INT, i, rank, 1, MPI_INT, win);
    MPI_Win_fence(0, win);
    for (i = 0; i < nprocs; i++)
        good &= base[i] == i + 1;
    MPI_Win_free(&win);
    ok_all(good, "one-sided puts between fences");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc == 3 && strcmp(argv[1], "-m") == 0 && atol(argv[2]) > 0)
        max_size = (size_t)atol(argv[2]);
    if (nprocs % 2) {
        if (rank == 0)
            fprintf(stderr, "mpi_p2p_test: run it on an even number of ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (nprocs == 2)
        test_sizes();
    test_outstanding();
    test_wildcards_and_probe();
    test_datatypes();
    test_collectives();
    test_allgatherv();
    test_barrier();
    test_one_sided();
    MPI_Finalize();
    return rank == 0 ? tap_done() : 0;
}
