/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Oversubscribed load, for osu-config/load: more ranks than cores.
 *
 *   idts_load_bench load SECONDS   every rank repeats an all-to-all of 1 KiB
 *                                  blocks and a 64 KiB exchange with both ring
 *                                  neighbours; rank 0 prints "load RANKS
 *                                  ROUNDS_PER_SECOND"
 *   idts_load_bench idle SECONDS   rank 1 waits in MPI_Recv while rank 0
 *                                  sleeps, the other ranks in a barrier; rank 1
 *                                  prints "idle PERCENT", the CPU its thread
 *                                  used while it waited
 *   idts_load_bench pingpong SECONDS  ranks 0 and 1 send 8 bytes back and
 *                                  forth, the others wait in a barrier; rank 0
 *                                  prints "pingpong MICROSECONDS", half the
 *                                  round trip (what a sleeping BTL costs
 *                                  another one, when it is the one carrying)
 *   idts_load_bench updates SECONDS   HPCC's RandomAccess pattern: every rank
 *                                  makes random updates and sends those of
 *                                  other ranks in buckets, testing for
 *                                  arrivals between two updates (MPI_Testany,
 *                                  never waiting); rank 0 prints "updates
 *                                  RANKS UPDATES_PER_SECOND" (a BTL that sleeps
 *                                  in MPI_Testany holds up every rank)
 *
 * Every message is checked, so a broken transport cannot report figures.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 1024
#define RING  (64 * 1024)

static int rank, nprocs;

static void die(const char *what)
{
    fprintf(stderr, "idts_load_bench: rank %d: %s\n", rank, what);
    MPI_Abort(MPI_COMM_WORLD, 2);
}

static void fill(unsigned char *buf, size_t size, int from, int to, long round)
{
    size_t i;

    for (i = 0; i < size; i++)
        buf[i] = (unsigned char)(i + (size_t)from * 7 + (size_t)to * 13 + (size_t)round);
}

static int intact(const unsigned char *buf, size_t size, int from, int to, long round)
{
    size_t i;

    for (i = 0; i < size; i++)
        if (buf[i] != (unsigned char)(i + (size_t)from * 7 + (size_t)to * 13 + (size_t)round))
            return 0;
    return 1;
}

static void one_round(unsigned char *out, unsigned char *in, unsigned char *ring_out,
                      unsigned char *ring_in, long round)
{
    int peer, right = (rank + 1) % nprocs, left = (rank + nprocs - 1) % nprocs;

    for (peer = 0; peer < nprocs; peer++)
        fill(out + (size_t)peer * BLOCK, BLOCK, rank, peer, round);
    MPI_Alltoall(out, BLOCK, MPI_BYTE, in, BLOCK, MPI_BYTE, MPI_COMM_WORLD);
    for (peer = 0; peer < nprocs; peer++)
        if (!intact(in + (size_t)peer * BLOCK, BLOCK, peer, rank, round))
            die("all-to-all block arrived corrupted");
    fill(ring_out, RING, rank, right, round);
    MPI_Sendrecv(ring_out, RING, MPI_BYTE, right, 1, ring_in, RING, MPI_BYTE, left, 1,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (!intact(ring_in, RING, left, rank, round))
        die("ring message arrived corrupted");
}

static void load(double seconds)
{
    unsigned char *out = malloc((size_t)nprocs * BLOCK), *in = malloc((size_t)nprocs * BLOCK);
    unsigned char *ring_out = malloc(RING), *ring_in = malloc(RING);
    double start, elapsed = 0;
    long rounds = 0;

    if (!out || !in || !ring_out || !ring_in)
        die("out of memory");
    one_round(out, in, ring_out, ring_in, -1);
    MPI_Barrier(MPI_COMM_WORLD);
    start = MPI_Wtime();
    /* Rank 0's clock decides, so that every rank runs the same rounds. */
    while (elapsed < seconds) {
        one_round(out, in, ring_out, ring_in, rounds++);
        if (rounds % 16 == 0) {
            elapsed = MPI_Wtime() - start;
            MPI_Bcast(&elapsed, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        }
    }
    if (rank == 0)
        printf("load %d %.1f\n", nprocs, rounds / elapsed);
    free(out);
    free(in);
    free(ring_out);
    free(ring_in);
}

static double thread_cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void idle(double seconds)
{
    int token = 0;

    if (nprocs < 2)
        die("idle needs 2 ranks or more");
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        usleep((useconds_t)(seconds * 1e6));
        token = 42;
        MPI_Send(&token, 1, MPI_INT, 1, 2, MPI_COMM_WORLD);
    } else if (rank == 1) {
        double cpu = thread_cpu_seconds(), wall = MPI_Wtime();

        MPI_Recv(&token, 1, MPI_INT, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        cpu = thread_cpu_seconds() - cpu;
        wall = MPI_Wtime() - wall;
        if (token != 42)
            die("the token arrived corrupted");
        printf("idle %.1f\n", 100 * cpu / wall);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static void pingpong(double seconds)
{
    char token[8] = "pingpong";
    double start, elapsed = 0;
    long trips = 0;

    MPI_Barrier(MPI_COMM_WORLD);
    start = MPI_Wtime();
    while (rank < 2 && elapsed < seconds) {
        if (rank == 0) {
            MPI_Send(token, sizeof(token), MPI_CHAR, 1, 3, MPI_COMM_WORLD);
            MPI_Recv(token, sizeof(token), MPI_CHAR, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            elapsed = ++trips % 64 ? elapsed : MPI_Wtime() - start;
        } else {
            MPI_Recv(token, sizeof(token), MPI_CHAR, 0, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(token, sizeof(token), MPI_CHAR, 0, 3, MPI_COMM_WORLD);
            elapsed = token[0] == 'e' ? seconds : 0;
        }
        if (rank == 0 && elapsed >= seconds)
            token[0] = 'e';
    }
    if (memcmp(token + 1, "ingpong", 7) != 0)
        die("the ping-pong token arrived corrupted");
    if (rank == 0) {
        /* The last round trip tells rank 1 to stop. */
        MPI_Send(token, sizeof(token), MPI_CHAR, 1, 3, MPI_COMM_WORLD);
        MPI_Recv(token, sizeof(token), MPI_CHAR, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        printf("pingpong %.2f\n", (MPI_Wtime() - start) * 1e6 / (trips + 1) / 2);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

#define BUCKET      256 /* updates per message */
#define INBOUND     4
#define TAG_UPDATES 4
#define TAG_DONE    5

struct updates {
    uint64_t *buckets, *inbound, *sent_xor, *received_xor;
    int *filled, done_from;
    MPI_Request in[INBOUND], out;
    uint64_t outgoing[BUCKET];
};

static void post(struct updates *u, int slot)
{
    MPI_Irecv(u->inbound + (size_t)slot * BUCKET, BUCKET, MPI_UINT64_T, MPI_ANY_SOURCE, MPI_ANY_TAG,
              MPI_COMM_WORLD, &u->in[slot]);
}

/* Whatever arrived: updates are applied (xor-ed into a check per sender),
 * done messages counted. Returns without waiting. */
static void take_arrivals(struct updates *u)
{
    MPI_Status status;
    int slot, flag, count;

    for (;;) {
        MPI_Testany(INBOUND, u->in, &slot, &flag, &status);
        if (!flag || slot == MPI_UNDEFINED)
            return;
        if (status.MPI_TAG == TAG_DONE) {
            u->done_from++;
        } else {
            MPI_Get_count(&status, MPI_UINT64_T, &count);
            for (int i = 0; i < count; i++)
                u->received_xor[status.MPI_SOURCE] ^= u->inbound[(size_t)slot * BUCKET + i];
        }
        post(u, slot);
    }
}

/* Sends peer's full bucket once the last send has completed; 0 if it could not. */
static int send_bucket(struct updates *u, int peer, int count)
{
    int flag;

    MPI_Test(&u->out, &flag, MPI_STATUS_IGNORE);
    if (!flag)
        return 0;
    memcpy(u->outgoing, u->buckets + (size_t)peer * BUCKET, (size_t)count * sizeof(uint64_t));
    for (int i = 0; i < count; i++)
        u->sent_xor[peer] ^= u->outgoing[i];
    MPI_Isend(u->outgoing, count, MPI_UINT64_T, peer, TAG_UPDATES, MPI_COMM_WORLD, &u->out);
    u->filled[peer] = 0;
    return 1;
}

static void updates(double seconds)
{
    struct updates u = {.out = MPI_REQUEST_NULL};
    uint64_t ran = 0x9e3779b97f4a7c15ull * (uint64_t)(rank + 1), next, *expected;
    long made = 0, total = 0;
    double start, elapsed = 0;
    int peer, bad = 0;

    u.buckets = calloc((size_t)nprocs * BUCKET, sizeof(uint64_t));
    u.inbound = calloc((size_t)INBOUND * BUCKET, sizeof(uint64_t));
    u.sent_xor = calloc((size_t)nprocs, sizeof(uint64_t));
    u.received_xor = calloc((size_t)nprocs, sizeof(uint64_t));
    expected = calloc((size_t)nprocs, sizeof(uint64_t));
    u.filled = calloc((size_t)nprocs, sizeof(int));
    if (!u.buckets || !u.inbound || !u.sent_xor || !u.received_xor || !expected || !u.filled)
        die("out of memory");
    for (int slot = 0; slot < INBOUND; slot++)
        post(&u, slot);
    MPI_Barrier(MPI_COMM_WORLD);
    start = MPI_Wtime();
    while (elapsed < seconds) {
        take_arrivals(&u);
        next = ran * 6364136223846793005ull + 1442695040888963407ull;
        peer = (int)((next >> 33) % (uint64_t)nprocs);
        /* A full bucket that cannot go yet: the same update after the next arrivals. */
        if (peer != rank && u.filled[peer] == BUCKET && !send_bucket(&u, peer, BUCKET))
            continue;
        ran = next;
        if (peer != rank)
            u.buckets[(size_t)peer * BUCKET + u.filled[peer]++] = ran;
        if (++made % 1024 == 0)
            elapsed = MPI_Wtime() - start;
    }
    /* Every rank's own clock ends its updates; the rest goes out, then a done
     * message to each peer, and arrivals are taken until every peer's came. */
    for (peer = 0; peer < nprocs; peer++)
        while (peer != rank && u.filled[peer] && !send_bucket(&u, peer, u.filled[peer]))
            take_arrivals(&u);
    MPI_Wait(&u.out, MPI_STATUS_IGNORE);
    for (peer = 0; peer < nprocs; peer++)
        if (peer != rank)
            MPI_Send(NULL, 0, MPI_UINT64_T, peer, TAG_DONE, MPI_COMM_WORLD);
    while (u.done_from < nprocs - 1)
        take_arrivals(&u);
    elapsed = MPI_Wtime() - start;
    for (int slot = 0; slot < INBOUND; slot++) {
        MPI_Cancel(&u.in[slot]);
        MPI_Wait(&u.in[slot], MPI_STATUS_IGNORE);
    }
    MPI_Alltoall(u.sent_xor, 1, MPI_UINT64_T, expected, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    for (peer = 0; peer < nprocs; peer++)
        bad += expected[peer] != u.received_xor[peer];
    if (bad)
        die("updates arrived changed or lost");
    MPI_Reduce(&made, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(rank == 0 ? MPI_IN_PLACE : &elapsed, &elapsed, 1, MPI_DOUBLE, MPI_MAX, 0,
               MPI_COMM_WORLD);
    if (rank == 0)
        printf("updates %d %.0f\n", nprocs, total / elapsed);
    free(u.buckets);
    free(u.inbound);
    free(u.sent_xor);
    free(u.received_xor);
    free(expected);
    free(u.filled);
}

int main(int argc, char **argv)
{
    double seconds = argc > 2 ? atof(argv[2]) : 3;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc < 2 || seconds <= 0 ||
        (strcmp(argv[1], "load") && strcmp(argv[1], "idle") && strcmp(argv[1], "pingpong") &&
         strcmp(argv[1], "updates"))) {
        if (rank == 0)
            fprintf(stderr, "usage: idts_load_bench load|idle|pingpong|updates [SECONDS]\n");
        MPI_Finalize();
        return 2;
    }
    if (strcmp(argv[1], "load") == 0)
        load(seconds);
    else if (strcmp(argv[1], "idle") == 0)
        idle(seconds);
    else if (strcmp(argv[1], "pingpong") == 0)
        pingpong(seconds);
    else
        updates(seconds);
    MPI_Finalize();
    return 0;
}
